#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "protocols/util/result.hpp"

// libopus's handle types (opus.h declares them as `typedef struct OpusEncoder
// OpusEncoder;`), declared here so that users of this header do not see opus.h.
struct OpusEncoder;
struct OpusDecoder;

namespace centralita::media {

/// RFC 7587 §4.1: the RTP clock rate of Opus is always 48000 Hz, whatever rate the
/// encoder samples at (and the SDP always says "opus/48000/2", RFC 7587 §7).
inline constexpr uint32_t opus_rtp_clock_rate = 48000;

/// The RTP timestamp increment of `frame_ms` of Opus audio: 960 for 20 ms
/// (RFC 7587 §4.1: counted at 48 kHz even when the API rate is 8 kHz).
constexpr uint32_t opus_rtp_timestamp_increment(uint32_t frame_ms = 20) noexcept {
  return opus_rtp_clock_rate / 1000 * frame_ms;
}

/// Output buffer size libopus recommends for one packet. RFC 6716 §3.2.1 limits a
/// frame to 1275 octets; a 60 ms packet holds up to three 20 ms frames.
inline constexpr std::size_t opus_max_packet_bytes = 4000;

/// True for the API sample rates libopus accepts: 8000, 12000, 16000, 24000, 48000.
bool opus_rate_supported(uint32_t sample_rate) noexcept;

/// True when `samples` at `sample_rate` is a duration one Opus frame can carry:
/// 2.5, 5, 10, 20, 40 or 60 ms (RFC 6716 §2.1.4).
bool opus_frame_size_valid(std::size_t samples, uint32_t sample_rate) noexcept;

/// How an `opus_encoder` is set up. The defaults suit a telephony leg.
struct opus_encoder_options {
  uint32_t sample_rate = 48000; ///< API rate: what `encode` takes
  int32_t bitrate_bps = 0;      ///< 0: `opus_encoder::default_bitrate(sample_rate)`
  /// Expected loss in percent. In-band FEC (RFC 6716 §2.1.7, LBRR) is only coded
  /// when this is above 0, and its redundancy grows with it.
  int packet_loss_perc = 10;
  int complexity = -1; ///< 0..10; -1 keeps libopus's default (10)
};

/// A mono Opus encoder (RFC 6716), OPUS_APPLICATION_VOIP, in-band FEC on, DTX off
/// (a bridged leg sends a packet every frame: the far side's jitter buffer and our
/// RTP relay both rely on the steady cadence). Move-only; the libopus state is
/// allocated once by `create`, `encode` allocates nothing.
class opus_encoder {
public:
  /// Fails with `invalid_argument` for an unsupported rate or bitrate.
  static result<opus_encoder> create(const opus_encoder_options& options);
  static result<opus_encoder> create(uint32_t sample_rate, int32_t bitrate_bps = 0) {
    return create(opus_encoder_options{sample_rate, bitrate_bps});
  }

  /// Encodes one frame (`pcm.size()` must be a valid Opus frame size, normally 20 ms:
  /// 160 samples at 8 kHz, 320 at 16 kHz, 960 at 48 kHz) into `out` (give it
  /// `opus_max_packet_bytes`); returns the packet's length.
  result<std::size_t> encode(std::span<const int16_t> pcm, std::span<uint8_t> out);

  /// Changes the target bitrate (500 .. 512000 bit/s) from the next frame on.
  result<void> set_bitrate(int32_t bitrate_bps);
  int32_t bitrate() const noexcept { return bitrate_; }
  uint32_t sample_rate() const noexcept { return sample_rate_; }
  /// Samples per `frame_ms` at the API rate (160 for 20 ms at 8 kHz).
  std::size_t frame_samples(uint32_t frame_ms = 20) const noexcept {
    return sample_rate_ / 1000 * frame_ms;
  }

  /// The bitrate used when none is given: enough for SILK to carry its FEC copy at
  /// narrowband (24 kbit/s at 8 kHz), 32 kbit/s at 12/16 kHz, 40 kbit/s above.
  static int32_t default_bitrate(uint32_t sample_rate) noexcept;

private:
  struct deleter {
    void operator()(OpusEncoder* e) const noexcept;
  };
  opus_encoder(OpusEncoder* e, uint32_t rate, int32_t bitrate)
      : enc_(e), sample_rate_(rate), bitrate_(bitrate) {}

  std::unique_ptr<OpusEncoder, deleter> enc_;
  uint32_t sample_rate_;
  int32_t bitrate_;
};

/// A mono Opus decoder. Any Opus stream decodes at any API rate (the decoder drops
/// or synthesises the bands above the rate's Nyquist frequency itself), so the rate
/// is the one the consumer needs, not the sender's. Move-only; allocates only in
/// `create`.
class opus_decoder {
public:
  static result<opus_decoder> create(uint32_t sample_rate);

  /// Decodes one packet into `pcm_out` (its capacity; 60 ms covers every packet we
  /// accept); returns the samples written.
  result<std::size_t> decode(std::span<const uint8_t> payload, std::span<int16_t> pcm_out);

  /// Packet loss concealment for `pcm_out.size()` samples of lost audio (a multiple
  /// of 2.5 ms; normally the last frame's length).
  result<std::size_t> conceal(std::span<int16_t> pcm_out);

  /// Rebuilds the lost frame just before `next_payload` from that packet's in-band
  /// FEC copy (RFC 6716 §2.1.7); `pcm_out.size()` is the lost duration. When the
  /// packet carries no FEC (a CELT-only packet, or the sender did not code it),
  /// libopus conceals instead, so this never does worse than `conceal`. Afterwards
  /// `next_payload` itself must still be passed to `decode`.
  result<std::size_t> decode_fec(std::span<const uint8_t> next_payload,
                                 std::span<int16_t> pcm_out);

  uint32_t sample_rate() const noexcept { return sample_rate_; }

  /// Samples `payload` decodes to at this decoder's rate, or an error when the TOC
  /// byte is malformed.
  result<std::size_t> packet_samples(std::span<const uint8_t> payload) const;

private:
  struct deleter {
    void operator()(OpusDecoder* d) const noexcept;
  };
  opus_decoder(OpusDecoder* d, uint32_t rate) : dec_(d), sample_rate_(rate) {}

  std::unique_ptr<OpusDecoder, deleter> dec_;
  uint32_t sample_rate_;
};

} // namespace centralita::media
