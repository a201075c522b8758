// RFC 4028 values and timing as the B2BUA legs use them.
#include "protocols/sip/dialog/session_timer.hpp"

#include <gtest/gtest.h>

using namespace centralita::sip::dialog;
using namespace std::chrono_literals;

TEST(session_timer, parses_the_header) {
  auto a = parse_session_expires("1800;refresher=uac");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->interval, 1800s);
  EXPECT_EQ(a->who, refresher::uac);
  auto b = parse_session_expires(" 90 ; Refresher = UAS ");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->interval, 90s);
  EXPECT_EQ(b->who, refresher::uas);
  auto c = parse_session_expires("600;x=y");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->who, refresher::unspecified);
  for (auto bad : {"", "0", "abc", "1800;refresher=me", "1800;refresher", "99999999999", "-5"})
    EXPECT_FALSE(parse_session_expires(bad)) << bad;
}

TEST(session_timer, formats_and_min_se) {
  EXPECT_EQ(format_session_expires({1800s, refresher::uac}), "1800;refresher=uac");
  EXPECT_EQ(format_session_expires({90s, refresher::unspecified}), "90");
  EXPECT_EQ(parse_min_se("90"), 90s);
  EXPECT_EQ(parse_min_se("120;foo"), 120s);
  EXPECT_FALSE(parse_min_se("x"));
}

TEST(session_timer, refresh_and_expiry_times) {
  EXPECT_EQ(refresh_after(1800s), 900s);
  EXPECT_EQ(expire_after(1800s), 1768s);  // 32 s before
  EXPECT_EQ(expire_after(90s), 60s);      // a third before
}

TEST(session_timer, option_tags) {
  EXPECT_TRUE(has_option_tag("path, timer,100rel", "timer"));
  EXPECT_TRUE(has_option_tag("Timer", "timer"));
  EXPECT_FALSE(has_option_tag("timers, 100rel", "timer"));
  EXPECT_FALSE(has_option_tag("", "timer"));
}
