#pragma once

// What a load-generator run found, and how it is shown: a live progress line
// (terminals only), a final summary table, and JSON for machines
// (docs/load-testing.md lists the keys).

#include "bench/loadgen/histogram.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace centralita::loadgen {

/// One second of the run (for the timeline and the HTML charts).
struct second_sample {
  double t = 0;            ///< seconds since the start (end of the interval)
  uint64_t attempted = 0;  ///< in this second
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t p99_us = 0;     ///< of the responses received in this second
  uint64_t p50_us = 0;     ///< the same, median (for the HTML latency chart)
};

struct run_report {
  std::string scenario;            ///< "options", "register", "call", ...
  std::string target;              ///< the SIP URI or address under load
  std::string transport = "udp";
  uint64_t attempted = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  /// "timeout", "transport", "503", "4xx:486"... → count. failed == sum.
  std::map<std::string, uint64_t> failures_by_cause;
  uint64_t retransmissions = 0;
  uint64_t malformed = 0;          ///< unparseable answers (counted, never fatal)
  double elapsed_s = 0;
  double rate_offered = 0;         ///< per second, as asked
  double rate_achieved = 0;        ///< succeeded per second over the active time
  /// Latencies by name: "response" (request to final answer), "setup"
  /// (INVITE to 200), "pdd" (INVITE to first 18x).
  std::map<std::string, latency_histogram> latency;
  std::vector<second_sample> timeline;
  // The target, when its pid was given (same machine): CPU over the run.
  std::optional<double> target_cpu_us_per_op;
  std::optional<uint64_t> target_rss_bytes;
  // The generator itself.
  double self_cpu_us_per_op = 0;
};

/// {"scenario", "target", "transport", "attempted", "succeeded", "failed",
///  "failures_by_cause", "retransmissions", "malformed", "elapsed_s",
///  "rate_offered", "rate_achieved",
///  "latency_ms": {"p50","p90","p99","p999","max","mean","count"} (the "response" histogram,
///                 or "setup" for calls), "latencies_ms": {name: {...}} (all of them),
///  "target_cpu_us_per_op" and "target_rss_bytes" (when measured),
///  "self_cpu_us_per_op", "timeline": [{t, attempted, succeeded, failed, p99_ms}]}
nlohmann::json to_json(const run_report& r);

/// A plain-text summary table for a terminal or a log.
std::string summary_table(const run_report& r);

/// The histogram behind the headline latency ("latency_ms" in the JSON): "response",
/// else "setup", else the first one; nullptr when the run measured no latency.
const latency_histogram* headline_latency(const run_report& r);

/// One progress line ("12.0 s  1000/s  11994 ok  3 failed  p99 1.2 ms"), no newline.
std::string progress_line(const run_report& r, double rate_now, uint64_t p99_us_now);

/// CPU seconds (user + system, all threads) and resident memory of a
/// process, from /proc/<pid>/stat and /proc/<pid>/statm; nullopt if gone.
struct process_sample {
  double cpu_s = 0;
  uint64_t rss_bytes = 0;
};
std::optional<process_sample> sample_process(int pid);

} // namespace centralita::loadgen
