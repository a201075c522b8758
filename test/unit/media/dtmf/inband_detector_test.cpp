#include "media/dtmf/inband_detector.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../media_test_util.hpp"
#include "media/codec/g711.hpp"
#include "media/codec/opus_codec.hpp"
#include "media/codec/transcoder.hpp"
#include "media/dtmf/inband_generator.hpp"
#include "media/tone/tone.hpp"

namespace centralita::media {
namespace {

const std::string all_digits = "0123456789*#ABCD";

// Sends `pcm` through G.711 in 20 ms packets and feeds the detector with the
// payloads, the way a media actor would.
std::vector<detected_tone> detect_via_g711(std::span<const int16_t> pcm, codec_id law,
                                           inband_dtmf_detector& det) {
  std::vector<detected_tone> found;
  std::array<detected_tone, 4> out{};
  std::array<uint8_t, 160> payload{};
  for (std::size_t off = 0; off < pcm.size(); off += 160) {
    const auto frame = pcm.subspan(off, std::min<std::size_t>(160, pcm.size() - off));
    const std::size_t n = law == codec_id::pcmu ? ulaw_encode(frame, payload) : alaw_encode(frame, payload);
    const std::size_t got = det.feed_g711(law, std::span<const uint8_t>(payload).first(n), out);
    found.insert(found.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(got));
  }
  return found;
}

std::string digits_of(const std::vector<detected_tone>& tones) {
  std::string s;
  for (const auto& t : tones)
    s += t.digit;
  return s;
}

// Speech-like: a voiced source (harmonics of a wandering 90..230 Hz pitch through
// two moving formant resonators) alternating with fricative noise, under a 4 Hz
// syllable envelope: the usual talk-off hazard for a DTMF detector.
std::vector<int16_t> speech_like(double seconds, uint64_t seed) {
  test::noise_source rng(seed);
  const std::size_t n = static_cast<std::size_t>(8000 * seconds);
  std::vector<int16_t> pcm(n);
  double pitch_phase = 0.0;
  double f1_y1 = 0, f1_y2 = 0, f2_y1 = 0, f2_y2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / 8000.0;
    const double syllable = std::floor(t * 4.0);
    const double pitch = 160.0 + 70.0 * std::sin(0.7 * syllable + 2.0 * t);
    const bool voiced = std::fmod(syllable * 0.618, 1.0) < 0.7;
    pitch_phase += pitch / 8000.0;
    double excitation;
    if (voiced) {
      excitation = pitch_phase >= 1.0 ? 1.0 : 0.0; // glottal pulse train
      if (pitch_phase >= 1.0)
        pitch_phase -= 1.0;
      excitation += 0.05 * rng.uniform();
    } else {
      excitation = 0.3 * rng.uniform();
    }
    // Two resonators (formants) whose centres move with the syllable.
    const double f1 = 400.0 + 300.0 * std::sin(1.3 * syllable);
    const double f2 = 1200.0 + 700.0 * std::sin(2.1 * syllable + 1.0);
    const double r = 0.97;
    const double a1 = 2 * r * std::cos(2 * std::numbers::pi * f1 / 8000.0);
    const double a2 = 2 * r * std::cos(2 * std::numbers::pi * f2 / 8000.0);
    const double y1 = excitation + a1 * f1_y1 - r * r * f1_y2;
    f1_y2 = f1_y1;
    f1_y1 = y1;
    const double y2 = y1 + a2 * f2_y1 - r * r * f2_y2;
    f2_y2 = f2_y1;
    f2_y1 = y2;
    const double envelope = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * 4.0 * t);
    pcm[i] = static_cast<int16_t>(std::clamp(1500.0 * envelope * y2, -32000.0, 32000.0));
  }
  return pcm;
}

class inband_dtmf_detector_law : public ::testing::TestWithParam<codec_id> {};

