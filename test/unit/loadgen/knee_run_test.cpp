// The knee search's step loop (run_knee) with a fake step runner, its text
// and JSON, the plan the --knee flags make, and the flags themselves.

#include "bench/loadgen/knee_run.hpp"

#include "bench/loadgen/cli.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::loadgen;
using namespace std::chrono_literals;

namespace {

/// A step at `rate` that carried everything, p99 `p99_us`.
run_report clean_step(double rate, uint64_t p99_us = 1200) {
  run_report r;
  r.scenario = "options";
  r.target = "sip:127.0.0.1:5060";
  r.rate_offered = rate;
  r.attempted = static_cast<uint64_t>(rate);
  r.succeeded = r.attempted;
  r.elapsed_s = 1.0;
  r.rate_achieved = rate;
  r.latency["response"].record(p99_us);
  return r;
}

/// A target that carries up to `capacity`/s: above it, 5% of the attempts time out.
struct fake_target {
  double capacity = 350;
  std::vector<double> rates;                ///< every step asked for
  std::vector<std::chrono::milliseconds> durations;
  std::size_t fail_setup_at = SIZE_MAX;     ///< this step (0-based) cannot be set up
  std::size_t interrupt_at = SIZE_MAX;      ///< Ctrl-C during this step

  step_runner runner() {
    return [this](double rate, std::chrono::milliseconds d) -> result<step_outcome> {
      const std::size_t index = rates.size();
      rates.push_back(rate);
      durations.push_back(d);
      if (index == fail_setup_at) return error{errc::io_error, "cannot open UDP socket 1"};
      step_outcome out;
      out.report = clean_step(rate);
      out.extras.responses = out.report.attempted;
      if (rate > capacity) {
        out.report.failed = out.report.attempted / 20;
        out.report.succeeded -= out.report.failed;
        out.report.failures_by_cause["timeout"] = out.report.failed;
        out.report.rate_achieved = static_cast<double>(out.report.succeeded);
      }
      out.interrupted = index == interrupt_at;
      return out;
    };
  }
};

knee_plan plan_100s() {
  knee_plan p;
  p.start = 100;
  p.step = 100;
  p.max_rate = 1000;
  p.step_duration = 1s;
  return p;
}

cli_result parse(std::vector<std::string> args) {
  args.insert(args.begin(), "centralita-bench");
  return parse_cli(args);
}

void expect_usage(std::vector<std::string> args, const std::string& needle) {
  auto r = parse(args);
  ASSERT_EQ(r.what, cli_result::action::usage_error) << needle;
  EXPECT_NE(r.message.find(needle), std::string::npos) << r.message;
}

} // namespace

// ---- run_knee --------------------------------------------------------------

