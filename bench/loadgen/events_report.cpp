#include "bench/loadgen/events_report.hpp"

#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace centralita::loadgen {

namespace {

double us_to_ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

/// printf into a std::string (GCC 12 has no std::format).
[[gnu::format(printf, 2, 3)]] void append(std::string& out, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n > 0) {
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(n) + 1);
    std::vsnprintf(out.data() + at, static_cast<std::size_t>(n) + 1, fmt, args);
    out.resize(at + static_cast<std::size_t>(n));
  }
  va_end(args);
}

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

nlohmann::json histogram_json(const latency_histogram& h) {
  return {{"p50", us_to_ms(h.percentile(50))},   {"p90", us_to_ms(h.percentile(90))},
          {"p99", us_to_ms(h.percentile(99))},   {"p999", us_to_ms(h.percentile(99.9))},
          {"max", us_to_ms(h.max())},            {"mean", std::round(h.mean()) / 1000.0},
          {"count", h.count()}};
}

} // namespace

events_report make_events_report(events_run_result run, const std::string& target_url,
                                 std::optional<run_report> driver) {
  events_report r;
  auto& b = r.base;
  b.scenario = "events";
  b.target = target_url;
  b.transport = "ws";
  r.subscribers = static_cast<unsigned>(run.subscribers.size());
  r.expected = run.expected;

  std::vector<subscriber_seen> seen;
  std::vector<uint64_t> delivered;
  for (const auto& o : run.subscribers) {
    if (o.slow)
      ++r.slow;
    if (o.hello) {
      ++r.connected;
      seen.push_back({o.hello_seq, &o.seqs, o.driven_delivered});
      delivered.push_back(o.delivered);
    } else {
      ++r.connect_failures[o.failure.empty() ? "handshake" : o.failure];
    }
    r.delivered += o.delivered;
    r.dropped_notices += o.dropped_notices;
    r.dropped_events += o.dropped_events;
    r.missed_notices += o.missed_notices;
    r.missed_events += o.missed_events;
    if (o.error_notices > 0 && r.error_notices == 0)
      r.first_error = o.first_error;
    r.error_notices += o.error_notices;
    r.duplicates += o.duplicates;
    r.out_of_order += o.out_of_order;
    b.malformed += o.malformed;
    if (o.close_code)
      ++r.closes_by_code[std::to_string(*o.close_code)];
  }
  r.per_subscriber = spread_of(delivered);
  // Only subscribers that streamed are owed events: the others are connect
  // failures, counted as such.
  auto gaps = count_gaps(seen, run.expected);
  std::size_t k = 0;
  for (unsigned i = 0; i < run.subscribers.size(); ++i) {
    const auto& o = run.subscribers[i];
    subscriber_line line;
    line.index = i;
    line.slow = o.slow;
    line.connected = o.hello;
    line.failure = o.failure;
    line.failure_detail = o.failure_detail.empty() ? o.protocol_error : o.failure_detail;
    line.hello_seq = o.hello_seq;
    line.delivered = o.delivered;
    line.driven_delivered = o.driven_delivered;
    line.dropped_events = o.dropped_events;
    line.close_code = o.close_code;
    if (o.hello) {
      line.gaps = gaps[k++];
      r.gaps += line.gaps.total();
      r.gaps_vs_union += line.gaps.vs_union;
      r.gaps_vs_expected += line.gaps.vs_expected;
      if (line.gaps.total() > 0)
        ++r.subscribers_with_gaps;
    }
    r.lines.push_back(std::move(line));
  }

  b.attempted = r.subscribers;
  b.succeeded = r.connected;
  b.failed = r.subscribers - r.connected;
  b.failures_by_cause = r.connect_failures;
  b.elapsed_s = run.elapsed_s;
  r.events_per_s = run.streaming_s > 0 ? static_cast<double>(r.delivered) / run.streaming_s : 0;
  b.rate_achieved = r.events_per_s;
  b.latency["delivery"] = run.delivery;
  if (run.delivery_slow.count() > 0)
    b.latency["delivery_slow"] = run.delivery_slow;
  for (const auto& s : run.timeline) {
    second_sample t;
    t.t = s.t;
    t.attempted = t.succeeded = s.delivered;
    t.p99_us = s.p99_us;
    b.timeline.push_back(t);
  }
  if (driver) {
    b.rate_offered = driver->rate_offered;
    r.driver = std::move(driver);
  }
  return r;
}

