// base64url (RFC 4648 §5, §10 test vectors): unpadded output, padded or
// unpadded input, strict about characters, length and pad bits.

#include "protocols/push/push.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace centralita;
using namespace centralita::push;

namespace {

struct vector_case {
  const char* bytes;
  const char* unpadded;
  const char* padded;
};

// RFC 4648 §10; base64 and base64url agree on these (no 62/63 values).
const vector_case rfc4648[] = {
    {"", "", ""},
    {"f", "Zg", "Zg=="},
    {"fo", "Zm8", "Zm8="},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg", "Zm9vYg=="},
    {"fooba", "Zm9vYmE", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

} // namespace

TEST(base64url, rfc4648_vectors_encode_unpadded) {
  for (const auto& v : rfc4648) EXPECT_EQ(base64url(v.bytes), v.unpadded) << v.bytes;
}

TEST(base64url, rfc4648_vectors_decode_padded_and_unpadded) {
  for (const auto& v : rfc4648) {
    auto a = base64url_decode(v.unpadded);
    ASSERT_TRUE(a) << v.unpadded << ": " << a.err().reason;
    EXPECT_EQ(*a, v.bytes);
    auto b = base64url_decode(v.padded);
    ASSERT_TRUE(b) << v.padded << ": " << b.err().reason;
    EXPECT_EQ(*b, v.bytes);
  }
}

TEST(base64url, url_alphabet_for_62_and_63) {
  // 0xfb 0xff 0xbf is 111110 111111 111110 111111: '+/+/' in base64, '-_-_' here.
  EXPECT_EQ(base64url(std::string("\xfb\xff\xbf", 3)), "-_-_");
  auto d = base64url_decode("-_-_");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, std::string("\xfb\xff\xbf", 3));
  EXPECT_EQ(base64url(std::string("\x00\x00", 2)), "AAA");
  EXPECT_EQ(base64url(std::string(1, '\0')), "AA");
}

TEST(base64url, refuses_the_standard_alphabet_and_other_bytes) {
  for (const char* bad : {"+/+/", "Zm9v Yg", "Zm9v\nYg", "Zm9v.Yg"}) {
    auto r = base64url_decode(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.err().code, errc::parse_error);
    }
  }
  EXPECT_FALSE(base64url_decode(std::string("Zm\0v", 4)));
  EXPECT_FALSE(base64url_decode("Zm9\xc3\xa9"));
}

TEST(base64url, refuses_impossible_lengths_and_bad_padding) {
  for (const char* bad : {"Z", "Zm9vY", "Zg=", "Zg===", "Z===", "====", "=", "Zm9v=", "Zm=8", "Zg==Zg==", "Zm9v===="}) {
    auto r = base64url_decode(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.err().code, errc::parse_error);
      EXPECT_FALSE(r.err().reason.empty());
    }
  }
}

TEST(base64url, refuses_non_zero_pad_bits) {
  // "Zg" is 011001 100000: the last 4 bits are padding. "Zh" sets one of them.
  EXPECT_TRUE(base64url_decode("Zg"));
  EXPECT_FALSE(base64url_decode("Zh"));
  EXPECT_FALSE(base64url_decode("Zh=="));
  EXPECT_TRUE(base64url_decode("Zm8"));
  EXPECT_FALSE(base64url_decode("Zm9"));
}

TEST(base64url, every_byte_value_round_trips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 37) {
    const std::string part = all.substr(all.size() - n);
    auto back = base64url_decode(base64url(part));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, part);
  }
}

TEST(push_uuid, version_4_variant_10_lower_case) {
  EXPECT_EQ(push::uuid_v4(0, 0), "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(push::uuid_v4(~uint64_t{0}, ~uint64_t{0}), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  EXPECT_EQ(push::uuid_v4(0x0123456789abcdefull, 0xfedcba9876543210ull),
            "01234567-89ab-4def-bedc-ba9876543210");
}
