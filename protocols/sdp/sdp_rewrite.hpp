#pragma once

// SDP rewriting for a B2BUA that anchors media: every address and port of an
// offer or answer is replaced by the switch's relay ports, codec lists are
// filtered or extended (transcoding), directions overridden. Everything else in
// the body (a=fmtp, a=ptime, a=ssrc, b=, unknown attributes) passes unchanged.

#include "protocols/sdp/session_description.hpp"
#include "protocols/util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::sdp {

/// Edits of one m= line.
struct media_rewrite {
  uint16_t port = 0;  ///< the relay's RTP port (0 behaves like `disable`)
  /// a=rtcp to this port (RFC 3605); nullopt removes a=rtcp.
  std::optional<uint16_t> rtcp_port;
  /// Keep only these payload types, in this order (nullopt: keep all).
  std::optional<std::vector<uint8_t>> keep_payload_types;
  /// Appended after the kept ones, each with a=rtpmap (and a=fmtp when set).
  std::vector<codec> add_codecs;
  /// Direction to write (nullopt: keep).
  std::optional<direction> dir;
  /// Reject the stream: port 0 (RFC 3264 §6).
  bool disable = false;
};

/// Edits of a whole SDP.
struct sdp_rewrite {
  /// The relay's address for every c= line ("" keeps the addresses, and ICE).
  std::string connection_address;
  bool ipv6 = false;  ///< c= address type IP6
  std::string origin_username;  ///< empty = keep
  std::optional<uint64_t> session_id, session_version;
  std::string origin_address;   ///< empty = keep
  /// One per m= line, same order; fewer = leave the rest alone.
  std::vector<media_rewrite> media;
};

/// Parses `body` (same checks and errors as `parse_sdp`), applies `r` to sofia's
/// structures and prints the result with CRLF line ends. Attributes not named
/// here survive byte for byte. When the addresses change, ICE attributes are
/// dropped (RFC 8445: candidates name the peer's own addresses). Errors:
/// errc::parse_error for the body, errc::invalid_argument for `r` (more media
/// edits than m= lines, an address or codec that cannot be written, codec edits on
/// a non-RTP m= line, no format left).
result<std::string> rewrite_sdp(std::string_view body, const sdp_rewrite& r);

} // namespace centralita::sdp
