#pragma once

// Signal helpers shared by the media unit tests: deterministic noise and the
// DTMF keypad. (Header-only; the tests link only the `media` library.)

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "media/codec/g711.hpp"
#include "media/tone/tone.hpp"

namespace centralita::media::test {

/// A tiny deterministic generator (xorshift64*), identical on every platform,
/// unlike std::normal_distribution.
class noise_source {
public:
  explicit noise_source(uint64_t seed) : state_(seed | 1) {}
  /// Uniform in [-1, 1).
  double uniform() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    const uint64_t r = state_ * 0x2545F4914F6CDD1DULL;
    return static_cast<double>(r >> 11) / static_cast<double>(1ULL << 52) - 1.0;
  }

private:
  uint64_t state_;
};

/// The (low, high) frequency pair of a DTMF key, ITU-T Q.23 Table 1.
inline std::pair<double, double> dtmf_freqs(char digit) {
  constexpr std::string_view keys = "123A456B789C*0#D";
  constexpr double rows[4] = {697, 770, 852, 941};
  constexpr double cols[4] = {1209, 1336, 1477, 1633};
  const std::size_t i = keys.find(digit);
  return {rows[i / 4], cols[i % 4]};
}

/// Appends `ms` of silence at 8 kHz.
inline void append_silence(std::vector<int16_t>& pcm, uint32_t ms) {
  pcm.insert(pcm.end(), static_cast<std::size_t>(ms) * 8, int16_t{0});
}

/// Appends a DTMF key as two sines of `dbm0` each, `ms` long, at 8 kHz.
inline void append_dtmf(std::vector<int16_t>& pcm, char digit, uint32_t ms, double dbm0) {
  const auto [lo, hi] = dtmf_freqs(digit);
  const std::size_t start = pcm.size();
  pcm.resize(start + static_cast<std::size_t>(ms) * 8, 0);
  double p1 = 0.0;
  double p2 = 0.0;
  const auto span = std::span<int16_t>(pcm).subspan(start);
  add_sine(span, lo, dbm0_to_amplitude(dbm0), 8000, p1);
  add_sine(span, hi, dbm0_to_amplitude(dbm0), 8000, p2);
}

/// `pcm` after a G.711 encode + decode (µ-law when `ulaw`, else A-law).
inline std::vector<int16_t> g711_round_trip(std::span<const int16_t> pcm, bool ulaw) {
  std::vector<uint8_t> octets(pcm.size());
  std::vector<int16_t> out(pcm.size());
  if (ulaw) {
    ulaw_encode(pcm, octets);
    ulaw_decode(octets, out);
  } else {
    alaw_encode(pcm, octets);
    alaw_decode(octets, out);
  }
  return out;
}

} // namespace centralita::media::test
