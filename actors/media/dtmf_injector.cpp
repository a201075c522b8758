#include "actors/media/dtmf_injector.hpp"

#include "media/codec/g711.hpp"

#include <array>

namespace centralita::actors {

namespace {

// Between two RFC 4733 presses: 40 ms of the stream's own audio, so the
// receiver sees two events (a new timestamp after a gap, §2.5.1.5).
constexpr int gap_between_events = 2;

} // namespace

void dtmf_injector::queue(std::string digits, uint32_t duration_ms, bool force_inband) {
  std::lock_guard lock(mu_);
  jobs_.push_back(job{std::move(digits), duration_ms, force_inband});
  pending_.store(true, std::memory_order_release);
}

void dtmf_injector::set_target(const dtmf_injection_target& t) {
  std::lock_guard lock(mu_);
  target_ = t;
}

bool dtmf_injector::next_digit(const rtp::rtp_header& h) {
  for (;;) {
    if (!current_ || next_index_ >= current_->digits.size()) {
      std::lock_guard lock(mu_);
      if (jobs_.empty()) {
        current_.reset();
        pending_.store(false, std::memory_order_release);
        mode_ = mode::idle;
        return false;
      }
      current_ = std::move(jobs_.front());
      jobs_.pop_front();
      active_ = target_;
      next_index_ = 0;
    }
    char digit = current_->digits[next_index_++];
    const bool inband = current_->force_inband || !active_.telephone_event_pt;
    if (inband) {
      // The whole rest of the job as one tone sequence (the generator times
      // the gaps itself).
      std::string rest(1, digit);
      rest += current_->digits.substr(next_index_);
      next_index_ = current_->digits.size();
      if (!tones_.queue(rest, current_->duration_ms, 60))
        continue;  // a digit the tone generator refuses: skip the job's rest
      played_.fetch_add(rest.size(), std::memory_order_relaxed);
      mode_ = mode::inband;
      return true;
    }
    if (!events_.start(digit, current_->duration_ms, h.timestamp, active_.telephone_event_rate))
      continue;  // not a DTMF key
    played_.fetch_add(1, std::memory_order_relaxed);
    mode_ = mode::event;
    return true;
  }
}

std::size_t dtmf_injector::apply(std::span<uint8_t> packet, std::size_t len,
                                 const rtp::rtp_header& h) {
  if (mode_ == mode::idle && !pending_.load(std::memory_order_acquire))
    return len;
  if (mode_ == mode::gap) {
    if (--gap_packets_ > 0)
      return len;
    mode_ = mode::idle;
  }
  if (mode_ == mode::idle && !next_digit(h))
    return len;
  if (mode_ == mode::event) {
    std::array<uint8_t, 4> ev{};
    bool marker = false;
    uint32_t ts = 0;
    if (!events_.next(ev, marker, ts)) {
      // The press is over: this packet is audio again, then the gap.
      mode_ = mode::gap;
      gap_packets_ = gap_between_events;
      return len;
    }
    // RFC 4733 §2.3: the payload is the event block; the header keeps the
    // stream's sequence number and SSRC, takes the event's timestamp, the
    // telephone-event payload type and the marker of the first packet.
    const std::size_t at = h.payload_offset;
    if (at + 4 > packet.size())
      return len;
    packet[0] = static_cast<uint8_t>(packet[0] & ~0x20u);  // no padding
    packet[1] = static_cast<uint8_t>((marker ? 0x80u : 0u) | (*active_.telephone_event_pt & 0x7fu));
    rtp::set_timestamp(packet, ts);
    std::copy(ev.begin(), ev.end(), packet.begin() + static_cast<std::ptrdiff_t>(at));
    return at + 4;
  }
  // In-band: the tone replaces the audio, in the packet's own G.711 law.
  const bool ulaw = active_.pcmu_pt && h.payload_type == *active_.pcmu_pt;
  const bool alaw = active_.pcma_pt && h.payload_type == *active_.pcma_pt;
  if (!ulaw && !alaw) {
    // Not G.711 (a codec we cannot write tones into): drop the tones.
    tones_.clear();
    mode_ = mode::idle;
    return len;
  }
  std::array<int16_t, 480> pcm{};
  std::size_t n = std::min<std::size_t>(h.payload_size, pcm.size());
  auto pcm_span = std::span<int16_t>(pcm.data(), n);
  tones_.generate(pcm_span);
  auto payload = packet.subspan(h.payload_offset, n);
  if (ulaw)
    media::ulaw_encode(pcm_span, payload);
  else
    media::alaw_encode(pcm_span, payload);
  if (!tones_.busy())
    mode_ = mode::idle;
  return len;
}

} // namespace centralita::actors
