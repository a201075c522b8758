// seq_set (ranges, out-of-order inserts, merges, counts above a floor),
// count_gaps on worked examples (against the union, against the driver,
// hellos at different seqs) and spread_of.
#include "bench/loadgen/events_accounting.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace centralita::loadgen;

namespace {

seq_set of(std::initializer_list<uint64_t> seqs) {
  seq_set s;
  for (auto v : seqs)
    s.insert(v);
  return s;
}

std::vector<std::pair<uint64_t, uint64_t>> ranges(const seq_set& s) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& r : s.ranges())
    out.emplace_back(r.first, r.last);
  return out;
}

using pairs = std::vector<std::pair<uint64_t, uint64_t>>;

} // namespace

TEST(events_accounting, in_order_stream_is_one_range) {
  seq_set s;
  for (uint64_t v = 101; v <= 600; ++v)
    ASSERT_TRUE(s.insert(v));
  EXPECT_EQ(s.size(), 500u);
  EXPECT_EQ(ranges(s), (pairs{{101, 600}}));
  EXPECT_FALSE(s.insert(300));  // a duplicate
  EXPECT_EQ(s.size(), 500u);
}

TEST(events_accounting, holes_and_late_arrivals_join_up) {
  seq_set s = of({1, 2, 5, 9, 10});
  EXPECT_EQ(ranges(s), (pairs{{1, 2}, {5, 5}, {9, 10}}));
  EXPECT_TRUE(s.insert(4));   // extends the next range down
  EXPECT_TRUE(s.insert(3));   // joins two ranges
  EXPECT_EQ(ranges(s), (pairs{{1, 5}, {9, 10}}));
  EXPECT_TRUE(s.insert(7));   // alone between two
  EXPECT_TRUE(s.insert(0));   // before everything
  EXPECT_FALSE(s.insert(5));
  EXPECT_EQ(ranges(s), (pairs{{0, 5}, {7, 7}, {9, 10}}));
  EXPECT_EQ(s.size(), 9u);
  EXPECT_TRUE(s.contains(7));
  EXPECT_FALSE(s.contains(8));
  EXPECT_FALSE(s.contains(11));
  EXPECT_EQ(s.count_above(4), 4u);   // 5, 7, 9, 10
  EXPECT_EQ(s.count_above(10), 0u);
  EXPECT_EQ(s.above(6).size(), 3u);
  EXPECT_TRUE(of({UINT64_MAX}).contains(UINT64_MAX));
  EXPECT_EQ(of({UINT64_MAX - 1, UINT64_MAX}).count_above(UINT64_MAX - 1), 1u);
}

TEST(events_accounting, merge_coalesces) {
  seq_set a = of({1, 2, 3, 10, 11});
  a.merge(of({4, 5, 9, 20}));
  EXPECT_EQ(ranges(a), (pairs{{1, 5}, {9, 11}, {20, 20}}));
  EXPECT_EQ(a.size(), 9u);
  a.merge(seq_set{});
  EXPECT_EQ(a.size(), 9u);
}

TEST(events_accounting, no_gaps_when_all_saw_everything) {
  seq_set x = of({11, 12, 13}), y = of({11, 12, 13});
  auto g = count_gaps({{10, &x, 3}, {10, &y, 3}}, 3);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].total(), 0u);
  EXPECT_EQ(g[1].total(), 0u);
}

TEST(events_accounting, gaps_against_the_union) {
  // Three subscribers, hellos at 10, 10 and 12: the third is not owed 11 and 12.
  seq_set a = of({11, 12, 13, 14, 15}), b = of({11, 13, 15}), c = of({13, 14});
  auto g = count_gaps({{10, &a, 0}, {10, &b, 0}, {12, &c, 0}}, std::nullopt);
  EXPECT_EQ(g[0].vs_union, 0u);
  EXPECT_EQ(g[1].vs_union, 2u);  // 12 and 14
  EXPECT_EQ(g[2].vs_union, 1u);  // 15
  EXPECT_EQ(g[1].vs_expected, 0u);
}

TEST(events_accounting, gaps_against_the_driver) {
  // Everybody missed one of five driven events: the union cannot see it.
  seq_set a = of({1, 2, 3, 5}), b = of({1, 2, 3, 5});
  auto g = count_gaps({{0, &a, 4}, {0, &b, 4}}, 5);
  EXPECT_EQ(g[0].vs_union, 0u);
  EXPECT_EQ(g[0].vs_expected, 1u);
  EXPECT_EQ(g[0].total(), 1u);
  // More than expected (someone else REGISTERed too) is no gap.
  g = count_gaps({{0, &a, 7}}, 5);
  EXPECT_EQ(g[0].total(), 0u);
}

TEST(events_accounting, seqs_at_or_below_a_hello_are_not_owed) {
  // b subscribed earlier (hello 19) and got 20, which a (hello 20) is not owed.
  seq_set a = of({21, 22}), b = of({20, 21, 22});
  auto g = count_gaps({{20, &a, 0}, {19, &b, 0}}, std::nullopt);
  EXPECT_EQ(g[0].vs_union, 0u);
  EXPECT_EQ(g[1].vs_union, 0u);
}

TEST(events_accounting, spread) {
  auto s = spread_of({5, 1, 9, 3});
  EXPECT_EQ(s.min, 1u);
  EXPECT_EQ(s.median, 3u);  // the lower middle
  EXPECT_EQ(s.max, 9u);
  EXPECT_EQ(spread_of({}).max, 0u);
  EXPECT_EQ(spread_of({7}).median, 7u);
}
