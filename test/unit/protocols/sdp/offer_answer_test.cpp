// common_codecs (RFC 3264 §6.1) and find_codec.

#include "protocols/sdp/offer_answer.hpp"

#include "sdp_samples.hpp"

#include <gtest/gtest.h>

using namespace centralita::sdp;

namespace {

std::vector<uint8_t> pts(const std::vector<codec>& cs) {
  std::vector<uint8_t> out;
  for (const auto& c : cs) out.push_back(c.payload_type);
  return out;
}

const std::vector<codec> switch_caps = {
    {0, "PCMU", 8000, 1, ""},
    {8, "PCMA", 8000, 1, ""},
    {111, "OPUS", 48000, 2, "useinbandfec=1"},
    {101, "telephone-event", 8000, 1, "0-16"},
};

} // namespace

TEST(offer_answer, keeps_offer_order_and_numbers) {
  auto offer = parse_sdp(samples::baresip_offer);
  ASSERT_TRUE(offer.ok());
  auto common = common_codecs(offer->media.at(0).codecs, switch_caps);
  // opus/48000/2 matches "OPUS" at another number; telephone-event/48000 does not
  // match telephone-event/8000, the 8000 one (102) does.
  EXPECT_EQ(pts(common), (std::vector<uint8_t>{96, 0, 8, 102}));
  EXPECT_EQ(common[0], (codec{96, "opus", 48000, 2, "stereo=1;sprop-stereo=1"}));  // the offer's
  EXPECT_EQ(common[3].fmtp, "0-15");
}

TEST(offer_answer, static_types_match_by_number) {
  // A static type without a=rtpmap (name filled from RFC 3551) and one with an
  // unusual name written: both are the static encoding.
  std::vector<codec> offer = {{0, "", 0, 1, ""}, {8, "pcma", 8000, 1, ""}, {18, "G729", 8000, 1, ""}};
  EXPECT_EQ(pts(common_codecs(offer, switch_caps)), (std::vector<uint8_t>{0, 8}));
}

TEST(offer_answer, dynamic_types_need_name_rate_and_channels) {
  std::vector<codec> offer = {{96, "opus", 48000, 1, ""},  // mono: not the same
                              {97, "opus", 48000, 2, ""},
                              {98, "telephone-event", 8000, 1, ""},
                              {99, "telephone-event", 8000, 1, ""},  // second match of one capability
                              {100, "", 0, 1, ""}};                  // unknown encoding
  EXPECT_EQ(pts(common_codecs(offer, switch_caps)), (std::vector<uint8_t>{97, 98, 99}));
}

TEST(offer_answer, static_offer_matches_dynamic_capability_by_name) {
  std::vector<codec> caps = {{120, "pcmu", 8000, 1, ""}};
  EXPECT_EQ(pts(common_codecs({{0, "PCMU", 8000, 1, ""}}, caps)), (std::vector<uint8_t>{0}));
}

TEST(offer_answer, duplicates_and_nothing_in_common) {
  std::vector<codec> offer = {{0, "PCMU", 8000, 1, ""}, {0, "PCMU", 8000, 1, ""}};
  EXPECT_EQ(pts(common_codecs(offer, switch_caps)), (std::vector<uint8_t>{0}));
  EXPECT_TRUE(common_codecs({{9, "G722", 8000, 1, ""}}, switch_caps).empty());
  EXPECT_TRUE(common_codecs({}, switch_caps).empty());
  EXPECT_TRUE(common_codecs(offer, {}).empty());
}

TEST(offer_answer, same_encoding_rules) {
  EXPECT_TRUE(same_encoding({0, "PCMU", 8000, 1, ""}, {0, "whatever", 1, 1, ""}));
  EXPECT_FALSE(same_encoding({0, "PCMU", 8000, 1, ""}, {8, "PCMU", 8000, 1, ""}));
  EXPECT_TRUE(same_encoding({96, "AMR", 8000, 0, ""}, {97, "amr", 8000, 1, ""}));  // 0 channels = 1
  EXPECT_FALSE(same_encoding({96, "", 0, 1, ""}, {97, "", 0, 1, ""}));
}

TEST(offer_answer, find_codec_by_name_and_rate) {
  auto offer = parse_sdp(samples::baresip_offer);
  ASSERT_TRUE(offer.ok());
  const auto& m = offer->media.at(0);
  auto te = find_codec(m, "TELEPHONE-EVENT");
  ASSERT_TRUE(te);
  EXPECT_EQ(te->payload_type, 101);
  auto te8 = find_codec(m, "telephone-event", 8000);
  ASSERT_TRUE(te8);
  EXPECT_EQ(te8->payload_type, 102);
  EXPECT_FALSE(find_codec(m, "telephone-event", 16000));
  EXPECT_FALSE(find_codec(m, "G729"));
  EXPECT_EQ(find_codec(m, "pcma")->payload_type, 8);
}
