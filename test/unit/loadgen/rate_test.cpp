// pacer (fixed and ramp schedules, due/when/rate_at) and knee_search (step
// plans, the pass/fail rule, where the search stops and what the knee is).

#include "bench/loadgen/rate.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

using namespace std::chrono_literals;
using centralita::loadgen::knee_plan;
using centralita::loadgen::knee_search;
using centralita::loadgen::pacer;
using centralita::loadgen::step_result;
using std::chrono::nanoseconds;

namespace {

constexpr auto never = nanoseconds::max();

/// due(when(n)) > n and due(when(n) - 1ns) <= n: when(n) is the first
/// nanosecond at which attempt n is due.
void expect_consistent(const pacer& p, uint64_t n) {
  const nanoseconds t = p.when(n);
  ASSERT_NE(t, never) << n;
  EXPECT_GE(p.due(t), n + 1) << n;
  EXPECT_LE(p.due(t - 1ns), n) << n;
}

// ---- pacer::fixed ----------------------------------------------------------

TEST(pacer, fixed_due_is_floor_of_rate_times_time) {
  const auto p = pacer::fixed(1000);
  EXPECT_EQ(p.due(0ns), 0u);
  EXPECT_EQ(p.due(-5s), 0u);
  EXPECT_EQ(p.due(999'999ns), 0u);
  EXPECT_EQ(p.due(1ms), 1u);
  EXPECT_EQ(p.due(1999us), 1u);
  EXPECT_EQ(p.due(2ms), 2u);
  EXPECT_EQ(p.due(1s), 1000u);
  EXPECT_EQ(p.due(10s), 10000u);
  EXPECT_EQ(p.due(3600s), 3'600'000u);
  EXPECT_EQ(p.rate_at(0ns), 1000.0);
  EXPECT_EQ(p.rate_at(1h), 1000.0);
}

TEST(pacer, fixed_when_is_the_first_due_nanosecond) {
  const auto p = pacer::fixed(1000);
  EXPECT_EQ(p.when(0), 1ms);
  EXPECT_EQ(p.when(1), 2ms);
  EXPECT_EQ(p.when(999), 1s);
  EXPECT_EQ(p.when(9'999'999), 10'000s);
  // 3/s: attempt 0 at ceil(1e9 / 3) ns, since 3 * 333333333 ns is 0.999999999.
  const auto q = pacer::fixed(3);
  EXPECT_EQ(q.when(0), 333'333'334ns);
  EXPECT_EQ(q.when(2), 1s);
  for (uint64_t n : {0, 1, 2, 3, 100, 12345}) expect_consistent(q, n);
}

TEST(pacer, fractional_and_huge_rates) {
  const auto slow = pacer::fixed(0.5);  // one every two seconds
  EXPECT_EQ(slow.due(1999ms), 0u);
  EXPECT_EQ(slow.due(2s), 1u);
  EXPECT_EQ(slow.when(0), 2s);
  EXPECT_EQ(slow.when(4), 10s);
  const auto fast = pacer::fixed(2e9);  // faster than one per nanosecond
  EXPECT_EQ(fast.due(1ns), 2u);
  EXPECT_EQ(fast.when(0), 1ns);
  EXPECT_EQ(fast.when(1), 1ns);
  EXPECT_EQ(fast.when(2), 2ns);
  // Counts past 2^64 saturate instead of wrapping.
  EXPECT_EQ(pacer::fixed(1e12).due(nanoseconds::max()), UINT64_MAX);
  EXPECT_EQ(fast.when(UINT64_MAX), never);
}

TEST(pacer, zero_and_invalid_rates_never_fire) {
  for (double r : {0.0, -10.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    const auto p = pacer::fixed(r);
    EXPECT_EQ(p.due(1h), 0u) << r;
    EXPECT_EQ(p.when(0), never) << r;
    EXPECT_EQ(p.rate_at(1s), 0.0) << r;
  }
}

TEST(pacer, fixed_when_is_consistent_with_due) {
  for (double r : {1.0, 7.0, 33.3, 500.0, 999.9, 1e5, 123456.789}) {
    const auto p = pacer::fixed(r);
    for (uint64_t n : {0, 1, 2, 9, 99, 1000, 77777}) expect_consistent(p, n);
  }
}

// ---- pacer::ramp -----------------------------------------------------------

TEST(pacer, ramp_up_is_quadratic_then_linear) {
  // 0 → 100/s over 10 s: 5 t^2 attempts by t seconds, 500 at the end of the
  // ramp, then 100 more each second.
  const auto p = pacer::ramp(0, 100, 10s);
  EXPECT_EQ(p.due(0ns), 0u);
  EXPECT_EQ(p.due(1s), 5u);
  EXPECT_EQ(p.due(5s), 125u);
  EXPECT_EQ(p.due(5s - 1ns), 124u);
  EXPECT_EQ(p.due(10s), 500u);
  EXPECT_EQ(p.due(12s), 700u);
  EXPECT_EQ(p.when(124), 5s);
  EXPECT_EQ(p.when(499), 10s);
  EXPECT_EQ(p.when(699), 12s);
  EXPECT_DOUBLE_EQ(p.rate_at(0s), 0.0);
  EXPECT_DOUBLE_EQ(p.rate_at(5s), 50.0);
  EXPECT_DOUBLE_EQ(p.rate_at(2500ms), 25.0);
  EXPECT_DOUBLE_EQ(p.rate_at(10s), 100.0);
  EXPECT_DOUBLE_EQ(p.rate_at(1h), 100.0);
  for (uint64_t n : {0, 1, 4, 5, 124, 125, 498, 499, 500, 501, 10'000}) expect_consistent(p, n);
}

TEST(pacer, ramp_from_a_nonzero_rate) {
  // 100 → 300/s over 2 s: 100 t + 50 t^2; 400 by the end, then 300/s.
  const auto p = pacer::ramp(100, 300, 2s);
  EXPECT_EQ(p.due(1s), 150u);
  EXPECT_EQ(p.due(2s), 400u);
  EXPECT_EQ(p.due(3s), 700u);
  EXPECT_DOUBLE_EQ(p.rate_at(1s), 200.0);
  for (uint64_t n : {0, 99, 149, 150, 399, 400, 699, 5000}) expect_consistent(p, n);
}

TEST(pacer, ramp_down) {
  // 200 → 100/s over 10 s: 1500 by the end of the ramp, then 100/s.
  const auto p = pacer::ramp(200, 100, 10s);
  EXPECT_EQ(p.due(10s), 1500u);
  EXPECT_EQ(p.due(5s), 875u);  // 200 * 5 - (100 / 20) * 5^2 = 1000 - 125
  EXPECT_EQ(p.due(11s), 1600u);
  EXPECT_DOUBLE_EQ(p.rate_at(5s), 150.0);
  for (uint64_t n : {0, 874, 875, 1499, 1500, 1599, 3000}) expect_consistent(p, n);
}

TEST(pacer, ramp_down_to_zero_stops) {
  // 100 → 0/s over 10 s: 500 attempts in all, then never another.
  const auto p = pacer::ramp(100, 0, 10s);
  EXPECT_EQ(p.due(10s), 500u);
  EXPECT_EQ(p.due(1h), 500u);
  expect_consistent(p, 0);
  expect_consistent(p, 499);
  EXPECT_EQ(p.when(500), never);
}

TEST(pacer, ramp_over_no_time_is_fixed) {
  for (nanoseconds over : {nanoseconds{0}, nanoseconds{-1s}}) {
    const auto p = pacer::ramp(5, 1000, over);
    const auto f = pacer::fixed(1000);
    for (nanoseconds t : {nanoseconds{0}, nanoseconds{1ms}, nanoseconds{1500us}, nanoseconds{1s}, nanoseconds{77s}}) EXPECT_EQ(p.due(t), f.due(t));
    EXPECT_EQ(p.when(41), f.when(41));
    EXPECT_EQ(p.rate_at(0s), 1000.0);
  }
}

TEST(pacer, ramp_between_equal_rates_is_fixed) {
  const auto p = pacer::ramp(250, 250, 4s);
  const auto f = pacer::fixed(250);
  for (nanoseconds t : {nanoseconds{1ms}, nanoseconds{4ms}, nanoseconds{1s}, nanoseconds{3999ms}, nanoseconds{4s}, nanoseconds{9s}}) EXPECT_EQ(p.due(t), f.due(t)) << t.count();
}

TEST(pacer, due_is_monotone_and_when_increasing) {
  for (const auto& p : {pacer::fixed(777), pacer::ramp(0, 5000, 3s), pacer::ramp(3000, 10, 2s),
                        pacer::ramp(1, 2, 100s)}) {
    uint64_t previous = 0;
    for (int64_t t = 0; t <= 5'000'000'000; t += 999'983) {
      const uint64_t d = p.due(nanoseconds{t});
      EXPECT_GE(d, previous) << t;
      previous = d;
    }
    nanoseconds last{0};
    for (uint64_t n = 0; n < 2000; ++n) {
      const nanoseconds w = p.when(n);
      if (w == never) break;
      EXPECT_GE(w, last) << n;
      last = w;
    }
  }
}

// ---- knee_search -----------------------------------------------------------

/// A step that went as asked: every attempt succeeded at the offered rate.
step_result clean_step(double rate) {
  step_result r;
  r.offered = rate;
  r.achieved = rate;
  r.attempted = static_cast<uint64_t>(rate * 10);
  r.failed = 0;
  r.p99_ms = 5;
  return r;
}

step_result failing_step(double rate) {
  step_result r = clean_step(rate);
  r.failed = r.attempted / 10;
  r.achieved = rate * 0.9;
  return r;
}

/// Runs a whole search where every rate up to `capacity` passes; returns the
/// rates that were stepped through.
std::vector<double> run(knee_search& k, double capacity) {
  std::vector<double> rates;
  std::optional<double> rate = k.first();
  while (rate) {
    rates.push_back(*rate);
    if (rates.size() > 1000) break;  // a runaway search fails the test below
    rate = k.next(*rate <= capacity ? clean_step(*rate) : failing_step(*rate));
  }
  return rates;
}

TEST(knee_search, additive_steps_until_one_fails) {
  knee_search k({.start = 100, .step = 100, .max_rate = 1000});
  EXPECT_EQ(k.first(), 100.0);
  EXPECT_EQ(run(k, 550), (std::vector<double>{100, 200, 300, 400, 500, 600}));
  EXPECT_EQ(k.knee(), 500.0);
  ASSERT_EQ(k.steps().size(), 6u);
  EXPECT_EQ(k.steps().back().offered, 600.0);
}

TEST(knee_search, geometric_steps_when_factor_above_one) {
  knee_search k({.start = 100, .step = 100, .factor = 2, .max_rate = 100000});
  EXPECT_EQ(run(k, 500), (std::vector<double>{100, 200, 400, 800}));
  EXPECT_EQ(k.knee(), 400.0);
}

TEST(knee_search, factor_of_one_or_less_is_additive) {
  for (double factor : {0.0, 0.5, 1.0}) {
    knee_search k({.start = 10, .step = 5, .factor = factor, .max_rate = 1000});
    EXPECT_EQ(run(k, 22), (std::vector<double>{10, 15, 20, 25})) << factor;
    EXPECT_EQ(k.knee(), 20.0);
  }
}

TEST(knee_search, reaching_max_rate_ends_the_search) {
  // The last step runs at max_rate exactly, not past it.
  knee_search k({.start = 100, .step = 300, .max_rate = 500});
  EXPECT_EQ(run(k, 1e9), (std::vector<double>{100, 400, 500}));
  EXPECT_EQ(k.knee(), 500.0);
  knee_search g({.start = 100, .factor = 3, .max_rate = 1000});
  EXPECT_EQ(run(g, 1e9), (std::vector<double>{100, 300, 900, 1000}));
  EXPECT_EQ(g.knee(), 1000.0);
}

TEST(knee_search, max_rate_that_fails_keeps_the_last_passed) {
  knee_search k({.start = 100, .step = 300, .max_rate = 500});
  EXPECT_EQ(run(k, 450), (std::vector<double>{100, 400, 500}));
  EXPECT_EQ(k.knee(), 400.0);
}

TEST(knee_search, start_at_or_above_max_rate_is_one_step) {
  knee_search k({.start = 2000, .step = 100, .max_rate = 1000});
  EXPECT_EQ(run(k, 1e9), (std::vector<double>{2000}));
  EXPECT_EQ(k.knee(), 2000.0);
}

TEST(knee_search, first_step_failing_means_no_knee) {
  knee_search k({.start = 100, .step = 100});
  EXPECT_EQ(run(k, 50), (std::vector<double>{100}));
  EXPECT_EQ(k.knee(), 0.0);
  EXPECT_EQ(k.steps().size(), 1u);
}

TEST(knee_search, a_plan_that_does_not_grow_stops) {
  knee_search k({.start = 100, .step = 0, .factor = 0});
  EXPECT_EQ(run(k, 1e9), (std::vector<double>{100}));
  EXPECT_EQ(k.knee(), 100.0);
  knee_search down({.start = 100, .step = -10});
  EXPECT_EQ(run(down, 1e9), (std::vector<double>{100}));
}

TEST(knee_search, knee_is_the_planned_rate_not_the_reported_offer) {
  knee_search k({.start = 100, .step = 100});
  step_result r = clean_step(100);
  r.offered = 99.2;  // a caller reporting the measured offer
  r.achieved = 99.0;
  EXPECT_EQ(k.next(r), 200.0);
  EXPECT_EQ(k.knee(), 100.0);
}

TEST(knee_search, failure_ratio_threshold) {
  knee_search k({.max_failure_ratio = 0.001});
  step_result r = clean_step(100);
  r.attempted = 10000;
  r.failed = 10;  // exactly 0.1%: not past the threshold
  EXPECT_TRUE(k.passed(r));
  r.failed = 11;
  EXPECT_FALSE(k.passed(r));
  knee_search strict({.max_failure_ratio = 0});
  r.failed = 0;
  EXPECT_TRUE(strict.passed(r));
  r.failed = 1;
  EXPECT_FALSE(strict.passed(r));
}

TEST(knee_search, latency_bound) {
  step_result r = clean_step(100);
  r.p99_ms = 250;
  EXPECT_TRUE(knee_search({.max_p99_ms = 0}).passed(r)) << "0 means no latency bound";
  EXPECT_TRUE(knee_search({.max_p99_ms = 250}).passed(r));
  EXPECT_FALSE(knee_search({.max_p99_ms = 249.9}).passed(r));
}

TEST(knee_search, achieved_below_90_percent_fails) {
  const knee_search k({});
  step_result r = clean_step(1000);
  r.achieved = 900;
  EXPECT_TRUE(k.passed(r));
  r.achieved = 899.9;
  EXPECT_FALSE(k.passed(r));
  r.achieved = 1200;  // more than offered (a burst catching up) is fine
  EXPECT_TRUE(k.passed(r));
}

TEST(knee_search, nothing_attempted_fails) {
  const knee_search k({});
  step_result r;
  EXPECT_FALSE(k.passed(r));
}

TEST(knee_search, a_latency_failure_ends_the_search) {
  knee_search k({.start = 100, .step = 100, .max_p99_ms = 50});
  EXPECT_EQ(k.next(clean_step(100)), 200.0);
  step_result slow = clean_step(200);
  slow.p99_ms = 51;
  EXPECT_EQ(k.next(slow), std::nullopt);
  EXPECT_EQ(k.knee(), 100.0);
  EXPECT_EQ(k.steps().size(), 2u);
}

} // namespace