TEST(run_knee, steps_up_until_a_step_fails) {
  fake_target target;
  std::vector<std::size_t> seen;
  auto k = run_knee(plan_100s(), target.runner(),
                    [&](std::size_t i, const knee_step&) { seen.push_back(i); });
  EXPECT_EQ(target.rates, (std::vector<double>{100, 200, 300, 400}));
  for (auto d : target.durations) EXPECT_EQ(d, 1s);
  EXPECT_EQ(seen, (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_EQ(k.knee, 300);
  ASSERT_EQ(k.steps.size(), 4u);
  EXPECT_TRUE(k.steps[2].passed());
  EXPECT_FALSE(k.steps[3].passed());
  EXPECT_EQ(k.steps[3].verdict, step_verdict::failures);
  ASSERT_TRUE(k.best);
  EXPECT_EQ(*k.best, 2u);
  EXPECT_EQ(headline_report(k), &k.steps[2].report);
  EXPECT_FALSE(k.interrupted);
  EXPECT_TRUE(k.error.empty());
}

TEST(run_knee, geometric_steps_and_max_rate) {
  fake_target target;
  target.capacity = 1e9;
  auto plan = plan_100s();
  plan.factor = 3;
  auto k = run_knee(plan, target.runner());
  // 100, 300, 900, then 2700 capped at 1000, where the search ends.
  EXPECT_EQ(target.rates, (std::vector<double>{100, 300, 900, 1000}));
  EXPECT_EQ(k.knee, 1000);
  EXPECT_EQ(*k.best, 3u);
}

TEST(run_knee, first_step_failing_means_knee_zero) {
  fake_target target;
  target.capacity = 50;
  auto k = run_knee(plan_100s(), target.runner());
  EXPECT_EQ(target.rates, (std::vector<double>{100}));
  EXPECT_EQ(k.knee, 0);
  EXPECT_FALSE(k.best);
  // The last step run stands in for the headline (its keys keep scripts working).
  EXPECT_EQ(headline_report(k), &k.steps[0].report);
}

TEST(run_knee, latency_bound_ends_the_search) {
  knee_plan plan = plan_100s();
  plan.max_p99_ms = 2;
  std::vector<double> rates;
  auto k = run_knee(plan, [&](double rate, std::chrono::milliseconds) -> result<step_outcome> {
    rates.push_back(rate);
    step_outcome out;
    out.report = clean_step(rate, rate >= 300 ? 2500 : 900);  // 2.5 ms from 300/s on
    return out;
  });
  EXPECT_EQ(rates, (std::vector<double>{100, 200, 300}));
  EXPECT_EQ(k.knee, 200);
  EXPECT_EQ(k.steps.back().verdict, step_verdict::latency);
}

TEST(run_knee, a_setup_error_ends_the_search_with_the_knee_so_far) {
  fake_target target;
  target.fail_setup_at = 2;
  auto k = run_knee(plan_100s(), target.runner());
  EXPECT_EQ(k.steps.size(), 2u);
  EXPECT_EQ(k.knee, 200);
  EXPECT_EQ(k.error, "cannot open UDP socket 1");
  EXPECT_EQ(knee_json(k)["error"], "cannot open UDP socket 1");

  fake_target first;
  first.fail_setup_at = 0;
  auto none = run_knee(plan_100s(), first.runner());
  EXPECT_TRUE(none.steps.empty());
  EXPECT_EQ(headline_report(none), nullptr);
  EXPECT_FALSE(none.error.empty());
}

TEST(run_knee, an_interrupted_step_is_not_judged_and_ends_the_search) {
  fake_target target;
  target.interrupt_at = 1;  // the 200/s step, which would have passed
  auto k = run_knee(plan_100s(), target.runner());
  EXPECT_EQ(target.rates, (std::vector<double>{100, 200}));
  EXPECT_TRUE(k.interrupted);
  EXPECT_TRUE(k.steps[1].interrupted);
  EXPECT_FALSE(k.steps[1].passed());
  EXPECT_EQ(k.knee, 100);
  EXPECT_EQ(*k.best, 0u);
  EXPECT_EQ(verdict_text(k.steps[1], k.plan), "interrupted (not judged)");
  EXPECT_EQ(knee_json(k)["steps"][1]["verdict"], "interrupted");
  EXPECT_EQ(knee_json(k)["interrupted"], true);
}

TEST(run_knee, verdicts_in_the_order_they_are_checked) {
  knee_search k({.max_failure_ratio = 0.01, .max_p99_ms = 5});
  // Everything wrong at once: the failures are named first, then the latency, then the rate.
  step_result r{.offered = 1000, .achieved = 500, .attempted = 1000, .failed = 20, .p99_ms = 9};
  EXPECT_EQ(k.verdict(r), step_verdict::failures);
  r.failed = 10;  // 1%: at the bound, not above it
  EXPECT_EQ(k.verdict(r), step_verdict::latency);
  r.p99_ms = 5;
  EXPECT_EQ(k.verdict(r), step_verdict::rate);
  r.achieved = 900;
  EXPECT_EQ(k.verdict(r), step_verdict::pass);
  EXPECT_TRUE(k.passed(r));
  EXPECT_EQ(k.verdict({.offered = 1000}), step_verdict::nothing_attempted);
}

// ---- text ------------------------------------------------------------------

TEST(knee_text, step_line) {
  knee_step s;
  s.offered = 300;
  s.report = clean_step(300, 1200);
  s.report.rate_achieved = 299.8;
  EXPECT_EQ(step_line(2, s, plan_100s()),
            "step 3: 300/s offered, 299.8/s achieved, 0 failed, p99 1.2 ms: pass");

  s.report.failed = 15;
  s.report.failures_by_cause = {{"timeout", 12}, {"503", 3}};
  s.verdict = step_verdict::failures;
  EXPECT_EQ(step_line(2, s, plan_100s()),
            "step 3: 300/s offered, 299.8/s achieved, 15 failed (503 3, timeout 12), p99 1.2 ms: "
            "fail (5.00% failed, above 0.1%)");

  knee_step silent;
  silent.offered = 200;
  silent.report.attempted = 199;
  silent.report.failed = 199;
  silent.report.failures_by_cause = {{"timeout", 199}};
  silent.verdict = step_verdict::failures;
  EXPECT_EQ(step_line(0, silent, plan_100s()),
            "step 1: 200/s offered, 0.0/s achieved, 199 failed (timeout 199), p99 - (no answer): "
            "fail (100.00% failed, above 0.1%)");
}

TEST(knee_text, verdicts_say_why) {
  knee_plan plan = plan_100s();
  plan.max_p99_ms = 20;
  knee_step s;
  s.offered = 1000;
  s.report = clean_step(1000, 35'000);
  s.verdict = step_verdict::latency;
  EXPECT_EQ(verdict_text(s, plan), "fail (p99 35.0 ms, above 20.0 ms)");
  s.report.rate_achieved = 812.34;
  s.verdict = step_verdict::rate;
  EXPECT_EQ(verdict_text(s, plan), "fail (achieved 812.3/s, below 90% of 1000/s)");
  s.verdict = step_verdict::nothing_attempted;
  EXPECT_EQ(verdict_text(s, plan), "fail (nothing attempted)");
}

TEST(knee_text, table_lists_every_step_and_the_knee) {
  fake_target target;
  auto k = run_knee(plan_100s(), target.runner());
  const std::string t = knee_table(k);
  EXPECT_NE(t.find("offered/s"), std::string::npos) << t;
  EXPECT_NE(t.find("\n1             100       100.0         100         0   0.00%       1.2  "
                   "pass\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("\n4             400       380.0         400        20   5.00%       1.2  "
                   "fail (5.00%"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("knee                     300 /s"), std::string::npos) << t;
  EXPECT_EQ(t.find("cpu us/op"), std::string::npos) << "no column without --target-pid";

  target = {};
  target.capacity = 0;
  auto none = run_knee(plan_100s(), target.runner());
  EXPECT_NE(knee_table(none).find("no step passed"), std::string::npos);
}

// ---- JSON ------------------------------------------------------------------

TEST(knee_json, the_best_step_report_plus_the_knee) {
  fake_target target;
  auto k = run_knee(plan_100s(), target.runner());
  k.steps[1].report.target_cpu_us_per_op = 21.5;
  const auto j = knee_report_json(k);
  // The normal report of the step that set the knee, same keys as a single run.
  for (const char* key : {"scenario", "attempted", "succeeded", "failed", "failures_by_cause",
                          "rate_offered", "rate_achieved", "latency_ms", "timeline"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["rate_offered"], 300.0);
  const auto& knee = j["knee"];
  EXPECT_EQ(knee["rate"], 300.0);
  EXPECT_DOUBLE_EQ(knee["max_failure_ratio"].get<double>(), 0.001);
  EXPECT_EQ(knee["max_p99_ms"], 0.0);
  EXPECT_EQ(knee["step_duration_s"], 1.0);
  ASSERT_EQ(knee["steps"].size(), 4u);
  const auto& last = knee["steps"][3];
  EXPECT_EQ(last["offered"], 400.0);
  EXPECT_EQ(last["attempted"], 400u);
  EXPECT_EQ(last["succeeded"], 380u);
  EXPECT_EQ(last["failed"], 20u);
  EXPECT_EQ(last["failures_by_cause"]["timeout"], 20u);
  EXPECT_EQ(last["p99_ms"], 1.2);
  EXPECT_EQ(last["passed"], false);
  EXPECT_EQ(last["verdict"], "failures");
  EXPECT_FALSE(last.contains("target_cpu_us_per_op"));
  EXPECT_EQ(knee["steps"][1]["target_cpu_us_per_op"], 21.5);
  EXPECT_EQ(knee["steps"][0]["passed"], true);
}

// ---- the plan and the flags --------------------------------------------------

TEST(knee_flags, defaults_and_plan) {
  auto r = parse({"options", "--knee", "sip:127.0.0.1:5070"});
  ASSERT_EQ(r.what, cli_result::action::run) << r.message;
  EXPECT_TRUE(r.opts.knee);
  EXPECT_FALSE(r.opts.count) << "no default count: the steps are bounded by time";
  const knee_plan p = plan_from(r.opts);
  EXPECT_EQ(p.start, 100);
  EXPECT_EQ(p.step, 100);
  EXPECT_EQ(p.factor, 0);
  EXPECT_EQ(p.max_rate, 100000);
  EXPECT_EQ(p.step_duration, 10s);
  EXPECT_DOUBLE_EQ(p.max_failure_ratio, 0.001);
  EXPECT_EQ(p.max_p99_ms, 0);
}

TEST(knee_flags, every_flag) {
  auto r = parse({"options", "--knee", "--knee-start", "200", "--knee-step=50", "--knee-factor",
                  "1.5", "--knee-max", "5000", "--step-duration", "2.5", "--max-failures", "1",
                  "--max-p99", "40", "--html", "out.html", "sip:127.0.0.1"});
  ASSERT_EQ(r.what, cli_result::action::run) << r.message;
  const knee_plan p = plan_from(r.opts);
  EXPECT_EQ(p.start, 200);
  EXPECT_EQ(p.step, 50);
  EXPECT_EQ(p.factor, 1.5);
  EXPECT_EQ(p.max_rate, 5000);
  EXPECT_EQ(p.step_duration, 2500ms);
  EXPECT_DOUBLE_EQ(p.max_failure_ratio, 0.01);
  EXPECT_EQ(p.max_p99_ms, 40);
  EXPECT_EQ(r.opts.html_path, "out.html");
}

TEST(knee_flags, from_a_config_file) {
  bench_options o;
  o.scenario = "options";
  auto r = apply_config(o, "knee = true\nknee_start = 500\n[options]\nstep-duration = 1\n"
                           "max_p99 = 25.5\nhtml = \"r.html\"\n", "bench.toml");
  ASSERT_TRUE(r) << r.err().reason;
  EXPECT_TRUE(o.knee);
  EXPECT_EQ(o.knee_start, 500);
  EXPECT_EQ(o.step_duration_s, 1);
  EXPECT_EQ(o.max_p99_ms, 25.5);
  EXPECT_EQ(o.html_path, "r.html");
}

TEST(knee_flags, conflicts_and_bad_values_name_the_flag) {
  expect_usage({"options", "--knee", "--rate", "500", "sip:h"}, "--knee conflicts with --rate");
  expect_usage({"options", "--knee", "--ramp", "1:2:3", "sip:h"}, "--ramp");
  expect_usage({"options", "--knee", "--count", "10", "--duration", "5", "sip:h"},
               "--knee conflicts with --count, --duration");
  expect_usage({"options", "--knee-start", "200", "sip:h"}, "--knee-start: only with --knee");
  expect_usage({"options", "--max-p99", "20", "sip:h"}, "--max-p99: only with --knee");
  expect_usage({"options", "--knee", "--knee-factor", "1", "sip:h"}, "--knee-factor");
  expect_usage({"options", "--knee", "--knee-step", "0", "sip:h"}, "--knee-step");
  expect_usage({"options", "--knee", "--step-duration", "0.01", "sip:h"}, "--step-duration");
  expect_usage({"options", "--knee", "--max-failures", "101", "sip:h"}, "--max-failures");
  expect_usage({"options", "--knee", "--max-p99", "-1", "sip:h"}, "--max-p99");
  expect_usage({"options", "--knee", "--knee-start", "500", "--knee-max", "100", "sip:h"},
               "--knee-max: must not be below --knee-start");
  expect_usage({"options", "--knee=yes", "sip:h"}, "--knee takes no value");
  expect_usage({"options", "--html", "sip:h"}, "no TARGET");
}

TEST(knee_flags, shell_command_quotes_what_needs_it) {
  EXPECT_EQ(shell_command({"centralita-bench", "options", "--rate", "100", "sip:127.0.0.1:5060"}),
            "centralita-bench options --rate 100 sip:127.0.0.1:5060");
  EXPECT_EQ(shell_command({"b", "--users", "user[1-10]", "--password", "it's", ""}),
            "b --users 'user[1-10]' --password 'it'\\''s' ''");
}
