#include "media/codec/opus_codec.hpp"

#include <string>

#include <opus/opus.h>

namespace centralita::media {

namespace {

// Maps a libopus error code to ours: a malformed packet is a parse error, a
// too-small output buffer is too_large, everything else is a bad argument (libopus
// only fails for those once the state exists).
error opus_error(const char* what, int rc) {
  errc code = errc::invalid_argument;
  if (rc == OPUS_INVALID_PACKET)
    code = errc::parse_error;
  else if (rc == OPUS_BUFFER_TOO_SMALL)
    code = errc::too_large;
  return error{code, std::string(what) + ": " + opus_strerror(rc)};
}

} // namespace

bool opus_rate_supported(uint32_t sample_rate) noexcept {
  switch (sample_rate) {
  case 8000:
  case 12000:
  case 16000:
  case 24000:
  case 48000:
    return true;
  default:
    return false;
  }
}

bool opus_frame_size_valid(std::size_t samples, uint32_t sample_rate) noexcept {
  if (!opus_rate_supported(sample_rate))
    return false;
  // RFC 6716 §2.1.4: frames of 2.5, 5, 10, 20, 40 or 60 ms; count in 2.5 ms units.
  const std::size_t unit = sample_rate / 400;
  if (samples == 0 || samples % unit != 0)
    return false;
  switch (samples / unit) {
  case 1:
  case 2:
  case 4:
  case 8:
  case 16:
  case 24:
    return true;
  default:
    return false;
  }
}

// ---- encoder ---------------------------------------------------------------

void opus_encoder::deleter::operator()(OpusEncoder* e) const noexcept { opus_encoder_destroy(e); }

int32_t opus_encoder::default_bitrate(uint32_t sample_rate) noexcept {
  if (sample_rate <= 8000)
    return 24000;
  if (sample_rate <= 16000)
    return 32000;
  return 40000;
}

result<opus_encoder> opus_encoder::create(const opus_encoder_options& options) {
  if (!opus_rate_supported(options.sample_rate))
    return error{errc::invalid_argument,
                 "opus: unsupported sample rate " + std::to_string(options.sample_rate)};
  if (options.packet_loss_perc < 0 || options.packet_loss_perc > 100 ||
      options.complexity > 10)
    return error{errc::invalid_argument, "opus: packet_loss_perc or complexity out of range"};
  const int32_t bitrate =
      options.bitrate_bps == 0 ? default_bitrate(options.sample_rate) : options.bitrate_bps;
  if (bitrate < 500 || bitrate > 512000)
    return error{errc::invalid_argument, "opus: bitrate out of range"};

  int rc = OPUS_OK;
  OpusEncoder* raw =
      opus_encoder_create(static_cast<opus_int32>(options.sample_rate), 1,
                          OPUS_APPLICATION_VOIP, &rc);
  if (raw == nullptr || rc != OPUS_OK)
    return opus_error("opus_encoder_create", rc);
  opus_encoder enc(raw, options.sample_rate, bitrate);

  // Issue 8: in-band FEC on. RFC 6716 §2.1.7: the LBRR copy is only coded when the
  // encoder expects loss, so the loss percentage must be set as well.
  if ((rc = opus_encoder_ctl(raw, OPUS_SET_INBAND_FEC(1))) != OPUS_OK ||
      (rc = opus_encoder_ctl(raw, OPUS_SET_PACKET_LOSS_PERC(options.packet_loss_perc))) !=
          OPUS_OK ||
      (rc = opus_encoder_ctl(raw, OPUS_SET_DTX(0))) != OPUS_OK ||
      (rc = opus_encoder_ctl(raw, OPUS_SET_BITRATE(bitrate))) != OPUS_OK)
    return opus_error("opus_encoder_ctl", rc);
  if (options.complexity >= 0 &&
      (rc = opus_encoder_ctl(raw, OPUS_SET_COMPLEXITY(options.complexity))) != OPUS_OK)
    return opus_error("opus_encoder_ctl", rc);
  return enc;
}

result<std::size_t> opus_encoder::encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  if (!opus_frame_size_valid(pcm.size(), sample_rate_))
    return error{errc::invalid_argument, "opus_encode: not a valid frame size"};
  const opus_int32 n = opus_encode(enc_.get(), pcm.data(), static_cast<int>(pcm.size()),
                                   out.data(), static_cast<opus_int32>(out.size()));
  if (n < 0)
    return opus_error("opus_encode", n);
  return static_cast<std::size_t>(n);
}

