// Replay rejection by nonce-count, bounded memory with eviction of the oldest
// nonce, and the horizon that keeps evicted nonces from being replayed.

#include "protocols/auth/nonce_tracker.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace centralita::auth;

TEST(nonce_tracker, nonce_count_must_increase) {
  nonce_tracker t(8);
  EXPECT_EQ(t.observe("n1", 100, 1), nc_verdict::accepted);
  EXPECT_EQ(t.observe("n1", 100, 1), nc_verdict::replay);  // the same request again
  EXPECT_EQ(t.observe("n1", 100, 2), nc_verdict::accepted);
  EXPECT_EQ(t.observe("n1", 100, 5), nc_verdict::accepted);  // gaps are fine
  EXPECT_EQ(t.observe("n1", 100, 3), nc_verdict::replay);   // going back is not
  EXPECT_EQ(t.observe("n1", 100, 5), nc_verdict::replay);
  EXPECT_EQ(t.observe("n2", 100, 1), nc_verdict::accepted);  // per nonce
  EXPECT_EQ(t.observe("n3", 101, 0), nc_verdict::replay);    // nc starts at 1
  EXPECT_EQ(t.size(), 2u);
}

TEST(nonce_tracker, evicts_oldest_issued_and_remembers_horizon) {
  nonce_tracker t(3);
  EXPECT_EQ(t.observe("c", 30, 1), nc_verdict::accepted);
  EXPECT_EQ(t.observe("a", 10, 1), nc_verdict::accepted);
  EXPECT_EQ(t.observe("b", 20, 1), nc_verdict::accepted);
  EXPECT_EQ(t.observe("d", 40, 1), nc_verdict::accepted);  // evicts "a" (issued earliest)
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.evictions(), 1u);
  // "a" lost its history: replaying its nc=1 request must not pass as new.
  EXPECT_EQ(t.observe("a", 10, 1), nc_verdict::forgotten);
  EXPECT_EQ(t.observe("a", 10, 2), nc_verdict::forgotten);
  EXPECT_EQ(t.observe("z", 5, 1), nc_verdict::forgotten);  // older than the horizon
  // Still tracked: unaffected.
  EXPECT_EQ(t.observe("b", 20, 1), nc_verdict::replay);
  EXPECT_EQ(t.observe("b", 20, 2), nc_verdict::accepted);
  // Issued after the horizon: new.
  EXPECT_EQ(t.observe("e", 50, 1), nc_verdict::accepted);  // evicts "b" (20)
  EXPECT_EQ(t.observe("b", 20, 3), nc_verdict::forgotten);
  EXPECT_EQ(t.observe("c", 30, 2), nc_verdict::accepted);
}

TEST(nonce_tracker, inserting_an_older_nonce_into_a_full_table) {
  nonce_tracker t(2);
  EXPECT_EQ(t.observe("b", 20, 1), nc_verdict::accepted);
  EXPECT_EQ(t.observe("c", 30, 1), nc_verdict::accepted);
  // "a" is older than both: it is the one evicted, right away.
  EXPECT_EQ(t.observe("a", 10, 1), nc_verdict::accepted);
  EXPECT_EQ(t.observe("a", 10, 1), nc_verdict::forgotten);
  EXPECT_EQ(t.observe("b", 20, 1), nc_verdict::replay);
}

TEST(nonce_tracker, expire_drops_old_nonces) {
  nonce_tracker t(100);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(t.observe("n" + std::to_string(i), i * 10, 1), nc_verdict::accepted);
  t.expire(50);  // drops issued 0..40
  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(t.evictions(), 0u);
  EXPECT_EQ(t.observe("n1", 10, 1), nc_verdict::forgotten);
  EXPECT_EQ(t.observe("x", 49, 1), nc_verdict::forgotten);
  EXPECT_EQ(t.observe("y", 50, 1), nc_verdict::accepted);
  EXPECT_EQ(t.observe("n5", 50, 1), nc_verdict::replay);
}

TEST(nonce_tracker, capacity_is_bounded) {
  nonce_tracker t(0);  // clamped to 1
  EXPECT_EQ(t.capacity(), 1u);
  nonce_tracker u(1000);
  for (uint64_t i = 0; i < 5000; ++i) (void)u.observe("n" + std::to_string(i), i, 1);
  EXPECT_EQ(u.size(), 1000u);
  EXPECT_EQ(u.evictions(), 4000u);
}
