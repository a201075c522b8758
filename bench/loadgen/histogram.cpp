#include "bench/loadgen/histogram.hpp"

#include <bit>
#include <cmath>

namespace centralita::loadgen {

// Bucket layout. Group 0 holds the values 0..63, one bucket each. A value v
// >= 64 with its highest set bit at k (k >= 6) falls in group m = k - 5, and
// within it in sub-bucket (v >> (k - 6)) - 64: the 6 bits below the top bit.
// Group 1 (k = 6) therefore also has width-1 buckets, so 0..127 are exact and
// the indexes run on without a gap (index_of(v) == v below 128). A bucket in
// group m spans 2^(m-1) values starting at >= 64 * 2^(m-1), hence the
// reported (highest) value is less than 1/64 above anything in it.

namespace {

constexpr unsigned sub_bits = 6;
constexpr uint64_t sub_count = uint64_t{1} << sub_bits;

/// a + b, stuck at UINT64_MAX instead of wrapping (sum_ is only for mean()).
uint64_t add_saturating(uint64_t a, uint64_t b) noexcept {
  uint64_t s = 0;
  return __builtin_add_overflow(a, b, &s) ? UINT64_MAX : s;
}

} // namespace

std::size_t latency_histogram::index_of(uint64_t v) noexcept {
  if (v < sub_count) return static_cast<std::size_t>(v);
  const unsigned k = static_cast<unsigned>(std::bit_width(v)) - 1;  // top bit
  const unsigned m = k - (sub_bits - 1);
  const uint64_t sub = (v >> (k - sub_bits)) - sub_count;
  return (static_cast<std::size_t>(m) << sub_bits) + static_cast<std::size_t>(sub);
}

uint64_t latency_histogram::highest_in(std::size_t index) noexcept {
  const std::size_t m = index >> sub_bits;
  const uint64_t sub = index & (sub_count - 1);
  if (m == 0) return sub;
  const std::size_t shift = m - 1;
  return ((sub_count + sub + 1) << shift) - 1;
}

void latency_histogram::record(uint64_t us) noexcept {
  // Clamp to the top of the last bucket so that min, max, sum and the
  // buckets all describe the same (clamped) value and percentile <= max.
  const uint64_t largest = highest_in(buckets_.size() - 1);
  if (us > largest) us = largest;
  ++buckets_[index_of(us)];
  ++count_;
  sum_ = add_saturating(sum_, us);
  if (us < min_) min_ = us;
  if (us > max_) max_ = us;
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ = add_saturating(sum_, other.sum_);
  if (other.min_ < min_) min_ = other.min_;
  if (other.max_ > max_) max_ = other.max_;
}

void latency_histogram::reset() noexcept { *this = latency_histogram{}; }

uint64_t latency_histogram::percentile(double p) const noexcept {
  if (count_ == 0) return 0;
  // p <= 0 (and NaN) asks for the smallest value, which is known exactly;
  // the bucket's highest value would overstate it.
  if (!(p > 0)) return min_;
  if (p >= 100) return max_;
  // Nearest rank: the ceil(p/100 * count)-th smallest. The tiny slack keeps
  // rounding in p/100 * count (99.9 is not exact in binary) from pushing an
  // exact integer one rank up.
  const double exact = p / 100.0 * static_cast<double>(count_);
  double rank_d = std::ceil(exact - exact * 1e-12);
  if (rank_d < 1) rank_d = 1;
  const uint64_t rank = rank_d >= static_cast<double>(count_) ? count_ : static_cast<uint64_t>(rank_d);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const uint64_t v = highest_in(i);
      return v < max_ ? v : max_;
    }
  }
  return max_;  // unreachable: the buckets add up to count_
}

} // namespace centralita::loadgen
