#include "media/tone/tone.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

#include "../media_test_util.hpp"

namespace centralita::media {
namespace {

std::vector<int16_t> sine(double freq, double amplitude, uint32_t rate, double seconds) {
  std::vector<int16_t> pcm(static_cast<std::size_t>(rate * seconds));
  double phase = 0.3;
  generate_sine(pcm, freq, amplitude, rate, phase);
  return pcm;
}

TEST(tone, dbm0_reference_levels) {
  // A full-scale sine is +3.14 dBm0; 0 dBm0 is 3.14 dB below it.
  EXPECT_NEAR(dbm0_to_amplitude(3.14), 32767.0, 0.01);
  EXPECT_NEAR(dbm0_to_amplitude(0.0), 22826.4, 0.1);
  const auto pcm = sine(1000, dbm0_to_amplitude(-10), 8000, 1.0);
  EXPECT_NEAR(power_dbm0(pcm), -10.0, 0.05);
}

TEST(tone, generate_sine_is_continuous_across_calls) {
  std::vector<int16_t> whole(800);
  std::vector<int16_t> parts(800);
  double p1 = 0.0;
  double p2 = 0.0;
  generate_sine(whole, 440, 10000, 8000, p1);
  generate_sine(std::span<int16_t>(parts).first(333), 440, 10000, 8000, p2);
  generate_sine(std::span<int16_t>(parts).subspan(333), 440, 10000, 8000, p2);
  for (std::size_t i = 0; i < whole.size(); ++i)
    ASSERT_NEAR(whole[i], parts[i], 1) << i;
}

TEST(tone, add_sine_saturates) {
  std::vector<int16_t> pcm(80, 30000);
  double phase = std::numbers::pi / 2; // starts at the positive peak
  add_sine(pcm, 100, 10000, 8000, phase);
  EXPECT_EQ(pcm[0], 32767);
}

TEST(tone, dominant_frequency_within_2_hz_for_a_1_s_tone) {
  double worst = 0.0;
  for (uint32_t rate : {8000u, 16000u, 48000u}) {
    for (double f : {100.0, 440.0, 697.0, 1000.0, 1633.0, 3000.0, 3950.0}) {
      const auto pcm = sine(f, 8000, rate, 1.0);
      const double got = dominant_frequency(pcm, rate);
      EXPECT_NEAR(got, f, 2.0) << "rate " << rate;
      worst = std::max(worst, std::abs(got - f));
    }
  }
  std::printf("[measured] dominant_frequency worst error on clean 1 s tones: %.4f Hz\n", worst);
  EXPECT_LT(worst, 0.2); // what the zoom + interpolation actually achieves
}

TEST(tone, dominant_frequency_finds_the_stronger_tone_in_noise) {
  std::vector<int16_t> pcm(8000);
  test::noise_source noise(7);
  for (auto& s : pcm)
    s = static_cast<int16_t>(2000 * noise.uniform());
  double p1 = 0.0;
  double p2 = 0.0;
  add_sine(pcm, 1234.5, 6000, 8000, p1);
  add_sine(pcm, 600, 2000, 8000, p2);
  EXPECT_NEAR(dominant_frequency(pcm, 8000), 1234.5, 2.0);
  // Restricting the range finds the weaker one.
  EXPECT_NEAR(dominant_frequency(pcm, 8000, 300, 900), 600.0, 2.0);
}

TEST(tone, dominant_frequency_of_too_little_or_silence) {
  std::vector<int16_t> few(10, 100);
  EXPECT_EQ(dominant_frequency(few, 8000), 0.0);
}

TEST(tone, snr_of_a_clean_tone_is_the_quantisation_floor) {
  // Rounding to int16 adds noise of 1/12 LSB²: a 10000-peak sine is ~ 87.8 dB above.
  // (A frequency with no short period, so that the rounding error looks random.)
  const auto pcm = sine(1013.7, 10000, 8000, 1.0);
  EXPECT_NEAR(snr_db(pcm, 1013.7, 8000), 87.8, 0.5);
}

TEST(tone, snr_matches_added_noise) {
  // Uniform noise of peak 1000 has power 1000²/3; a sine of peak 10000 has 10000²/2:
  // 10·log10(1.5e2) = 21.76 dB.
  auto pcm = sine(440, 10000, 16000, 1.0);
  test::noise_source noise(42);
  for (auto& s : pcm)
    s = static_cast<int16_t>(s + 1000 * noise.uniform());
  EXPECT_NEAR(snr_db(pcm, 440, 16000), 21.76, 0.3);
  // Phase and a DC offset do not matter; a wrong frequency does.
  for (auto& s : pcm)
    s = static_cast<int16_t>(s + 500);
  EXPECT_NEAR(snr_db(pcm, 440, 16000), 21.76, 0.3);
  EXPECT_LT(snr_db(pcm, 450, 16000), 0.0);
}

TEST(tone, goertzel_power_peaks_at_the_tone) {
  const auto pcm = sine(697, 5000, 8000, 0.1);
  EXPECT_GT(goertzel_power(pcm, 697, 8000), 100 * goertzel_power(pcm, 770, 8000));
}

} // namespace
} // namespace centralita::media
