// The --html report: escaping, the charts and their points, the knee mark,
// the tables, and the degenerate runs (no timeline, no answer), plus the
// chart helpers (round axis scales, number formatting).

#include "bench/loadgen/html_report.hpp"

#include "bench/loadgen/html_chart.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace centralita::loadgen;
using namespace std::chrono_literals;
namespace html = centralita::loadgen::html;

namespace {

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

/// The points attribute of the polyline with class `series <cls>` in the
/// section with id `section`, as a count of x,y pairs; -1 when there is none.
int points_in(const std::string& doc, const std::string& section, const std::string& cls) {
  const auto start = doc.find("<section id=\"" + section + "\"");
  if (start == std::string::npos) return -1;
  const auto end = doc.find("</section>", start);
  const std::string body = doc.substr(start, end - start);
  const std::string tag = "<polyline class=\"series " + cls + "\" points=\"";
  const auto at = body.find(tag);
  if (at == std::string::npos) return -1;
  const auto from = at + tag.size();
  const std::string pts = body.substr(from, body.find('"', from) - from);
  if (pts.empty()) return 0;
  return static_cast<int>(count_of(pts, " ")) + 1;
}

std::string section(const std::string& doc, const std::string& id) {
  const auto start = doc.find("<section id=\"" + id + "\"");
  if (start == std::string::npos) return {};
  return doc.substr(start, doc.find("</section>", start) - start);
}

/// `seconds` full seconds at `rate`, failures in seconds 3 and 7, then a
/// 4 ms tail in which the last answers came.
run_report run_with_timeline(int seconds, uint64_t rate) {
  run_report r;
  r.scenario = "options";
  r.target = "sip:127.0.0.1:5060";
  r.rate_offered = static_cast<double>(rate);
  for (int i = 1; i <= seconds; ++i) {
    second_sample s;
    s.t = i;
    s.attempted = rate;
    s.failed = i == 3 || i == 7 ? 2 : 0;
    s.succeeded = rate - s.failed - 1;
    s.p99_us = 1000 + static_cast<uint64_t>(i) * 100;
    s.p50_us = 400;
    r.timeline.push_back(s);
    r.attempted += s.attempted;
    r.succeeded += s.succeeded;
    r.failed += s.failed;
  }
  second_sample tail;
  tail.t = seconds + 0.004;
  tail.succeeded = static_cast<uint64_t>(seconds);
  tail.p99_us = 900;
  tail.p50_us = 500;
  r.timeline.push_back(tail);
  r.succeeded += tail.succeeded;
  r.failures_by_cause["timeout"] = r.failed;
  r.elapsed_s = seconds + 0.004;
  r.rate_achieved = static_cast<double>(r.succeeded) / r.elapsed_s;
  for (uint64_t v : {400, 450, 500, 1200, 2000}) r.latency["response"].record(v);
  return r;
}

knee_summary search_of(std::vector<std::pair<double, bool>> steps) {
  knee_summary k;
  k.plan.start = 100;
  k.plan.step = 100;
  k.plan.step_duration = 2s;
  for (const auto& [rate, pass] : steps) {
    knee_step s;
    s.offered = rate;
    s.report = run_with_timeline(2, static_cast<uint64_t>(rate));
    s.verdict = pass ? step_verdict::pass : step_verdict::failures;
    k.steps.push_back(s);
    if (pass) {
      k.knee = rate;
      k.best = k.steps.size() - 1;
    }
  }
  return k;
}

} // namespace

// ---- helpers -----------------------------------------------------------------

