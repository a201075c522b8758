// run_report presentation (JSON keys and values, the summary table, the
// progress line) and sample_process against this test's own process.

#include "bench/loadgen/report.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace centralita::loadgen;

namespace {

latency_histogram histogram_of(std::initializer_list<uint64_t> us) {
  latency_histogram h;
  for (uint64_t v : us) h.record(v);
  return h;
}

/// A finished call run, every field set.
run_report full_report() {
  run_report r;
  r.scenario = "call";
  r.target = "sip:bench@127.0.0.1:5060";
  r.transport = "udp";
  r.attempted = 10000;
  r.succeeded = 9990;
  r.failed = 10;
  r.failures_by_cause = {{"timeout", 7}, {"503", 3}};
  r.retransmissions = 12;
  r.malformed = 1;
  r.elapsed_s = 10.0;
  r.rate_offered = 1000;
  r.rate_achieved = 999;
  r.latency["setup"] = histogram_of({1234, 1234, 1234, 2000});
  r.latency["pdd"] = histogram_of({500, 600});
  r.timeline = {{1.0, 1000, 999, 1, 1500}, {2.0, 1000, 1000, 0, 0}};
  r.target_cpu_us_per_op = 12.5;
  r.target_rss_bytes = 50 * 1024 * 1024;
  r.self_cpu_us_per_op = 4.25;
  return r;
}

std::set<std::string> keys(const nlohmann::json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items()) out.insert(k);
  return out;
}

// ---- to_json ---------------------------------------------------------------

TEST(report_json, has_exactly_the_documented_keys) {
  const auto j = to_json(full_report());
  EXPECT_EQ(keys(j), (std::set<std::string>{
                         "scenario", "target", "transport", "attempted", "succeeded", "failed",
                         "failures_by_cause", "retransmissions", "malformed", "elapsed_s",
                         "rate_offered", "rate_achieved", "latency_ms", "latencies_ms",
                         "target_cpu_us_per_op", "target_rss_bytes", "self_cpu_us_per_op",
                         "timeline"}));
  const std::set<std::string> histogram_keys{"p50", "p90", "p99", "p999", "max", "mean", "count"};
  EXPECT_EQ(keys(j["latency_ms"]), histogram_keys);
  EXPECT_EQ(keys(j["latencies_ms"]), (std::set<std::string>{"setup", "pdd"}));
  EXPECT_EQ(keys(j["latencies_ms"]["pdd"]), histogram_keys);
  ASSERT_EQ(j["timeline"].size(), 2u);
  EXPECT_EQ(keys(j["timeline"][0]),
            (std::set<std::string>{"t", "attempted", "succeeded", "failed", "p99_ms"}));
}

TEST(report_json, values) {
  const auto j = to_json(full_report());
  EXPECT_EQ(j["scenario"], "call");
  EXPECT_EQ(j["target"], "sip:bench@127.0.0.1:5060");
  EXPECT_EQ(j["transport"], "udp");
  EXPECT_EQ(j["attempted"], 10000);
  EXPECT_EQ(j["succeeded"], 9990);
  EXPECT_EQ(j["failed"], 10);
  EXPECT_EQ(j["failures_by_cause"], (nlohmann::json{{"timeout", 7}, {"503", 3}}));
  EXPECT_EQ(j["retransmissions"], 12);
  EXPECT_EQ(j["malformed"], 1);
  EXPECT_EQ(j["elapsed_s"], 10.0);
  EXPECT_EQ(j["rate_offered"], 1000.0);
  EXPECT_EQ(j["rate_achieved"], 999.0);
  EXPECT_EQ(j["target_cpu_us_per_op"], 12.5);
  EXPECT_EQ(j["target_rss_bytes"], 50 * 1024 * 1024);
  EXPECT_EQ(j["self_cpu_us_per_op"], 4.25);
  EXPECT_EQ(j["timeline"][0]["p99_ms"], 1.5);
  EXPECT_EQ(j["timeline"][1]["t"], 2.0);
  EXPECT_EQ(j["timeline"][0]["failed"], 1);
}

