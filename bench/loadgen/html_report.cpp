#include "bench/loadgen/html_report.hpp"

#include "bench/loadgen/html_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace centralita::loadgen {

namespace {

using html::axis_scale;
using html::escape;
using html::nice_scale;
using html::number;
using html::point;
using html::svg_chart;

/// Slices shorter than this are the end of a run (answers still coming in,
/// nothing started): merged into the slice before for the charts.
constexpr double short_slice_s = 0.5;

/// Light theme, system fonts, tabular figures; the chart series are coloured
/// by class (s-* lines, m-* markers, b-* bars).
constexpr const char* stylesheet = R"css(
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--panel:#f8fafc;--blue:#2563eb;
--grey:#94a3b8;--red:#dc2626;--amber:#d97706;--green:#059669;--knee:#16a34a}
*{box-sizing:border-box}
body{margin:0;background:#f1f5f9;color:var(--fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1080px;margin:0 auto;padding:32px 24px 40px}
h1{font-size:24px;line-height:1.3;margin:0 0 4px;font-weight:650;overflow-wrap:anywhere}
h1 .target{color:var(--blue);font-weight:600}
h2{font-size:17px;margin:0 0 14px;font-weight:620}
.meta{color:var(--muted);margin:0}
pre.cmd{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 12px;
margin:12px 0 0;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
white-space:pre-wrap;word-break:break-all}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:20px 24px;
margin-top:20px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px}
.cards+.cards{margin-top:12px}
.card{background:var(--panel);border:1px solid #eef2f6;border-radius:8px;padding:10px 14px}
.card .label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.card .unit{font-size:13px;color:var(--muted);margin-left:4px;font-weight:400}
.card .sub{font-size:12px;color:var(--muted)}
.card.bad .value{color:var(--red)}
.card.knee{background:#f0fdf4;border-color:#bbf7d0}
.card.knee,.card.wide{grid-column:span 2}
.card.knee .value{color:var(--knee);font-size:28px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:14px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td.text,th.text{text-align:left;white-space:normal}
th .as-is{text-transform:none}
th{font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.03em}
tr.pass td.result{color:var(--knee)}
tr.fail td.result{color:var(--red)}
tr.interrupted td.result{color:var(--muted)}
tr.best{background:#f0fdf4}
.legend{display:flex;gap:18px;flex-wrap:wrap;font-size:13px;color:var(--muted);margin:-6px 0 4px}
.cards~.legend,.note~.legend{margin-top:18px}
.legend i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:6px;
border-radius:2px}
.legend i.dot{width:9px;height:9px;border-radius:50%}
.legend i.dash{background:repeating-linear-gradient(90deg,#94a3b8 0 5px,transparent 5px 9px)}
.note{color:var(--muted);font-size:13px;margin:8px 0 0}
svg.chart{width:100%;height:auto;display:block}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#6b7280}
svg .grid line{stroke:#eef1f5}
svg .axis line{stroke:#94a3b8}
svg .axis-title{fill:#374151;font-weight:600}
svg polyline{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
.s-attempted{stroke:var(--grey)}.s-succeeded,.s-achieved{stroke:var(--blue)}
.s-p99{stroke:var(--amber)}.s-p50{stroke:var(--green)}
.s-ideal{stroke:#cbd5e1;stroke-dasharray:6 5}
.b-failed{fill:var(--red);opacity:.3}.m-failed{fill:var(--red)}
.m-pass{fill:var(--blue)}.m-fail{fill:var(--red)}
.m-interrupted{fill:#fff;stroke:var(--grey);stroke-width:2}
.m-p99{fill:var(--amber)}
.step-mark line{stroke:#e2e8f0;stroke-dasharray:3 3}.step-mark text{font-size:11px}
.knee-mark line{stroke:var(--knee);stroke-width:2;stroke-dasharray:6 4}
.knee-mark text{fill:var(--knee);font-weight:600;font-size:13px}
.knee-none,.empty{fill:var(--muted);font-size:14px}
.c-attempted{background:var(--grey)}.c-succeeded{background:var(--blue)}
.c-failed{background:var(--red)}
.c-p99{background:var(--amber)}.c-p50{background:var(--green)}.c-knee{background:var(--knee)}
footer{color:var(--muted);font-size:12px;margin-top:24px;text-align:center}
@media print{body{background:#fff}section{break-inside:avoid}}
)css";

/// printf into a std::string (GCC 12 has no std::format).
[[gnu::format(printf, 1, 2)]] std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  char buf[256];
  const int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return n < 0 ? std::string() : std::string(buf, std::min<std::size_t>(n, sizeof buf - 1));
}

double ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

double share(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

/// Decimals that show a latency in ms to about 3 significant digits.
int ms_decimals(double v) { return v < 1 ? 3 : v < 10 ? 2 : v < 100 ? 1 : 0; }

/// A rate for a heading or a label: whole numbers without decimals.
std::string rate_label(double r) { return number(r, std::nearbyint(r) == r ? 0 : 1); }

/// One headline number. `raw` goes into data-value for scripts and tests.
std::string card(std::string_view id, std::string_view label, const std::string& value,
                 double raw, std::string_view unit, const std::string& sub,
                 std::string_view extra_class = {}) {
  std::string out = "<div class=\"card";
  if (!extra_class.empty()) out += " " + std::string(extra_class);
  out += "\" id=\"card-" + std::string(id) + "\"><div class=\"label\">" + escape(label)
         + "</div><div class=\"value\" data-value=\"" + format("%.10g", raw) + "\">" + value;
  if (!unit.empty()) out += "<span class=\"unit\">" + escape(unit) + "</span>";
  out += "</div>";
  if (!sub.empty()) out += "<div class=\"sub\">" + sub + "</div>";
  return out + "</div>\n";
}

std::string legend(std::initializer_list<std::pair<const char*, const char*>> items) {
  std::string out = "<div class=\"legend\">";
  for (const auto& [cls, label] : items)
    out += "<span><i class=\"" + std::string(cls) + "\"></i>" + label + "</span>";
  return out + "</div>\n";
}

std::string header(const run_report& r, const knee_summary* knee, const html_context& ctx) {
  std::string out = "<header><h1>" + escape(r.scenario) + " against <span class=\"target\">"
                    + escape(r.target) + "</span></h1><p class=\"meta\">" + escape(r.transport)
                    + " · ";
  if (knee) {
    double total = 0;
    for (const auto& s : knee->steps) total += s.report.elapsed_s;
    out += "knee search, " + std::to_string(knee->steps.size())
           + (knee->steps.size() == 1 ? " step, " : " steps, ") + number(total, 1) + " s in all";
  } else {
    out += number(r.elapsed_s, 2) + " s";
  }
  if (!ctx.generated.empty()) out += " · " + escape(ctx.generated);
  out += "</p>";
  if (!ctx.command.empty()) out += "<pre class=\"cmd\">" + escape(ctx.command) + "</pre>";
  return out + "</header>\n";
}

std::string headline(const run_report& r, const knee_summary* knee) {
  const char* title = !knee ? "Result" : knee->best ? "The step that set the knee"
                                                    : "The last step (no step passed)";
  std::string out = "<section id=\"headline\"><h2>" + std::string(title)
                    + "</h2>\n<div class=\"cards\">\n";
  out += card("attempted", "attempted", number(static_cast<double>(r.attempted), 0),
              static_cast<double>(r.attempted), "", "");
  out += card("succeeded", "succeeded", number(static_cast<double>(r.succeeded), 0),
              static_cast<double>(r.succeeded), "",
              number(share(r.succeeded, r.attempted), 2) + "%");
  out += card("failed", "failed", number(static_cast<double>(r.failed), 0),
              static_cast<double>(r.failed), "", number(share(r.failed, r.attempted), 2) + "%",
              r.failed > 0 ? "bad" : "");
  out += card("rate-achieved", "rate achieved", number(r.rate_achieved, 1), r.rate_achieved, "/s",
              "of " + rate_label(r.rate_offered) + "/s offered");
  out += card("elapsed", "elapsed", number(r.elapsed_s, 2), r.elapsed_s, "s", "");
  out += "</div>\n<div class=\"cards\">\n";
  const latency_histogram* h = headline_latency(r);
  const latency_histogram empty;
  const latency_histogram& lat = h ? *h : empty;
  std::string which;
  for (const auto& [name, hist] : r.latency)
    if (&hist == h) which = escape(name) + " latency";
  const std::pair<const char*, double> points[] = {
      {"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"max", 100}};
  for (const auto& [label, p] : points) {
    const double v = ms(p >= 100 ? lat.max() : lat.percentile(p));
    const std::string id = std::string_view(label) == "p99.9" ? "p999" : label;
    out += card(id, label, number(v, ms_decimals(v)), v, "ms", which);
  }
  out += "</div>\n<div class=\"cards\">\n";
  if (r.target_cpu_us_per_op)
    out += card("target-cpu", "target CPU", number(*r.target_cpu_us_per_op, 1),
                *r.target_cpu_us_per_op, "µs/op", "per successful attempt");
  if (r.target_rss_bytes) {
    const double mib = static_cast<double>(*r.target_rss_bytes) / (1024.0 * 1024.0);
    out += card("target-rss", "target memory", number(mib, 1), mib, "MiB", "resident, at the end");
  }
  out += card("self-cpu", "generator CPU", number(r.self_cpu_us_per_op, 1), r.self_cpu_us_per_op,
              "µs/op", "centralita-bench itself");
  out += card("retransmissions", "retransmissions",
              number(static_cast<double>(r.retransmissions), 0),
              static_cast<double>(r.retransmissions), "", "Timer E");
  out += card("malformed", "malformed", number(static_cast<double>(r.malformed), 0),
              static_cast<double>(r.malformed), "", "answers not parsed");
  return out + "</div>\n</section>\n";
}

/// Step boundaries on a chart over time (knee searches), labelled with the
/// step's rate when the steps are wide enough for it.
void mark_steps(svg_chart& chart, const knee_summary* knee) {
  if (!knee || knee->steps.size() < 2) return;
  double t = 0;
  double total = 0;
  for (const auto& s : knee->steps) total += s.report.elapsed_s;
  // About 56 px per label at the chart's width: fewer labels than steps then.
  const double plot = svg_chart::width - 120;
  const double steps = static_cast<double>(knee->steps.size());
  const std::size_t every =
      std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(56.0 * steps / plot)));
  for (std::size_t i = 0; i < knee->steps.size(); ++i) {
    const std::string label = i % every == 0 ? rate_label(knee->steps[i].offered) + "/s" : "";
    if (i > 0 || total > 0) chart.vline(t, "step-mark", label);
    t += knee->steps[i].report.elapsed_s;
  }
}

std::string rate_chart(const run_report& r, const knee_summary* knee) {
  const auto slices = chart_slices(r, knee);
  double t_max = 0;
  double y_max = 0;
  for (const auto& s : slices) {
    const double dt = s.t1 - s.t0;
    t_max = std::max(t_max, s.t1);
    if (dt <= 0) continue;
    y_max = std::max({y_max, static_cast<double>(s.sample.attempted) / dt,
                      static_cast<double>(s.sample.succeeded) / dt});
  }
  svg_chart chart(nice_scale(t_max, 8), "time (s)", nice_scale(y_max), "per second");
  mark_steps(chart, knee);
  std::vector<point> attempted;
  std::vector<point> succeeded;
  for (const auto& s : slices) {
    const double dt = s.t1 - s.t0;
    if (dt <= 0) continue;
    const double mid = (s.t0 + s.t1) / 2;
    attempted.push_back({mid, static_cast<double>(s.sample.attempted) / dt});
    succeeded.push_back({mid, static_cast<double>(s.sample.succeeded) / dt});
    if (s.sample.failed > 0) {
      const std::string title = number(static_cast<double>(s.sample.failed), 0) + " failed in "
                                + number(s.t0, 1) + "–" + number(s.t1, 1) + " s";
      chart.bar(s.t0, s.t1, static_cast<double>(s.sample.failed) / dt, "b-failed", title);
      chart.axis_marker(mid, "m-failed", title);
    }
  }
  if (attempted.empty()) {
    chart.note("no samples: the run ended before its first second", "empty");
  } else {
    chart.line(attempted, "s-attempted");
    chart.line(succeeded, "s-succeeded");
  }
  return "<section id=\"rate\"><h2>Rate over time</h2>\n"
         + legend({{"c-attempted", "attempted/s"}, {"c-succeeded", "succeeded/s"},
                   {"c-failed", "failed/s (bars; ▲ a second with failures)"}})
         + chart.render("attempted and succeeded per second over time; failures marked")
         + "</section>\n";
}

std::string latency_chart(const run_report& r, const knee_summary* knee) {
  const auto slices = chart_slices(r, knee);
  double t_max = 0;
  double y_max = 0;
  for (const auto& s : slices) {
    t_max = std::max(t_max, s.t1);
    y_max = std::max(y_max, ms(s.sample.p99_us));
  }
  svg_chart chart(nice_scale(t_max, 8), "time (s)", nice_scale(y_max), "latency (ms)");
  mark_steps(chart, knee);
  std::vector<point> p99;
  std::vector<point> p50;
  for (const auto& s : slices) {
    // No latency recorded in the slice (nothing answered): no point, rather than a false 0.
    if (s.sample.p99_us == 0) continue;
    const double mid = (s.t0 + s.t1) / 2;
    p99.push_back({mid, ms(s.sample.p99_us)});
    p50.push_back({mid, ms(s.sample.p50_us)});
  }
  if (p99.empty()) {
    chart.note("no answers: no latency measured", "empty");
  } else {
    chart.line(p50, "s-p50");
    chart.line(p99, "s-p99");
  }
  return "<section id=\"latency\"><h2>Latency over time</h2>\n"
         + legend({{"c-p99", "p99 of each second"}, {"c-p50", "median of each second"}})
         + chart.render("p99 and median latency per second over time") + "</section>\n";
}

std::string knee_section(const knee_summary& k) {
  double x_max = 0;
  double y_max = 0;
  double p99_max = 0;
  for (const auto& s : k.steps) {
    x_max = std::max(x_max, s.offered);
    y_max = std::max({y_max, s.offered, s.report.rate_achieved});
    p99_max = std::max(p99_max, step_p99_ms(s.report));
  }
  // A little room right of the last step, for its markers and the knee's label.
  const axis_scale xs = nice_scale(x_max * 1.04);
  // The same scale for offered and achieved, so that the dashed diagonal
  // (everything offered was carried) is at 45°.
  svg_chart chart(xs, "offered rate (per second)", nice_scale(std::max(y_max, xs.hi)),
                  "achieved (per second)");
  chart.right_axis(nice_scale(p99_max), "p99 latency (ms)");
  chart.line({{0, 0}, {xs.hi, xs.hi}}, "s-ideal");
  std::vector<point> achieved;
  std::vector<point> p99;
  for (std::size_t i = 0; i < k.steps.size(); ++i) {
    const auto& s = k.steps[i];
    achieved.push_back({s.offered, s.report.rate_achieved});
    if (step_p99_ms(s.report) > 0) p99.push_back({s.offered, step_p99_ms(s.report)});
  }
  chart.line(achieved, "s-achieved");
  chart.line(p99, "s-p99", true);
  for (std::size_t i = 0; i < k.steps.size(); ++i) {
    const auto& s = k.steps[i];
    const std::string title = "step " + std::to_string(i + 1) + ": " + rate_label(s.offered)
                              + "/s offered, " + number(s.report.rate_achieved, 1)
                              + "/s achieved, p99 " + number(step_p99_ms(s.report), 2)
                              + " ms: " + verdict_text(s, k.plan);
    const char* cls = s.interrupted ? "m-interrupted" : s.passed() ? "m-pass" : "m-fail";
    chart.marker({s.offered, s.report.rate_achieved}, cls, title);
    if (step_p99_ms(s.report) > 0)
      chart.marker({s.offered, step_p99_ms(s.report)}, "m-p99", title, true, true);
  }
  if (k.knee > 0)
    chart.vline(k.knee, "knee-mark", "knee " + rate_label(k.knee) + "/s");
  else
    chart.note("no step passed: no knee", "knee-none");

  std::string out = "<section id=\"knee\"><h2>Finding the knee</h2>\n<div class=\"cards\">\n";
  out += card("knee", "knee", k.knee > 0 ? rate_label(k.knee) : "none", k.knee,
              k.knee > 0 ? "/s" : "", "the highest offered rate that passed", "knee");
  out += card("steps", "steps", number(static_cast<double>(k.steps.size()), 0),
              static_cast<double>(k.steps.size()), "",
              number(static_cast<double>(k.plan.step_duration.count()) / 1000.0, 1) + " s each");
  const double max_failed_pct = 100.0 * k.plan.max_failure_ratio;
  std::string bounds = k.plan.max_p99_ms > 0
                           ? "p99 ≤ " + format("%g", k.plan.max_p99_ms) + " ms, "
                           : std::string("no latency bound, ");
  out += card("bounds", "a step passes with", "≤ " + format("%g", max_failed_pct), max_failed_pct,
              "% failed", bounds + "≥ 90% of its rate achieved", "wide");
  out += "</div>\n";
  if (k.interrupted)
    out += "<p class=\"note\">The search was interrupted (Ctrl-C): the knee is the highest rate "
           "so far.</p>\n";
  if (!k.error.empty())
    out += "<p class=\"note\">The search ended early: " + escape(k.error) + "</p>\n";
  out += legend({{"c-succeeded", "achieved/s (● passed, red failed)"},
                 {"c-p99", "p99 latency (■, right axis)"},
                 {"dash", "achieved = offered"},
                 {"c-knee", "the knee"}});
  out += chart.render("achieved rate and p99 latency per step, the knee marked");

  const bool cpu = std::any_of(k.steps.begin(), k.steps.end(),
                               [](const knee_step& s) { return s.report.target_cpu_us_per_op; });
  out += "<table id=\"steps\"><thead><tr><th>step</th><th>offered/s</th><th>achieved/s</th>"
         "<th>attempted</th><th>failed</th><th>p99 ms</th>";
  // "µs" kept out of the header's capitals: an upper-case µ reads as M.
  if (cpu) out += "<th>target <span class=\"as-is\">µs</span>/op</th>";
  out += "<th class=\"text\">result</th></tr></thead><tbody>\n";
  for (std::size_t i = 0; i < k.steps.size(); ++i) {
    const auto& s = k.steps[i];
    const run_report& r = s.report;
    std::string cls = s.interrupted ? "interrupted" : s.passed() ? "pass" : "fail";
    if (k.best && *k.best == i) cls += " best";
    std::string failed = number(static_cast<double>(r.failed), 0);
    if (r.failed > 0) failed += " (" + number(share(r.failed, r.attempted), 2) + "%)";
    const double p = step_p99_ms(r);
    out += "<tr class=\"" + cls + "\"><td>" + std::to_string(i + 1) + "</td><td>"
           + rate_label(s.offered) + "</td><td>" + number(r.rate_achieved, 1) + "</td><td>"
           + number(static_cast<double>(r.attempted), 0) + "</td><td>" + failed + "</td><td>"
           + (p > 0 ? number(p, ms_decimals(p)) : "–") + "</td>";
    if (cpu)
      out += "<td>" + (r.target_cpu_us_per_op ? number(*r.target_cpu_us_per_op, 1) : "–")
             + "</td>";
    out += "<td class=\"result text\">" + escape(verdict_text(s, k.plan)) + "</td></tr>\n";
  }
  return out + "</tbody></table>\n</section>\n";
}

std::string percentile_table(const run_report& r) {
  std::string out = "<section id=\"percentiles\"><h2>Latency percentiles (ms)</h2>\n";
  if (r.latency.empty())
    return out + "<p class=\"note\">No latency was measured.</p></section>\n";
  out += "<table><thead><tr><th>histogram</th><th>count</th><th>min</th><th>mean</th><th>p50</th>"
         "<th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr></thead><tbody>\n";
  // The reader's order: response, setup, pdd, then the rest alphabetically.
  std::vector<std::string> names;
  for (const char* n : {"response", "setup", "pdd"})
    if (r.latency.count(n)) names.emplace_back(n);
  for (const auto& [n, h] : r.latency)
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  for (const auto& n : names) {
    const latency_histogram& h = r.latency.at(n);
    out += "<tr><td>" + escape(n) + "</td><td>" + number(static_cast<double>(h.count()), 0)
           + "</td>";
    for (double v : {ms(h.min()), h.mean() / 1000.0, ms(h.percentile(50)), ms(h.percentile(90)),
                     ms(h.percentile(99)), ms(h.percentile(99.9)), ms(h.max())})
      out += "<td>" + number(v, 3) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n<p class=\"note\">From the first send of a request to its final "
               "answer; within 1.6% (HDR-style histogram).</p></section>\n";
}

std::string failure_table(const run_report& r) {
  std::string out = "<section id=\"failures\"><h2>Failures by cause</h2>\n";
  if (r.failures_by_cause.empty())
    return out + "<p class=\"note\">No failures.</p></section>\n";
  out += "<table><thead><tr><th>cause</th><th>count</th><th>of failures</th><th>of attempts</th>"
         "</tr></thead><tbody>\n";
  for (const auto& [cause, n] : r.failures_by_cause)
    out += "<tr><td>" + escape(cause) + "</td><td>" + number(static_cast<double>(n), 0)
           + "</td><td>" + number(share(n, r.failed), 2) + "%</td><td>"
           + number(share(n, r.attempted), 2) + "%</td></tr>\n";
  return out + "</tbody></table>\n</section>\n";
}

} // namespace

std::vector<time_slice> time_slices(const run_report& r, const knee_summary* knee) {
  std::vector<time_slice> out;
  auto add = [&](const run_report& run, std::size_t index, double offset) {
    double t0 = 0;
    for (const auto& s : run.timeline) {
      out.push_back({offset + t0, offset + std::max(s.t, t0), index, s});
      t0 = std::max(s.t, t0);
    }
  };
  if (knee && !knee->steps.empty()) {
    double offset = 0;
    for (std::size_t i = 0; i < knee->steps.size(); ++i) {
      const run_report& step = knee->steps[i].report;
      add(step, i, offset);
      const double last = step.timeline.empty() ? 0 : step.timeline.back().t;
      offset += std::max(step.elapsed_s, last);
    }
  } else {
    add(r, 0, 0);
  }
  return out;
}

std::vector<time_slice> chart_slices(const run_report& r, const knee_summary* knee) {
  std::vector<time_slice> out;
  for (const auto& s : time_slices(r, knee)) {
    if (!out.empty() && out.back().run == s.run && s.t1 - s.t0 < short_slice_s) {
      time_slice& prev = out.back();
      prev.t1 = s.t1;
      prev.sample.attempted += s.sample.attempted;
      prev.sample.succeeded += s.sample.succeeded;
      prev.sample.failed += s.sample.failed;
      // Percentiles do not add up: the worse p99, and the median of the
      // longer slice (prev: s is under half a second).
      prev.sample.p99_us = std::max(prev.sample.p99_us, s.sample.p99_us);
      if (prev.sample.p50_us == 0) prev.sample.p50_us = s.sample.p50_us;
      continue;
    }
    out.push_back(s);
  }
  return out;
}

std::string html_report(const run_report& r, const knee_summary* knee, const html_context& ctx) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"centralita-bench\">\n<title>centralita-bench: "
      + escape(r.scenario) + " against " + escape(r.target)
      + (knee ? ", knee " + escape(rate_label(knee->knee)) + "/s" : std::string())
      + "</title>\n<style>" + stylesheet + "</style>\n</head>\n<body>\n<main>\n";
  out += header(r, knee, ctx);
  if (knee) out += knee_section(*knee);
  out += headline(r, knee);
  out += rate_chart(r, knee);
  out += latency_chart(r, knee);
  out += percentile_table(r);
  out += failure_table(r);
  out += "<footer>centralita-bench · what each number means: docs/load-testing.md</footer>\n"
         "</main>\n</body>\n</html>\n";
  return out;
}

} // namespace centralita::loadgen