TEST_P(inband_dtmf_detector_law, detects_every_digit_from_the_generator) {
  inband_dtmf_generator gen;
  ASSERT_TRUE(gen.queue(all_digits).ok()); // 100 ms on, 60 ms off
  std::vector<int16_t> pcm;
  test::append_silence(pcm, 100);
  std::vector<int16_t> frame(160);
  while (gen.busy()) {
    gen.generate(frame);
    pcm.insert(pcm.end(), frame.begin(), frame.end());
  }
  test::append_silence(pcm, 200);
  inband_dtmf_detector det;
  const auto found = detect_via_g711(pcm, GetParam(), det);
  EXPECT_EQ(digits_of(found), all_digits);
  int worst = 0;
  for (const auto& t : found) {
    EXPECT_NEAR(t.duration_ms, 100.0, 20.0) << t.digit;
    worst = std::max(worst, std::abs(static_cast<int>(t.duration_ms) - 100));
  }
  std::printf("[measured] %s generator 100 ms digits: worst duration error %d ms\n",
              to_string(GetParam()), worst);
  EXPECT_EQ(det.pressed(), '\0');
}

TEST_P(inband_dtmf_detector_law, detects_sine_pairs_of_70_ms_at_minus_10_dbm0) {
  std::vector<int16_t> pcm;
  test::append_silence(pcm, 50);
  for (char d : all_digits) {
    test::append_dtmf(pcm, d, 70, -10.0);
    test::append_silence(pcm, 50);
  }
  test::append_silence(pcm, 150);
  inband_dtmf_detector det;
  const auto found = detect_via_g711(pcm, GetParam(), det);
  EXPECT_EQ(digits_of(found), all_digits);
  int worst = 0;
  for (const auto& t : found) {
    EXPECT_NEAR(t.duration_ms, 70.0, 20.0) << t.digit;
    worst = std::max(worst, std::abs(static_cast<int>(t.duration_ms) - 70));
  }
  std::printf("[measured] %s sine pairs 70 ms on / 50 ms off: worst duration error %d ms\n",
              to_string(GetParam()), worst);
}

TEST_P(inband_dtmf_detector_law, ignores_speech_like_signals) {
  const auto pcm = speech_like(20.0, 1);
  std::printf("[measured] speech-like signal level %.1f dBm0\n", power_dbm0(pcm));
  inband_dtmf_detector det;
  const auto found = detect_via_g711(pcm, GetParam(), det);
  EXPECT_EQ(digits_of(found), "");
  EXPECT_EQ(det.pressed(), '\0');
}

TEST_P(inband_dtmf_detector_law, ignores_a_single_1_khz_tone) {
  std::vector<int16_t> pcm(16000);
  double phase = 0.0;
  generate_sine(pcm, 1000, dbm0_to_amplitude(-10), 8000, phase);
  test::append_silence(pcm, 200);
  inband_dtmf_detector det;
  EXPECT_EQ(digits_of(detect_via_g711(pcm, GetParam(), det)), "");
}

