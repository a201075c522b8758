#pragma once
// DTMF from relayed RTP: a tap on one side of a media session that turns the
// party's key presses into media_dtmf_detected messages to the session, from
// RFC 4733 telephone-events and, on G.711, from the audio itself (spandsp).
// It can also block what it detects (PCI masking): telephone-event packets
// are dropped, and G.711 audio is replaced by silence while a tone is held.

#include "actors/media/dtmf_injector.hpp"
#include "drivers/rtp/rtp_relay.hpp"
#include "media/dtmf/inband_detector.hpp"
#include "protocols/rtp/telephone_event.hpp"

#include <caf/actor.hpp>

#include <atomic>
#include <memory>
#include <optional>

namespace centralita::actors {

struct dtmf_tap_config {
  int side = 0;
  caf::actor session;
  std::optional<uint8_t> telephone_event_pt;  ///< what the party sends RFC 4733 with
  uint32_t telephone_event_rate = 8000;
  std::optional<uint8_t> pcmu_pt;  ///< G.711 payload types the party sends (in-band)
  std::optional<uint8_t> pcma_pt;
  bool inband = false;  ///< run the in-band detector on G.711
  bool block = false;
  /// Key presses played to the OTHER party (the one this side's packets go
  /// to): media.send_dtmf. May be null.
  std::shared_ptr<dtmf_injector> inject;
  /// Transcoding: every RTP packet goes to the session (media_rtp_in), none
  /// is relayed as is; RTCP is not carried across a transcoder.
  bool divert = false;
};

class dtmf_tap final : public drivers::rtp_tap {
public:
  explicit dtmf_tap(dtmf_tap_config cfg);
  drivers::tap_verdict on_packet(drivers::rtp_packet_view& packet) override;
  /// Any thread: start or stop blocking.
  void block(bool on) { block_.store(on, std::memory_order_relaxed); }

private:
  void report(char digit, uint32_t duration_ms, const char* source);
  drivers::tap_verdict divert(drivers::rtp_packet_view& p);

  dtmf_tap_config cfg_;
  std::atomic<bool> block_;
  rtp::telephone_event_detector events_;
  int64_t last_event_ns_ = 0;
  std::unique_ptr<media::inband_dtmf_detector> inband_;
};

} // namespace centralita::actors
