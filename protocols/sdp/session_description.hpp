#pragma once

// A value-type view of an SDP session description (RFC 4566), parsed with
// sofia-sip's SDP parser, and a printer for SDP the switch originates.
// No sofia type appears here: the parser stays inside the .cpp files.

#include "protocols/util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::sdp {

/// One media format of an RTP m= line (RFC 4566 §6 "rtpmap", RFC 3551 §6).
struct codec {
  uint8_t payload_type = 0;  ///< 0..127 (RFC 3550 §5.1: 7 bits)
  std::string name;          ///< encoding name as written ("PCMU", "opus"); "" when unknown
  uint32_t clock_rate = 0;   ///< 0 when unknown (dynamic type without a=rtpmap)
  uint8_t channels = 1;      ///< RFC 4566 §6: encoding parameters of audio, default one
  std::string fmtp;          ///< a=fmtp value after the payload type ("" when none)

  bool operator==(const codec&) const = default;
};

/// RFC 3264 §5.1 / RFC 4566 §6 stream direction.
enum class direction { sendrecv, sendonly, recvonly, inactive };

/// "sendrecv", "sendonly", "recvonly" or "inactive".
const char* to_string(direction d) noexcept;

/// One m= section.
struct media_description {
  std::string type;                 ///< "audio", "video", "image", ...
  uint16_t port = 0;                ///< 0: rejected or disabled stream (RFC 3264 §6)
  uint16_t port_count = 1;          ///< "m=audio 4000/2": 2; 1 when absent
  std::string proto;                ///< "RTP/AVP", "RTP/SAVPF", "udptl", ...
  std::vector<codec> codecs;        ///< RTP formats in m= order (empty for non-RTP media)
  direction dir = direction::sendrecv;  ///< media-level attribute, else session-level;
                                        ///< a rejected stream (port 0) reports inactive
  std::string connection_address;   ///< media-level c=, else session-level (multicast TTL cut)
  bool ipv6 = false;                ///< that c= line says IP6
  std::optional<uint16_t> rtcp_port;  ///< a=rtcp (RFC 3605)
  std::string rtcp_address;         ///< a=rtcp's address ("" when the line has none)
  bool rtcp_mux = false;            ///< a=rtcp-mux (RFC 5761 §5.1.1)
  uint32_t ptime = 0;               ///< a=ptime in ms (RFC 4566 §6); 0 = absent
  /// The m= format tokens of a non-RTP stream (e.g. {"t38"} for "udptl"); empty for
  /// RTP streams, whose formats are `codecs`.
  std::vector<std::string> formats;

  bool operator==(const media_description&) const = default;
};

/// A whole SDP body (the parts a B2BUA anchoring media reads or writes).
struct session_description {
  std::string origin_username;      ///< o= username ("-" when the creator has none)
  uint64_t session_id = 0;          ///< o= sess-id
  uint64_t session_version = 0;     ///< o= sess-version (RFC 3264 §8: +1 per change)
  std::string origin_address;       ///< o= unicast-address
  std::string connection_address;   ///< session-level c= ("" when only media-level)
  std::vector<media_description> media;

  bool operator==(const session_description&) const = default;
};

/// Parses an SDP body (RFC 4566) with sofia-sip. Accepts CRLF or bare LF line ends.
/// Errors (errc::parse_error, or errc::too_large over 64 KiB) carry a reason that
/// may become a 400/488 reason phrase (printable ASCII, no newline): "missing v=
/// line", "missing o= line", "missing m= line", "bad port in m= line 2", "no
/// connection address for m= line 1", "unknown line type 'x' (line 7)", ...
result<session_description> parse_sdp(std::string_view body);

/// Prints a new SDP from the value type: v=0, o=, s=-, c= (session level when
/// `connection_address` is set; per media where it differs), t=0 0, then for each
/// m= line its a=rtpmap (every codec with a name), a=fmtp, a=ptime, a=rtcp,
/// a=rtcp-mux and the direction. CRLF line ends. The values are the caller's to
/// get right (an address for every stream, at least one format); CR, LF and NUL
/// are dropped from text so a value can never start a line of its own.
/// parse_sdp(build_sdp(x)) == x for well-formed x (a rapidcheck property).
std::string build_sdp(const session_description& sd);

/// The RFC 3551 §6 encoding of a static payload type (name, rate, channels);
/// nullopt for dynamic (96-127) and unassigned types.
std::optional<codec> static_codec(uint8_t payload_type);

} // namespace centralita::sdp