result<void> opus_encoder::set_bitrate(int32_t bitrate_bps) {
  if (bitrate_bps < 500 || bitrate_bps > 512000)
    return error{errc::invalid_argument, "opus: bitrate out of range"};
  const int rc = opus_encoder_ctl(enc_.get(), OPUS_SET_BITRATE(bitrate_bps));
  if (rc != OPUS_OK)
    return opus_error("opus_encoder_ctl", rc);
  bitrate_ = bitrate_bps;
  return {};
}

// ---- decoder ---------------------------------------------------------------

void opus_decoder::deleter::operator()(OpusDecoder* d) const noexcept { opus_decoder_destroy(d); }

result<opus_decoder> opus_decoder::create(uint32_t sample_rate) {
  if (!opus_rate_supported(sample_rate))
    return error{errc::invalid_argument,
                 "opus: unsupported sample rate " + std::to_string(sample_rate)};
  int rc = OPUS_OK;
  OpusDecoder* raw = opus_decoder_create(static_cast<opus_int32>(sample_rate), 1, &rc);
  if (raw == nullptr || rc != OPUS_OK)
    return opus_error("opus_decoder_create", rc);
  return opus_decoder(raw, sample_rate);
}

result<std::size_t> opus_decoder::decode(std::span<const uint8_t> payload,
                                         std::span<int16_t> pcm_out) {
  // An empty payload would mean "conceal" to libopus; a zero-length RTP payload is
  // not an Opus packet (RFC 6716 §3.1: at least the TOC byte).
  if (payload.empty())
    return error{errc::parse_error, "opus_decode: empty packet"};
  const int n = opus_decode(dec_.get(), payload.data(), static_cast<opus_int32>(payload.size()),
                            pcm_out.data(), static_cast<int>(pcm_out.size()), 0);
  if (n < 0)
    return opus_error("opus_decode", n);
  return static_cast<std::size_t>(n);
}

result<std::size_t> opus_decoder::conceal(std::span<int16_t> pcm_out) {
  if (!opus_frame_size_valid(pcm_out.size(), sample_rate_))
    return error{errc::invalid_argument, "opus PLC: not a multiple of 2.5 ms"};
  // A null packet asks libopus for concealment of frame_size samples.
  const int n = opus_decode(dec_.get(), nullptr, 0, pcm_out.data(),
                            static_cast<int>(pcm_out.size()), 0);
  if (n < 0)
    return opus_error("opus_decode (PLC)", n);
  return static_cast<std::size_t>(n);
}

result<std::size_t> opus_decoder::decode_fec(std::span<const uint8_t> next_payload,
                                             std::span<int16_t> pcm_out) {
  if (!opus_frame_size_valid(pcm_out.size(), sample_rate_))
    return error{errc::invalid_argument, "opus FEC: not a multiple of 2.5 ms"};
  if (next_payload.empty())
    return conceal(pcm_out);
  // decode_fec = 1: RFC 6716 §2.1.7, decode the LBRR data of the previous frame
  // carried in this packet; frame_size must be exactly the lost duration.
  const int n =
      opus_decode(dec_.get(), next_payload.data(), static_cast<opus_int32>(next_payload.size()),
                  pcm_out.data(), static_cast<int>(pcm_out.size()), 1);
  if (n < 0)
    return opus_error("opus_decode (FEC)", n);
  return static_cast<std::size_t>(n);
}

result<std::size_t> opus_decoder::packet_samples(std::span<const uint8_t> payload) const {
  if (payload.empty())
    return error{errc::parse_error, "opus: empty packet"};
  const int n = opus_packet_get_nb_samples(payload.data(), static_cast<opus_int32>(payload.size()),
                                           static_cast<opus_int32>(sample_rate_));
  if (n < 0)
    return opus_error("opus_packet_get_nb_samples", n);
  return static_cast<std::size_t>(n);
}

} // namespace centralita::media
