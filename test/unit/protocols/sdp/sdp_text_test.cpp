// The text level: line splitting as sofia does it, character classes, line checks.

#include "protocols/sdp/sdp_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::sdp;

namespace {

std::vector<std::string> split(std::string_view body) {
  std::vector<std::string> out;
  text::for_each_line(body, [&](std::string_view l) {
    out.emplace_back(l);
    return true;
  });
  return out;
}

} // namespace

TEST(sdp_text, lines_end_at_any_run_of_cr_and_lf) {
  EXPECT_EQ(split("v=0\r\no=x\nm=y\r\n\r\na=z"), (std::vector<std::string>{"v=0", "o=x", "m=y", "a=z"}));
  EXPECT_EQ(split("v=0\rs=-"), (std::vector<std::string>{"v=0", "s=-"}));
  EXPECT_TRUE(split("").empty());
  // Stops when the callback says so.
  size_t n = 0;
  text::for_each_line("a=1\r\na=2\r\na=3\r\n", [&](std::string_view) { return ++n < 2; });
  EXPECT_EQ(n, 2u);
}

TEST(sdp_text, character_classes) {
  EXPECT_TRUE(text::is_token("telephone-event"));
  EXPECT_TRUE(text::is_token("H263-1998"));
  EXPECT_FALSE(text::is_token(""));
  EXPECT_FALSE(text::is_token("a b"));
  EXPECT_FALSE(text::is_token("RTP/AVP"));  // '/' separates tokens
  EXPECT_FALSE(text::is_token("a:b"));
  EXPECT_TRUE(text::is_digits("0123"));
  EXPECT_FALSE(text::is_digits("+1"));
  EXPECT_FALSE(text::is_digits(""));
  EXPECT_TRUE(text::is_line_safe("x y\tz"));
  EXPECT_FALSE(text::is_line_safe("x\r"));
  EXPECT_FALSE(text::is_line_safe(std::string_view("x\0", 2)));
}

TEST(sdp_text, check_lines_accepts_a_minimal_body) {
  EXPECT_TRUE(text::check_lines("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n").ok());
  EXPECT_TRUE(text::check_lines("v=0\no=- 1 1 IN IP4 1.2.3.4\nm=image 1/2 udp/TLS t38 x.y\n").ok());
}

TEST(sdp_text, check_lines_refuses_with_a_reason) {
  auto r = text::check_lines("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\nm=audio 1 RTP/AVP 0 a;b\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::parse_error);
  EXPECT_EQ(r.err().reason, "bad format in m= line 2");
  auto big = text::check_lines(std::string(text::max_sdp_size + 1, 'v'));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.err().code, errc::too_large);
}