TEST(html_report, escape) {
  EXPECT_EQ(html::escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(html::escape("plain µs"), "plain µs");
}

TEST(html_report, numbers_and_scales) {
  EXPECT_EQ(html::number(1234567.8, 0), "1,234,568");
  EXPECT_EQ(html::number(-1234.5, 1), "-1,234.5");
  EXPECT_EQ(html::number(999, 0), "999");
  EXPECT_EQ(html::number(0.4567, 3), "0.457");
  auto s = html::nice_scale(950);
  EXPECT_EQ(s.step, 200);
  EXPECT_EQ(s.hi, 1000);
  EXPECT_EQ(s.decimals, 0);
  s = html::nice_scale(1000);
  EXPECT_EQ(s.hi, 1000) << "a round maximum is the top tick";
  s = html::nice_scale(0.37);
  EXPECT_DOUBLE_EQ(s.step, 0.1);
  EXPECT_DOUBLE_EQ(s.hi, 0.4);
  EXPECT_EQ(s.decimals, 1);
  for (double nothing : {0.0, -3.0, std::nan("")}) {
    s = html::nice_scale(nothing);
    EXPECT_EQ(s.lo, 0);
    EXPECT_EQ(s.hi, 1);
  }
}

// ---- a single run --------------------------------------------------------------

TEST(html_report, escapes_every_text_from_input) {
  run_report r = run_with_timeline(3, 100);
  r.scenario = "<script>alert(1)</script>";
  r.target = "sip:\"evil\"@host'";
  r.failures_by_cause = {{"4xx:<b>", 2}};
  r.latency["<i>hist</i>"].record(5);
  const std::string doc = html_report(r, nullptr, {"bench --x '<y>'", "now & then"});
  EXPECT_EQ(doc.find("<script"), std::string::npos);
  EXPECT_EQ(doc.find("<b>"), std::string::npos);
  EXPECT_EQ(doc.find("<i>"), std::string::npos);
  EXPECT_EQ(doc.find("'<y>'"), std::string::npos);
  EXPECT_NE(doc.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(doc.find("sip:&quot;evil&quot;@host&#39;"), std::string::npos);
  EXPECT_NE(doc.find("4xx:&lt;b&gt;"), std::string::npos);
  EXPECT_NE(doc.find("&lt;i&gt;hist&lt;/i&gt;"), std::string::npos);
  EXPECT_NE(doc.find("now &amp; then"), std::string::npos);
}

TEST(html_report, self_contained) {
  const std::string doc = html_report(run_with_timeline(5, 1000), nullptr);
  EXPECT_EQ(doc.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(doc.find("</html>"), std::string::npos);
  EXPECT_EQ(doc.find("<script"), std::string::npos) << "readable with JavaScript off";
  EXPECT_EQ(doc.find("src="), std::string::npos) << "nothing fetched";
  EXPECT_EQ(doc.find("<link"), std::string::npos);
  EXPECT_EQ(count_of(doc, "<svg"), count_of(doc, "</svg>"));
  EXPECT_EQ(count_of(doc, "<section"), count_of(doc, "</section>"));
  EXPECT_EQ(count_of(doc, "<svg"), 2u) << "rate and latency over time";
}

TEST(html_report, headline_numbers) {
  run_report r = run_with_timeline(10, 1000);
  r.target_cpu_us_per_op = 12.5;
  r.target_rss_bytes = 64ull << 20;
  r.self_cpu_us_per_op = 3.25;
  const std::string doc = html_report(r, nullptr);
  EXPECT_NE(doc.find("id=\"card-attempted\"><div class=\"label\">attempted</div>"
                     "<div class=\"value\" data-value=\"10000\">10,000<"),
            std::string::npos);
  EXPECT_NE(doc.find("id=\"card-failed\""), std::string::npos);
  EXPECT_NE(doc.find("data-value=\"12.5\">12.5<span class=\"unit\">µs/op"), std::string::npos);
  EXPECT_NE(doc.find("data-value=\"64\">64.0<span class=\"unit\">MiB"), std::string::npos);
  EXPECT_NE(doc.find("id=\"card-self-cpu\""), std::string::npos);
  // p50 of {400, 450, 500, 1200, 2000} µs: 500, reported as the top of its
  // histogram bucket (within 1.6%), 503 µs; max 2 ms exactly.
  EXPECT_NE(doc.find("id=\"card-p50\"><div class=\"label\">p50</div><div class=\"value\" "
                     "data-value=\"0.503\">0.503<"),
            std::string::npos);
  EXPECT_NE(doc.find("id=\"card-max\"><div class=\"label\">max</div><div class=\"value\" "
                     "data-value=\"2\">2.00<"),
            std::string::npos);

  r.target_cpu_us_per_op.reset();
  r.target_rss_bytes.reset();
  const std::string plain = html_report(r, nullptr);
  EXPECT_EQ(plain.find("card-target-cpu"), std::string::npos) << "only when measured";
  EXPECT_EQ(plain.find("card-target-rss"), std::string::npos);
}

TEST(html_report, charts_have_a_point_per_second) {
  const std::string doc = html_report(run_with_timeline(10, 1000), nullptr);
  // 10 seconds and a 4 ms tail, folded into the last second.
  EXPECT_EQ(points_in(doc, "rate", "s-attempted"), 10);
  EXPECT_EQ(points_in(doc, "rate", "s-succeeded"), 10);
  EXPECT_EQ(points_in(doc, "latency", "s-p99"), 10);
  EXPECT_EQ(points_in(doc, "latency", "s-p50"), 10);
  // Failures in seconds 3 and 7: a bar and a marker each.
  const std::string rate = section(doc, "rate");
  EXPECT_EQ(count_of(rate, "class=\"marker m-failed\""), 2u);
  EXPECT_EQ(count_of(rate, "class=\"bar b-failed\""), 2u);
  EXPECT_NE(rate.find("2 failed in 2.0–3.0 s"), std::string::npos);
  // Axes with units and tick labels.
  EXPECT_NE(rate.find(">time (s)<"), std::string::npos);
  EXPECT_NE(rate.find(">per second<"), std::string::npos);
  EXPECT_NE(rate.find(">1,000<"), std::string::npos);
  EXPECT_NE(section(doc, "latency").find(">latency (ms)<"), std::string::npos);
}

TEST(html_report, chart_slices_fold_the_tail) {
  run_report r = run_with_timeline(3, 100);
  const auto all = time_slices(r, nullptr);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_DOUBLE_EQ(all[3].t0, 3.0);
  EXPECT_DOUBLE_EQ(all[3].t1, 3.004);
  const auto rate = chart_slices(r, nullptr);
  ASSERT_EQ(rate.size(), 3u);
  EXPECT_DOUBLE_EQ(rate[2].t1, 3.004);
  EXPECT_EQ(rate[2].sample.succeeded, r.timeline[2].succeeded + 3);
  // A run shorter than half a second keeps its only slice.
  run_report quick;
  quick.timeline.push_back({.t = 0.2, .attempted = 20, .succeeded = 20});
  EXPECT_EQ(chart_slices(quick, nullptr).size(), 1u);
}

TEST(html_report, percentile_and_failure_tables) {
  run_report r = run_with_timeline(3, 100);
  r.latency["setup"].record(10'000);
  r.latency["pdd"].record(3'000);
  r.failures_by_cause = {{"timeout", 4}, {"503", 2}};
  r.failed = 6;
  const std::string doc = html_report(r, nullptr);
  const std::string table = section(doc, "percentiles");
  EXPECT_EQ(count_of(table, "<tr><td>"), 3u);
  // The reader's order, not the map's.
  EXPECT_LT(table.find("<td>response</td>"), table.find("<td>setup</td>"));
  EXPECT_LT(table.find("<td>setup</td>"), table.find("<td>pdd</td>"));
  EXPECT_NE(table.find("<td>10.000</td>"), std::string::npos);
  const std::string failures = section(doc, "failures");
  EXPECT_NE(failures.find("<td>timeout</td><td>4</td><td>66.67%</td>"), std::string::npos)
      << failures;
  EXPECT_NE(failures.find("<td>503</td><td>2</td>"), std::string::npos);
}

TEST(html_report, an_empty_run_does_not_crash) {
  run_report r;  // nothing: no timeline, no latency, no failures
  const std::string doc = html_report(r, nullptr);
  EXPECT_NE(doc.find("no samples"), std::string::npos);
  EXPECT_NE(doc.find("no answers: no latency measured"), std::string::npos);
  EXPECT_NE(doc.find("No latency was measured."), std::string::npos);
  EXPECT_NE(doc.find("No failures."), std::string::npos);
  EXPECT_EQ(doc.find("nan"), std::string::npos);
  EXPECT_EQ(doc.find("inf"), std::string::npos);

  // Everything timed out: a timeline without latency.
  run_report silent;
  silent.timeline.push_back({.t = 1.0, .attempted = 100, .failed = 0});
  silent.timeline.push_back({.t = 1.2, .failed = 100});  // Timer F: 200 ms
  const std::string doc2 = html_report(silent, nullptr);
  EXPECT_EQ(points_in(doc2, "rate", "s-attempted"), 1);
  EXPECT_EQ(points_in(doc2, "latency", "s-p99"), -1);
  EXPECT_NE(doc2.find("no answers: no latency measured"), std::string::npos);
}

// ---- a knee search ---------------------------------------------------------------

TEST(html_report, knee_chart_marks_the_knee) {
  const knee_summary k = search_of({{100, true}, {200, true}, {300, true}, {400, false}});
  const std::string doc = html_report(k.steps[*k.best].report, &k);
  const std::string knee = section(doc, "knee");
  ASSERT_FALSE(knee.empty());
  EXPECT_EQ(points_in(doc, "knee", "s-achieved"), 4);
  EXPECT_EQ(points_in(doc, "knee", "s-p99"), 4);
  EXPECT_EQ(count_of(knee, "class=\"marker m-pass\""), 3u);
  EXPECT_EQ(count_of(knee, "class=\"marker m-fail\""), 1u);
  EXPECT_EQ(count_of(knee, "<g class=\"knee-mark\">"), 1u);
  EXPECT_NE(knee.find(">knee 300/s</text>"), std::string::npos);
  EXPECT_NE(knee.find("id=\"card-knee\""), std::string::npos);
  EXPECT_NE(knee.find("data-value=\"300\">300<"), std::string::npos);
  // The step table: a row per step, the one that set the knee highlighted.
  EXPECT_EQ(count_of(knee, "<tr class=\""), 4u);
  EXPECT_NE(knee.find("<tr class=\"pass best\"><td>3</td><td>300</td>"), std::string::npos);
  EXPECT_NE(knee.find("<tr class=\"fail\"><td>4</td><td>400</td>"), std::string::npos);
  EXPECT_NE(knee.find(">p99 latency (ms)<"), std::string::npos) << "the right axis";
  EXPECT_NE(knee.find(">offered rate (per second)<"), std::string::npos);
  // The charts over time span every step: 2 s each, 4 steps.
  EXPECT_EQ(points_in(doc, "rate", "s-attempted"), 8);
  EXPECT_EQ(count_of(section(doc, "rate"), "<g class=\"step-mark\">"), 4u);
  EXPECT_EQ(count_of(doc, "<svg"), 3u);
}

TEST(html_report, knee_time_slices_follow_one_another) {
  const knee_summary k = search_of({{100, true}, {200, false}});
  const auto slices = time_slices(k.steps[0].report, &k);
  ASSERT_EQ(slices.size(), 6u);  // 2 s and a tail per step
  EXPECT_EQ(slices[3].run, 1u);
  EXPECT_DOUBLE_EQ(slices[3].t0, 2.004);
  EXPECT_DOUBLE_EQ(slices[5].t1, 4.008);
  // Tails fold into their own step only.
  const auto rate = chart_slices(k.steps[0].report, &k);
  ASSERT_EQ(rate.size(), 4u);
  EXPECT_EQ(rate[1].run, 0u);
  EXPECT_EQ(rate[2].run, 1u);
}

TEST(html_report, no_knee_is_said_not_marked) {
  const knee_summary k = search_of({{100, false}});
  const std::string doc = html_report(k.steps[0].report, &k);
  const std::string knee = section(doc, "knee");
  EXPECT_EQ(knee.find("<g class=\"knee-mark\">"), std::string::npos);
  EXPECT_NE(knee.find("no step passed: no knee"), std::string::npos);
  EXPECT_NE(knee.find("data-value=\"0\">none<"), std::string::npos);
  EXPECT_NE(doc.find("The last step (no step passed)"), std::string::npos);
}

TEST(html_report, a_mark_at_the_right_end_is_labelled_to_its_left) {
  html::svg_chart chart(html::nice_scale(4000), "x", html::nice_scale(1), "y");
  chart.vline(1000, "mark", "knee 1,000/s");
  chart.vline(4000, "mark", "knee 4,000/s");
  const std::string svg = chart.render("marks");
  // The <text> element that carries `label`.
  auto text_of = [&](const std::string& label) {
    const auto at = svg.find(">" + label + "<");
    const auto start = svg.rfind("<text", at);
    return at == std::string::npos || start == std::string::npos ? std::string()
                                                                 : svg.substr(start, at - start);
  };
  EXPECT_EQ(text_of("knee 1,000/s").find("text-anchor"), std::string::npos) << svg;
  EXPECT_NE(text_of("knee 4,000/s").find("text-anchor=\"end\""), std::string::npos) << svg;
}
