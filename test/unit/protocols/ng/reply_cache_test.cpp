// The retransmission rule: a cookie seen within 30 s is answered from the
// cache (or not at all while its request runs), never run twice; entries
// expire and the cache is bounded. Time is passed in: no sleeps.

#include "protocols/ng/reply_cache.hpp"

#include <gtest/gtest.h>

using namespace centralita::ng;
using namespace std::chrono_literals;

namespace {
const reply_cache::clock::time_point t0{};
}

TEST(reply_cache, a_new_cookie_runs_then_replays_its_reply) {
  reply_cache c;
  EXPECT_EQ(c.begin("a", t0).what, reply_cache::verdict::fresh);
  EXPECT_EQ(c.begin("a", t0 + 100ms).what, reply_cache::verdict::pending);
  c.complete("a", "a d6:result2:oke");
  auto again = c.begin("a", t0 + 1s);
  ASSERT_EQ(again.what, reply_cache::verdict::replay);
  EXPECT_EQ(*again.reply, "a d6:result2:oke");
  EXPECT_EQ(c.begin("b", t0 + 1s).what, reply_cache::verdict::fresh);
}

TEST(reply_cache, entries_expire_after_the_ttl) {
  reply_cache c(30s);
  c.begin("a", t0);
  c.complete("a", "r");
  EXPECT_EQ(c.begin("a", t0 + 29999ms).what, reply_cache::verdict::replay);
  EXPECT_EQ(c.begin("a", t0 + 30s).what, reply_cache::verdict::fresh);  // a new request
  EXPECT_EQ(c.size(), 1u);
  c.complete("a", "r2");
  EXPECT_EQ(*c.begin("a", t0 + 31s).reply, "r2");
}

TEST(reply_cache, completing_an_expired_entry_is_ignored) {
  reply_cache c(1s);
  c.begin("a", t0);
  c.begin("b", t0 + 2s);  // expires "a"
  c.complete("a", "late");
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.begin("a", t0 + 2s).what, reply_cache::verdict::fresh);
}

TEST(reply_cache, is_bounded_by_dropping_the_oldest) {
  reply_cache c(30s, 3);
  for (auto k : {"a", "b", "c", "d"})
    c.begin(k, t0);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.begin("a", t0).what, reply_cache::verdict::fresh);  // "a" was dropped
  EXPECT_EQ(c.begin("d", t0).what, reply_cache::verdict::pending);
}