nlohmann::json to_json(const events_report& r) {
  auto j = to_json(r.base);
  j["subscribers"] = r.subscribers;
  j["slow"] = r.slow;
  j["connected"] = r.connected;
  j["connect_failures"] = r.connect_failures;
  j["delivered"] = r.delivered;
  j["delivered_per_subscriber"] = {{"min", r.per_subscriber.min},
                                   {"median", r.per_subscriber.median},
                                   {"max", r.per_subscriber.max}};
  j["events_per_s"] = r.events_per_s;
  j["expected_per_subscriber"] = r.expected ? nlohmann::json(*r.expected) : nlohmann::json(nullptr);
  j["gaps"] = r.gaps;
  j["gaps_detail"] = {{"vs_union", r.gaps_vs_union},
                      {"vs_expected", r.gaps_vs_expected},
                      {"subscribers_with_gaps", r.subscribers_with_gaps}};
  j["dropped"] = {{"notices", r.dropped_notices}, {"events", r.dropped_events}};
  j["missed"] = {{"notices", r.missed_notices}, {"events", r.missed_events}};
  j["errors"] = {{"notices", r.error_notices}, {"first", r.first_error}};
  j["duplicates"] = r.duplicates;
  j["out_of_order"] = r.out_of_order;
  j["closes_by_code"] = r.closes_by_code;
  // A second of an events run counts deliveries (attempted = succeeded).
  j["timeline"] = nlohmann::json::array();
  for (const auto& s : r.base.timeline)
    j["timeline"].push_back({{"t", s.t},
                             {"attempted", s.attempted},
                             {"succeeded", s.succeeded},
                             {"failed", s.failed},
                             {"delivered", s.succeeded},
                             {"p99_ms", us_to_ms(s.p99_us)}});
  if (r.driver) {
    auto d = to_json(*r.driver);
    d.erase("timeline");
    j["driver"] = std::move(d);
  } else {
    j["driver"] = nullptr;
  }
  j["per_subscriber"] = nlohmann::json::array();
  for (const auto& l : r.lines) {
    nlohmann::json s = {{"index", l.index},
                        {"slow", l.slow},
                        {"connected", l.connected},
                        {"delivered", l.delivered},
                        {"gaps", l.gaps.total()},
                        {"gaps_vs_union", l.gaps.vs_union},
                        {"gaps_vs_expected", l.gaps.vs_expected},
                        {"dropped", l.dropped_events},
                        {"close_code", l.close_code ? nlohmann::json(*l.close_code) : nlohmann::json(nullptr)}};
    if (l.connected)
      s["hello_seq"] = l.hello_seq;
    if (!l.failure.empty())
      s["failure"] = l.failure;
    if (!l.failure_detail.empty())
      s["detail"] = l.failure_detail;
    j["per_subscriber"].push_back(std::move(s));
  }
  j["latency_ms"] = histogram_json(r.base.latency.at("delivery"));
  return j;
}