TEST(report_json, latency_in_milliseconds_with_microsecond_precision) {
  const auto j = to_json(full_report());
  // No "response" histogram in a call run: the headline is "setup".
  const auto& l = j["latency_ms"];
  EXPECT_EQ(l, j["latencies_ms"]["setup"]);
  // 1234 µs sits in the bucket 1232..1247 (width 16 from 1024 to 2047).
  EXPECT_EQ(l["p50"], 1.247);
  EXPECT_EQ(l["max"], 2.0);
  EXPECT_EQ(l["p99"], 2.0);
  EXPECT_EQ(l["count"], 4);
  EXPECT_EQ(l["mean"], 1.426);   // (3 * 1234 + 2000) / 4 = 1425.5 µs, rounded
  // Printed as written: three decimals at most.
  EXPECT_NE(l.dump().find("\"p50\":1.247"), std::string::npos) << l.dump();
}

TEST(report_json, headline_prefers_response_then_setup_then_first) {
  run_report r;
  r.latency["pdd"] = histogram_of({100});
  r.latency["setup"] = histogram_of({200});
  r.latency["response"] = histogram_of({300});
  EXPECT_EQ(to_json(r)["latency_ms"]["max"], 0.3);
  r.latency.erase("response");
  EXPECT_EQ(to_json(r)["latency_ms"]["max"], 0.2);
  r.latency.erase("setup");
  r.latency["register"] = histogram_of({400});
  EXPECT_EQ(to_json(r)["latency_ms"]["max"], 0.1);  // "pdd" sorts first
}

TEST(report_json, no_latency_and_no_target_measurement) {
  run_report r;
  r.scenario = "options";
  const auto j = to_json(r);
  EXPECT_FALSE(j.contains("target_cpu_us_per_op"));
  EXPECT_FALSE(j.contains("target_rss_bytes"));
  EXPECT_EQ(j["latency_ms"]["count"], 0);
  EXPECT_EQ(j["latency_ms"]["p99"], 0.0);
  EXPECT_TRUE(j["latencies_ms"].is_object());
  EXPECT_TRUE(j["latencies_ms"].empty());
  EXPECT_TRUE(j["failures_by_cause"].is_object());
  EXPECT_TRUE(j["timeline"].is_array());
  EXPECT_TRUE(j["timeline"].empty());
}

TEST(report_json, round_trips_through_text) {
  const auto j = to_json(full_report());
  EXPECT_EQ(nlohmann::json::parse(j.dump()), j);
}

// ---- summary_table ---------------------------------------------------------

TEST(report_table, full_report) {
  const std::string want =
      "scenario        call\n"
      "target          sip:bench@127.0.0.1:5060 (udp)\n"
      "elapsed                10.00 s\n"
      "\n"
      "attempted              10000\n"
      "succeeded               9990   99.90%\n"
      "failed                    10    0.10%\n"
      "  503                      3\n"
      "  timeout                  7\n"
      "retransmissions           12\n"
      "malformed                  1\n"
      "rate offered          1000.0 /s\n"
      "rate achieved          999.0 /s\n"
      "\n"
      "latency (ms)           count       p50       p90       p99     p99.9       max\n"
      "setup                      4     1.247     2.000     2.000     2.000     2.000\n"
      "pdd                        2     0.503     0.600     0.600     0.600     0.600\n"
      "\n"
      "target CPU              12.5 µs/op\n"
      "target RSS              50.0 MiB\n"
      "generator CPU            4.2 µs/op\n";
  EXPECT_EQ(summary_table(full_report()), want);
}

TEST(report_table, leaves_out_what_was_not_measured) {
  run_report r;
  r.scenario = "options";
  r.target = "10.0.0.1:5060";
  r.attempted = 5;
  r.succeeded = 5;
  const std::string t = summary_table(r);
  EXPECT_EQ(t.find("latency (ms)"), std::string::npos);
  EXPECT_EQ(t.find("target CPU"), std::string::npos);
  EXPECT_EQ(t.find("target RSS"), std::string::npos);
  EXPECT_NE(t.find("generator CPU"), std::string::npos);
  EXPECT_NE(t.find("succeeded                  5  100.00%\n"), std::string::npos) << t;
}

