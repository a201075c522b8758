#include "bench/loadgen/rate.hpp"

#include <algorithm>
#include <cmath>

namespace centralita::loadgen {

namespace {

using std::chrono::nanoseconds;

constexpr double ns_per_s = 1e9;

/// Upper end of the search in when(): 2^62 ns, about 146 years. Far past any
/// bounded run, and far enough from INT64_MAX that the arithmetic stays safe.
constexpr int64_t horizon_ns = int64_t{1} << 62;

/// Negative, NaN and infinite rates make no schedule; they mean "none".
double clean_rate(double r) noexcept { return std::isfinite(r) && r > 0 ? r : 0; }

/// The planned rate of step `i` (0-based) of a knee search: start, then
/// additive or geometric steps, never above max_rate (except a start that
/// already is, which is run as asked and ends the search).
double planned_rate(const knee_plan& p, std::size_t i) noexcept {
  if (i == 0) return p.start;
  const double r = p.factor > 1 ? p.start * std::pow(p.factor, static_cast<double>(i))
                                : p.start + p.step * static_cast<double>(i);
  return std::min(r, p.max_rate);
}

} // namespace

pacer pacer::fixed(double per_second) {
  pacer p;
  p.from_ = p.to_ = clean_rate(per_second);
  return p;
}

pacer pacer::ramp(double from, double to, std::chrono::nanoseconds over) {
  pacer p;
  p.from_ = clean_rate(from);
  p.to_ = clean_rate(to);
  // A ramp over no time is the fixed rate `to` from the start.
  p.ramp_s_ = over.count() > 0 ? static_cast<double>(over.count()) / ns_per_s : 0;
  return p;
}

uint64_t pacer::due(std::chrono::nanoseconds elapsed) const noexcept {
  if (elapsed.count() <= 0) return 0;
  // The integral of the rate from 0 to t, worked in nanoseconds so that a
  // fixed rate is one multiplication: 1000/s at 1 ms is 1000 * 1e6 / 1e9,
  // exactly 1, where 1000 * 0.001 could round to 0.999... and floor to 0.
  const double t = static_cast<double>(elapsed.count());
  const double ramp_ns = ramp_s_ * ns_per_s;
  double attempts = 0;
  if (t < ramp_ns) {
    // The rate grows linearly: from*t + (to - from) * t^2 / (2T).
    attempts = (from_ * t + (to_ - from_) * t * t / (2 * ramp_ns)) / ns_per_s;
  } else {
    // The whole ramp (a trapezoid), then `to` for the rest. With no ramp
    // (T = 0) this is to * t, exact.
    attempts = ((from_ + to_) * 0.5 * ramp_ns + to_ * (t - ramp_ns)) / ns_per_s;
  }
  if (!(attempts > 0)) return 0;
  if (attempts >= 18446744073709549568.0) return UINT64_MAX;  // largest double below 2^64
  return static_cast<uint64_t>(std::floor(attempts));
}

double pacer::rate_at(std::chrono::nanoseconds elapsed) const noexcept {
  const double t = elapsed.count() > 0 ? static_cast<double>(elapsed.count()) : 0;
  const double ramp_ns = ramp_s_ * ns_per_s;
  if (t < ramp_ns) return from_ + (to_ - from_) * t / ramp_ns;
  return to_;
}

std::chrono::nanoseconds pacer::when(uint64_t n) const noexcept {
  // when(n) is the smallest whole nanosecond t with due(t) > n: the moment
  // attempt n becomes due. It is defined through due() itself, not through
  // the algebraic inverse alone, so the two can never disagree by a rounding:
  // due(when(n)) >= n + 1 and due(when(n) - 1ns) <= n, always. The inverse
  // only gives the starting guess; a short search settles the last ns.
  if (n == UINT64_MAX) return nanoseconds::max();
  const auto reached = [&](int64_t t) { return due(nanoseconds{t}) > n; };

  const double target = (static_cast<double>(n) + 1) * ns_per_s;  // attempt-ns
  const double ramp_ns = ramp_s_ * ns_per_s;
  const double whole_ramp = (from_ + to_) * 0.5 * ramp_ns;
  double guess = 0;
  if (target <= whole_ramp) {
    // Solve from*t + c*t^2 = target, c = (to - from) / 2T, in the form that
    // does not cancel when c is small: t = 2*target / (from + sqrt(from^2 + 4c*target)).
    const double c = (to_ - from_) / (2 * ramp_ns);
    const double disc = std::max(0.0, from_ * from_ + 4 * c * target);
    guess = 2 * target / (from_ + std::sqrt(disc));
  } else {
    guess = to_ > 0 ? ramp_ns + (target - whole_ramp) / to_ : HUGE_VAL;
  }
  int64_t hi = std::isfinite(guess) && guess < static_cast<double>(horizon_ns)
                   ? static_cast<int64_t>(std::ceil(std::max(guess, 0.0)))
                   : horizon_ns;
  int64_t lo = 0;  // due(0) == 0 <= n: never reached
  if (reached(hi)) {
    // Walk down in doubling strides until a time that is not reached.
    int64_t stride = 1;
    lo = hi - 1;
    while (lo > 0 && reached(lo)) {
      hi = lo;
      stride *= 2;
      lo = lo > stride ? lo - stride : 0;
    }
  } else {
    // Walk up in doubling strides until reached, or give up at the horizon
    // (a rate of 0, or a ramp down to 0 that stops short of attempt n).
    int64_t stride = 1;
    lo = hi;
    for (;;) {
      if (lo >= horizon_ns) return nanoseconds::max();
      hi = lo > horizon_ns - stride ? horizon_ns : lo + stride;
      if (reached(hi)) break;
      lo = hi;
      stride *= 2;
    }
  }
  // Invariant: !reached(lo), reached(hi). Bisect to adjacent nanoseconds.
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (reached(mid) ? hi : lo) = mid;
  }
  return nanoseconds{hi};
}

knee_search::knee_search(knee_plan plan) : plan_(plan) {}

step_verdict knee_search::verdict(const step_result& r) const noexcept {
  // A step that attempted nothing measured nothing: it cannot pass.
  if (r.attempted == 0) return step_verdict::nothing_attempted;
  const double failure_ratio = static_cast<double>(r.failed) / static_cast<double>(r.attempted);
  if (failure_ratio > plan_.max_failure_ratio) return step_verdict::failures;
  if (plan_.max_p99_ms > 0 && r.p99_ms > plan_.max_p99_ms) return step_verdict::latency;
  // Failures and latency look fine but the target (or the generator) could
  // not keep up with the offered rate: that rate was not carried either.
  if (r.achieved < 0.9 * r.offered) return step_verdict::rate;
  return step_verdict::pass;
}

std::optional<double> knee_search::next(const step_result& r) {
  // The step just run is the one first()/next() asked for; its planned rate
  // (not r.offered, which a caller may fill with a measured value) is the
  // one the knee reports and the next step grows from.
  const double rate = planned_rate(plan_, steps_.size());
  steps_.push_back(r);
  // The first failure ends the search: the knee is the last rate that passed.
  if (!passed(r)) return std::nullopt;
  knee_ = rate;
  if (rate >= plan_.max_rate) return std::nullopt;
  const double following = planned_rate(plan_, steps_.size());
  // A plan that does not grow (step <= 0 and factor <= 1) would repeat the
  // same rate forever; stop instead.
  if (!(following > rate)) return std::nullopt;
  return following;
}

} // namespace centralita::loadgen
