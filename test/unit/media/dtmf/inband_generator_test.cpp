#include "media/dtmf/inband_generator.hpp"

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include "media/tone/tone.hpp"

namespace centralita::media {
namespace {

// Generates until the generator is idle, in 20 ms frames; returns everything.
std::vector<int16_t> drain(inband_dtmf_generator& gen, std::size_t* tone_samples = nullptr) {
  std::vector<int16_t> all;
  std::vector<int16_t> frame(160);
  std::size_t generated = 0;
  for (int guard = 0; guard < 1000 && gen.busy(); ++guard) {
    generated += gen.generate(frame);
    all.insert(all.end(), frame.begin(), frame.end());
  }
  if (tone_samples != nullptr)
    *tone_samples = generated;
  return all;
}

TEST(inband_dtmf_generator, one_digit_is_on_then_off_then_silence) {
  inband_dtmf_generator gen;
  EXPECT_FALSE(gen.busy());
  ASSERT_TRUE(gen.queue("1").ok()); // 100 ms on, 60 ms off
  EXPECT_TRUE(gen.busy());
  std::vector<int16_t> pcm(8000, 1234);
  EXPECT_EQ(gen.generate(pcm), 1280u); // (100 + 60) ms at 8 kHz
  EXPECT_FALSE(gen.busy());
  // The tone is the 697 + 1209 Hz pair, each at -10 dBm0 (-7 dBm0 together).
  const auto tone = std::span<const int16_t>(pcm).first(800);
  EXPECT_NEAR(dominant_frequency(tone, 8000, 600, 1000), 697.0, 2.0);
  EXPECT_NEAR(dominant_frequency(tone, 8000, 1100, 1700), 1209.0, 2.0);
  EXPECT_NEAR(power_dbm0(tone), -7.0, 0.5);
  // Then the gap and the rest of the buffer are silence.
  EXPECT_TRUE(std::all_of(pcm.begin() + 810, pcm.end(), [](int16_t s) { return s == 0; }));
  // Nothing queued: all silence, nothing generated.
  EXPECT_EQ(gen.generate(pcm), 0u);
}

TEST(inband_dtmf_generator, each_queue_call_keeps_its_timing) {
  inband_dtmf_generator gen;
  ASSERT_TRUE(gen.queue("12", 50, 50).ok());
  ASSERT_TRUE(gen.queue("3", 200, 100).ok());
  std::size_t generated = 0;
  const auto pcm = drain(gen, &generated);
  EXPECT_EQ(generated, (2 * 100 + 300) * 8u);
  // '3' (697 + 1477 Hz) starts at 200 ms and lasts 200 ms.
  const auto three = std::span<const int16_t>(pcm).subspan(1600, 1600);
  EXPECT_NEAR(dominant_frequency(three, 8000, 1100, 1700), 1477.0, 2.0);
}

TEST(inband_dtmf_generator, lower_case_letters_are_digits_too) {
  inband_dtmf_generator gen;
  ASSERT_TRUE(gen.queue("d", 100, 0).ok());
  std::vector<int16_t> pcm(800);
  EXPECT_EQ(gen.generate(pcm), 800u);
  EXPECT_NEAR(dominant_frequency(pcm, 8000, 1100, 1700), 1633.0, 2.0);
  EXPECT_NEAR(dominant_frequency(pcm, 8000, 600, 1000), 941.0, 2.0);
}

TEST(inband_dtmf_generator, rejects_bad_input_and_queues_nothing) {
  inband_dtmf_generator gen;
  EXPECT_FALSE(gen.queue("12x").ok());
  EXPECT_FALSE(gen.busy());
  EXPECT_FALSE(gen.queue("1", 0, 50).ok());
  EXPECT_FALSE(gen.queue("1", 100, 20000).ok());
  EXPECT_FALSE(gen.queue(std::string(inband_dtmf_generator::max_queued + 1, '5')).ok());
  EXPECT_FALSE(gen.busy());
  EXPECT_TRUE(gen.queue(std::string(inband_dtmf_generator::max_queued, '5')).ok());
  EXPECT_FALSE(gen.queue("5").ok()); // full
  gen.clear();
  EXPECT_FALSE(gen.busy());
}

TEST(inband_dtmf_generator, level_is_settable) {
  inband_dtmf_generator quiet(-20, 0);
  ASSERT_TRUE(quiet.queue("5", 100, 0).ok());
  std::vector<int16_t> pcm(800);
  ASSERT_EQ(quiet.generate(pcm), 800u);
  EXPECT_NEAR(power_dbm0(pcm), -17.0, 0.5);
}

TEST(inband_dtmf_generator, moves) {
  inband_dtmf_generator a;
  ASSERT_TRUE(a.queue("9").ok());
  inband_dtmf_generator b(std::move(a));
  EXPECT_TRUE(b.busy());
  std::vector<int16_t> pcm(2000);
  EXPECT_EQ(b.generate(pcm), 1280u);
}

} // namespace
} // namespace centralita::media
