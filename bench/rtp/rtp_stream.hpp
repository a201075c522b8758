#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace centralita::rtp_load {

/// Size of the RTP fixed header without CSRCs (RFC 3550 §5.1).
inline constexpr std::size_t rtp_header_size = 12;

/// The fixed-header fields the load tool reads from a received packet.
struct rtp_header {
  uint8_t payload_type = 0;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
};

enum class packet_kind { rtp, rtcp, foreign };

/// Classifies a datagram: RTP version 2 (RFC 3550 §5.1), RTCP when the second octet is
/// 192..223 (RFC 5761 §4: the range RTCP packet types live in, which an RTP payload type
/// with the marker bit cannot be told apart from), anything else (short, other version)
/// is foreign. Fills `out` for RTP.
packet_kind classify(std::span<const uint8_t> datagram, rtp_header& out) noexcept;

/// Writes a 12-octet RTP fixed header (RFC 3550 §5.1: V=2, no padding, extension or
/// CSRC, marker clear).
void write_header(std::span<uint8_t, rtp_header_size> out, uint8_t payload_type, uint16_t seq,
                  uint32_t timestamp, uint32_t ssrc) noexcept;

/// What the socket on the other side of a call sends. Both sockets live in the same
/// process, so the receiver knows the sender's SSRC and first sequence number exactly.
struct sender_identity {
  uint32_t ssrc = 0;
  uint16_t first_seq = 0;
  uint32_t packets_planned = 0;  ///< at most 65536: indexes are 16-bit sequence offsets
};

/// Receive accounting for one stream (one direction of one call).
///
/// A packet's index in the stream is its sequence number minus the first one
/// (RFC 3550 §5.1: +1 per packet, modulo 2^16). When the SSRC is the sender's, the
/// first sequence number is the sender's own; a relay that rewrites SSRC and sequence
/// numbers (a transcoder) gets the first sequence number it delivered as base
/// (RFC 3550 A.1's initialisation). A bitmap of one bit per planned packet, provided
/// by the caller so nothing allocates per stream, tells duplicates from new packets.
class receive_stats {
public:
  /// `bitmap` must hold at least (packets_planned + 63) / 64 zeroed words.
  void init(const sender_identity& peer, std::span<uint64_t> bitmap) noexcept;

  /// Accounts one RTP packet that arrived at `arrival_ns` (any clock, ns), whose
  /// timestamp counts at `clock_rate` Hz. Returns the packet's index in the sender's own
  /// numbering when it is new and the relay kept the sender's SSRC, else -1 (for the
  /// one-way delay: the sender's schedule is known by index).
  int64_t on_packet(const rtp_header& h, int64_t arrival_ns, uint32_t clock_rate) noexcept;

  uint32_t received() const noexcept { return received_; }   ///< duplicates included
  uint32_t unique() const noexcept { return unique_; }
  uint32_t duplicates() const noexcept { return duplicates_; }
  /// Packets that arrived after one with a higher index (reordered), not lost.
  uint32_t late() const noexcept { return late_; }
  /// RTP packets whose index falls outside the planned range (not from this call).
  uint32_t out_of_range() const noexcept { return out_of_range_; }
  /// Times a packet came with an SSRC other than the last one seen.
  uint32_t ssrc_changes() const noexcept { return ssrc_changes_; }
  bool ssrc_rewritten() const noexcept { return rewritten_; }

  /// Packets the sender sent that never arrived (edges included).
  uint32_t lost(uint32_t peer_sent) const noexcept {
    return peer_sent > unique_ ? peer_sent - unique_ : 0;
  }
  /// Holes between the lowest and highest index received (RFC 3550 A.3's
  /// expected - received, without the packets missing at either end).
  uint32_t lost_in_gaps() const noexcept {
    return unique_ == 0 ? 0 : static_cast<uint32_t>(max_index_ - min_index_ + 1) - unique_;
  }
  /// RFC 3550 A.8 interarrival jitter now and its maximum so far, in ms.
  double jitter_ms() const noexcept { return jitter_ms_; }
  double max_jitter_ms() const noexcept { return max_jitter_ms_; }

private:
  sender_identity peer_{};
  std::span<uint64_t> bitmap_{};
  uint32_t base_ssrc_ = 0;
  uint16_t base_seq_ = 0;
  bool have_base_ = false;
  bool rewritten_ = false;
  uint32_t last_ssrc_ = 0;

  uint32_t received_ = 0;
  uint32_t unique_ = 0;
  uint32_t duplicates_ = 0;
  uint32_t late_ = 0;
  uint32_t out_of_range_ = 0;
  uint32_t ssrc_changes_ = 0;
  int64_t min_index_ = -1;
  int64_t max_index_ = -1;

  bool have_last_ = false;
  int64_t last_arrival_ns_ = 0;
  uint32_t last_timestamp_ = 0;
  double jitter_ = 0;  ///< in timestamp units, as RFC 3550 A.8 keeps it
  double jitter_ms_ = 0;
  double max_jitter_ms_ = 0;
};

/// One-way delays in fixed buckets (nothing allocates after construction): 0.1 ms wide
/// up to 100 ms, 10 ms wide up to 10 s, one overflow bucket beyond.
class delay_histogram {
public:
  void record(int64_t delay_ns) noexcept;
  uint64_t count() const noexcept { return count_; }
  /// The upper edge of the bucket holding the p-th quantile (0 < p <= 1), in ms.
  double quantile_ms(double p) const noexcept;
  double max_ms() const noexcept { return static_cast<double>(max_ns_) / 1e6; }

private:
  static constexpr int fine = 1000;    // 0.1 ms each: 0 .. 100 ms
  static constexpr int coarse = 990;   // 10 ms each: 100 ms .. 10 s
  static double upper_edge_ms(int bucket) noexcept;
  uint64_t buckets_[fine + coarse + 1] = {};
  uint64_t count_ = 0;
  int64_t max_ns_ = 0;
};

} // namespace centralita::rtp_load
