#include "bench/rtp/rtp_stream.hpp"

#include <cmath>

namespace centralita::rtp_load {

namespace {

uint16_t load16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t load32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

} // namespace

packet_kind classify(std::span<const uint8_t> d, rtp_header& out) noexcept {
  if (d.size() < rtp_header_size || (d[0] >> 6) != 2)  // RFC 3550 §5.1: V = 2
    return packet_kind::foreign;
  if (d[1] >= 192 && d[1] <= 223)  // RFC 5761 §4: RTCP packet types 192..223
    return packet_kind::rtcp;
  // RFC 3550 §5.1: CC CSRCs follow the fixed header; a packet too short for them is garbage.
  if (d.size() < rtp_header_size + 4u * (d[0] & 0x0f))
    return packet_kind::foreign;
  out.payload_type = d[1] & 0x7f;
  out.seq = load16(&d[2]);
  out.timestamp = load32(&d[4]);
  out.ssrc = load32(&d[8]);
  return packet_kind::rtp;
}

void write_header(std::span<uint8_t, rtp_header_size> o, uint8_t payload_type, uint16_t seq,
                  uint32_t timestamp, uint32_t ssrc) noexcept {
  o[0] = 0x80;  // RFC 3550 §5.1: V=2, P=0, X=0, CC=0
  o[1] = payload_type & 0x7f;
  o[2] = static_cast<uint8_t>(seq >> 8);
  o[3] = static_cast<uint8_t>(seq);
  o[4] = static_cast<uint8_t>(timestamp >> 24);
  o[5] = static_cast<uint8_t>(timestamp >> 16);
  o[6] = static_cast<uint8_t>(timestamp >> 8);
  o[7] = static_cast<uint8_t>(timestamp);
  o[8] = static_cast<uint8_t>(ssrc >> 24);
  o[9] = static_cast<uint8_t>(ssrc >> 16);
  o[10] = static_cast<uint8_t>(ssrc >> 8);
  o[11] = static_cast<uint8_t>(ssrc);
}

void receive_stats::init(const sender_identity& peer, std::span<uint64_t> bitmap) noexcept {
  *this = receive_stats{};
  peer_ = peer;
  bitmap_ = bitmap;
}

int64_t receive_stats::on_packet(const rtp_header& h, int64_t arrival_ns,
                                 uint32_t clock_rate) noexcept {
  ++received_;
  if (received_ > 1 && h.ssrc != last_ssrc_)
    ++ssrc_changes_;
  last_ssrc_ = h.ssrc;
  if (!have_base_) {
    have_base_ = true;
    base_ssrc_ = h.ssrc;
    // The sender's own numbering when the relay kept its SSRC; otherwise the relay
    // renumbers, and the first packet it delivered starts the count (RFC 3550 A.1).
    rewritten_ = h.ssrc != peer_.ssrc;
    base_seq_ = rewritten_ ? h.seq : peer_.first_seq;
  }
  // RFC 3550 §5.1: sequence numbers count packets modulo 2^16.
  uint32_t index = static_cast<uint16_t>(h.seq - base_seq_);
  if (index >= peer_.packets_planned || h.ssrc != base_ssrc_) {
    ++out_of_range_;
    return -1;
  }
  uint64_t& word = bitmap_[index / 64];
  uint64_t bit = uint64_t{1} << (index % 64);
  if (word & bit) {
    ++duplicates_;
    return -1;
  }
  word |= bit;
  ++unique_;
  if (max_index_ >= 0 && index < max_index_)
    ++late_;
  if (min_index_ < 0 || index < min_index_)
    min_index_ = index;
  if (static_cast<int64_t>(index) > max_index_)
    max_index_ = index;

  // RFC 3550 A.8: D = (Rj - Ri) - (Sj - Si) in timestamp units; J += (|D| - J) / 16.
  if (have_last_) {
    double arrival_delta = static_cast<double>(arrival_ns - last_arrival_ns_) * clock_rate / 1e9;
    double send_delta = static_cast<int32_t>(h.timestamp - last_timestamp_);
    double d = std::fabs(arrival_delta - send_delta);
    jitter_ += (d - jitter_) / 16.0;
    jitter_ms_ = jitter_ * 1000.0 / clock_rate;
    if (jitter_ms_ > max_jitter_ms_)
      max_jitter_ms_ = jitter_ms_;
  }
  have_last_ = true;
  last_arrival_ns_ = arrival_ns;
  last_timestamp_ = h.timestamp;
  return rewritten_ ? -1 : static_cast<int64_t>(index);
}

void delay_histogram::record(int64_t ns) noexcept {
  if (ns < 0)
    ns = 0;  // the kernel's receive stamp and our send schedule read CLOCK_REALTIME
  int64_t us100 = ns / 100'000;
  int bucket = us100 < fine ? static_cast<int>(us100)
               : ns / 10'000'000 < 1000
                   ? fine + static_cast<int>(ns / 10'000'000) - 10
                   : fine + coarse;
  ++buckets_[bucket];
  ++count_;
  if (ns > max_ns_)
    max_ns_ = ns;
}

double delay_histogram::upper_edge_ms(int bucket) noexcept {
  if (bucket < fine)
    return (bucket + 1) * 0.1;
  return (bucket - fine + 11) * 10.0;
}

double delay_histogram::quantile_ms(double p) const noexcept {
  if (count_ == 0)
    return 0;
  auto want = static_cast<uint64_t>(std::ceil(p * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (int b = 0; b < fine + coarse; ++b) {
    seen += buckets_[b];
    if (seen >= want)
      return upper_edge_ms(b);
  }
  return max_ms();
}

} // namespace centralita::rtp_load
