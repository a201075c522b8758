// Properties of the events scenario's accounting (rapidcheck):
//  1. seq_set behaves as a std::set of its members: insert's answer, size,
//     contains, count_above, merge; its ranges stay sorted, disjoint and
//     apart (no two touch), whatever the order of inserts;
//  2. count_gaps against the union equals the brute-force count: the union's
//     members above a subscriber's hello that it did not see;
//  3. gaps are 0 for every subscriber iff every subscriber saw the whole union
//     (above its own hello);
//  4. against the driver: expected − driven_delivered when positive, else 0;
//     a subscriber's total is the larger of its two counts.

#include "bench/loadgen/events_accounting.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

using namespace centralita::loadgen;

namespace {

bool well_formed(const seq_set& s) {
  const auto& r = s.ranges();
  uint64_t size = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (r[i].first > r[i].last)
      return false;
    if (i > 0 && r[i].first <= r[i - 1].last + 1)  // overlapping or touching
      return false;
    size += r[i].last - r[i].first + 1;
  }
  return size == s.size();
}

seq_set of(const std::set<uint64_t>& values) {
  seq_set s;
  for (auto v : values)
    s.insert(v);
  return s;
}

struct sub {
  uint64_t hello = 0;
  std::set<uint64_t> seen;  // all above hello
  uint64_t driven = 0;
};

rc::Gen<sub> subscriber_gen() {
  return rc::gen::exec([] {
    sub s;
    s.hello = *rc::gen::inRange<uint64_t>(0, 20);
    auto picks = *rc::gen::container<std::vector<uint64_t>>(rc::gen::inRange<uint64_t>(1, 60));
    for (auto v : picks)
      if (v > s.hello)
        s.seen.insert(v);
    s.driven = *rc::gen::inRange<uint64_t>(0, 50);
    return s;
  });
}

} // namespace

RC_GTEST_PROP(events_accounting_prop, seq_set_is_a_set, ()) {
  // Small values so that duplicates and adjacency happen often.
  auto values = *rc::gen::container<std::vector<uint64_t>>(rc::gen::inRange<uint64_t>(0, 64));
  seq_set s;
  std::set<uint64_t> model;
  for (auto v : values) {
    RC_ASSERT(s.insert(v) == model.insert(v).second);
    RC_ASSERT(well_formed(s));
  }
  RC_ASSERT(s.size() == model.size());
  for (uint64_t v = 0; v < 66; ++v) {
    RC_ASSERT(s.contains(v) == (model.count(v) == 1));
    auto above = static_cast<uint64_t>(std::distance(model.upper_bound(v), model.end()));
    RC_ASSERT(s.count_above(v) == above);
    RC_ASSERT(s.above(v).size() == above);
  }
  auto more = *rc::gen::container<std::set<uint64_t>>(rc::gen::inRange<uint64_t>(0, 64));
  s.merge(of(more));
  model.insert(more.begin(), more.end());
  RC_ASSERT(well_formed(s));
  RC_ASSERT(s.size() == model.size());
  for (auto v : model)
    RC_ASSERT(s.contains(v));
}

RC_GTEST_PROP(events_accounting_prop, gaps_match_brute_force, ()) {
  auto subs = *rc::gen::nonEmpty(rc::gen::container<std::vector<sub>>(subscriber_gen()));
  std::vector<seq_set> sets;
  sets.reserve(subs.size());
  for (const auto& s : subs)
    sets.push_back(of(s.seen));
  std::vector<subscriber_seen> in;
  for (std::size_t i = 0; i < subs.size(); ++i)
    in.push_back({subs[i].hello, &sets[i], subs[i].driven});
  const bool driven = *rc::gen::arbitrary<bool>();
  std::optional<uint64_t> expected;
  if (driven)
    expected = *rc::gen::inRange<uint64_t>(0, 50);
  auto gaps = count_gaps(in, expected);
  RC_ASSERT(gaps.size() == subs.size());

  std::set<uint64_t> all;
  for (const auto& s : subs)
    all.insert(s.seen.begin(), s.seen.end());
  bool everyone_saw_everything = true;
  uint64_t union_total = 0;
  for (std::size_t i = 0; i < subs.size(); ++i) {
    uint64_t missing = 0;
    for (auto v : all)
      if (v > subs[i].hello && subs[i].seen.count(v) == 0)
        ++missing;
    RC_ASSERT(gaps[i].vs_union == missing);
    union_total += gaps[i].vs_union;
    everyone_saw_everything = everyone_saw_everything && missing == 0;
    uint64_t owed = expected && *expected > subs[i].driven ? *expected - subs[i].driven : 0;
    RC_ASSERT(gaps[i].vs_expected == owed);
    RC_ASSERT(gaps[i].total() == std::max(missing, owed));
  }
  RC_ASSERT((union_total == 0) == everyone_saw_everything);
}

RC_GTEST_PROP(events_accounting_prop, same_stream_for_all_means_no_gaps, ()) {
  // Every subscriber gets every event above its hello (in any order): no gaps.
  auto stream = *rc::gen::container<std::set<uint64_t>>(rc::gen::inRange<uint64_t>(1, 200));
  auto hellos = *rc::gen::nonEmpty(rc::gen::container<std::vector<uint64_t>>(rc::gen::inRange<uint64_t>(0, 100)));
  std::vector<seq_set> sets(hellos.size());
  std::vector<subscriber_seen> in;
  for (std::size_t i = 0; i < hellos.size(); ++i) {
    std::vector<uint64_t> mine;
    for (auto v : stream)
      if (v > hellos[i])
        mine.push_back(v);
    std::reverse(mine.begin(), mine.end());  // worst order for the ranges
    for (auto v : mine)
      sets[i].insert(v);
    in.push_back({hellos[i], &sets[i], 0});
  }
  for (const auto& g : count_gaps(in, std::nullopt))
    RC_ASSERT(g.total() == 0u);
  std::size_t victim = *rc::gen::inRange<std::size_t>(0, hellos.size());
  if (sets[victim].empty())
    return;
  // The victim loses its smallest seq. Only if another subscriber saw it
  // does the union know it was owed: one gap, else none.
  const uint64_t dropped = sets[victim].ranges().front().first;
  seq_set fewer;
  for (const auto& r : sets[victim].ranges())
    for (uint64_t v = r.first;; ++v) {
      if (v != dropped)
        fewer.insert(v);
      if (v == r.last)
        break;
    }
  in[victim].seen = &fewer;
  uint64_t total = 0;
  for (const auto& x : count_gaps(in, std::nullopt))
    total += x.total();
  bool others_saw = false;
  for (std::size_t i = 0; i < hellos.size(); ++i)
    if (i != victim && sets[i].contains(dropped))
      others_saw = true;
  RC_ASSERT(total == (others_saw ? 1u : 0u));
}
