// Properties of latency_histogram (rapidcheck), against a sorted copy of the
// recorded values as the reference:
//  1. percentile(p) is never below the true nearest-rank value v (the
//     ceil(p/100 * n)-th smallest, the 1st for p = 0) and at most v/64 above
//     it; exactly v when v < 128 and when p = 0 (min) or p = 100 (max);
//  2. percentile is monotone in p and never above max();
//  3. merging two histograms equals recording all values in one;
//  4. count, min, max and mean are exact.
// p is drawn in thousandths of a percent so that the reference rank is exact
// integer arithmetic: ceil(k * n / 100000) for p = k / 1000.

#include "bench/loadgen/histogram.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

using centralita::loadgen::latency_histogram;

namespace {

constexpr uint64_t largest = (uint64_t{1} << 47) - 1;

/// Latencies of every scale: exact-range, typical (µs to seconds), and huge.
rc::Gen<uint64_t> latency() {
  return rc::gen::oneOf(rc::gen::inRange<uint64_t>(0, 200), rc::gen::inRange<uint64_t>(0, 5'000'000),
                        rc::gen::inRange<uint64_t>(0, largest + 1));
}

rc::Gen<std::vector<uint64_t>> latencies() {
  return rc::gen::nonEmpty(rc::gen::container<std::vector<uint64_t>>(latency()));
}

latency_histogram of(const std::vector<uint64_t>& values) {
  latency_histogram h;
  for (uint64_t v : values) h.record(v);
  return h;
}

/// The reference: the nearest-rank value for p = k/1000 percent.
uint64_t true_percentile(const std::vector<uint64_t>& sorted, uint64_t k) {
  const uint64_t n = sorted.size();
  uint64_t rank = (k * n + 99'999) / 100'000;  // ceil(k * n / 100000)
  if (rank == 0) rank = 1;
  return sorted[rank - 1];
}

RC_GTEST_PROP(latency_histogram_prop, percentile_within_one_64th_above_nearest_rank, ()) {
  auto values = *latencies();
  const auto h = of(values);
  std::sort(values.begin(), values.end());
  const auto ks = *rc::gen::container<std::vector<uint64_t>>(
      rc::gen::oneOf(rc::gen::inRange<uint64_t>(0, 100'001),
                     rc::gen::element<uint64_t>(0, 50'000, 90'000, 99'000, 99'900, 100'000)));
  for (uint64_t k : ks) {
    const uint64_t want = true_percentile(values, k);
    const uint64_t got = h.percentile(static_cast<double>(k) / 1000.0);
    RC_ASSERT(got >= want);
    RC_ASSERT((got - want) * 64 <= want);  // relative error at most 1/64
    if (want < 128 || k == 0 || k == 100'000) RC_ASSERT(got == want);
  }
}

RC_GTEST_PROP(latency_histogram_prop, percentile_is_monotone_and_capped, ()) {
  const auto h = of(*latencies());
  uint64_t previous = 0;
  for (int k = 0; k <= 1000; ++k) {
    const uint64_t got = h.percentile(k / 10.0);
    RC_ASSERT(got >= previous);
    RC_ASSERT(got <= h.max());
    previous = got;
  }
}

RC_GTEST_PROP(latency_histogram_prop, merge_equals_recording_both, ()) {
  const auto a_values = *rc::gen::container<std::vector<uint64_t>>(latency());
  const auto b_values = *rc::gen::container<std::vector<uint64_t>>(latency());
  auto merged = of(a_values);
  merged.merge(of(b_values));
  auto all = a_values;
  all.insert(all.end(), b_values.begin(), b_values.end());
  const auto both = of(all);
  RC_ASSERT(merged.count() == both.count());
  RC_ASSERT(merged.min() == both.min());
  RC_ASSERT(merged.max() == both.max());
  RC_ASSERT(merged.mean() == both.mean());
  // Every rank, so any bucket that differs shows.
  const uint64_t n = all.size();
  for (uint64_t r = 1; r <= n; ++r) {
    const double p = 100.0 * static_cast<double>(r) / static_cast<double>(n);
    RC_ASSERT(merged.percentile(p) == both.percentile(p));
  }
}

RC_GTEST_PROP(latency_histogram_prop, summary_values_are_exact, ()) {
  const auto values = *latencies();
  const auto h = of(values);
  RC_ASSERT(h.count() == values.size());
  RC_ASSERT(h.min() == *std::min_element(values.begin(), values.end()));
  RC_ASSERT(h.max() == *std::max_element(values.begin(), values.end()));
  long double sum = 0;
  for (uint64_t v : values) sum += v;
  const double mean = static_cast<double>(sum / values.size());
  RC_ASSERT(std::abs(h.mean() - mean) <= mean * 1e-12);
}

} // namespace
