#include "protocols/rtp/rtp_packet.hpp"

namespace centralita::rtp {

namespace {

constexpr uint16_t load16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

constexpr uint32_t load32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

constexpr void store16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

constexpr void store32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

constexpr uint8_t rtp_version = 2;

/// Bytes of the first RTCP packet of a compound, from its length field; 0 when
/// the header is not plausible (too short, not version 2, longer than the datagram).
std::size_t first_rtcp_length(std::span<const uint8_t> p) noexcept {
  if (p.size() < 4) return 0;
  if ((p[0] >> 6) != rtp_version) return 0;        // RFC 3550 §6.4.1: V=2
  // RFC 3550 §6.4.1: length is in 32-bit words minus one, header included.
  const std::size_t len = (std::size_t{load16(p.data() + 2)} + 1) * 4;
  return len <= p.size() ? len : 0;
}

} // namespace

std::optional<rtp_header> parse_rtp(std::span<const uint8_t> p) noexcept {
  if (p.size() < rtp_fixed_header_size || p.size() > max_rtp_packet_size) return std::nullopt;
  const uint8_t b0 = p[0];
  const uint8_t b1 = p[1];
  if ((b0 >> 6) != rtp_version) return std::nullopt;  // RFC 3550 §5.1: V=2

  rtp_header h;
  h.padding = (b0 & 0x20) != 0;
  h.extension = (b0 & 0x10) != 0;
  h.csrc_count = b0 & 0x0f;
  h.marker = (b1 & 0x80) != 0;
  h.payload_type = b1 & 0x7f;
  h.sequence = load16(p.data() + 2);
  h.timestamp = load32(p.data() + 4);
  h.ssrc = load32(p.data() + 8);

  // RFC 3550 §5.1: CC 32-bit CSRC identifiers follow the fixed header.
  std::size_t offset = rtp_fixed_header_size + 4 * std::size_t{h.csrc_count};
  if (offset > p.size()) return std::nullopt;
  if (h.extension) {
    // RFC 3550 §5.3.1: 16-bit profile-defined field, 16-bit length counting
    // the 32-bit words after this 4-byte extension header.
    if (offset + 4 > p.size()) return std::nullopt;
    offset += 4 + 4 * std::size_t{load16(p.data() + offset + 2)};
    if (offset > p.size()) return std::nullopt;
  }
  std::size_t end = p.size();
  if (h.padding) {
    // RFC 3550 §5.1: the last octet counts the padding octets, itself included,
    // so it is at least 1 and cannot reach back into the header.
    const std::size_t pad = p.back();
    if (pad == 0 || pad > end - offset) return std::nullopt;
    end -= pad;
  }
  h.payload_offset = static_cast<uint16_t>(offset);   // <= size <= 65535
  h.payload_size = static_cast<uint16_t>(end - offset);
  return h;
}

bool is_rtcp(std::span<const uint8_t> p) noexcept {
  if (p.size() < 4) return false;
  // RFC 5761 §4: on a shared port, a second byte of 192..223 is an RTCP packet
  // type (RTP payload types 64..95, which would collide with the marker bit
  // set, are not used there).
  if (p[1] < 192 || p[1] > 223) return false;
  return first_rtcp_length(p) != 0;
}

std::optional<rtcp_info> parse_rtcp(std::span<const uint8_t> p) noexcept {
  const std::size_t len = first_rtcp_length(p);
  if (len == 0) return std::nullopt;
  const uint8_t count = p[0] & 0x1f;  // RC / SC / subtype / FMT
  const uint8_t type = p[1];
  rtcp_info info{type, 0};
  switch (static_cast<rtcp_type>(type)) {
    case rtcp_type::sr:
      // RFC 3550 §6.4.1: SSRC + 20 bytes of sender info + RC report blocks of 24.
      if (len < 28 + 24 * std::size_t{count}) return std::nullopt;
      break;
    case rtcp_type::rr:
      // RFC 3550 §6.4.2: SSRC + RC report blocks of 24.
      if (len < 8 + 24 * std::size_t{count}) return std::nullopt;
      break;
    case rtcp_type::sdes:  // RFC 3550 §6.5: SC chunks, each starting with an SSRC/CSRC
    case rtcp_type::bye:   // RFC 3550 §6.6: SC SSRC/CSRC identifiers
      if (count == 0) return info;
      if (len < 8) return std::nullopt;
      break;
    case rtcp_type::app:    // RFC 3550 §6.7: SSRC + 4-byte name
      if (len < 12) return std::nullopt;
      break;
    case rtcp_type::rtpfb:  // RFC 4585 §6.1: sender SSRC + media source SSRC
    case rtcp_type::psfb:
      if (len < 12) return std::nullopt;
      break;
    case rtcp_type::xr:     // RFC 3611 §2: sender SSRC, then report blocks
      if (len < 8) return std::nullopt;
      break;
    default:
      return std::nullopt;
  }
  info.sender_ssrc = load32(p.data() + 4);
  return info;
}

void set_ssrc(std::span<uint8_t> p, uint32_t ssrc) noexcept {
  if (p.size() >= rtp_fixed_header_size) store32(p.data() + 8, ssrc);
}

void set_sequence(std::span<uint8_t> p, uint16_t sequence) noexcept {
  if (p.size() >= rtp_fixed_header_size) store16(p.data() + 2, sequence);
}

void set_timestamp(std::span<uint8_t> p, uint32_t timestamp) noexcept {
  if (p.size() >= rtp_fixed_header_size) store32(p.data() + 4, timestamp);
}

void set_payload_type(std::span<uint8_t> p, uint8_t payload_type) noexcept {
  if (p.size() < rtp_fixed_header_size) return;
  // RFC 3550 §5.1: M is the top bit of the second byte; only PT changes.
  p[1] = static_cast<uint8_t>((p[1] & 0x80) | (payload_type & 0x7f));
}

std::size_t write_rtp_header(std::span<uint8_t> out, const rtp_header_fields& f) noexcept {
  if (out.size() < rtp_fixed_header_size) return 0;
  out[0] = rtp_version << 6;  // RFC 3550 §5.1: V=2, P=0, X=0, CC=0
  out[1] = static_cast<uint8_t>((f.marker ? 0x80 : 0) | (f.payload_type & 0x7f));
  store16(out.data() + 2, f.sequence);
  store32(out.data() + 4, f.timestamp);
  store32(out.data() + 8, f.ssrc);
  return rtp_fixed_header_size;
}

} // namespace centralita::rtp
