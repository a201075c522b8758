#pragma once
// Key presses played into a relayed stream (media.send_dtmf): the audio
// packets on their way to the party are replaced, one for one, so sequence
// numbers, timestamps and SSRC stay the stream's own (no second source for
// the receiver to sort out):
//  - RFC 4733, when the party negotiated telephone-event: each packet of the
//    press becomes a telephone-event packet (start with the marker, updates,
//    the end three times, §2.5.1), then two packets of the audio pass before
//    the next digit;
//  - in-band otherwise, on G.711: the payload becomes the DTMF tone pair
//    (spandsp's generator), encoded in the packet's own law.
// A press therefore needs the other party's audio to be flowing (it is, in a
// call; not during a hold with silence suppression).
//
// queue() is called from the media session's thread, apply() on the
// reactor's: a small lock guards the queue, an atomic says whether there is
// anything to do so a packet without injection costs one load.

#include "media/dtmf/inband_generator.hpp"
#include "protocols/rtp/rtp_packet.hpp"
#include "protocols/rtp/telephone_event.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>

namespace centralita::actors {

/// What the receiving party understands (from its SDP).
struct dtmf_injection_target {
  std::optional<uint8_t> telephone_event_pt;
  uint32_t telephone_event_rate = 8000;
  std::optional<uint8_t> pcmu_pt;  ///< G.711 payload types of the stream (in-band)
  std::optional<uint8_t> pcma_pt;
};

class dtmf_injector {
public:
  /// Any thread. `force_inband`: tones even when telephone-event is there.
  void queue(std::string digits, uint32_t duration_ms, bool force_inband);
  /// Any thread: the party's capabilities changed (re-negotiation).
  void set_target(const dtmf_injection_target& t);
  bool idle() const { return !pending_.load(std::memory_order_acquire); }

  /// Reactor thread: rewrites `packet` (an RTP packet of `len` bytes going to
  /// the party) when a press is being played; returns the new length.
  std::size_t apply(std::span<uint8_t> packet, std::size_t len, const rtp::rtp_header& h);

  /// Digits played so far (all ways), for tests and logs.
  uint64_t played() const { return played_.load(std::memory_order_relaxed); }

private:
  struct job {
    std::string digits;
    uint32_t duration_ms = 100;
    bool force_inband = false;
  };
  enum class mode : uint8_t { idle, event, gap, inband };

  bool next_digit(const rtp::rtp_header& h);

  std::mutex mu_;
  std::deque<job> jobs_;             ///< under mu_
  dtmf_injection_target target_;     ///< under mu_ (copied at each digit)
  std::atomic<bool> pending_{false};
  std::atomic<uint64_t> played_{0};
  // Reactor thread only.
  mode mode_ = mode::idle;
  std::optional<job> current_;
  std::size_t next_index_ = 0;
  dtmf_injection_target active_;
  rtp::telephone_event_generator events_;
  media::inband_dtmf_generator tones_;
  int gap_packets_ = 0;
};

} // namespace centralita::actors
