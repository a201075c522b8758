#include "bench/loadgen/knee_run.hpp"

#include "bench/loadgen/html_report.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <fstream>

namespace centralita::loadgen {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_setup = 1;

/// printf into a std::string (GCC 12 has no std::format).
[[gnu::format(printf, 1, 2)]] std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string out;
  if (n > 0) {
    out.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(out.data(), out.size(), fmt, args);
    out.resize(static_cast<std::size_t>(n));
  }
  va_end(args);
  return out;
}

/// A rate for a person: whole numbers without decimals ("300"), others with one.
std::string rate_text(double r) {
  return std::nearbyint(r) == r && std::fabs(r) < 1e15 ? format("%.0f", r) : format("%.1f", r);
}

/// A latency in ms with more decimals when small (0.41, 12.3, 250).
std::string ms_text(double ms) {
  return format(ms < 1 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f", ms);
}

double failure_share(const run_report& r) {
  return r.attempted ? static_cast<double>(r.failed) / static_cast<double>(r.attempted) : 0.0;
}

step_result to_step_result(double offered, const run_report& r) {
  step_result s;
  s.offered = offered;
  s.achieved = r.rate_achieved;
  s.attempted = r.attempted;
  s.failed = r.failed;
  s.p99_ms = step_p99_ms(r);
  return s;
}

const char* verdict_name(const knee_step& s) {
  if (s.interrupted) return "interrupted";
  switch (s.verdict) {
    case step_verdict::pass: return "pass";
    case step_verdict::nothing_attempted: return "nothing_attempted";
    case step_verdict::failures: return "failures";
    case step_verdict::latency: return "latency";
    case step_verdict::rate: return "rate";
  }
  return "unknown";
}

double self_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return static_cast<bool>(out);
}

/// "2026-11-23 03:10:04 UTC", for the HTML report's header.
std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  return std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) ? buf : "";
}

} // namespace

knee_summary run_knee(const knee_plan& plan, const step_runner& run,
                      const step_observer& observe) {
  knee_summary out;
  out.plan = plan;
  knee_search search(plan);
  double rate = search.first();
  for (;;) {
    auto outcome = run(rate, plan.step_duration);
    if (!outcome) {
      out.error = outcome.err().reason;
      break;
    }
    knee_step step;
    step.offered = rate;
    step.report = std::move(outcome->report);
    step.extras = outcome->extras;
    step.interrupted = outcome->interrupted;
    const step_result judged = to_step_result(step.offered, step.report);
    step.verdict = search.verdict(judged);
    // An interrupted step ran for less than its duration: it is shown but
    // not judged, and the knee stays the last rate that passed before it.
    const std::optional<double> next =
        step.interrupted ? std::nullopt : search.next(judged);
    out.interrupted = step.interrupted;
    out.steps.push_back(std::move(step));
    if (observe) observe(out.steps.size() - 1, out.steps.back());
    if (!next) break;
    rate = *next;
  }
  out.knee = search.knee();
  // Steps run in rising order and the first failure ends the search, so the
  // last step that passed is the one that set the knee.
  for (std::size_t i = out.steps.size(); i-- > 0;) {
    if (out.steps[i].passed()) {
      out.best = i;
      break;
    }
  }
  return out;
}

knee_plan plan_from(const bench_options& o) {
  knee_plan p;
  p.start = o.knee_start;
  p.step = o.knee_step;
  p.factor = o.knee_factor.value_or(0);
  p.max_rate = o.knee_max;
  p.step_duration = std::chrono::milliseconds{std::llround(o.step_duration_s * 1000)};
  p.max_failure_ratio = o.max_failures_pct / 100.0;
  p.max_p99_ms = o.max_p99_ms;
  return p;
}

double step_p99_ms(const run_report& r) {
  const latency_histogram* h = headline_latency(r);
  return h ? static_cast<double>(h->percentile(99)) / 1000.0 : 0.0;
}