INSTANTIATE_TEST_SUITE_P(g711, inband_dtmf_detector_law,
                         ::testing::Values(codec_id::pcmu, codec_id::pcma),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(inband_dtmf_detector, reports_on_release_and_tracks_the_held_key) {
  std::vector<int16_t> pcm;
  test::append_dtmf(pcm, '5', 200, -10.0);
  inband_dtmf_detector det;
  std::array<detected_tone, 2> out{};
  EXPECT_EQ(det.feed(pcm, out), 0u); // still held
  EXPECT_EQ(det.pressed(), '5');
  std::vector<int16_t> silence(800, 0);
  ASSERT_EQ(det.feed(silence, out), 1u);
  EXPECT_EQ(out[0].digit, '5');
  EXPECT_NEAR(out[0].duration_ms, 200.0, 20.0);
  EXPECT_EQ(det.pressed(), '\0');
}

TEST(inband_dtmf_detector, keeps_releases_that_did_not_fit) {
  std::vector<int16_t> pcm;
  for (char d : std::string("147")) {
    test::append_dtmf(pcm, d, 60, -10.0);
    test::append_silence(pcm, 60);
  }
  inband_dtmf_detector det;
  EXPECT_EQ(det.feed(pcm, {}), 0u); // no room: kept
  std::array<detected_tone, 2> out{};
  ASSERT_EQ(det.feed({}, out), 2u);
  EXPECT_EQ(out[0].digit, '1');
  EXPECT_EQ(out[1].digit, '4');
  ASSERT_EQ(det.feed({}, out), 1u);
  EXPECT_EQ(out[0].digit, '7');
  EXPECT_EQ(det.overflows(), 0u);
}

TEST(inband_dtmf_detector, chunk_size_does_not_change_the_result) {
  std::vector<int16_t> pcm;
  test::append_dtmf(pcm, '#', 90, -10.0);
  test::append_silence(pcm, 100);
  std::array<detected_tone, 2> out{};
  inband_dtmf_detector whole;
  ASSERT_EQ(whole.feed(pcm, out), 1u);
  const detected_tone expected = out[0];
  inband_dtmf_detector bits;
  std::size_t got = 0;
  for (std::size_t i = 0; i < pcm.size(); i += 37)
    got += bits.feed(std::span<const int16_t>(pcm).subspan(i, std::min<std::size_t>(37, pcm.size() - i)),
                     std::span<detected_tone>(out).subspan(got));
  ASSERT_EQ(got, 1u);
  EXPECT_EQ(out[0].digit, expected.digit);
  EXPECT_EQ(out[0].duration_ms, expected.duration_ms);
}

// An Opus leg (48 kHz sender) bridged to PCMA: the detector reads the
// transcoder's 8 kHz PCM tap, the way the media actor does for in-band DTMF.
TEST(inband_dtmf_detector, detects_digits_in_the_transcoder_pcm_tap) {
  std::vector<int16_t> src(48000 / 10, 0); // 100 ms of silence first
  for (char d : all_digits) {
    const auto [lo, hi] = test::dtmf_freqs(d);
    const std::size_t start = src.size();
    src.resize(start + 48 * 100, 0);
    double p1 = 0.0;
    double p2 = 0.0;
    add_sine(std::span<int16_t>(src).subspan(start), lo, dbm0_to_amplitude(-10), 48000, p1);
    add_sine(std::span<int16_t>(src).subspan(start), hi, dbm0_to_amplitude(-10), 48000, p2);
    src.resize(src.size() + 48 * 60, 0);
  }
  src.resize(src.size() + 48 * 200 + 960 - src.size() % 960, 0);

  auto enc = opus_encoder::create(48000);
  auto t = transcoder::create(codec_spec{codec_id::opus, 48000, 48000, 111},
                              codec_spec{codec_id::pcma, 8000, 8000, 8});
  ASSERT_TRUE(enc.ok() && t.ok());
  inband_dtmf_detector det;
  std::array<uint8_t, opus_max_packet_bytes> packet{};
  std::array<detected_tone, 4> out{};
  std::vector<detected_tone> found;
  for (std::size_t off = 0; off < src.size(); off += 960) {
    const auto n = enc->encode(std::span<const int16_t>(src).subspan(off, 960), packet);
    ASSERT_TRUE(n.ok());
    ASSERT_FALSE(t->transcode(std::span<const uint8_t>(packet).first(*n)).empty());
    const std::size_t got = det.feed(t->pcm_tap(), out);
    found.insert(found.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(got));
  }
  EXPECT_EQ(digits_of(found), all_digits);
  for (const auto& tone : found)
    EXPECT_NEAR(tone.duration_ms, 100.0, 20.0) << tone.digit;
}

TEST(inband_dtmf_detector, opus_payloads_are_not_g711) {
  inband_dtmf_detector det;
  std::array<uint8_t, 3> payload{0x78, 0x01, 0x02};
  std::array<detected_tone, 2> out{};
  EXPECT_EQ(det.feed_g711(codec_id::opus, payload, out), 0u);
}

TEST(inband_dtmf_detector, moves) {
  std::vector<int16_t> pcm;
  test::append_dtmf(pcm, '0', 100, -10.0);
  inband_dtmf_detector a;
  std::array<detected_tone, 2> out{};
  a.feed(pcm, out);
  inband_dtmf_detector b(std::move(a)); // the held key moves with it
  std::vector<int16_t> silence(800, 0);
  ASSERT_EQ(b.feed(silence, out), 1u);
  EXPECT_EQ(out[0].digit, '0');
}

} // namespace
} // namespace centralita::media
