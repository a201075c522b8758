#include "bench/rtp/rtp_payload.hpp"

#include <spandsp.h>
#include <opus/opus.h>

#include <array>
#include <cmath>
#include <numbers>

namespace centralita::rtp_load {

namespace {

constexpr double tone_hz = 1000.0;
constexpr double tone_amplitude = 8000.0;  // about -12 dBFS: no clipping in any codec

int16_t tone_sample(uint32_t n, double rate) {
  return static_cast<int16_t>(
      std::lround(tone_amplitude * std::sin(2.0 * std::numbers::pi * tone_hz * n / rate)));
}

} // namespace

bool parse_codec(std::string_view text, codec& out) noexcept {
  if (text == "pcma" || text == "PCMA") {
    out = codec::pcma;
    return true;
  }
  if (text == "opus" || text == "OPUS") {
    out = codec::opus;
    return true;
  }
  return false;
}

std::string_view codec_name(codec c) noexcept {
  return c == codec::opus ? "opus" : "pcma";
}

uint32_t clock_rate(codec c) noexcept {
  return c == codec::opus ? 48000 : 8000;  // RFC 7587 §4.1; RFC 3551 §4.5.14
}

std::size_t tone_payloads::max_frame_size() const noexcept {
  std::size_t m = 0;
  for (const auto& f : frames_)
    m = f.size > m ? f.size : m;
  return m;
}

bool tone_payloads::build(codec c, int opus_bitrate_bps, std::string& error) {
  bytes_.clear();
  frames_.clear();
  if (c == codec::pcma) {
    // 20 ms at 8 kHz = 160 samples (RFC 3551 §4.5.14: one octet per sample).
    for (uint32_t n = 0; n < 160; ++n)
      bytes_.push_back(linear_to_alaw(tone_sample(n, 8000.0)));
    frames_.push_back({0, bytes_.size()});
    return true;
  }
  int rc = 0;
  OpusEncoder* enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &rc);
  if (enc == nullptr || rc != OPUS_OK) {
    error = std::string("opus_encoder_create: ") + opus_strerror(rc);
    return false;
  }
  // Constant bitrate: every packet the same size, so the relay's work per packet is
  // the same whichever frame a stream is at.
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(opus_bitrate_bps));
  opus_encoder_ctl(enc, OPUS_SET_VBR(0));
  std::array<int16_t, 960> pcm{};
  std::array<unsigned char, 1275> out{};  // RFC 6716 §3.2.1: at most 1275 octets a frame
  uint32_t n = 0;
  for (int frame = 0; frame < 50; ++frame) {  // one second of 20 ms frames
    for (auto& s : pcm)
      s = tone_sample(n++, 48000.0);
    opus_int32 len = opus_encode(enc, pcm.data(), static_cast<int>(pcm.size()), out.data(),
                                 static_cast<opus_int32>(out.size()));
    if (len < 0) {
      error = std::string("opus_encode: ") + opus_strerror(len);
      opus_encoder_destroy(enc);
      return false;
    }
    frames_.push_back({bytes_.size(), static_cast<std::size_t>(len)});
    bytes_.insert(bytes_.end(), out.begin(), out.begin() + len);
  }
  opus_encoder_destroy(enc);
  return true;
}

} // namespace centralita::rtp_load
