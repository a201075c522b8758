#pragma once

// A user agent's dialog (RFC 3261 §12) as a B2BUA call leg holds it: built
// from the INVITE the leg received (UAS) or sent (UAC), confirmed by the
// response that carries the remote tag, and used to build every request the
// leg sends inside it and to check every request it receives. Pure: values
// in, messages out; the leg actor sends them.

#include "protocols/sip/message.hpp"
#include "protocols/util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace centralita::sip::dialog {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// Our Via on a request we originate (RFC 3261 §8.1.1.7).
struct via_params {
  std::string transport = "UDP";
  std::string host;
  uint16_t port = 5060;
  std::string branch;
};

struct dialog_state {
  std::string call_id;
  std::string local_uri;
  std::string local_display;
  std::string local_tag;
  std::string remote_uri;
  std::string remote_display;
  std::string remote_tag;  ///< empty until confirmed (UAC: the first response with a tag)
  std::string remote_target;  ///< the peer's Contact URI (§12.1.1 / §12.1.2)
  std::vector<std::string> route_set;  ///< Route values, in the order they go on a request
  std::string local_contact;  ///< our Contact URI
  uint32_t local_cseq = 0;    ///< the CSeq of the last request we sent
  std::optional<uint32_t> remote_cseq;  ///< the highest CSeq received (§12.2.2)
  bool confirmed = false;  ///< a 2xx made it a confirmed dialog (§12.1)
};

/// §12.1.1: the UAS side of a dialog created by `invite`, with our tag and
/// Contact. The route set is the INVITE's Record-Route in order; the remote
/// target its Contact.
result<dialog_state> uas_dialog(const message& invite, std::string local_tag,
                                std::string local_contact);

/// What a B2BUA's outgoing INVITE (the UAC leg) is made of.
struct invite_params {
  std::string request_uri;
  std::string from_uri;
  std::string from_display;
  std::string from_tag;
  std::string to_uri;
  std::string to_display;
  std::string call_id;
  uint32_t cseq = 1;
  std::string contact;  ///< our Contact URI
  std::vector<std::string> route;  ///< pre-loaded Route values (a registration's Path, §8.1.2)
  via_params via;
  unsigned max_forwards = 70;
  std::string content_type;  ///< empty: no body
  std::string body;
  header_list headers;  ///< added as given (Supported, Session-Expires, ...)
};

/// §8.1.1: a new INVITE outside any dialog. Errors: invalid_argument when a
/// URI is not SIP or a value holds CR, LF or NUL.
result<message> make_invite(const invite_params& p);

/// §12.1.2: the UAC side of the dialog of `invite` (as we sent it), from a
/// response with a To tag (a 1xx makes it early, a 2xx confirmed). The route
/// set is the response's Record-Route in reverse; the remote target its
/// Contact.
result<dialog_state> uac_dialog(const invite_params& invite, const message& response);

/// §12.2.1.1: a request inside the dialog: Request-URI the remote target,
/// Route the route set, From us, To the peer, the next local CSeq (for
/// `method` other than ACK and CANCEL, which reuse `cseq_override`).
/// The dialog's local_cseq advances. `cseq_override`: ACK of a 2xx uses the
/// INVITE's CSeq number (§13.2.2.4).
result<message> make_request(dialog_state& d, std::string_view method, const via_params& via,
                             std::string_view content_type = {}, std::string_view body = {},
                             const header_list& headers = {},
                             std::optional<uint32_t> cseq_override = std::nullopt);

/// How a request received inside the dialog fits it (§12.2.2).
enum class request_check {
  ok,
  cseq_too_low,  ///< lower than one already seen: answer 500 (§12.2.2)
};

/// Checks the request's CSeq and, when it fits, remembers it; a target
/// refresh (re-INVITE, UPDATE: §12.2.2, RFC 3311 §5.2) with a Contact
/// replaces the remote target. ACK and CANCEL are not checked.
request_check accept_request(dialog_state& d, const message& request);

/// A response from us as the UAS of `request`: make_response plus our
/// To tag, Contact (for 1xx-2xx to INVITE/UPDATE, §12.1.1), an optional body
/// and headers.
result<message> make_uas_response(const message& request, int status, std::string_view reason,
                                  std::string_view local_tag, std::string_view contact,
                                  std::string_view content_type = {}, std::string_view body = {},
                                  const header_list& headers = {});

/// Whether `m` carries an SDP body (an RFC 3264 offer or answer): a non-empty
/// body whose Content-Type media type, parameters aside, is application/sdp.
bool carries_sdp(const message& m);

} // namespace centralita::sip::dialog
