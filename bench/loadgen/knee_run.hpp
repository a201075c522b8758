#pragma once

// Find-the-knee on the command line (--knee, docs/load-testing.md): steps of
// rising fixed rate, each one full engine run of --step-duration seconds,
// judged by knee_search (rate.hpp); the knee is the highest rate of a step
// that passed.
//
// run_knee() is the step loop. It runs each step through a `step_runner`
// callable, so it is unit-tested with a fake runner, without sockets or a
// clock; engine_step_runner() is the real one (engine::create + start + wait
// per step). knee_main() is what centralita-bench does with --knee: the
// search, a line per step on stderr, then the tables, --json and --html.

#include "bench/loadgen/cli.hpp"
#include "bench/loadgen/engine.hpp"
#include "bench/loadgen/rate.hpp"
#include "bench/loadgen/report.hpp"
#include "bench/loadgen/scenario.hpp"
#include "protocols/util/result.hpp"

#include <nlohmann/json.hpp>

#include <signal.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace centralita::loadgen {

/// What running one step produced.
struct step_outcome {
  run_report report;
  engine_extras extras;
  /// Ctrl-C stopped the step early: its numbers cover less than the step,
  /// so it is not judged, and the search ends with the knee found so far.
  bool interrupted = false;
};

/// Runs one step: the scenario at a fixed `rate` (per second) for `duration`,
/// until every attempt is final. An error means the step could not be set up.
using step_runner =
    std::function<result<step_outcome>(double rate, std::chrono::milliseconds duration)>;

struct knee_step {
  double offered = 0;  ///< the planned rate of the step (per second)
  run_report report;
  engine_extras extras;
  step_verdict verdict = step_verdict::pass;  ///< meaningless when interrupted
  bool interrupted = false;
  bool passed() const noexcept { return !interrupted && verdict == step_verdict::pass; }
};

struct knee_summary {
  knee_plan plan;
  double knee = 0;                   ///< the highest offered rate that passed; 0: none
  std::vector<knee_step> steps;      ///< in the order run (rising rate)
  std::optional<std::size_t> best;   ///< the step that set the knee
  bool interrupted = false;          ///< Ctrl-C ended the search
  std::string error;                 ///< a step could not be set up: the search ended there
};

/// Called after each step (for the line on stderr): the step's index (0-based).
using step_observer = std::function<void(std::size_t index, const knee_step& step)>;

/// The search: first() rate, then next() until a step fails, max_rate is
/// reached, the runner fails or a step is interrupted.
knee_summary run_knee(const knee_plan& plan, const step_runner& run,
                      const step_observer& observe = {});

/// The plan the --knee flags describe.
knee_plan plan_from(const bench_options& o);

/// The p99 of a step's headline latency in ms (0 when nothing answered).
double step_p99_ms(const run_report& r);

/// "step 3: 300/s offered, 299.8/s achieved, 0 failed, p99 1.2 ms: pass", no newline.
std::string step_line(std::size_t index, const knee_step& step, const knee_plan& plan);

/// Why a step failed, for a person ("3.1% failed, above 0.1%"); "pass" when it passed.
std::string verdict_text(const knee_step& step, const knee_plan& plan);

/// The report the summary and --json show: the step that set the knee, else
/// the last step run; nullptr when no step ran.
const run_report* headline_report(const knee_summary& k);

/// The "knee" object of --json: {"rate", "max_failure_ratio", "max_p99_ms",
/// "step_duration_s", "interrupted", ["error",] "steps": [{"offered", "achieved",
/// "attempted", "succeeded", "failed", "failures_by_cause", "p99_ms", "elapsed_s",
/// "passed", "verdict", ["target_cpu_us_per_op"]}]}.
nlohmann::json knee_json(const knee_summary& k);

/// What --json gets with --knee: to_json(*headline_report(k)) plus "knee".
nlohmann::json knee_report_json(const knee_summary& k);

/// The step table and the knee, plain text.
std::string knee_table(const knee_summary& k);

/// Where a step's engine runs, and what else a step measures.
struct engine_step_env {
  engine_config base;        ///< everything but the pacing and the bounds
  scenario* scen = nullptr;  ///< reused by every step; outlives the runner
  int target_pid = 0;        ///< 0: no target CPU measurement
  sigset_t signals{};        ///< blocked by the caller; polled: once stops the step, twice aborts
};

/// The real runner: engine::create + start + wait at a fixed rate for the
/// step's duration, the target's CPU per operation measured over the step.
step_runner engine_step_runner(engine_step_env env);

/// --html FILE: writes html_report() (with the time and `command`) to `path`;
/// false, with a message on stderr, when it cannot. Also for single runs (k null).
bool write_html(const std::string& path, const run_report& r, const knee_summary* k,
                const std::string& command);

/// The command line as a shell would take it back (arguments quoted as needed).
std::string shell_command(const std::vector<std::string>& args);

/// centralita-bench --knee: runs the search and prints and writes the results
/// (`command` is the command line, for the HTML report). The exit status.
int knee_main(const bench_options& o, engine_step_env env, const std::string& command);

} // namespace centralita::loadgen
