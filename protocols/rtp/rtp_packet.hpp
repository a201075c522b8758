#pragma once

// RTP and RTCP framing for the media relay (RFC 3550 §5.1, §6.4; RFC 5761 §4).
//
// The relay runs this on the reactor thread for every datagram, so everything
// here takes a span, returns values and never allocates: parse_rtp() reads
// the fixed header and reports where the payload is; the set_*() helpers
// rewrite a header in place (SSRC, sequence number, timestamp, payload type)
// for a packet the relay forwards; write_rtp_header() writes the 12 fixed
// bytes of a packet we originate (e.g. RFC 4733 events we inject).
//
// On a port that carries both RTP and RTCP (rtcp-mux, RFC 5761) call
// is_rtcp() first: parse_rtp() does not look at the payload type range.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace centralita::rtp {

/// Size of the fixed RTP header (RFC 3550 §5.1), without CSRCs or extension.
inline constexpr std::size_t rtp_fixed_header_size = 12;

/// The largest datagram parse_rtp() accepts: offsets are 16-bit, and a UDP
/// payload cannot be longer anyway.
inline constexpr std::size_t max_rtp_packet_size = 65535;

/// The fields of a parsed RTP header, and where its payload sits in the packet.
struct rtp_header {
  bool padding = false;          ///< P bit (the padding is already excluded from payload_size)
  bool extension = false;        ///< X bit (the extension is already skipped by payload_offset)
  bool marker = false;           ///< M bit
  uint8_t csrc_count = 0;        ///< CC, 0..15
  uint8_t payload_type = 0;      ///< PT, 0..127
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint16_t payload_offset = 0;   ///< first payload byte: 12 + 4*CC (+ 4 + 4*extension length)
  uint16_t payload_size = 0;     ///< payload bytes, padding excluded (may be 0)

  friend bool operator==(const rtp_header&, const rtp_header&) = default;
};

/// Parses an RTP packet (RFC 3550 §5.1). nullopt when the bytes are not a valid
/// RTP packet: shorter than 12 bytes or longer than max_rtp_packet_size,
/// version other than 2, CSRC list or header extension (§5.3.1) running past
/// the end, or a padding count (last byte, P bit set) of 0 or larger than
/// what follows the header. On success payload_offset + payload_size <= size.
std::optional<rtp_header> parse_rtp(std::span<const uint8_t> packet) noexcept;

/// True when the datagram is RTCP on a port shared with RTP (RFC 5761 §4: the
/// second byte, RTCP's packet type, is in 192..223, where no RTP payload type
/// with the marker bit lands when PTs 64..95 are avoided), and its first RTCP
/// header is plausible: version 2 and a length field that fits the datagram.
bool is_rtcp(std::span<const uint8_t> packet) noexcept;

/// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611 §2).
enum class rtcp_type : uint8_t {
  sr = 200,     ///< sender report
  rr = 201,     ///< receiver report
  sdes = 202,   ///< source description
  bye = 203,
  app = 204,
  rtpfb = 205,  ///< transport-layer feedback (RFC 4585)
  psfb = 206,   ///< payload-specific feedback (RFC 4585)
  xr = 207,     ///< extended report (RFC 3611)
};

/// What the relay needs from an RTCP datagram: the type of its first packet
/// and the SSRC of the sender.
struct rtcp_info {
  uint8_t packet_type = 0;   ///< one of rtcp_type
  uint32_t sender_ssrc = 0;  ///< SR/RR/APP/RTPFB/PSFB/XR: the sender's SSRC;
                             ///< SDES/BYE: the first chunk's / listed SSRC, 0 when the count is 0

  friend bool operator==(const rtcp_info&, const rtcp_info&) = default;
};

/// Parses the first packet of an RTCP compound (RFC 3550 §6.1): version 2, a
/// length that fits the datagram, a type among rtcp_type, and a body large
/// enough for what that type declares (SR: sender info + RC report blocks, RR:
/// RC report blocks, SDES/BYE: room for the first SSRC when the count is not
/// 0). The rest of the compound is not examined (SRTCP trailers may follow).
std::optional<rtcp_info> parse_rtcp(std::span<const uint8_t> packet) noexcept;

// In-place rewriting of a forwarded packet's fixed header. Each is a no-op when
// the span is shorter than 12 bytes (the caller parsed the packet first).

/// RFC 3550 §5.1: SSRC at bytes 8..11.
void set_ssrc(std::span<uint8_t> packet, uint32_t ssrc) noexcept;
/// RFC 3550 §5.1: sequence number at bytes 2..3.
void set_sequence(std::span<uint8_t> packet, uint16_t sequence) noexcept;
/// RFC 3550 §5.1: timestamp at bytes 4..7.
void set_timestamp(std::span<uint8_t> packet, uint32_t timestamp) noexcept;
/// RFC 3550 §5.1: PT is the low 7 bits of byte 1; the marker bit (bit 7) is kept.
void set_payload_type(std::span<uint8_t> packet, uint8_t payload_type) noexcept;

/// The fields of a fixed header for a packet we originate (no CSRC, no
/// extension, no padding).
struct rtp_header_fields {
  uint8_t payload_type = 0;  ///< 0..127 (the top bit is ignored)
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
};

/// Writes the 12-byte fixed header (version 2) at the start of `out`. Returns
/// 12, or 0 (nothing written) when `out` is shorter than 12 bytes.
std::size_t write_rtp_header(std::span<uint8_t> out, const rtp_header_fields& fields) noexcept;

// Wrap-aware arithmetic on sequence numbers and timestamps (RFC 3550 A.1:
// numbers are compared modulo 2^16 / 2^32, the nearer way round).

/// How far `to` is ahead of `from`, modulo 2^16 (0..65535).
constexpr uint16_t seq_delta(uint16_t from, uint16_t to) noexcept {
  return static_cast<uint16_t>(to - from);
}
/// Signed distance from `from` to `to`, in -32768..32767: positive when `to`
/// is newer.
constexpr int32_t seq_diff(uint16_t from, uint16_t to) noexcept {
  return static_cast<int16_t>(static_cast<uint16_t>(to - from));
}
/// True when sequence number `a` is newer than `b` (less than half the space ahead).
constexpr bool seq_newer(uint16_t a, uint16_t b) noexcept { return seq_diff(b, a) > 0; }

/// How far timestamp `to` is ahead of `from`, modulo 2^32.
constexpr uint32_t ts_delta(uint32_t from, uint32_t to) noexcept { return to - from; }
/// Signed distance from `from` to `to`: positive when `to` is newer.
constexpr int32_t ts_diff(uint32_t from, uint32_t to) noexcept {
  return static_cast<int32_t>(to - from);  // C++20: conversion to signed is modular
}
/// True when timestamp `a` is newer than `b` (less than half the space ahead).
constexpr bool ts_newer(uint32_t a, uint32_t b) noexcept { return ts_diff(b, a) > 0; }

} // namespace centralita::rtp