TEST(report_table, no_attempts_reads_zero_percent) {
  const std::string t = summary_table(run_report{});
  EXPECT_NE(t.find("failed                     0    0.00%\n"), std::string::npos) << t;
}

TEST(report_table, response_row_comes_first) {
  run_report r;
  r.latency["pdd"] = histogram_of({1});
  r.latency["zeta"] = histogram_of({1});
  r.latency["response"] = histogram_of({1});
  r.latency["setup"] = histogram_of({1});
  std::istringstream in(summary_table(r));
  std::vector<std::string> rows;
  bool in_latency = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("latency (ms)", 0) == 0) { in_latency = true; continue; }
    if (in_latency && line.empty()) break;
    if (in_latency) rows.push_back(line.substr(0, line.find(' ')));
  }
  EXPECT_EQ(rows, (std::vector<std::string>{"response", "setup", "pdd", "zeta"}));
}

// ---- progress_line ---------------------------------------------------------

TEST(report_progress, one_line) {
  run_report r;
  r.elapsed_s = 12.04;
  r.succeeded = 11994;
  r.failed = 3;
  EXPECT_EQ(progress_line(r, 1000.2, 1234), "12.0 s  1000/s  11994 ok  3 failed  p99 1.2 ms");
  EXPECT_EQ(progress_line(r, 0, 412), "12.0 s  0/s  11994 ok  3 failed  p99 0.41 ms");
  EXPECT_EQ(progress_line(r, 5, 250'000), "12.0 s  5/s  11994 ok  3 failed  p99 250 ms");
  EXPECT_EQ(progress_line(r, 5, 0).find('\n'), std::string::npos);
}

// ---- sample_process --------------------------------------------------------

double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// Spins until this process has used `seconds` more CPU (however long that
/// takes on a loaded machine: it measures CPU, not wall time).
void burn_cpu(double seconds) {
  const double until = process_cpu_s() + seconds;
  volatile uint64_t sink = 0;
  while (process_cpu_s() < until) {
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<uint64_t>(i);
  }
}

TEST(report_sample_process, own_process) {
  const auto before = sample_process(getpid());
  ASSERT_TRUE(before.has_value());
  EXPECT_GT(before->rss_bytes, 0u);
  EXPECT_EQ(before->rss_bytes % static_cast<uint64_t>(sysconf(_SC_PAGESIZE)), 0u);
  burn_cpu(0.1);
  const auto after = sample_process(getpid());
  ASSERT_TRUE(after.has_value());
  EXPECT_GT(after->cpu_s, before->cpu_s);
  EXPECT_GE(after->cpu_s - before->cpu_s, 0.05);
  // The kernel's own clock for this process agrees, to a few ticks.
  EXPECT_NEAR(after->cpu_s, process_cpu_s(), 0.1);
}

TEST(report_sample_process, resident_memory_grows_when_touched) {
  const auto before = sample_process(getpid());
  ASSERT_TRUE(before.has_value());
  constexpr std::size_t size = 64u << 20;
  std::vector<char> block(size);
  std::memset(block.data(), 1, size);
  const auto after = sample_process(getpid());
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(after->rss_bytes, before->rss_bytes + size / 2);
  EXPECT_EQ(block[size - 1], 1);
}

TEST(report_sample_process, command_name_with_parens_and_spaces) {
  // comm is printed raw inside "(...)"; only the last ')' ends it.
  char saved[17] = {};
  prctl(PR_GET_NAME, saved);
  ASSERT_EQ(prctl(PR_SET_NAME, "a) b ) c 1 2 3"), 0);
  const auto s = sample_process(getpid());
  prctl(PR_SET_NAME, saved);
  ASSERT_TRUE(s.has_value());
  EXPECT_GT(s->rss_bytes, 0u);
  EXPECT_NEAR(s->cpu_s, process_cpu_s(), 0.1);
}

TEST(report_sample_process, gone_or_invalid_pid) {
  EXPECT_EQ(sample_process(0), std::nullopt);
  EXPECT_EQ(sample_process(-1), std::nullopt);
  EXPECT_EQ(sample_process(INT_MAX), std::nullopt);  // above any pid_max
  // A child that has exited and been reaped.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(sample_process(child), std::nullopt);
}

} // namespace
