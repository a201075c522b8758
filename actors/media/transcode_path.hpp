#pragma once
// One direction of a transcoded call (sip.bridge opts.media = "transcode"):
// the RTP packets one party sends, re-encoded for the other party, as a
// stream of our own (our SSRC, sequence numbers and timestamps on the
// receiving codec's clock). Owned by the media session actor (the codec
// state lives there, never on the reactor).
//
// telephone-events are carried across (RFC 4733 §2.5.2: a relay re-times
// them): to RFC 4733 when the receiver has telephone-event (payload type,
// timestamp and duration converted to its clock), else as tones written
// into the G.711 audio. Presses detected in-band, or asked for by a script,
// are played as RFC 4733 when the receiver has it, else as tones.

#include "media/codec/transcoder.hpp"
#include "media/dtmf/inband_generator.hpp"
#include "protocols/rtp/rtp_packet.hpp"
#include "protocols/rtp/telephone_event.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace centralita::actors {

struct transcode_leg {
  media::codec_spec codec;  ///< its audio codec (payload type as negotiated)
  std::optional<uint8_t> telephone_event_pt;
  uint32_t telephone_event_rate = 8000;
};

class transcode_path {
public:
  using emit_fn = std::function<void(std::span<const uint8_t>)>;

  /// `from` the party that sends, `to` the one that receives; `ssrc` of our stream.
  static result<transcode_path> create(const transcode_leg& from, const transcode_leg& to,
                                       uint32_t ssrc);

  /// One RTP packet from the sending party; `emit` gets every packet to send
  /// to the receiving party (zero or more).
  void on_packet(std::span<const uint8_t> packet, const emit_fn& emit);

  /// A key press to play to the receiving party (detected in-band on the
  /// other side, or media.send_dtmf).
  void play(char digit, uint32_t duration_ms, bool force_inband = false);

  const media::transcoder_stats& stats() const { return codec_.stats(); }
  uint64_t events_carried() const { return events_carried_; }

private:
  transcode_path(media::transcoder t, const transcode_leg& from, const transcode_leg& to,
                 uint32_t ssrc)
    : codec_(std::move(t)), from_(from), to_(to), ssrc_(ssrc) {}

  /// Out timestamp for an in timestamp (both clocks; wrap-safe).
  uint32_t map_ts(uint32_t in_ts) const;
  void send(const emit_fn& emit, uint8_t pt, bool marker, uint32_t ts,
            std::span<const uint8_t> payload);
  void carry_event(const rtp::rtp_header& h, std::span<const uint8_t> payload, const emit_fn& emit);
  bool play_event(const emit_fn& emit);

  media::transcoder codec_;
  transcode_leg from_;
  transcode_leg to_;
  uint32_t ssrc_;
  uint16_t seq_ = 0;
  bool started_ = false;
  uint16_t last_in_seq_ = 0;
  uint32_t in_base_ = 0;   ///< the first input timestamp
  uint32_t out_base_ = 0;  ///< its output timestamp
  uint32_t out_ts_ = 0;    ///< the next audio timestamp out
  bool marker_next_ = true;
  // Presses to play (detected in-band elsewhere, or asked for).
  struct press {
    char digit;
    uint32_t duration_ms;
    bool inband;
  };
  std::deque<press> presses_;
  rtp::telephone_event_detector in_events_;  ///< RFC 4733 in, when the receiver has none
  rtp::telephone_event_generator generator_;
  media::inband_dtmf_generator tones_;
  bool tones_active_ = false;
  uint64_t events_carried_ = 0;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(1600);
};

} // namespace centralita::actors
