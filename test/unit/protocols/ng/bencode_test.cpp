// bencode (BEP 3) decoding and encoding: the four kinds, the canonical
// spellings only (no leading zeros, no "-0"), limits, errors that name the
// byte offset, dictionaries in insertion order.

#include "protocols/ng/bencode.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace centralita;
using namespace centralita::ng;

namespace {

value dec(std::string_view in) {
  auto v = decode(in);
  EXPECT_TRUE(v.ok()) << in << ": " << (v.ok() ? "" : v.err().reason);
  return v.ok() ? v.value() : value{};
}

std::string reason(std::string_view in, const decode_limits& l = {}) {
  auto v = decode(in, l);
  EXPECT_FALSE(v.ok()) << in;
  return v.ok() ? "" : v.err().reason;
}

} // namespace

TEST(bencode, decodes_integers) {
  EXPECT_EQ(dec("i0e").as_integer(), 0);
  EXPECT_EQ(dec("i42e").as_integer(), 42);
  EXPECT_EQ(dec("i-17e").as_integer(), -17);
  EXPECT_EQ(dec("i9223372036854775807e").as_integer(), INT64_MAX);
  EXPECT_EQ(dec("i-9223372036854775808e").as_integer(), INT64_MIN);
}

TEST(bencode, refuses_non_canonical_and_malformed_integers) {
  EXPECT_EQ(reason("i03e"), "bencode: integer with a leading zero at byte 0");
  EXPECT_EQ(reason("i-0e"), "bencode: negative zero at byte 0");
  EXPECT_EQ(reason("ie"), "bencode: bad integer at byte 0");
  EXPECT_EQ(reason("i-e"), "bencode: bad integer at byte 0");
  EXPECT_EQ(reason("i12"), "bencode: unterminated integer at byte 0");
  EXPECT_EQ(reason("i1x2e"), "bencode: bad integer at byte 0");
  EXPECT_EQ(reason("i9223372036854775808e"), "bencode: integer out of range at byte 0");
  EXPECT_EQ(reason("li1ei99999999999999999999ee"), "bencode: integer out of range at byte 4");
}

TEST(bencode, decodes_byte_strings_with_any_bytes) {
  EXPECT_EQ(dec("0:").as_string(), "");
  EXPECT_EQ(dec("4:spam").as_string(), "spam");
  std::string with_nul("3:a\0b", 5);
  EXPECT_EQ(dec(with_nul).as_string(), std::string("a\0b", 3));
  EXPECT_EQ(dec("2:\r\n").as_string(), "\r\n");
}

TEST(bencode, refuses_bad_strings) {
  EXPECT_EQ(reason("5:spam"), "bencode: string runs past the end at byte 0");
  EXPECT_EQ(reason("04:spam"), "bencode: string length with a leading zero at byte 0");
  EXPECT_EQ(reason("4spam"), "bencode: string length without ':' at byte 0");
  EXPECT_EQ(reason("99999999999999999999999:x"), "bencode: string runs past the end at byte 0");
  EXPECT_EQ(reason("l1:a4:bce"), "bencode: string runs past the end at byte 4");
  EXPECT_EQ(reason("l1:a3:bce"), "bencode: unterminated list at byte 0");
}

TEST(bencode, decodes_lists_and_dictionaries) {
  auto v = dec("l4:spami7ee");
  ASSERT_TRUE(v.is_list());
  ASSERT_EQ(v.as_list().size(), 2u);
  EXPECT_EQ(v.as_list()[0].as_string(), "spam");
  EXPECT_EQ(v.as_list()[1].as_integer(), 7);
  EXPECT_TRUE(dec("le").as_list().empty());
  EXPECT_TRUE(dec("de").as_dict().empty());

  auto d = dec("d3:cow3:moo4:spaml1:a1:bee");
  ASSERT_TRUE(d.is_dict());
  EXPECT_EQ(d.find_string("cow"), "moo");
  ASSERT_NE(d.find("spam"), nullptr);
  EXPECT_EQ(d.find("spam")->as_list().size(), 2u);
  EXPECT_EQ(d.find("nope"), nullptr);
  EXPECT_EQ(d.find_string("spam"), "");  // not a string
}

