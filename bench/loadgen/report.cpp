#include "bench/loadgen/report.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

namespace centralita::loadgen {

namespace {

/// µs → ms as a double. Integer µs divided by 1000 prints with at most three
/// decimals (nlohmann writes the shortest form that reads back the same).
double us_to_ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

nlohmann::json histogram_json(const latency_histogram& h) {
  return {{"p50", us_to_ms(h.percentile(50))},   {"p90", us_to_ms(h.percentile(90))},
          {"p99", us_to_ms(h.percentile(99))},   {"p999", us_to_ms(h.percentile(99.9))},
          {"max", us_to_ms(h.max())},
          // The mean is the one non-integer: rounded to the µs like the rest.
          {"mean", std::round(h.mean()) / 1000.0}, {"count", h.count()}};
}

/// The histogram behind the headline "latency_ms": the response time when the
/// scenario measures one, else call setup, else whichever comes first;
/// nullptr when the run measured no latency at all.
const latency_histogram* headline(const run_report& r) {
  for (const char* name : {"response", "setup"}) {
    if (auto it = r.latency.find(name); it != r.latency.end()) return &it->second;
  }
  return r.latency.empty() ? nullptr : &r.latency.begin()->second;
}

/// Histogram names in the order a reader expects them (the map's own order
/// is alphabetical, which would put "pdd" first), then any others.
std::vector<std::string> display_order(const run_report& r) {
  std::vector<std::string> names;
  for (const char* name : {"response", "setup", "pdd"}) {
    if (r.latency.count(name)) names.emplace_back(name);
  }
  for (const auto& [name, h] : r.latency) {
    if (name != "response" && name != "setup" && name != "pdd") names.push_back(name);
  }
  return names;
}

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

double percent(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

/// A latency for a person: more decimals when small, so that 0.41 ms does
/// not read as 0.4 and 1234.5 ms does not carry noise digits.
std::string format_ms(uint64_t us) {
  std::string s;
  const double ms = us_to_ms(us);
  append(s, ms < 1 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f", ms);
  return s;
}

/// Reads a whole /proc file. Its size reads as 0, so stream it.
std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(ss).str();
}

std::optional<uint64_t> to_u64(std::string_view s) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

/// The `index`-th (0-based) space-separated field of `s`.
std::optional<std::string_view> field(std::string_view s, std::size_t index) {
  std::size_t pos = 0;
  for (std::size_t i = 0;; ++i) {
    pos = s.find_first_not_of(" \n", pos);
    if (pos == std::string_view::npos) return std::nullopt;
    const std::size_t end = std::min(s.find_first_of(" \n", pos), s.size());
    if (i == index) return s.substr(pos, end - pos);
    pos = end;
  }
}

} // namespace

const latency_histogram* headline_latency(const run_report& r) { return headline(r); }

nlohmann::json to_json(const run_report& r) {
  nlohmann::json j = {
      {"scenario", r.scenario},
      {"target", r.target},
      {"transport", r.transport},
      {"attempted", r.attempted},
      {"succeeded", r.succeeded},
      {"failed", r.failed},
      {"failures_by_cause", r.failures_by_cause},
      {"retransmissions", r.retransmissions},
      {"malformed", r.malformed},
      {"elapsed_s", r.elapsed_s},
      {"rate_offered", r.rate_offered},
      {"rate_achieved", r.rate_achieved},
      {"self_cpu_us_per_op", r.self_cpu_us_per_op},
  };
  // Always present, so a script can read latency_ms.p99 without a check; a
  // run without latencies reads as an empty histogram (zeros, count 0).
  const latency_histogram* head = headline(r);
  j["latency_ms"] = histogram_json(head ? *head : latency_histogram{});
  j["latencies_ms"] = nlohmann::json::object();
  for (const auto& [name, h] : r.latency) j["latencies_ms"][name] = histogram_json(h);
  // Measured only when the target's pid was given: absent, not 0, otherwise.
  if (r.target_cpu_us_per_op) j["target_cpu_us_per_op"] = *r.target_cpu_us_per_op;
  if (r.target_rss_bytes) j["target_rss_bytes"] = *r.target_rss_bytes;
  j["timeline"] = nlohmann::json::array();
  for (const auto& s : r.timeline) {
    j["timeline"].push_back({{"t", s.t},
                             {"attempted", s.attempted},
                             {"succeeded", s.succeeded},
                             {"failed", s.failed},
                             {"p99_ms", us_to_ms(s.p99_us)}});
  }
  return j;
}

std::string summary_table(const run_report& r) {
  // Two columns: a left-aligned label (16) and a right-aligned value (12),
  // then a unit or a share. Only ASCII before the last column, so byte
  // widths are display widths and the columns line up.
  std::string out;
  append(out, "%-16s%s\n", "scenario", r.scenario.c_str());
  append(out, "%-16s%s (%s)\n", "target", r.target.c_str(), r.transport.c_str());
  append(out, "%-16s%12.2f s\n", "elapsed", r.elapsed_s);
  out += '\n';
  append(out, "%-16s%12llu\n", "attempted", static_cast<unsigned long long>(r.attempted));
  append(out, "%-16s%12llu  %6.2f%%\n", "succeeded", static_cast<unsigned long long>(r.succeeded),
         percent(r.succeeded, r.attempted));
  append(out, "%-16s%12llu  %6.2f%%\n", "failed", static_cast<unsigned long long>(r.failed),
         percent(r.failed, r.attempted));
  for (const auto& [cause, n] : r.failures_by_cause) {
    append(out, "  %-14s%12llu\n", cause.c_str(), static_cast<unsigned long long>(n));
  }
  append(out, "%-16s%12llu\n", "retransmissions", static_cast<unsigned long long>(r.retransmissions));
  append(out, "%-16s%12llu\n", "malformed", static_cast<unsigned long long>(r.malformed));
  append(out, "%-16s%12.1f /s\n", "rate offered", r.rate_offered);
  append(out, "%-16s%12.1f /s\n", "rate achieved", r.rate_achieved);

  if (!r.latency.empty()) {
    out += '\n';
    append(out, "%-16s%12s%10s%10s%10s%10s%10s\n", "latency (ms)", "count", "p50", "p90", "p99",
           "p99.9", "max");
    for (const auto& name : display_order(r)) {
      const latency_histogram& h = r.latency.at(name);
      append(out, "%-16s%12llu%10.3f%10.3f%10.3f%10.3f%10.3f\n", name.c_str(),
             static_cast<unsigned long long>(h.count()), us_to_ms(h.percentile(50)),
             us_to_ms(h.percentile(90)), us_to_ms(h.percentile(99)), us_to_ms(h.percentile(99.9)),
             us_to_ms(h.max()));
    }
  }

  out += '\n';
  if (r.target_cpu_us_per_op) append(out, "%-16s%12.1f µs/op\n", "target CPU", *r.target_cpu_us_per_op);
  if (r.target_rss_bytes) {
    append(out, "%-16s%12.1f MiB\n", "target RSS",
           static_cast<double>(*r.target_rss_bytes) / (1024.0 * 1024.0));
  }
  append(out, "%-16s%12.1f µs/op\n", "generator CPU", r.self_cpu_us_per_op);
  return out;
}

std::string progress_line(const run_report& r, double rate_now, uint64_t p99_us_now) {
  std::string out;
  append(out, "%.1f s  %.0f/s  %llu ok  %llu failed  p99 %s ms", r.elapsed_s, rate_now,
         static_cast<unsigned long long>(r.succeeded), static_cast<unsigned long long>(r.failed),
         format_ms(p99_us_now).c_str());
  return out;
}

namespace {

/// CPU ticks (utime + stime + cutime + cstime) and resident pages of one
/// process, and its parent's pid; nullopt when it is gone or unreadable.
struct proc_counters {
  int ppid = 0;
  uint64_t ticks = 0;
  uint64_t pages = 0;
};

std::optional<proc_counters> read_counters(int pid, bool with_memory) {
  const std::string dir = "/proc/" + std::to_string(pid);
  const auto stat = slurp(dir + "/stat");
  if (!stat) return std::nullopt;
  // proc(5): "pid (comm) state ppid ..."; comm may hold spaces and ')', so
  // count fields from the last ')'. The field after it is field 3 (state):
  // ppid (4) is the 1st after it (0-based 1), utime, stime, cutime, cstime
  // (14-17) the 11th to 14th. All in clock ticks; utime and stime cover every
  // thread, cutime and cstime the children it has waited for.
  const std::size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  const std::string_view rest = std::string_view(*stat).substr(close + 1);
  proc_counters out;
  const auto ppid = field(rest, 1);
  const auto pp = ppid ? to_u64(*ppid) : std::nullopt;
  if (!pp) return std::nullopt;
  out.ppid = static_cast<int>(*pp);
  for (std::size_t i = 11; i <= 14; ++i) {
    const auto f = field(rest, i);
    const auto v = f ? to_u64(*f) : std::nullopt;
    if (!v) return std::nullopt;
    out.ticks += *v;
  }
  if (with_memory) {
    // statm: "size resident shared ...", in pages.
    const auto statm = slurp(dir + "/statm");
    const auto resident = statm ? field(*statm, 1) : std::nullopt;
    const auto pages = resident ? to_u64(*resident) : std::nullopt;
    if (!pages) return std::nullopt;
    out.pages = *pages;
  }
  return out;
}

/// The pids in "/proc/<pid>/task/<tid>/children" of every thread of `pid`;
/// nullopt when the kernel has no such file (CONFIG_PROC_CHILDREN is off).
std::optional<std::vector<int>> listed_children(int pid) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", ec);
  if (ec) return std::vector<int>{};  // gone since it was found: no children
  std::vector<int> out;
  bool any_file = false;
  for (; tasks != std::filesystem::directory_iterator{}; tasks.increment(ec)) {
    if (ec) break;
    const auto text = slurp((tasks->path() / "children").string());
    if (!text) continue;
    any_file = true;
    for (std::size_t i = 0;; ++i) {
      const auto f = field(*text, i);
      if (!f) break;
      if (const auto child = to_u64(*f)) out.push_back(static_cast<int>(*child));
    }
  }
  if (!any_file) return std::nullopt;
  return out;
}

/// `root` and all its descendants. The children files are cheap but optional
/// in the kernel; without them, one pass over /proc/*/stat maps every
/// process to its parent.
std::vector<int> process_tree(int root) {
  std::vector<int> out{root};
  if (auto kids = listed_children(root)) {
    out.insert(out.end(), kids->begin(), kids->end());
    for (std::size_t i = 1; i < out.size(); ++i) {
      if ((kids = listed_children(out[i]))) out.insert(out.end(), kids->begin(), kids->end());
    }
    return out;
  }
  std::map<int, std::vector<int>> children;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec);
       !ec && it != std::filesystem::directory_iterator{}; it.increment(ec)) {
    const auto pid = to_u64(it->path().filename().string());
    if (!pid) continue;  // not a process directory
    if (const auto c = read_counters(static_cast<int>(*pid), false))
      children[c->ppid].push_back(static_cast<int>(*pid));
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (const auto it = children.find(out[i]); it != children.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

} // namespace

std::optional<process_sample> sample_process(int pid) {
  if (pid <= 0) return std::nullopt;
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  if (ticks <= 0 || page <= 0) return std::nullopt;

  // A forking server (Kamailio: one process per receiver, timer, ...) costs
  // what its whole tree costs: sum every descendant alive now, plus (through
  // cutime/cstime) those that ended and were waited for. A descendant that
  // exits between the listing and its reading is skipped; the root must be
  // there.
  uint64_t total_ticks = 0;
  uint64_t total_pages = 0;
  for (const int p : process_tree(pid)) {
    const auto c = read_counters(p, true);
    if (!c) {
      if (p == pid) return std::nullopt;
      continue;
    }
    total_ticks += c->ticks;
    total_pages += c->pages;  // RSS: pages shared between the processes count in each
  }

  process_sample out;
  out.cpu_s = static_cast<double>(total_ticks) / static_cast<double>(ticks);
  out.rss_bytes = total_pages * static_cast<uint64_t>(page);
  return out;
}

} // namespace centralita::loadgen