std::string verdict_text(const knee_step& s, const knee_plan& plan) {
  if (s.interrupted) return "interrupted (not judged)";
  const run_report& r = s.report;
  switch (s.verdict) {
    case step_verdict::pass:
      return "pass";
    case step_verdict::nothing_attempted:
      return "fail (nothing attempted)";
    case step_verdict::failures:
      return format("fail (%.2f%% failed, above %g%%)", 100.0 * failure_share(r),
                    100.0 * plan.max_failure_ratio);
    case step_verdict::latency:
      return "fail (p99 " + ms_text(step_p99_ms(r)) + " ms, above " + ms_text(plan.max_p99_ms)
             + " ms)";
    case step_verdict::rate:
      return "fail (achieved " + rate_text(std::round(r.rate_achieved * 10) / 10)
             + "/s, below 90% of " + rate_text(s.offered) + "/s)";
  }
  return "fail";
}

std::string step_line(std::size_t index, const knee_step& s, const knee_plan& plan) {
  const run_report& r = s.report;
  std::string causes;
  for (const auto& [cause, n] : r.failures_by_cause)
    causes += (causes.empty() ? " (" : ", ") + cause + " " + std::to_string(n);
  if (!causes.empty()) causes += ")";
  const bool measured = headline_latency(r) && headline_latency(r)->count() > 0;
  return format("step %zu: %s/s offered, %.1f/s achieved, %llu failed%s, p99 %s: %s", index + 1,
                rate_text(s.offered).c_str(), r.rate_achieved,
                static_cast<unsigned long long>(r.failed), causes.c_str(),
                measured ? (ms_text(step_p99_ms(r)) + " ms").c_str() : "- (no answer)",
                verdict_text(s, plan).c_str());
}

const run_report* headline_report(const knee_summary& k) {
  if (k.best) return &k.steps[*k.best].report;
  return k.steps.empty() ? nullptr : &k.steps.back().report;
}

nlohmann::json knee_json(const knee_summary& k) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : k.steps) {
    const run_report& r = s.report;
    nlohmann::json j = {
        {"offered", s.offered},
        {"achieved", r.rate_achieved},
        {"attempted", r.attempted},
        {"succeeded", r.succeeded},
        {"failed", r.failed},
        {"failures_by_cause", r.failures_by_cause},
        {"p99_ms", step_p99_ms(r)},
        {"elapsed_s", r.elapsed_s},
        {"passed", s.passed()},
        {"verdict", verdict_name(s)},
    };
    // Like the report's own key: present only when measured (--target-pid).
    if (r.target_cpu_us_per_op) j["target_cpu_us_per_op"] = *r.target_cpu_us_per_op;
    steps.push_back(std::move(j));
  }
  nlohmann::json j = {
      {"rate", k.knee},
      {"max_failure_ratio", k.plan.max_failure_ratio},
      {"max_p99_ms", k.plan.max_p99_ms},
      {"step_duration_s", static_cast<double>(k.plan.step_duration.count()) / 1000.0},
      {"interrupted", k.interrupted},
      {"steps", std::move(steps)},
  };
  if (!k.error.empty()) j["error"] = k.error;
  return j;
}

nlohmann::json knee_report_json(const knee_summary& k) {
  const run_report* head = headline_report(k);
  nlohmann::json j = head ? to_json(*head) : nlohmann::json::object();
  j["knee"] = knee_json(k);
  return j;
}

