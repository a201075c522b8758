// The Prometheus text format, version 0.0.4: one line per sample, label values
// and HELP text escaped, numbers as Go's ParseFloat reads them.

#include "protocols/http/prometheus.hpp"

#include <cassert>
#include <charconv>
#include <cmath>

namespace centralita::http {

namespace {

/// Integral values print as integers ("1000000", not the shortest "1e+06"),
/// others in the shortest form that reads back exactly ("0.005").
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  std::to_chars_result r;
  if (v == std::trunc(v) && std::fabs(v) < 9.2e18)  // within int64_t
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
  else
    r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

/// Label values escape backslash, double quote and line feed.
void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
}

/// HELP text escapes backslash and line feed only.
void append_help(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
}

/// `{a="x",b="y"}`, with `le` last when given; nothing for no labels at all.
void append_labels(std::string& out, std::span<const label> labels, const std::string* le = nullptr) {
  if (labels.empty() && le == nullptr) return;
  out.push_back('{');
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out += name;
    out += "=\"";
    append_label_value(out, value);
    out.push_back('"');
  }
  if (le != nullptr) {
    if (!first) out.push_back(',');
    out += "le=\"";
    out += *le;
    out.push_back('"');
  }
  out.push_back('}');
}

/// A sample line up to its value: `name_suffix{labels} `.
void begin_sample(std::string& out, std::string_view name, std::string_view suffix,
                  std::span<const label> labels, const std::string* le = nullptr) {
  out += name;
  out += suffix;
  append_labels(out, labels, le);
  out.push_back(' ');
}

/// Counts print exactly, past the 2^53 a double holds.
void append_count(std::string& out, uint64_t n) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
  out.push_back('\n');
}

} // namespace

void metrics_writer::family(std::string_view name, std::string_view help, std::string_view type) {
  out_ += "# HELP ";
  out_ += name;
  out_.push_back(' ');
  append_help(out_, help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_.push_back(' ');
  out_ += type;
  out_.push_back('\n');
}

void metrics_writer::sample(std::string_view name, std::initializer_list<label> labels, double value) {
  sample(name, std::span<const label>(labels.begin(), labels.size()), value);
}

void metrics_writer::sample(std::string_view name, std::span<const label> labels, double value) {
  begin_sample(out_, name, {}, labels);
  append_number(out_, value);
  out_.push_back('\n');
}

void metrics_writer::histogram(std::string_view name, std::initializer_list<label> labels,
                               std::span<const double> bounds, std::span<const uint64_t> counts,
                               double sum) {
  assert(counts.size() == bounds.size() + 1);
  const std::span<const label> ls(labels.begin(), labels.size());
  // Buckets are cumulative: each counts every observation up to its bound.
  uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    le.clear();
    append_number(le, bounds[i]);
    begin_sample(out_, name, "_bucket", ls, &le);
    append_count(out_, cumulative);
  }
  if (counts.size() > bounds.size()) cumulative += counts[bounds.size()];
  le = "+Inf";
  begin_sample(out_, name, "_bucket", ls, &le);
  append_count(out_, cumulative);
  begin_sample(out_, name, "_sum", ls);
  append_number(out_, sum);
  out_.push_back('\n');
  begin_sample(out_, name, "_count", ls);
  append_count(out_, cumulative);
}

} // namespace centralita::http
