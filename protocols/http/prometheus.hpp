#pragma once

// The Prometheus text exposition format (version 0.0.4): what /metrics
// answers. A writer for families, samples and histograms, with escaping.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace centralita::http {

using label = std::pair<std::string_view, std::string_view>;

class metrics_writer {
public:
  /// "# HELP name help" and "# TYPE name type" (counter, gauge, histogram).
  /// Call once per family, before its samples.
  void family(std::string_view name, std::string_view help, std::string_view type);
  /// "name{l1="v1",...} value" (label values escaped: \\ \" \n).
  void sample(std::string_view name, std::initializer_list<label> labels, double value);
  void sample(std::string_view name, std::span<const label> labels, double value);
  /// A histogram's series: name_bucket{le=".."} (cumulative, from per-bucket
  /// counts), name_bucket{le="+Inf"}, name_sum and name_count. `bounds` are
  /// the upper bounds (ascending) of the first buckets; `counts` has one
  /// more entry than `bounds` (the last is the overflow bucket).
  void histogram(std::string_view name, std::initializer_list<label> labels,
                 std::span<const double> bounds, std::span<const uint64_t> counts, double sum);

  const std::string& text() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

  /// Content-Type of the format.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

private:
  std::string out_;
};

} // namespace centralita::http