TEST(bencode, keeps_dictionary_keys_in_arrival_order) {
  // rtpengine and its clients do not sort keys (BEP 3 would): accept that,
  // and write them back in the same order.
  std::string offer = "d7:command5:offer7:call-id3:abc8:from-tag2:ft3:sdp3:v=0e";
  auto v = dec(offer);
  ASSERT_EQ(v.as_dict().size(), 4u);
  EXPECT_EQ(v.as_dict()[0].key, "command");
  EXPECT_EQ(v.as_dict()[3].key, "sdp");
  EXPECT_EQ(encode(v), offer);
}

TEST(bencode, refuses_repeated_keys_and_non_string_keys) {
  EXPECT_EQ(reason("d1:ai1e1:bi2e1:ai3ee"), "bencode: repeated dictionary key at byte 13");
  EXPECT_EQ(reason("di1ei2ee"), "bencode: dictionary key is not a string at byte 1");
  EXPECT_EQ(reason("d1:ae"), "bencode: unexpected byte at byte 4");
}

TEST(bencode, refuses_truncation_and_trailing_bytes) {
  EXPECT_EQ(reason(""), "bencode: truncated input at byte 0");
  EXPECT_EQ(reason("l"), "bencode: unterminated list at byte 0");
  EXPECT_EQ(reason("d3:key"), "bencode: truncated input at byte 6");
  EXPECT_EQ(reason("d3:keyi1e"), "bencode: unterminated dictionary at byte 0");
  EXPECT_EQ(reason("i1ei2e"), "bencode: trailing bytes after the value at byte 3");
  EXPECT_EQ(reason("x"), "bencode: unexpected byte at byte 0");
  EXPECT_EQ(reason("le "), "bencode: trailing bytes after the value at byte 2");
}

TEST(bencode, limits_depth_items_and_size) {
  decode_limits l;
  l.max_depth = 3;
  EXPECT_TRUE(decode("lllee" "e", l).ok());
  auto deep = decode("llllee" "ee", l);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.err().code, errc::too_large);
  EXPECT_EQ(deep.err().reason, "bencode: nesting deeper than the limit at byte 3");

  // The default depth stops a hostile 100,000-deep list (no stack overflow).
  auto hostile = decode(std::string(60000, 'l') + std::string(60000, 'e'));
  ASSERT_FALSE(hostile.ok());
  EXPECT_EQ(hostile.err().code, errc::too_large);

  decode_limits few;
  few.max_items = 3;
  EXPECT_TRUE(decode("li1ei2ee", few).ok());  // the list and two integers
  auto many = decode("li1ei2ei3ee", few);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.err().reason, "bencode: more values than the limit at byte 7");

  decode_limits small;
  small.max_size = 4;
  auto big = decode("4:spam", small);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.err().code, errc::too_large);
}

TEST(bencode, encodes_each_kind) {
  EXPECT_EQ(encode(value(0)), "i0e");
  EXPECT_EQ(encode(value(int64_t{-42})), "i-42e");
  EXPECT_EQ(encode(value(INT64_MIN)), "i-9223372036854775808e");
  EXPECT_EQ(encode(value("")), "0:");
  EXPECT_EQ(encode(value(std::string("a\0b", 3))), std::string("3:a\0b", 5));
  EXPECT_EQ(encode(value(list{value("x"), value(1), value(list{})})), "l1:xi1elee");
  value d{dict{}};
  d.set("result", "ok");
  d.set("sdp", "v=0");
  d.set("result", "pong");  // replaced in place, order kept
  EXPECT_EQ(encode(d), "d6:result4:pong3:sdp3:v=0e");
}

TEST(bencode, equality_sees_order_and_kind) {
  EXPECT_EQ(dec("d1:ai1e1:bi2ee"), dec("d1:ai1e1:bi2ee"));
  EXPECT_NE(dec("d1:ai1e1:bi2ee"), dec("d1:bi2e1:ai1ee"));
  EXPECT_NE(dec("1:1"), dec("i1e"));
  EXPECT_NE(dec("le"), dec("de"));
}
