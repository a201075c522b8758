#pragma once

// RFC 4733 telephone-events (DTMF carried in RTP): the 4-byte payload, the
// mapping between event codes and keys, a detector that turns the packets of
// one received stream into key presses, and a generator that produces the
// packets of a key press we inject.
//
// Payload (RFC 4733 §2.3):
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   |     event     |E|R| volume    |          duration             |
//
// One key press is sent as (§2.5.1): a first packet with the marker bit, then
// updates every packet interval with the same RTP timestamp (the start of the
// event) and a growing duration, then the final packet with the E bit, sent
// three times (§2.5.1.4). A press longer than 0xFFFF timestamp units is sent
// as segments (§2.5.1.3): a new timestamp (old + old duration), same event
// code, no E bit on the earlier segment.
//
// Everything here is allocation-free and noexcept on the packet path (the
// relay runs it on the reactor thread for every telephone-event packet).

#include "protocols/rtp/rtp_packet.hpp"
#include "protocols/util/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace centralita::rtp {

/// One event block of a telephone-event payload (RFC 4733 §2.3).
struct telephone_event {
  uint8_t event = 0;      ///< event code (§3.2: 0-9, 10 '*', 11 '#', 12-15 A-D, 16 flash)
  bool end = false;       ///< E bit
  uint8_t volume = 0;     ///< 0..63, power level in -dBm0
  uint16_t duration = 0;  ///< in RTP timestamp units, since the event's (segment's) timestamp

  friend bool operator==(const telephone_event&, const telephone_event&) = default;
};

/// Parses the first 4-byte block of a telephone-event payload (RFC 4733 §2.3;
/// the R bit is ignored). The payload must be a non-zero multiple of 4 bytes
/// (several blocks are allowed; only the first is read: RFC 2198 redundancy
/// is not negotiated by us). nullopt otherwise.
std::optional<telephone_event> parse_telephone_event(std::span<const uint8_t> payload) noexcept;

/// Writes one block (R bit 0; the volume's top two bits are dropped).
void write_telephone_event(std::span<uint8_t, 4> out, const telephone_event& ev) noexcept;

/// The key for a DTMF event code (RFC 4733 §3.2): '0'-'9', '*' (10), '#' (11),
/// 'A'-'D' (12-15), 'F' (16, flash); 0 for every other code.
char event_digit(uint8_t event) noexcept;

/// The event code for a key: 0-9 * # A-D (a-d accepted) and F/f for flash.
std::optional<uint8_t> digit_event(char digit) noexcept;

/// One key press as the detector reports it.
struct detected_digit {
  char digit = 0;              ///< one of 0-9 * # A-D F
  uint32_t duration_ms = 0;    ///< samples * 1000 / clock_rate (segments summed), saturated
  uint32_t rtp_timestamp = 0;  ///< the event's timestamp (of its first segment)
  bool end_seen = false;       ///< false when reported without an E-bit packet (lost, expired)

  friend bool operator==(const detected_digit&, const detected_digit&) = default;
};

/// What one feed() produced: zero, one or two key presses, in the order they
/// happened. A fixed array (no allocation); iterate it with a range-for.
/// Two happen when a packet of a new event arrives while the previous one had
/// no end seen: the previous one is reported first, then the new one if that
/// packet already is an end packet.
class detected_digits {
public:
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  const detected_digit& operator[](std::size_t i) const noexcept { return items_[i]; }
  const detected_digit* begin() const noexcept { return items_.data(); }
  const detected_digit* end() const noexcept { return items_.data() + count_; }

  /// Appends `d`; a third one is dropped (the detector never produces one).
  void push_back(const detected_digit& d) noexcept {
    if (count_ < items_.size()) items_[count_++] = d;
  }

private:
  std::array<detected_digit, 2> items_{};
  uint8_t count_ = 0;
};

/// Turns the telephone-event packets of one received RTP stream into key
/// presses, each reported exactly once (RFC 4733 §2.5.2):
///  - an event is identified by its RTP timestamp and code; it is reported
///    when its first end packet arrives; the redundant end copies, and any
///    duplicate, retransmitted or late packet of an already reported event,
///    are ignored;
///  - a packet of a new event (a newer timestamp, or the same timestamp with
///    another code) while the previous one had no end reports the previous
///    one first, with end_seen=false and the longest duration seen;
///  - a newer segment of a long event (§2.5.1.3: same code, timestamp = the
///    previous segment's + its duration within segment_tolerance_ms, and that
///    segment near the 0xFFFF maximum) continues the same press, durations
///    summed;
///  - a packet whose timestamp is older than the newest one seen (wrap-aware)
///    is late and ignored; one older by more than late_window_s is a
///    discontinuity of the sender's timestamps (counted in
///    discontinuities()): the pending event is reported and the detector
///    starts afresh, as it does when the SSRC changes;
///  - event codes that are not DTMF keys (event_digit() == 0) are ignored.
/// The owner calls expire() when no telephone-event packet came for a while
/// (e.g. a few packet intervals after the last one), to report an event whose
/// end packets were all lost.
class telephone_event_detector {
public:
  /// Two segments of a long event join when the gap or overlap between them is
  /// within this (lost updates at the end of a segment make a gap).
  static constexpr uint32_t segment_tolerance_ms = 100;
  /// A timestamp older than the newest one by more than this is not a late
  /// packet but a jump of the sender's clock.
  static constexpr uint32_t late_window_s = 60;