std::string knee_table(const knee_summary& k) {
  // Columns right-aligned to their headers; only ASCII before the last
  // column, so byte widths are display widths (as in summary_table).
  std::string out;
  const bool cpu = std::any_of(k.steps.begin(), k.steps.end(),
                               [](const knee_step& s) { return s.report.target_cpu_us_per_op; });
  out += format("%-5s%12s%12s%12s%10s%8s%10s", "step", "offered/s", "achieved/s", "attempted",
                "failed", "fail%", "p99 ms");
  if (cpu) out += format("%10s", "cpu us/op");
  out += "  result\n";
  for (std::size_t i = 0; i < k.steps.size(); ++i) {
    const knee_step& s = k.steps[i];
    const run_report& r = s.report;
    out += format("%-5zu%12s%12.1f%12llu%10llu%7.2f%%%10s", i + 1, rate_text(s.offered).c_str(),
                  r.rate_achieved, static_cast<unsigned long long>(r.attempted),
                  static_cast<unsigned long long>(r.failed), 100.0 * failure_share(r),
                  headline_latency(r) && headline_latency(r)->count() > 0
                      ? ms_text(step_p99_ms(r)).c_str()
                      : "-");
    if (cpu)
      out += r.target_cpu_us_per_op ? format("%10.1f", *r.target_cpu_us_per_op)
                                    : format("%10s", "-");
    out += "  " + verdict_text(s, k.plan) + "\n";
  }
  out += '\n';
  std::string bounds = format("failures <= %g%%", 100.0 * k.plan.max_failure_ratio);
  if (k.plan.max_p99_ms > 0) bounds += ", p99 <= " + ms_text(k.plan.max_p99_ms) + " ms";
  bounds += ", >= 90% of the rate achieved";
  if (k.knee > 0) {
    out += format("%-16s%12s /s  (%s)\n", "knee", rate_text(k.knee).c_str(), bounds.c_str());
  } else {
    out += format("%-16s%12s     (no step passed: %s)\n", "knee", "none", bounds.c_str());
  }
  if (k.interrupted) out += "the search was interrupted: the knee is the highest rate so far\n";
  if (!k.error.empty()) out += "the search ended early: " + k.error + "\n";
  return out;
}

step_runner engine_step_runner(engine_step_env env) {
  return [env](double rate, std::chrono::milliseconds duration) -> result<step_outcome> {
    engine_config cfg = env.base;
    cfg.pace = pacer::fixed(rate);
    cfg.rate_offered = rate;
    cfg.count = 0;  // bounded by the step's duration only
    cfg.duration = duration;
    auto created = engine::create(cfg, *env.scen);
    if (!created) return created.err();
    engine& eng = *created.value();

    step_outcome out;
    std::optional<process_sample> target_before;
    if (env.target_pid != 0) target_before = sample_process(env.target_pid);
    const double cpu_before = self_cpu_s();
    eng.start();
    int interrupts = 0;
    while (!eng.wait(std::chrono::milliseconds{100})) {
      timespec zero{};
      siginfo_t info{};
      sigset_t signals = env.signals;
      if (sigtimedwait(&signals, &info, &zero) > 0) {
        if (++interrupts == 1) {
          std::fprintf(stderr, "\ncentralita-bench: stopping the search: no new attempts in this "
                               "step; waiting for those in progress (again to abort)\n");
          eng.stop_starting();
          out.interrupted = true;
        } else {
          eng.abort();
        }
      }
    }
    const double cpu_after = self_cpu_s();

    out.report = eng.report();
    out.extras = eng.extras();
    run_report& rep = out.report;
    // Per operation as in a single run (main.cpp): per success, or per
    // attempt when nothing succeeded.
    const double per = static_cast<double>(rep.succeeded > 0 ? rep.succeeded : rep.attempted);
    if (per > 0) rep.self_cpu_us_per_op = (cpu_after - cpu_before) * 1e6 / per;
    if (target_before) {
      if (auto after = sample_process(env.target_pid)) {
        if (rep.succeeded > 0)
          rep.target_cpu_us_per_op =
              (after->cpu_s - target_before->cpu_s) * 1e6 / static_cast<double>(rep.succeeded);
        rep.target_rss_bytes = after->rss_bytes;
      }
    }
    return out;
  };
}

bool write_html(const std::string& path, const run_report& r, const knee_summary* k,
                const std::string& command) {
  html_context ctx;
  ctx.command = command;
  ctx.generated = utc_now();
  if (write_text(path, html_report(r, k, ctx))) return true;
  std::fprintf(stderr, "centralita-bench: --html: cannot write %s\n", path.c_str());
  return false;
}

