#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "media/codec/audio_codec.hpp"
#include "media/codec/opus_codec.hpp"
#include "protocols/util/result.hpp"

namespace centralita::media {

/// Counters of one transcoder, for the media actor's stats.
struct transcoder_stats {
  uint64_t frames = 0;    ///< input payloads transcoded
  uint64_t concealed = 0; ///< frames synthesised by `conceal`
  uint64_t recovered = 0; ///< frames rebuilt by `recover` (FEC, or PLC without it)
  uint64_t rejected = 0;  ///< input payloads that could not be decoded or re-encoded
};

/// Transcodes ONE direction of a bridged stream, codec `from` → codec `to`
/// (issue 8: Opus ↔ PCMU/PCMA when the legs share no codec), one RTP payload at a
/// time, normally 20 ms. The media actor owns one per direction and calls it for
/// every packet; nothing allocates after `create`.
///
/// Why there is no resampler. PCM flows at one "work rate" chosen so that both the
/// decoder and the encoder run at it natively:
///  - G.711 ↔ Opus: 8000 Hz. libopus decodes any Opus stream (whatever its coded
///    bandwidth) at an 8 kHz API rate, and encodes 8 kHz input (as narrowband); the
///    Opus side's API rate is forced to 8000 whatever its spec says, since G.711
///    carries nothing above 4 kHz anyway.
///  - PCMU ↔ PCMA: both are 8000 Hz; the octets are mapped with G.711's own
///    transcoding tables (the PCM is still decoded, for the tap and the PLC).
///  - Opus ↔ Opus (different API rates, e.g. a 16 kHz and a 48 kHz leg): decoding
///    happens at the `to` side's rate, which the Opus decoder does natively. (The
///    RTP clock is 48000 on both legs, RFC 7587 §4.1, so such legs could also be
///    relayed unchanged; transcode only to cap the bitrate or bandwidth.)
///
/// Timing. The output covers the same duration as the input, so the relay keeps
/// the input packet's timing and converts only the timestamp's unit:
/// `output_timestamp_increment()` is the increment on the `to` leg's RTP clock
/// (160 for 20 ms of G.711, 960 for 20 ms of Opus). telephone-event packets
/// (RFC 4733) never pass through here: the relay forwards them itself, scaling
/// timestamps and durations by to.rtp_clock_rate / from.rtp_clock_rate.
///
/// Loss. When the relay sees a gap of `k` packets in the `from` leg's sequence
/// numbers (a packet arrives after `k` missing ones):
///   1. `k - 1` calls of `conceal()` (PLC for the packets too old to recover);
///   2. one call of `recover(next)` for the packet just before `next` (Opus in-band
///      FEC, RFC 6716 §2.1.7, when `next` carries it; PLC otherwise);
///   3. `transcode(next)` as usual.
/// Each call yields one output payload; send it before the next call (they share
/// one buffer). The lost frames are assumed as long as the last frame.
class transcoder {
public:
  /// The longest frame handled: 60 ms at 48 kHz.
  static constexpr std::size_t max_frame_samples = 2880;

  /// Fails with `invalid_argument` for an Opus rate libopus does not support.
  /// `opus_bitrate_bps` 0: `opus_encoder::default_bitrate` of the work rate.
  static result<transcoder> create(const codec_spec& from, const codec_spec& to,
                                   int32_t opus_bitrate_bps = 0);

  /// The `to` payload for one `from` payload, valid until the next call. Empty when
  /// the input cannot be transcoded (a malformed Opus packet, an empty payload, a
  /// G.711 frame whose length Opus cannot encode, e.g. 30 ms): the caller drops it,
  /// or calls `conceal()` to keep the output cadence; `stats().rejected` counts it.
  std::span<const uint8_t> transcode(std::span<const uint8_t> payload_in);

  /// The `to` payload replacing one lost input packet (PLC).
  std::span<const uint8_t> conceal();

  /// The `to` payload for the lost packet just before `next_payload`, from that
  /// packet's FEC when it has some. Then call `transcode(next_payload)`.
  std::span<const uint8_t> recover(std::span<const uint8_t> next_payload);

  /// The decoded PCM of the last frame (at `pcm_rate()`: 8000 Hz whenever one side
  /// is G.711, which is when the in-band DTMF detector reads it). Empty when the
  /// input could not be decoded. Valid until the next call.
  std::span<const int16_t> pcm_tap() const noexcept { return {pcm_.data(), pcm_len_}; }
  uint32_t pcm_rate() const noexcept { return work_rate_; }

  /// RTP timestamp increment of the last output payload on the `to` leg's clock.
  uint32_t output_timestamp_increment() const noexcept {
    return static_cast<uint32_t>(last_frame_ * to_.rtp_clock_rate / work_rate_);
  }

  const codec_spec& from() const noexcept { return from_; }
  const codec_spec& to() const noexcept { return to_; }
  const transcoder_stats& stats() const noexcept { return stats_; }
  /// The encoder of the `to` side (e.g. to change the Opus bitrate).
  audio_encoder& encoder() noexcept { return enc_; }

private:
  transcoder(const codec_spec& from, const codec_spec& to, uint32_t rate, audio_decoder dec,
             audio_encoder enc)
      : from_(from), to_(to), work_rate_(rate), dec_(std::move(dec)), enc_(std::move(enc)),
        last_frame_(rate / 50) {}

  std::span<const uint8_t> encode_pcm(std::size_t samples, bool after_loss);

  codec_spec from_;
  codec_spec to_;
  uint32_t work_rate_;
  audio_decoder dec_;
  audio_encoder enc_;
  std::size_t pcm_len_ = 0;
  std::size_t last_frame_; // samples at work_rate_ of the last frame (20 ms at first)
  bool after_loss_ = false; // the previous output was concealed or recovered
  transcoder_stats stats_;
  std::array<int16_t, max_frame_samples> pcm_{};
  std::array<uint8_t, opus_max_packet_bytes> out_{};
};

} // namespace centralita::media
