#include "protocols/rtp/telephone_event.hpp"

#include <algorithm>
#include <limits>

namespace centralita::rtp {

namespace {

constexpr uint32_t max_segment_duration = 0xFFFF;  // RFC 4733 §2.3: 16-bit duration

constexpr uint32_t event_bit(uint8_t event) noexcept { return uint32_t{1} << event; }  // event <= 16

} // namespace

std::optional<telephone_event> parse_telephone_event(std::span<const uint8_t> p) noexcept {
  // RFC 4733 §2.3: 4-byte blocks; more than one only with RFC 2198 redundancy
  // or several events in one packet (§2.5.1.5), of which the first is read.
  if (p.size() < 4 || p.size() % 4 != 0) return std::nullopt;
  telephone_event ev;
  ev.event = p[0];
  ev.end = (p[1] & 0x80) != 0;
  // RFC 4733 §2.3: the R bit (0x40) is reserved; receivers ignore it.
  ev.volume = p[1] & 0x3f;
  ev.duration = static_cast<uint16_t>((p[2] << 8) | p[3]);
  return ev;
}

void write_telephone_event(std::span<uint8_t, 4> out, const telephone_event& ev) noexcept {
  out[0] = ev.event;
  out[1] = static_cast<uint8_t>((ev.end ? 0x80 : 0) | (ev.volume & 0x3f));  // §2.3: R sent as 0
  out[2] = static_cast<uint8_t>(ev.duration >> 8);
  out[3] = static_cast<uint8_t>(ev.duration);
}

char event_digit(uint8_t event) noexcept {
  // RFC 4733 §3.2, table 7 (DTMF named events).
  if (event <= 9) return static_cast<char>('0' + event);
  switch (event) {
    case 10: return '*';
    case 11: return '#';
    case 12: return 'A';
    case 13: return 'B';
    case 14: return 'C';
    case 15: return 'D';
    case 16: return 'F';  // flash
    default: return 0;
  }
}

std::optional<uint8_t> digit_event(char digit) noexcept {
  if (digit >= '0' && digit <= '9') return static_cast<uint8_t>(digit - '0');
  if (digit >= 'A' && digit <= 'D') return static_cast<uint8_t>(12 + (digit - 'A'));
  if (digit >= 'a' && digit <= 'd') return static_cast<uint8_t>(12 + (digit - 'a'));
  switch (digit) {
    case '*': return 10;
    case '#': return 11;
    case 'F':
    case 'f': return 16;
    default: return std::nullopt;
  }
}

// --- detector ---------------------------------------------------------------

detected_digits telephone_event_detector::feed(const rtp_header& h, const telephone_event& ev,
                                               uint32_t clock_rate) noexcept {
  detected_digits out;
  if (clock_rate == 0 || event_digit(ev.event) == 0) return out;

  // A new SSRC is a new sender (RFC 3550 §8): its timestamps have nothing to
  // do with the old ones, so what is pending ends here and history is dropped.
  if (have_ssrc_ && h.ssrc != ssrc_) {
    if (pending_) report(false, out);
    restart();
    ++discontinuities_;
  }
  have_ssrc_ = true;
  ssrc_ = h.ssrc;

  const uint32_t ts = h.timestamp;
  if (!have_newest_) {
    begin(ts, ev, clock_rate, out);
    return out;
  }

  const int32_t d = ts_diff(newest_ts_, ts);  // RFC 3550 A.1 style: wrap-aware
  if (d < 0) {
    const uint64_t behind = static_cast<uint64_t>(-static_cast<int64_t>(d));
    // RFC 4733 §2.5.2.2: a packet older than the newest event belongs to an
    // event already dealt with (retransmitted or reordered): ignored.
    if (behind <= uint64_t{clock_rate} * late_window_s) return out;
    // Far older: the sender's clock jumped. Start afresh.
    if (pending_) report(false, out);
    restart();
    ++discontinuities_;
    begin(ts, ev, clock_rate, out);
    return out;
  }

  if (d == 0) {
    if (pending_ && ev.event == event_) {  // pending_ implies segment_ts_ == newest_ts_
      update(ev, out);
      return out;
    }
    // RFC 4733 §2.5.1.4: the redundant copies of the final packet, and any
    // late copy of a reported event, carry its timestamp and code: ignored.
    if ((reported_at_newest_ & event_bit(ev.event)) != 0) return out;
    // Same timestamp, another code: a new event. The pending one lost its end.
    if (pending_) report(false, out);
    begin(ts, ev, clock_rate, out);
    return out;
  }

  // A newer timestamp.
  if (pending_ && ev.event == event_ && continues(ts)) {
    // RFC 4733 §2.5.2.3: the next segment of a long event, one key press.
    prior_samples_ += ts_delta(segment_ts_, ts);
    segment_ts_ = ts;
    segment_duration_ = ev.duration;
    newest_ts_ = ts;
    reported_at_newest_ = 0;
    if (ev.end) report(true, out);
    return out;
  }
  // RFC 4733 §2.5.2.2: a new event while the previous one had no end (all its
  // end packets lost): the previous one is over.
  if (pending_) report(false, out);
  begin(ts, ev, clock_rate, out);
  return out;
}

std::optional<detected_digit> telephone_event_detector::expire() noexcept {
  if (!pending_) return std::nullopt;
  detected_digits out;
  report(false, out);
  return out[0];
}

void telephone_event_detector::reset() noexcept {
  restart();
  have_ssrc_ = false;
  ssrc_ = 0;
}

void telephone_event_detector::begin(uint32_t ts, const telephone_event& ev, uint32_t clock_rate,
                                     detected_digits& out) noexcept {
  if (!have_newest_ || ts != newest_ts_) reported_at_newest_ = 0;
  have_newest_ = true;
  newest_ts_ = ts;
  pending_ = true;
  event_ = ev.event;
  clock_rate_ = clock_rate;
  start_ts_ = ts;
  segment_ts_ = ts;
  prior_samples_ = 0;
  segment_duration_ = ev.duration;
  // An end packet may be the first one we get (start and updates lost).
  if (ev.end) report(true, out);
}

void telephone_event_detector::update(const telephone_event& ev, detected_digits& out) noexcept {
  // RFC 4733 §2.5.2.2: updates may arrive out of order; the longest duration
  // is the one to keep.
  segment_duration_ = std::max(segment_duration_, ev.duration);
  if (ev.end) report(true, out);
}

bool telephone_event_detector::continues(uint32_t ts) const noexcept {
  const uint64_t tolerance = uint64_t{clock_rate_} * segment_tolerance_ms / 1000;
  // RFC 4733 §2.5.1.3: a segment ends only when its duration nears the 16-bit
  // maximum. Requiring that keeps two presses of the same key, whose end
  // packets were lost, from being merged.
  if (uint64_t{segment_duration_} + tolerance < max_segment_duration) return false;
  // The new segment starts where the previous one ended (its timestamp plus
  // its duration), give or take the updates lost or the sender's rounding.
  const int64_t gap = int64_t{ts_delta(segment_ts_, ts)} - int64_t{segment_duration_};
  return static_cast<uint64_t>(gap < 0 ? -gap : gap) <= tolerance;
}

detected_digit telephone_event_detector::make_digit(bool end_seen) const noexcept {
  const uint64_t samples = prior_samples_ + segment_duration_;
  const uint64_t ms = samples * 1000 / clock_rate_;
  detected_digit d;
  d.digit = event_digit(event_);
  d.duration_ms = static_cast<uint32_t>(std::min<uint64_t>(ms, std::numeric_limits<uint32_t>::max()));
  d.rtp_timestamp = start_ts_;
  d.end_seen = end_seen;
  return d;
}

void telephone_event_detector::report(bool end_seen, detected_digits& out) noexcept {
  out.push_back(make_digit(end_seen));
  pending_ = false;
  // The pending event's segment timestamp is always the newest one: remember
  // its code so its remaining packets are recognised as already reported.
  reported_at_newest_ |= event_bit(event_);
}

void telephone_event_detector::restart() noexcept {
  pending_ = false;
  have_newest_ = false;
  newest_ts_ = 0;
  reported_at_newest_ = 0;
}

// --- generator --------------------------------------------------------------

result<void> telephone_event_generator::start(char digit, uint32_t duration_ms, uint32_t start_timestamp,
                                              uint32_t clock_rate, uint8_t volume, uint32_t ptime_ms) {
  active_ = false;
  const auto event = digit_event(digit);
  if (!event) return error{errc::invalid_argument, "not a DTMF key"};
  if (duration_ms == 0) return error{errc::invalid_argument, "DTMF duration of 0 ms"};
  if (volume > 63) return error{errc::invalid_argument, "telephone-event volume over 63"};
  const uint64_t step = uint64_t{clock_rate} * ptime_ms / 1000;
  if (step == 0 || step > max_segment_duration)
    return error{errc::invalid_argument, "clock rate and ptime give no usable packet interval"};

  event_ = *event;
  volume_ = volume;
  step_ = static_cast<uint32_t>(step);
  segment_ts_ = start_timestamp;
  total_ = uint64_t{duration_ms} * clock_rate / 1000;
  if (total_ == 0) total_ = 1;
  elapsed_ = 0;
  segment_offset_ = 0;
  ends_left_ = 0;
  first_ = true;
  active_ = true;
  return {};
}

bool telephone_event_generator::next(std::span<uint8_t, 4> payload, bool& marker, uint32_t& timestamp) noexcept {
  if (!active_) return false;
  telephone_event ev{event_, false, volume_, 0};
  timestamp = segment_ts_;
  marker = false;

  if (ends_left_ > 0) {
    // RFC 4733 §2.5.1.4: the final packet is repeated unchanged.
    ev.end = true;
    ev.duration = static_cast<uint16_t>(total_ - segment_offset_);
    write_telephone_event(payload, ev);
    if (--ends_left_ == 0) active_ = false;
    return true;
  }

  // RFC 4733 §2.5.1.2: the first packet of an event has the marker bit.
  marker = first_;
  first_ = false;
  elapsed_ = std::min(elapsed_ + step_, total_);
  const uint64_t in_segment = elapsed_ - segment_offset_;
  if (in_segment > max_segment_duration) {
    // RFC 4733 §2.5.1.3: the duration cannot pass 0xFFFF. This packet closes
    // the segment at the maximum (no E bit); the next ones carry a timestamp
    // 0xFFFF later and the duration since then.
    ev.duration = static_cast<uint16_t>(max_segment_duration);
    write_telephone_event(payload, ev);
    segment_ts_ += max_segment_duration;
    segment_offset_ += max_segment_duration;
    return true;
  }
  ev.duration = static_cast<uint16_t>(in_segment);
  ev.end = elapsed_ == total_;
  write_telephone_event(payload, ev);
  // RFC 4733 §2.5.1.4: the final packet is sent three times in all.
  if (ev.end) ends_left_ = 2;
  return true;
}

} // namespace centralita::rtp