  /// Feeds one received telephone-event packet: its RTP header (timestamp and
  /// SSRC are used), its first event block and the payload type's clock rate
  /// (from the SDP rtpmap, 8000 or 48000 typically; 0 → the packet is ignored).
  detected_digits feed(const rtp_header& header, const telephone_event& ev, uint32_t clock_rate) noexcept;

  /// Reports the pending event (end_seen=false) once, if there is one; later
  /// packets of it are then ignored like those of any reported event.
  std::optional<detected_digit> expire() noexcept;

  /// Forgets everything (no report), e.g. when the stream is re-negotiated.
  void reset() noexcept;

  /// True while an event has been seen but not reported yet.
  bool pending() const noexcept { return pending_; }

  /// How many times the detector started afresh on a timestamp jump or an SSRC change.
  uint32_t discontinuities() const noexcept { return discontinuities_; }

  /// The newest timestamp seen since the last fresh start: packets at or
  /// before it (wrap-aware) can only continue or repeat what was seen.
  std::optional<uint32_t> newest_timestamp() const noexcept {
    return have_newest_ ? std::optional<uint32_t>(newest_ts_) : std::nullopt;
  }

private:
  void begin(uint32_t ts, const telephone_event& ev, uint32_t clock_rate, detected_digits& out) noexcept;
  void update(const telephone_event& ev, detected_digits& out) noexcept;
  bool continues(uint32_t ts) const noexcept;
  void report(bool end_seen, detected_digits& out) noexcept;
  detected_digit make_digit(bool end_seen) const noexcept;
  void restart() noexcept;

  // The event seen but not reported yet (valid while pending_).
  bool pending_ = false;
  uint8_t event_ = 0;
  uint32_t clock_rate_ = 0;
  uint32_t start_ts_ = 0;      ///< timestamp of the first segment (reported)
  uint32_t segment_ts_ = 0;    ///< timestamp of the current segment (== newest_ts_)
  uint64_t prior_samples_ = 0; ///< samples of the earlier segments
  uint16_t segment_duration_ = 0;  ///< longest duration seen in the current segment

  // What has been seen of the stream.
  bool have_newest_ = false;
  uint32_t newest_ts_ = 0;          ///< newest timestamp seen (wrap-aware)
  uint32_t reported_at_newest_ = 0; ///< bit per event code reported with timestamp newest_ts_
  bool have_ssrc_ = false;
  uint32_t ssrc_ = 0;
  uint32_t discontinuities_ = 0;
};

/// Produces the RFC 4733 packet sequence of one key press to inject into a
/// stream. Call next() once per packet interval (ptime) from start() on; it
/// fills the payload, the marker bit and the RTP timestamp for the packet and
/// returns false once the press is over:
///   1. the first packet, marker set, duration one interval (§2.5.1.2);
///   2. updates, duration growing by one interval per packet;
///   3. the final packet with the E bit, three times (§2.5.1.4).
/// Every packet carries the start timestamp, except that a press longer than
/// 0xFFFF timestamp units is split into segments (§2.5.1.3): the packet that
/// would pass 0xFFFF carries 0xFFFF (no E bit), the following ones the
/// timestamp + 0xFFFF and the duration since then. The caller owns sequence
/// numbers and the SSRC.
class telephone_event_generator {
public:
  /// Begins a press of `digit` (0-9 * # A-D a-d F f) lasting `duration_ms`.
  /// Errors (errc::invalid_argument): an unknown digit, duration_ms 0, a
  /// volume over 63, or clock_rate/ptime_ms giving 0 or more than 0xFFFF
  /// samples per packet. A press in progress is abandoned.
  result<void> start(char digit, uint32_t duration_ms, uint32_t start_timestamp,
                     uint32_t clock_rate, uint8_t volume = 10, uint32_t ptime_ms = 20);

  /// The next packet of the press; false (nothing written) when it is over.
  bool next(std::span<uint8_t, 4> payload, bool& marker, uint32_t& timestamp) noexcept;

  /// True from a successful start() until next() returned the last packet.
  bool active() const noexcept { return active_; }

  /// Timestamp units per packet interval (clock_rate * ptime_ms / 1000).
  uint32_t samples_per_packet() const noexcept { return step_; }

private:
  bool active_ = false;
  bool first_ = false;
  uint8_t event_ = 0;
  uint8_t volume_ = 0;
  uint8_t ends_left_ = 0;     ///< repetitions of the final packet still to send
  uint32_t step_ = 0;
  uint32_t segment_ts_ = 0;
  uint64_t total_ = 0;        ///< the press's length in timestamp units
  uint64_t elapsed_ = 0;      ///< duration reached so far
  uint64_t segment_offset_ = 0;  ///< elapsed at the start of the current segment
};

} // namespace centralita::rtp
