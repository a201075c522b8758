#pragma once
// The ng control protocol's messages (RTPEngine's docs/ng_control_protocol.md,
// as Kamailio's and OpenSIPS's rtpengine modules send them): one UDP datagram
// per message, `COOKIE SP BENCODED-DICTIONARY`. The reply repeats the cookie
// (that is how a client matches it, and how a retransmission is recognised)
// and its dictionary always has "result": "ok", "pong", or "error" with an
// "error-reason".
//
// This file turns datagrams into requests and replies into datagrams; what
// the commands do is the relay's (actors/media/ng_control).

#include "protocols/ng/bencode.hpp"
#include "protocols/util/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::ng {

/// The longest cookie accepted. rtpengine's clients send a few dozen bytes
/// (Kamailio: "<pid>_<counter>"); a bound keeps the reply cache small.
inline constexpr std::size_t max_cookie_size = 128;

/// A datagram cut at its first space: the cookie and the bencoded body.
struct datagram_parts {
  std::string_view cookie;
  std::string_view body;
};

/// Splits `COOKIE SP BODY`. Fails (errc::parse_error) when there is no space,
/// the cookie is empty, longer than max_cookie_size, or holds a control byte:
/// such a datagram cannot be answered (a reply needs the cookie), so the
/// caller drops it.
result<datagram_parts> split_datagram(std::string_view datagram);

/// The body as a dictionary (bencode errors name the offset within the body).
result<value> decode_body(std::string_view body, const decode_limits& limits = {});

/// The commands we run. Everything else is refused by name.
enum class command { ping, offer, answer, del, query, list };

/// The wire name ("ping", "offer", "answer", "delete", "query", "list").
const char* to_string(command c) noexcept;

/// A request's keys as the relay uses them (the rest is ignored: flags,
/// replace, ICE, direction, received-from, ... are accepted and have no effect).
struct request {
  command cmd = command::ping;
  std::string call_id;
  std::string from_tag;
  std::string to_tag;   ///< may be empty (an offer; a delete of the whole call)
  std::string sdp;
  /// Codecs to transcode to: the "codec" dictionary's "transcode" list, and
  /// "transcode-NAME" flags (rtpengine's older spelling). Empty: relay only.
  std::vector<std::string> transcode;
  /// Codecs of the offer not passed on to the answerer (the "codec"
  /// dictionary's "mask" list): with `transcode`, forces transcoding.
  std::vector<std::string> mask;
};

/// Reads `body` (a decoded dictionary). Errors: errc::unsupported for a
/// command we do not run ("unknown command 'foo'"), errc::parse_error for a
/// missing or mistyped key ("missing key 'call-id'"): the reason is the
/// error-reason of the reply.
result<request> parse_request(const value& body);

/// A reply dictionary {"result": "ok"} (add keys with value::set).
value ok_reply();
/// {"result": "error", "error-reason": reason}.
value error_reply(std::string_view reason);
/// `COOKIE SP encode(body)`.
std::string build_reply(std::string_view cookie, const value& body);

} // namespace centralita::ng
