#pragma once

// Rate control for the load generator: pure arithmetic, no clock of its own
// (the caller passes the time since the start), so it is unit-tested exactly.

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace centralita::loadgen {

using clock = std::chrono::steady_clock;

/// How many attempts should have started `elapsed` after the start: a fixed
/// rate, or a linear ramp from `from` to `to` over `ramp` then steady at `to`.
class pacer {
public:
  static pacer fixed(double per_second);
  static pacer ramp(double from, double to, std::chrono::nanoseconds over);

  /// Attempts due by `elapsed` (cumulative, monotonic in elapsed).
  uint64_t due(std::chrono::nanoseconds elapsed) const noexcept;
  /// The rate at `elapsed` (for the progress line).
  double rate_at(std::chrono::nanoseconds elapsed) const noexcept;
  /// When the attempt numbered `n` (0-based) is due; for sleeping until it.
  std::chrono::nanoseconds when(uint64_t n) const noexcept;

private:
  double from_ = 0;
  double to_ = 0;
  double ramp_s_ = 0;
};

/// Find-the-knee: run steps of increasing rate; a step fails when its failure
/// ratio passes `max_failure_ratio` or its p99 latency passes `max_p99_ms`
/// (0: no latency bound), or it could not reach 90% of the offered rate. The
/// knee is the highest rate of a step that passed.
struct knee_plan {
  double start = 100;
  double step = 100;       ///< added per step (or, with `factor` > 1, the rate is multiplied)
  double factor = 0;       ///< > 1: geometric steps (start, start*factor, ...)
  double max_rate = 100000;
  std::chrono::milliseconds step_duration{10000};  ///< each step's length
  double max_failure_ratio = 0.001;  ///< 0.1%
  double max_p99_ms = 0;
};

struct step_result {
  double offered = 0;  ///< per second
  double achieved = 0; ///< succeeded per second
  uint64_t attempted = 0;
  uint64_t failed = 0;
  double p99_ms = 0;
};

/// Why a step passed or failed, in the order passed() checks.
enum class step_verdict {
  pass,
  nothing_attempted,  ///< the step started no attempt: it measured nothing
  failures,           ///< the failure ratio passed max_failure_ratio
  latency,            ///< p99 passed max_p99_ms
  rate,               ///< less than 90% of the offered rate succeeded per second
};

class knee_search {
public:
  explicit knee_search(knee_plan plan);
  /// The rate of the first step.
  double first() const noexcept { return plan_.start; }
  /// Judges a finished step; the rate of the next one, or nullopt when the
  /// search is over (a step failed, or max_rate was reached).
  std::optional<double> next(const step_result& r);
  /// The highest rate that passed (0 when none did).
  double knee() const noexcept { return knee_; }
  bool passed(const step_result& r) const noexcept { return verdict(r) == step_verdict::pass; }
  step_verdict verdict(const step_result& r) const noexcept;
  const std::vector<step_result>& steps() const noexcept { return steps_; }

private:
  knee_plan plan_;
  double knee_ = 0;
  std::vector<step_result> steps_;
};

} // namespace centralita::loadgen