std::string shell_command(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) out += ' ';
    constexpr const char* safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789_./:=@%+,-";
    const bool plain = !a.empty() && a.find_first_not_of(safe) == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    // POSIX shell single quotes: everything literal; a quote is '\''.
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

int knee_main(const bench_options& o, engine_step_env env, const std::string& command) {
  const knee_plan plan = plan_from(o);
  const std::string growth = plan.factor > 1 ? "x" + format("%g", plan.factor) + " per step"
                                             : "+" + rate_text(plan.step) + "/s per step";
  std::fprintf(stderr, "centralita-bench: finding the knee from %s/s, %s, up to %s/s, %g s per "
                       "step\n",
               rate_text(plan.start).c_str(), growth.c_str(), rate_text(plan.max_rate).c_str(),
               o.step_duration_s);
  const std::string target = env.base.target_name;
  const std::string remote = env.base.target.to_string();
  auto summary = run_knee(plan, engine_step_runner(std::move(env)),
                          [&](std::size_t i, const knee_step& s) {
                            std::fprintf(stderr, "%s\n", step_line(i, s, plan).c_str());
                          });
  const run_report* head = headline_report(summary);
  if (head == nullptr) {
    std::fprintf(stderr, "centralita-bench: %s\n", summary.error.c_str());
    return exit_setup;
  }

  const bool json_stdout = o.json_path == "-";
  if (!o.json_path.empty()) {
    const std::string text = knee_report_json(summary).dump(2) + "\n";
    if (json_stdout)
      std::fputs(text.c_str(), stdout);
    else if (!write_text(o.json_path, text))
      std::fprintf(stderr, "centralita-bench: --json: cannot write %s\n", o.json_path.c_str());
  }
  if (!o.html_path.empty()) write_html(o.html_path, *head, &summary, command);

  // The tables go to stdout, or to stderr when stdout carries the JSON.
  std::FILE* tables = json_stdout ? stderr : stdout;
  std::fputs(summary.best ? format("\nthe step that set the knee (%s/s):\n\n",
                                   rate_text(summary.steps[*summary.best].offered).c_str())
                                .c_str()
                          : "\nno step passed; the last step run:\n\n",
             tables);
  std::fputs(summary_table(*head).c_str(), tables);
  std::fputs("\n", tables);
  std::fputs(knee_table(summary).c_str(), tables);

  engine_extras total;
  uint64_t attempted = 0;
  for (const auto& s : summary.steps) {
    attempted += s.report.attempted;
    total.responses += s.extras.responses;
    total.stray += s.extras.stray;
    total.unreachable += s.extras.unreachable;
    total.no_buffers += s.extras.no_buffers;
    total.send_errors += s.extras.send_errors;
  }
  if (total.stray > 0)
    std::fprintf(stderr, "note: %llu answers matched no transaction in progress (late "
                         "retransmissions, or not ours)\n",
                 static_cast<unsigned long long>(total.stray));
  if (total.no_buffers > 0)
    std::fprintf(stderr, "note: the receive buffers ran out %llu times (the kernel dropped "
                         "answers)\n",
                 static_cast<unsigned long long>(total.no_buffers));
  if (total.send_errors > 0)
    std::fprintf(stderr, "note: %llu sends failed\n",
                 static_cast<unsigned long long>(total.send_errors));
  if (!summary.error.empty()) {
    std::fprintf(stderr, "centralita-bench: step %zu: %s\n", summary.steps.size() + 1,
                 summary.error.c_str());
    return exit_setup;
  }
  if (attempted > 0 && total.responses == 0) {
    std::fprintf(stderr, "centralita-bench: no answer from %s (%s%s)\n", target.c_str(),
                 remote.c_str(), total.unreachable > 0 ? ": port unreachable" : "");
    return exit_setup;
  }
  return exit_ok;
}

} // namespace centralita::loadgen
