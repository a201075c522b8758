#pragma once

// An SDP body held by sofia-sip's SDP parser that can be edited in place and
// printed again: the engine under `rewrite_sdp`. sofia's types stay behind a
// pimpl (defined in sdp_document.cpp only), like protocols/sip/message.
// One owner at a time: sofia's memory home is not thread-safe.

#include "protocols/sdp/session_description.hpp"
#include "protocols/util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::sdp {

/// A parsed SDP whose untouched lines print back as they came in (attribute order
/// within a section kept; sofia prints a=rtpmap/a=fmtp right after the m= line's
/// c=/b=/k= lines and the direction before the other attributes).
class sdp_document {
public:
  /// Parses and checks `body` exactly like `parse_sdp` (same errors).
  static result<sdp_document> parse(std::string_view body);

  sdp_document(sdp_document&&) noexcept;
  sdp_document& operator=(sdp_document&&) noexcept;
  ~sdp_document();
  sdp_document(const sdp_document&) = delete;
  sdp_document& operator=(const sdp_document&) = delete;

  /// The value view taken at parse time (edits do not update it).
  const session_description& description() const noexcept;
  /// The number of m= lines.
  size_t media_count() const noexcept;

  /// RFC 4566 §5.2: replaces the o= parts given (empty text / nullopt keeps the part).
  /// The address type is IP6 when `address` holds a colon, else IP4.
  void set_origin(std::string_view username, std::optional<uint64_t> session_id,
                  std::optional<uint64_t> session_version, std::string_view address);
  /// RFC 4566 §5.7: sets the session-level c= (added when absent) and, when any
  /// m= section had its own c= line, one c= line in every m= section.
  void set_connection(std::string_view address, bool ipv6);
  /// Drops every ICE attribute (RFC 8839 §5) at session and media level.
  void remove_ice();

  /// Sets the port of m= line `index` (0-based). A stream that came in rejected
  /// (port 0) stays rejected: these per-media edits leave it alone.
  void set_port(size_t index, uint16_t port);
  /// RFC 3264 §6: rejects the stream (port 0, no direction, no a=rtcp).
  void disable(size_t index);
  /// RFC 3605 §2.1: sets "a=rtcp:PORT" (plus " IN IP4|IP6 ADDRESS" when `address`
  /// is not empty), replacing an existing a=rtcp in place; nullopt removes it.
  void set_rtcp(size_t index, std::optional<uint16_t> port, std::string_view address, bool ipv6);
  /// Keeps only `keep` payload types (in that order; types the line lacks are
  /// skipped), then appends `add`. Removed types lose their a=rtpmap, a=fmtp and
  /// a=rtcp-fb lines. Errors (errc::invalid_argument): the m= line is not RTP, an
  /// added type is already present or invalid, or no format would be left.
  result<void> set_codecs(size_t index, const std::optional<std::vector<uint8_t>>& keep,
                          const std::vector<codec>& add);
  /// RFC 3264 §6.1: sets the media-level direction attribute.
  void set_direction(size_t index, direction d);

  /// Prints the SDP (sofia's printer, a=sendrecv kept explicit), CRLF line ends.
  result<std::string> print() const;

  /// Opaque: the sofia side, defined in sdp_document.cpp only.
  struct impl;

private:
  explicit sdp_document(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

} // namespace centralita::sdp
