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

TEST(session_timer_state, uas_follows_the_caller) {
  session_timer_state a;
  a.plan_uas("600;refresher=uac", "timer, 100rel", "INVITE, UPDATE", 1800s, 90s);
  EXPECT_EQ(a.interval(), 600s);
  EXPECT_FALSE(a.we_refresh());
  EXPECT_TRUE(a.party_allows_update());
  auto h = a.response_headers();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].second, "600;refresher=uac");  // the caller (the request's UAC) refreshes
  EXPECT_EQ(h[1].first, "Require");
  EXPECT_EQ(a.next().kind, session_timer_state::wait::expire);
  EXPECT_EQ(a.next().after, expire_after(600s));

  session_timer_state b;  // no timer support at all: ours, and we refresh
  b.plan_uas("", "", "INVITE", 1800s, 90s);
  EXPECT_EQ(b.interval(), 1800s);
  EXPECT_TRUE(b.we_refresh());
  auto hb = b.response_headers();
  ASSERT_EQ(hb.size(), 1u);  // no Require: timer for a caller that does not support it
  EXPECT_EQ(hb[0].second, "1800;refresher=uas");
  EXPECT_EQ(b.next().kind, session_timer_state::wait::refresh);
  EXPECT_EQ(b.next().after, 900s);

  session_timer_state c;  // supported, no Session-Expires: ours, the caller refreshes
  c.plan_uas("", "timer", "", 1800s, 90s);
  EXPECT_EQ(c.interval(), 1800s);
  EXPECT_FALSE(c.we_refresh());

  session_timer_state off;
  off.plan_uas("", "", "", 0s, 90s);
  EXPECT_EQ(off.next().kind, session_timer_state::wait::none);
  EXPECT_TRUE(off.response_headers().empty());
}

TEST(session_timer_state, uac_takes_the_answer) {
  session_timer_state t;
  t.on_answer("1200;refresher=uas", "INVITE, ACK", true);
  EXPECT_EQ(t.interval(), 1200s);
  EXPECT_FALSE(t.we_refresh());  // the callee refreshes
  auto h = t.request_headers();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].second, "1200;refresher=uas");
  t.on_answer("900;refresher=uac", "", false);
  EXPECT_TRUE(t.we_refresh());
  t.on_answer("", "", false);  // a refresh answered without the header: kept
  EXPECT_EQ(t.interval(), 900s);
  t.on_answer("", "", true);   // the initial INVITE's 2xx without it: no timer
  EXPECT_EQ(t.interval(), 0s);
  t.on_request("120;refresher=uas", 90s);
  EXPECT_EQ(t.interval(), 120s);
  EXPECT_TRUE(t.we_refresh());
  t.on_request("60", 90s);  // raised to Min-SE
  EXPECT_EQ(t.interval(), 90s);
}
