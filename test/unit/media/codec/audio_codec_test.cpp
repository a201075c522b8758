#include "media/codec/audio_codec.hpp"

#include <array>
#include <cstdlib>

#include <gtest/gtest.h>

namespace centralita::media {
namespace {

TEST(audio_codec, spec_from_rtpmap) {
  EXPECT_EQ(codec_spec_from("PCMU", 8000, 0), (codec_spec{codec_id::pcmu, 8000, 8000, 0}));
  EXPECT_EQ(codec_spec_from("pcma", 8000, 8), (codec_spec{codec_id::pcma, 8000, 8000, 8}));
  EXPECT_EQ(codec_spec_from("OPUS", 48000, 111),
            (codec_spec{codec_id::opus, 48000, 48000, 111}));
  EXPECT_EQ(codec_spec_from("Opus", 48000, 96)->rtp_clock_rate, 48000u);
}

TEST(audio_codec, spec_from_rejects_unknown_names_and_clock_rates) {
  EXPECT_FALSE(codec_spec_from("G722", 8000, 9));
  EXPECT_FALSE(codec_spec_from("PCMU", 16000, 0));
  EXPECT_FALSE(codec_spec_from("opus", 16000, 96)); // RFC 7587 §7: always 48000
  EXPECT_FALSE(codec_spec_from("PCM", 8000, 0));
  EXPECT_FALSE(codec_spec_from("", 8000, 0));
}

TEST(audio_codec, names) {
  EXPECT_STREQ(to_string(codec_id::pcmu), "PCMU");
  EXPECT_STREQ(to_string(codec_id::pcma), "PCMA");
  EXPECT_STREQ(to_string(codec_id::opus), "opus");
  EXPECT_TRUE(is_g711(codec_id::pcma));
  EXPECT_FALSE(is_g711(codec_id::opus));
}

TEST(audio_codec, g711_only_at_8_khz) {
  EXPECT_FALSE(audio_decoder::create(codec_id::pcmu, 16000).ok());
  EXPECT_FALSE(audio_encoder::create(codec_id::pcma, 48000).ok());
  EXPECT_TRUE(audio_decoder::create(codec_id::opus, 16000).ok());
}

TEST(audio_codec, g711_decoder_conceals_with_plc) {
  auto dec = audio_decoder::create(codec_id::pcma, 8000);
  auto enc = audio_encoder::create(codec_id::pcma, 8000);
  ASSERT_TRUE(dec.ok() && enc.ok());
  EXPECT_EQ(enc->opus(), nullptr);
  std::array<int16_t, 160> pcm{};
  for (std::size_t i = 0; i < pcm.size(); ++i)
    pcm[i] = static_cast<int16_t>(i % 40 < 20 ? 4000 : -4000); // 200 Hz square
  std::array<uint8_t, 160> octets{};
  ASSERT_EQ(enc->encode(pcm, octets).value(), 160u);
  std::array<int16_t, 160> out{};
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(dec->decode(octets, out).value(), 160u);
  ASSERT_EQ(dec->conceal(out).value(), 160u);
  // The concealed frame repeats the pitch period: not silence.
  int energy = 0;
  for (int16_t s : out)
    energy += std::abs(s) > 1000;
  EXPECT_GT(energy, 100);
  // A payload longer than the buffer is refused rather than cut.
  std::array<int16_t, 80> small{};
  EXPECT_FALSE(dec->decode(octets, small).ok());
  EXPECT_FALSE(dec->decode({}, out).ok());
}

} // namespace
} // namespace centralita::media
