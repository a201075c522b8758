// Properties of pacer (rapidcheck), over random fixed rates and ramps (up,
// down, to and from zero):
//  1. when(n) is the first nanosecond attempt n is due:
//     due(when(n)) >= n + 1 and due(when(n) - 1ns) <= n;
//  2. due is monotone in time and when is monotone in n;
//  3. due is the floor of the rate's integral, checked against a long double
//     evaluation (within one attempt for rounding at the floor).

#include "bench/loadgen/rate.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>

using centralita::loadgen::pacer;
using std::chrono::nanoseconds;

namespace {

struct schedule {
  double from = 0;
  double to = 0;
  int64_t over_ns = 0;  // 0: fixed at `to`
};

rc::Gen<double> rate() {
  return rc::gen::oneOf(rc::gen::just(0.0),
                        rc::gen::map(rc::gen::inRange(1, 10'000'000), [](int r) { return r / 100.0; }),
                        rc::gen::map(rc::gen::inRange(1, 200'000), [](int r) { return double(r); }));
}

rc::Gen<schedule> any_schedule() {
  return rc::gen::build<schedule>(
      rc::gen::set(&schedule::from, rate()), rc::gen::set(&schedule::to, rate()),
      rc::gen::set(&schedule::over_ns, rc::gen::oneOf(rc::gen::just<int64_t>(0),
                                                      rc::gen::inRange<int64_t>(1, 120'000'000'000))));
}

pacer make(const schedule& s) {
  return s.over_ns ? pacer::ramp(s.from, s.to, nanoseconds{s.over_ns}) : pacer::fixed(s.to);
}

/// The integral of the rate from 0 to t, in long double (the reference).
long double integral(const schedule& s, int64_t t_ns) {
  const long double t = t_ns / 1e9L;
  if (s.over_ns == 0) return s.to * t;
  const long double T = s.over_ns / 1e9L;
  if (t < T) return s.from * t + (s.to - s.from) * t * t / (2 * T);
  return (s.from + s.to) / 2 * T + s.to * (t - T);
}

RC_GTEST_PROP(pacer_prop, when_is_the_first_due_nanosecond, ()) {
  const auto s = *any_schedule();
  const auto p = make(s);
  const auto n = *rc::gen::oneOf(rc::gen::inRange<uint64_t>(0, 100),
                                 rc::gen::inRange<uint64_t>(0, 10'000'000));
  const nanoseconds t = p.when(n);
  if (t == nanoseconds::max()) {
    // Never due: the whole schedule (if it ends) stays at or below n.
    RC_ASSERT(p.due(nanoseconds{int64_t{1} << 62}) <= n);
    return;
  }
  RC_ASSERT(t.count() >= 1);
  RC_ASSERT(p.due(t) >= n + 1);
  RC_ASSERT(p.due(t - nanoseconds{1}) <= n);
}

RC_GTEST_PROP(pacer_prop, due_and_when_are_monotone, ()) {
  const auto s = *any_schedule();
  const auto p = make(s);
  const auto a = *rc::gen::inRange<int64_t>(0, 300'000'000'000);
  const auto b = *rc::gen::inRange<int64_t>(0, 300'000'000'000);
  const auto lo = std::min(a, b), hi = std::max(a, b);
  RC_ASSERT(p.due(nanoseconds{lo}) <= p.due(nanoseconds{hi}));
  RC_ASSERT(p.due(nanoseconds{hi}) <= p.due(nanoseconds{hi + 1}));
  const auto n = *rc::gen::inRange<uint64_t>(0, 1'000'000);
  const auto m = *rc::gen::inRange<uint64_t>(0, 1'000'000);
  RC_ASSERT(p.when(std::min(n, m)) <= p.when(std::max(n, m)));
}

RC_GTEST_PROP(pacer_prop, due_is_the_floor_of_the_integral, ()) {
  const auto s = *any_schedule();
  const auto p = make(s);
  const auto t = *rc::gen::inRange<int64_t>(0, 300'000'000'000);
  const long double want = std::floor(integral(s, t));
  const long double got = p.due(nanoseconds{t});
  RC_ASSERT(std::fabs(got - want) <= 1);
}

RC_GTEST_PROP(pacer_prop, rate_at_follows_the_schedule, ()) {
  const auto s = *any_schedule();
  const auto p = make(s);
  const auto t = *rc::gen::inRange<int64_t>(0, 300'000'000'000);
  const double got = p.rate_at(nanoseconds{t});
  RC_ASSERT(got >= std::min(s.from, s.to) - 1e-9 || s.over_ns == 0);
  RC_ASSERT(got <= std::max(s.from, s.to) + 1e-9);
  if (t >= s.over_ns) RC_ASSERT(got == s.to);
}

} // namespace
