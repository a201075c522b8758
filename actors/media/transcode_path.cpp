#include "actors/media/transcode_path.hpp"

#include "media/codec/g711.hpp"

#include <array>

namespace centralita::actors {

result<transcode_path> transcode_path::create(const transcode_leg& from, const transcode_leg& to,
                                              uint32_t ssrc) {
  auto t = media::transcoder::create(from.codec, to.codec);
  if (!t)
    return t.err();
  transcode_path p(std::move(t.value()), from, to, ssrc);
  // RFC 3550 §5.1: random initial sequence number and timestamp.
  p.seq_ = static_cast<uint16_t>(ssrc * 2654435761u >> 16);
  p.out_base_ = ssrc * 2246822519u;
  return p;
}

uint32_t transcode_path::map_ts(uint32_t in_ts) const {
  // The input's elapsed time (wrap-safe, a signed step from the last one)
  // on the output's clock.
  const int64_t delta = rtp::ts_diff(in_base_, in_ts);
  const int64_t scaled = delta * static_cast<int64_t>(to_.codec.rtp_clock_rate)
                         / static_cast<int64_t>(from_.codec.rtp_clock_rate);
  return out_base_ + static_cast<uint32_t>(scaled);
}

void transcode_path::send(const emit_fn& emit, uint8_t pt, bool marker, uint32_t ts,
                          std::span<const uint8_t> payload) {
  if (payload.size() + 12 > buf_.size())
    return;
  rtp::rtp_header_fields f;
  f.payload_type = pt;
  f.marker = marker;
  f.sequence = seq_++;
  f.timestamp = ts;
  f.ssrc = ssrc_;
  auto n = rtp::write_rtp_header(buf_, f);
  std::copy(payload.begin(), payload.end(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
  emit(std::span<const uint8_t>(buf_.data(), n + payload.size()));
}

void transcode_path::carry_event(const rtp::rtp_header& h, std::span<const uint8_t> payload,
                                 const emit_fn& emit) {
  auto ev = rtp::parse_telephone_event(payload);
  if (!ev || !started_)
    return;  // an event before any audio: no clock mapping yet
  if (to_.telephone_event_pt) {
    // RFC 4733 → RFC 4733: the same event on the receiver's clock.
    auto out_ev = *ev;
    const uint64_t d = uint64_t{ev->duration} * to_.telephone_event_rate
                       / (from_.telephone_event_rate != 0 ? from_.telephone_event_rate : 8000);
    out_ev.duration = static_cast<uint16_t>(std::min<uint64_t>(d, 0xffff));
    std::array<uint8_t, 4> block{};
    rtp::write_telephone_event(block, out_ev);
    if (h.marker)
      ++events_carried_;
    send(emit, *to_.telephone_event_pt, h.marker, map_ts(h.timestamp), block);
    return;
  }
  // RFC 4733 → in-band: the press, once known, is played as tones.
  for (auto& d : in_events_.feed(h, *ev, from_.telephone_event_rate)) {
    ++events_carried_;
    play(d.digit, std::max<uint32_t>(d.duration_ms, 60), true);
  }
}

void transcode_path::play(char digit, uint32_t duration_ms, bool force_inband) {
  if (presses_.size() < 64)
    presses_.push_back(press{digit, duration_ms, force_inband});
}

bool transcode_path::play_event(const emit_fn& emit) {
  if (!generator_.active() && !tones_active_ && !presses_.empty()) {
    auto p = presses_.front();
    presses_.pop_front();
    if (to_.telephone_event_pt && !p.inband) {
      if (!generator_.start(p.digit, p.duration_ms, out_ts_, to_.telephone_event_rate))
        return false;
    } else if (media::is_g711(to_.codec.id)) {
      char keys[2] = {p.digit, 0};
      tones_active_ = static_cast<bool>(tones_.queue(keys, p.duration_ms, 60));
    }
  }
  if (!generator_.active())
    return false;
  std::array<uint8_t, 4> block{};
  bool marker = false;
  uint32_t ts = 0;
  if (!generator_.next(block, marker, ts))
    return false;
  send(emit, *to_.telephone_event_pt, marker, ts, block);
  return true;
}

void transcode_path::on_packet(std::span<const uint8_t> packet, const emit_fn& emit) {
  auto h = rtp::parse_rtp(packet);
  if (!h)
    return;
  auto payload = packet.subspan(h->payload_offset, h->payload_size);
  if (from_.telephone_event_pt && h->payload_type == *from_.telephone_event_pt) {
    carry_event(*h, payload, emit);
    return;
  }
  if (h->payload_type != from_.codec.payload_type)
    return;  // comfort noise or a codec not negotiated: not carried
  if (!started_) {
    started_ = true;
    in_base_ = h->timestamp;
    out_ts_ = out_base_;
    last_in_seq_ = static_cast<uint16_t>(h->sequence - 1);
  }
  const int32_t gap = rtp::seq_diff(last_in_seq_, h->sequence);
  if (gap <= 0)
    return;  // a duplicate or a late packet: its slot was filled already
  last_in_seq_ = h->sequence;

  auto out = [&](std::span<const uint8_t> encoded, uint32_t ts) {
    if (encoded.empty())
      return;
    out_ts_ = ts;
    if (play_event(emit)) {
      // A press rides on this frame's slot (RFC 4733 §2.5.1: audio stops
      // while an event is sent).
    } else if (tones_active_) {
      std::array<int16_t, 480> pcm{};
      std::array<uint8_t, 480> g711{};
      const std::size_t n = std::min<std::size_t>(encoded.size(), pcm.size());
      tones_.generate(std::span<int16_t>(pcm.data(), n));
      if (to_.codec.id == media::codec_id::pcmu)
        media::ulaw_encode(std::span<const int16_t>(pcm.data(), n), g711);
      else
        media::alaw_encode(std::span<const int16_t>(pcm.data(), n), g711);
      send(emit, to_.codec.payload_type, marker_next_, ts, std::span<const uint8_t>(g711.data(), n));
      marker_next_ = false;
      if (!tones_.busy())
        tones_active_ = false;
    } else {
      send(emit, to_.codec.payload_type, marker_next_, ts, encoded);
      marker_next_ = false;
    }
  };
  const uint32_t ts = map_ts(h->timestamp);
  if (gap > 1 && gap <= 10) {
    // Loss (the transcoder's recipe): PLC for the older ones, FEC for the
    // one just before this packet, then this packet.
    const uint32_t step = codec_.output_timestamp_increment();
    for (int32_t k = gap - 1; k >= 2; --k)
      out(codec_.conceal(), ts - static_cast<uint32_t>(k) * step);
    out(codec_.recover(payload), ts - step);
  }
  out(codec_.transcode(payload), ts);
}

} // namespace centralita::actors