std::string summary_table(const events_report& r) {
  // The layout of report.cpp's table: a 16-wide label, a 12-wide value.
  std::string out;
  const auto& b = r.base;
  append(out, "%-16s%s\n", "scenario", b.scenario.c_str());
  append(out, "%-16s%s (%s)\n", "target", b.target.c_str(), b.transport.c_str());
  append(out, "%-16s%12.2f s\n", "elapsed", b.elapsed_s);
  out += '\n';
  append(out, "%-16s%12u", "subscribers", r.subscribers);
  if (r.slow > 0)
    append(out, "  (%u slow)", r.slow);
  out += '\n';
  append(out, "%-16s%12llu\n", "connected", ull(r.connected));
  append(out, "%-16s%12llu\n", "failed", ull(b.failed));
  for (const auto& [cause, n] : r.connect_failures)
    append(out, "  %-14s%12llu\n", cause.c_str(), ull(n));
  out += '\n';
  append(out, "%-16s%12llu\n", "delivered", ull(r.delivered));
  append(out, "  %-14s%12llu / %llu / %llu  (min / median / max)\n", "per subscriber",
         ull(r.per_subscriber.min), ull(r.per_subscriber.median), ull(r.per_subscriber.max));
  if (r.expected)
    append(out, "  %-14s%12llu  (the driver's successes)\n", "expected each", ull(*r.expected));
  append(out, "%-16s%12.1f /s\n", "events", r.events_per_s);
  append(out, "%-16s%12llu", "gaps", ull(r.gaps));
  if (r.gaps > 0)
    append(out, "  in %llu subscriber(s); vs union %llu, vs expected %llu",
           ull(r.subscribers_with_gaps), ull(r.gaps_vs_union), ull(r.gaps_vs_expected));
  out += '\n';
  append(out, "%-16s%12llu  notices, %llu events\n", "dropped", ull(r.dropped_notices),
         ull(r.dropped_events));
  if (r.missed_notices > 0)
    append(out, "%-16s%12llu  notices, %llu seqs\n", "missed", ull(r.missed_notices), ull(r.missed_events));
  if (r.error_notices > 0)
    append(out, "%-16s%12llu  (%s)\n", "errors", ull(r.error_notices), r.first_error.c_str());
  if (r.duplicates + r.out_of_order > 0)
    append(out, "%-16s%12llu duplicate(s), %llu out of order\n", "order", ull(r.duplicates),
           ull(r.out_of_order));
  if (b.malformed > 0)
    append(out, "%-16s%12llu\n", "malformed", ull(b.malformed));
  if (!r.closes_by_code.empty()) {
    out += "server closes\n";
    for (const auto& [code, n] : r.closes_by_code)
      append(out, "  %-14s%12llu\n", code.c_str(), ull(n));
  }
  if (r.driver) {
    const auto& d = *r.driver;
    out += '\n';
    append(out, "%-16s%12llu  REGISTER at %.1f/s: %llu ok, %llu failed", "driver", ull(d.attempted),
           d.rate_offered, ull(d.succeeded), ull(d.failed));
    for (const auto& [cause, n] : d.failures_by_cause)
      append(out, " %s:%llu", cause.c_str(), ull(n));
    out += '\n';
  }
  out += '\n';
  append(out, "%-16s%12s%10s%10s%10s%10s%10s\n", "latency (ms)", "count", "p50", "p90", "p99", "p99.9",
         "max");
  for (const char* name : {"delivery", "delivery_slow"}) {
    auto it = b.latency.find(name);
    if (it == b.latency.end())
      continue;
    const auto& h = it->second;
    append(out, "%-16s%12llu%10.3f%10.3f%10.3f%10.3f%10.3f\n", name, ull(h.count()),
           us_to_ms(h.percentile(50)), us_to_ms(h.percentile(90)), us_to_ms(h.percentile(99)),
           us_to_ms(h.percentile(99.9)), us_to_ms(h.max()));
  }
  if (r.driver) {
    if (auto it = r.driver->latency.find("response"); it != r.driver->latency.end()) {
      const auto& d = it->second;
      append(out, "%-16s%12llu%10.3f%10.3f%10.3f%10.3f%10.3f\n", "REGISTER", ull(d.count()),
             us_to_ms(d.percentile(50)), us_to_ms(d.percentile(90)), us_to_ms(d.percentile(99)),
             us_to_ms(d.percentile(99.9)), us_to_ms(d.max()));
    }
  }
  out += '\n';
  if (b.target_cpu_us_per_op)
    append(out, "%-16s%12.1f µs/event\n", "target CPU", *b.target_cpu_us_per_op);
  if (b.target_rss_bytes)
    append(out, "%-16s%12.1f MiB\n", "target RSS", static_cast<double>(*b.target_rss_bytes) / (1024.0 * 1024.0));
  if (r.delivered > 0)
    append(out, "%-16s%12.1f µs/event\n", "generator CPU", b.self_cpu_us_per_op);
  return out;
}

std::string events_progress_line(const events_second& s, unsigned subscribers, uint64_t delivered,
                                 double rate_now) {
  std::string out;
  append(out, "%.1f s  %llu/%u connected", s.t, ull(s.connected), subscribers);
  if (s.failed > 0)
    append(out, " (%llu failed)", ull(s.failed));
  append(out, "  %llu events  %.0f/s  p99 %.1f ms", ull(delivered), rate_now, us_to_ms(s.p99_us));
  return out;
}

} // namespace centralita::loadgen
