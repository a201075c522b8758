#pragma once

// What an `events` run found (docs/load-testing.md, "events"), and how it is
// shown: the JSON of the SIP scenarios (report.hpp: the same keys, with
// attempted/succeeded/failed counting subscribers) plus the stream's own
// keys, a summary table, and the live progress line.

#include "bench/loadgen/events_accounting.hpp"
#include "bench/loadgen/events_client.hpp"
#include "bench/loadgen/report.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace centralita::loadgen {

/// One subscriber in the report.
struct subscriber_line {
  unsigned index = 0;
  bool slow = false;
  bool connected = false;        ///< its hello came
  std::string failure;           ///< why not (connect failure cause)
  std::string failure_detail;
  uint64_t hello_seq = 0;
  uint64_t delivered = 0;
  uint64_t driven_delivered = 0;
  gap_count gaps;
  uint64_t dropped_events = 0;   ///< counted by the switch's "dropped" notices
  std::optional<uint16_t> close_code;
};

struct events_report {
  run_report base;               ///< the usual keys (scenario "events", latency "delivery")
  unsigned subscribers = 0;
  unsigned slow = 0;
  uint64_t connected = 0;
  std::map<std::string, uint64_t> connect_failures;  ///< "refused", "401", "timeout"...
  uint64_t delivered = 0;
  spread per_subscriber;         ///< delivered by connected subscribers
  double events_per_s = 0;       ///< delivered over the time all were subscribed
  std::optional<uint64_t> expected;  ///< driven events owed to each subscriber
  uint64_t gaps = 0;             ///< sum of each subscriber's gaps (the larger of the two counts)
  uint64_t gaps_vs_union = 0;
  uint64_t gaps_vs_expected = 0;
  uint64_t subscribers_with_gaps = 0;
  uint64_t dropped_notices = 0, dropped_events = 0;
  uint64_t missed_notices = 0, missed_events = 0;
  uint64_t error_notices = 0;
  std::string first_error;       ///< of the "error" notices
  uint64_t duplicates = 0, out_of_order = 0;
  std::map<std::string, uint64_t> closes_by_code;  ///< the switch's closes: "1008", "1006"...
  std::optional<run_report> driver;  ///< the register driver's own report
  std::vector<subscriber_line> lines;
};

/// Builds the report from a finished run (gaps counted here, count_gaps()).
/// `driver`: the driver's report when one ran.
events_report make_events_report(events_run_result run, const std::string& target_url,
                                 std::optional<run_report> driver);

/// The JSON: to_json(base) with the events keys added (`subscribers`,
/// `connected`, `connect_failures`, `delivered`, `delivered_per_subscriber`,
/// `events_per_s`, `expected_per_subscriber`, `gaps`, `gaps_detail`,
/// `dropped`, `missed`, `errors`, `duplicates`, `out_of_order`,
/// `closes_by_code`, `driver`, `per_subscriber`), and a timeline whose
/// seconds count deliveries.
nlohmann::json to_json(const events_report& r);

/// A plain-text summary table for a terminal or a log.
std::string summary_table(const events_report& r);

/// The live line ("3.0 s  20/20 connected  5000 events  2500/s  p99 1.2 ms"), no newline.
std::string events_progress_line(const events_second& s, unsigned subscribers, uint64_t delivered,
                                 double rate_now);

} // namespace centralita::loadgen
