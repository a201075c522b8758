#include "actors/media/dtmf_tap.hpp"

#include "actors/b2bua/b2b_messages.hpp"

#include <caf/send.hpp>

#include <array>
#include <cstring>

namespace centralita::actors {

namespace {

// RFC 4733 §2.5.1.4 sends the end three times, 50 ms apart at most; a press
// whose end packets were all lost is reported this long after its last one.
constexpr int64_t event_expiry_ns = 300'000'000;

} // namespace

dtmf_tap::dtmf_tap(dtmf_tap_config cfg) : cfg_(std::move(cfg)), block_(cfg_.block) {
  if (cfg_.inband && (cfg_.pcmu_pt || cfg_.pcma_pt))
    inband_ = std::make_unique<media::inband_dtmf_detector>();
}

void dtmf_tap::report(char digit, uint32_t duration_ms, const char* source) {
  // On the reactor thread: a message to the session, which publishes it.
  caf::anon_send(cfg_.session, media_dtmf_detected{cfg_.side, digit, duration_ms, source});
}

drivers::tap_verdict dtmf_tap::divert(drivers::rtp_packet_view& p) {
  if (!cfg_.divert)
    return drivers::tap_verdict::forward;
  // The codec work happens in the session actor, never on the reactor.
  caf::anon_send(cfg_.session,
                 media_rtp_in{cfg_.side, std::vector<uint8_t>(p.bytes.begin(),
                                                              p.bytes.begin() + static_cast<std::ptrdiff_t>(p.length))});
  return drivers::tap_verdict::drop;
}

drivers::tap_verdict dtmf_tap::on_packet(drivers::rtp_packet_view& p) {
  if (p.rtcp)
    return cfg_.divert ? drivers::tap_verdict::drop : drivers::tap_verdict::forward;
  auto h = rtp::parse_rtp(p.bytes);
  if (!h)
    return drivers::tap_verdict::forward;
  const bool blocking = block_.load(std::memory_order_relaxed);
  auto payload = p.bytes.subspan(h->payload_offset, h->payload_size);
  if (cfg_.telephone_event_pt && h->payload_type == *cfg_.telephone_event_pt) {
    if (auto ev = rtp::parse_telephone_event(payload)) {
      last_event_ns_ = p.now_ns;
      for (auto& d : events_.feed(*h, *ev, cfg_.telephone_event_rate))
        report(d.digit, d.duration_ms, "rfc4733");
    }
    if (blocking)
      return drivers::tap_verdict::drop;
    return divert(p);
  }
  if (events_.pending() && p.now_ns - last_event_ns_ > event_expiry_ns) {
    if (auto d = events_.expire())
      report(d->digit, d->duration_ms, "rfc4733");
  }
  if (inband_) {
    std::optional<media::codec_id> id;
    if (cfg_.pcmu_pt && h->payload_type == *cfg_.pcmu_pt)
      id = media::codec_id::pcmu;
    else if (cfg_.pcma_pt && h->payload_type == *cfg_.pcma_pt)
      id = media::codec_id::pcma;
    if (id) {
      std::array<media::detected_tone, 4> tones{};
      auto n = inband_->feed_g711(*id, payload, tones);
      for (std::size_t i = 0; i < n; ++i)
        report(tones[i].digit, tones[i].duration_ms, "inband");
      if (blocking && inband_->pressed() != '\0') {
        // Masking: the tone is replaced by silence while it is held (the
        // first 20-40 ms pass: the detector needs them to hear it).
        std::memset(payload.data(), *id == media::codec_id::pcmu ? 0xff : 0xd5, payload.size());
      }
    }
  }
  if (cfg_.divert)
    return divert(p);
  if (cfg_.inject && !cfg_.inject->idle())
    p.length = cfg_.inject->apply(p.bytes, p.length, *h);
  return drivers::tap_verdict::forward;
}

} // namespace centralita::actors
