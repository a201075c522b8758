#include "media/codec/audio_codec.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include <spandsp.h>

#include "media/codec/g711.hpp"

namespace centralita::media {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

} // namespace

const char* to_string(codec_id id) noexcept {
  switch (id) {
  case codec_id::pcmu:
    return "PCMU";
  case codec_id::pcma:
    return "PCMA";
  case codec_id::opus:
    return "opus";
  }
  return "?";
}

std::optional<codec_spec> codec_spec_from(std::string_view name, uint32_t clock_rate, uint8_t pt) {
  // RFC 3551 §4.5.14: PCMU and PCMA are sampled at 8000 Hz.
  if (iequals(name, "PCMU") && clock_rate == 8000)
    return codec_spec{codec_id::pcmu, 8000, 8000, pt};
  if (iequals(name, "PCMA") && clock_rate == 8000)
    return codec_spec{codec_id::pcma, 8000, 8000, pt};
  // RFC 7587 §7: "opus/48000/2" whatever the sender's actual rate.
  if (iequals(name, "opus") && clock_rate == opus_rtp_clock_rate)
    return codec_spec{codec_id::opus, 48000, opus_rtp_clock_rate, pt};
  return std::nullopt;
}

// ---- audio_decoder ---------------------------------------------------------

struct audio_decoder::plc_box {
  plc_state_t state;
};

void audio_decoder::plc_deleter::operator()(plc_box* b) const noexcept { delete b; }

result<audio_decoder> audio_decoder::create(codec_id id, uint32_t pcm_rate) {
  audio_decoder dec(id, pcm_rate);
  if (is_g711(id)) {
    if (pcm_rate != 8000)
      return error{errc::invalid_argument, "G.711 decodes at 8000 Hz only"};
    dec.plc_.reset(new plc_box{});
    plc_init(&dec.plc_->state);
    return dec;
  }
  auto opus = opus_decoder::create(pcm_rate);
  if (!opus)
    return opus.err();
  dec.opus_.emplace(std::move(opus).value());
  return dec;
}

result<std::size_t> audio_decoder::decode(std::span<const uint8_t> payload,
                                          std::span<int16_t> pcm_out) {
  if (opus_)
    return opus_->decode(payload, pcm_out);
  if (payload.empty())
    return error{errc::parse_error, "G.711: empty payload"};
  if (payload.size() > pcm_out.size())
    return error{errc::too_large, "G.711: payload longer than the frame buffer"};
  const std::size_t n = id_ == codec_id::pcmu ? ulaw_decode(payload, pcm_out)
                                              : alaw_decode(payload, pcm_out);
  // The PLC keeps a history of good audio, and after a gap cross-fades the
  // synthetic signal into this frame (so it may change the samples).
  plc_rx(&plc_->state, pcm_out.data(), static_cast<int>(n));
  return n;
}

result<std::size_t> audio_decoder::conceal(std::span<int16_t> pcm_out) {
  if (opus_)
    return opus_->conceal(pcm_out);
  plc_fillin(&plc_->state, pcm_out.data(), static_cast<int>(pcm_out.size()));
  return pcm_out.size();
}

result<std::size_t> audio_decoder::recover(std::span<const uint8_t> next_payload,
                                           std::span<int16_t> pcm_out) {
  if (opus_)
    return opus_->decode_fec(next_payload, pcm_out);
  return conceal(pcm_out); // G.711 carries no redundancy
}

// ---- audio_encoder ---------------------------------------------------------

result<audio_encoder> audio_encoder::create(codec_id id, uint32_t pcm_rate,
                                            int32_t opus_bitrate_bps) {
  audio_encoder enc(id, pcm_rate);
  if (is_g711(id)) {
    if (pcm_rate != 8000)
      return error{errc::invalid_argument, "G.711 encodes at 8000 Hz only"};
    return enc;
  }
  auto opus = opus_encoder::create(pcm_rate, opus_bitrate_bps);
  if (!opus)
    return opus.err();
  enc.opus_.emplace(std::move(opus).value());
  return enc;
}

result<std::size_t> audio_encoder::encode(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  if (opus_)
    return opus_->encode(pcm, out);
  if (pcm.size() > out.size())
    return error{errc::too_large, "G.711: output buffer shorter than the frame"};
  return id_ == codec_id::pcmu ? ulaw_encode(pcm, out) : alaw_encode(pcm, out);
}

} // namespace centralita::media
