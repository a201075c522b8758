#include "media/codec/g711.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>

#include "media/tone/tone.hpp"

namespace centralita::media {
namespace {

uint8_t ulaw(int16_t s) {
  uint8_t o = 0;
  ulaw_encode(std::span<const int16_t>(&s, 1), std::span<uint8_t>(&o, 1));
  return o;
}
int16_t ulaw_lin(uint8_t o) {
  int16_t s = 0;
  ulaw_decode(std::span<const uint8_t>(&o, 1), std::span<int16_t>(&s, 1));
  return s;
}
uint8_t alaw(int16_t s) {
  uint8_t o = 0;
  alaw_encode(std::span<const int16_t>(&s, 1), std::span<uint8_t>(&o, 1));
  return o;
}
int16_t alaw_lin(uint8_t o) {
  int16_t s = 0;
  alaw_decode(std::span<const uint8_t>(&o, 1), std::span<int16_t>(&s, 1));
  return s;
}

TEST(g711, ulaw_known_values) {
  // G.711 µ-law: code words are complemented; 0xFF is +0, 0x7F is -0, 0x80 and
  // 0x00 the positive and negative full scale (8031 in 14 bits, ×4 here).
  EXPECT_EQ(ulaw(0), 0xFF);
  EXPECT_EQ(ulaw_lin(0xFF), 0);
  EXPECT_EQ(ulaw_lin(0x7F), 0);
  EXPECT_EQ(ulaw_lin(0x80), 32124);
  EXPECT_EQ(ulaw_lin(0x00), -32124);
  EXPECT_EQ(ulaw(32767), 0x80);
  EXPECT_EQ(ulaw(-32768), 0x00);
  EXPECT_EQ(ulaw(1000), 0xCE);
  // 1000 + 132 lies in segment 3 (step 64): the code covers 956..1019, decoded to
  // the middle, 988.
  EXPECT_EQ(ulaw_lin(0xCE), 988);
}

TEST(g711, alaw_known_values) {
  // G.711 A-law: even bits inverted (0x55); 0xD5 is the smallest positive value,
  // 0x55 the smallest negative, 0xAA / 0x2A the full scale (4032 in 13 bits, ×8).
  EXPECT_EQ(alaw(0), 0xD5);
  EXPECT_EQ(alaw_lin(0xD5), 8);
  EXPECT_EQ(alaw_lin(0x55), -8);
  EXPECT_EQ(alaw_lin(0xAA), 32256);
  EXPECT_EQ(alaw_lin(0x2A), -32256);
  EXPECT_EQ(alaw(32767), 0xAA);
  EXPECT_EQ(alaw(-32768), 0x2A);
}

TEST(g711, every_code_survives_decode_then_encode) {
  for (int c = 0; c < 256; ++c) {
    const auto o = static_cast<uint8_t>(c);
    // µ-law has two zeros (0x7F, 0xFF); 0 encodes as 0xFF.
    EXPECT_EQ(ulaw(ulaw_lin(o)), c == 0x7F ? 0xFF : o) << c;
    EXPECT_EQ(alaw(alaw_lin(o)), o) << c;
  }
}

TEST(g711, round_trip_error_is_within_half_a_quantisation_step) {
  int worst_ulaw = 0;
  int worst_alaw = 0;
  for (int x = -32768; x <= 32767; ++x) {
    const auto s = static_cast<int16_t>(x);
    const int mag = std::abs(x);
    // µ-law: in segment k the step is 2^(k+3) and |x| + 132 >= 2^(k+7), so half a
    // step is at most (|x| + 132) / 32; beyond full scale (32124) it clips.
    const int ulaw_err = std::abs(ulaw_lin(ulaw(s)) - x);
    ASSERT_LE(ulaw_err, std::max((mag + 132) / 32, mag - 32124)) << x;
    // A-law: step 16 in the first two segments, then 2^(k+3) for |x| >= 2^(k+7);
    // half a step is at most max(8, |x| / 32); beyond full scale (32256) it clips.
    const int alaw_err = std::abs(alaw_lin(alaw(s)) - x);
    ASSERT_LE(alaw_err, std::max({8, mag / 32 + 1, mag - 32256})) << x;
    if (mag <= 32000) {
      worst_ulaw = std::max(worst_ulaw, ulaw_err);
      worst_alaw = std::max(worst_alaw, alaw_err);
    }
  }
  std::printf("[measured] G.711 worst round-trip error below 32000: µ-law %d, A-law %d\n",
              worst_ulaw, worst_alaw);
}

TEST(g711, a_tone_keeps_the_expected_snr) {
  // G.711's SNR for a sine at -10 dBm0 is about 38 dB (the companding keeps it
  // nearly constant over a wide range of levels).
  std::vector<int16_t> pcm(8000);
  double phase = 0.0;
  generate_sine(pcm, 1020, dbm0_to_amplitude(-10), 8000, phase);
  std::vector<uint8_t> octets(pcm.size());
  std::vector<int16_t> back(pcm.size());
  ulaw_encode(pcm, octets);
  ulaw_decode(octets, back);
  const double snr_u = snr_db(back, 1020, 8000);
  alaw_encode(pcm, octets);
  alaw_decode(octets, back);
  const double snr_a = snr_db(back, 1020, 8000);
  std::printf("[measured] G.711 SNR of a -10 dBm0 1020 Hz sine: µ-law %.2f dB, A-law %.2f dB\n",
              snr_u, snr_a);
  EXPECT_GT(snr_u, 35.0);
  EXPECT_GT(snr_a, 35.0);
}

TEST(g711, law_to_law_tables_stay_within_one_a_law_step) {
  for (int c = 0; c < 256; ++c) {
    const auto u = static_cast<uint8_t>(c);
    uint8_t a = 0;
    ulaw_to_alaw(std::span<const uint8_t>(&u, 1), std::span<uint8_t>(&a, 1));
    const int want = ulaw_lin(u);
    EXPECT_LE(std::abs(alaw_lin(a) - want), std::max(16, std::abs(want) / 16)) << c;
    uint8_t back = 0;
    alaw_to_ulaw(std::span<const uint8_t>(&a, 1), std::span<uint8_t>(&back, 1));
    EXPECT_LE(std::abs(ulaw_lin(back) - want), std::max(16, std::abs(want) / 8)) << c;
  }
}

TEST(g711, converts_the_shorter_of_the_two_spans) {
  std::array<int16_t, 4> pcm{1, 2, 3, 4};
  std::array<uint8_t, 2> out{};
  EXPECT_EQ(ulaw_encode(pcm, out), 2u);
  std::array<int16_t, 8> big{};
  EXPECT_EQ(alaw_decode(out, big), 2u);
}

} // namespace
} // namespace centralita::media
