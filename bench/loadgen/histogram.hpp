#pragma once

// Latency histogram for the load generator, HDR-style: log-linear buckets
// (each power of two split into 64 sub-buckets, so any recorded value is
// reported within 1/64 ≈ 1.6% of itself), fixed memory, O(1) record, exact
// min, max, count and sum. Values are microseconds; everything from 0 to
// 2^47 - 1 µs (over four years) fits, larger values are clamped to that.

#include <array>
#include <cstdint>
#include <vector>

namespace centralita::loadgen {

class latency_histogram {
public:
  void record(uint64_t us) noexcept;
  /// Adds every value `other` recorded.
  void merge(const latency_histogram& other) noexcept;
  void reset() noexcept;

  uint64_t count() const noexcept { return count_; }
  uint64_t min() const noexcept { return count_ ? min_ : 0; }
  uint64_t max() const noexcept { return max_; }
  double mean() const noexcept { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

  /// The value at percentile `p` (0..100): the highest value of the bucket
  /// holding the ceil(p/100 * count)-th smallest value, capped at max().
  /// 0 when empty. percentile(100) == max(), percentile(0) == min().
  uint64_t percentile(double p) const noexcept;

private:
  static constexpr unsigned sub_bits = 6;  // 64 sub-buckets per power of two
  static constexpr unsigned magnitudes = 41;
  static std::size_t index_of(uint64_t v) noexcept;
  static uint64_t highest_in(std::size_t index) noexcept;

  std::array<uint64_t, (magnitudes + 1) << sub_bits> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

} // namespace centralita::loadgen
