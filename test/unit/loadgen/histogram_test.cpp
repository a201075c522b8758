// latency_histogram: exact small values, bucket edges, bounded relative error
// for large ones, the nearest-rank definition of percentile, merge, clamping.

#include "bench/loadgen/histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

using centralita::loadgen::latency_histogram;

namespace {

constexpr uint64_t largest = (uint64_t{1} << 47) - 1;  // top of the last bucket

TEST(latency_histogram, empty_reads_zero) {
  latency_histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  for (double p : {0.0, 1.0, 50.0, 99.9, 100.0}) EXPECT_EQ(h.percentile(p), 0u) << p;
}

TEST(latency_histogram, values_below_128_are_exact) {
  latency_histogram h;
  for (uint64_t v = 0; v < 128; ++v) h.record(v);
  EXPECT_EQ(h.count(), 128u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 127u);
  // The k-th smallest (1-based) is k - 1; percentile 100k/128 has rank k.
  for (uint64_t k = 1; k <= 128; ++k) {
    EXPECT_EQ(h.percentile(100.0 * static_cast<double>(k) / 128.0), k - 1) << k;
  }
}

TEST(latency_histogram, single_value_is_every_percentile) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{63}, uint64_t{64}, uint64_t{1000},
                     uint64_t{123456789}}) {
    latency_histogram h;
    h.record(v);
    // Capped at max(): a lone value reads back exactly, whatever its bucket.
    for (double p : {0.0, 0.001, 50.0, 99.0, 99.9, 100.0}) EXPECT_EQ(h.percentile(p), v) << v << " " << p;
    EXPECT_EQ(h.min(), v);
    EXPECT_EQ(h.max(), v);
    EXPECT_EQ(h.mean(), static_cast<double>(v));
  }
}

TEST(latency_histogram, reports_the_top_of_the_bucket) {
  // 128 and 129 share a bucket (width 2 between 128 and 255); 1000 is alone.
  latency_histogram h;
  h.record(128);
  h.record(1000);
  EXPECT_EQ(h.percentile(50), 129u);
  EXPECT_EQ(h.percentile(100), 1000u);
  EXPECT_EQ(h.percentile(0), 128u);  // the exact min, not the bucket top

  // Width 8 between 512 and 1023: 992..999 is one bucket, 1000..1007 the next.
  latency_histogram g;
  g.record(992);
  g.record(2000);
  EXPECT_EQ(g.percentile(50), 999u);
}

TEST(latency_histogram, large_values_within_one_64th) {
  for (uint64_t v : {uint64_t{1'000'000}, uint64_t{12'345'678}, uint64_t{3'600'000'000ULL},
                     (uint64_t{1} << 40) + 12345, largest - 1}) {
    latency_histogram h;
    h.record(v);
    h.record(largest);  // a larger max, so the bucket top is not capped
    const uint64_t got = h.percentile(50);
    EXPECT_GE(got, v);
    EXPECT_LE(static_cast<double>(got - v), static_cast<double>(v) / 64.0) << v;
  }
}

TEST(latency_histogram, power_of_two_edges) {
  // The first value of each power of two starts a bucket; the one before it
  // ends one, so both read back exactly when a larger value keeps the cap off.
  for (unsigned k = 7; k < 47; ++k) {
    const uint64_t first = uint64_t{1} << k;
    latency_histogram h;
    h.record(first - 1);
    h.record(largest);
    EXPECT_EQ(h.percentile(50), first - 1) << k;
    latency_histogram g;
    g.record(first);
    g.record(largest);
    const uint64_t width = uint64_t{1} << (k - 6);
    EXPECT_EQ(g.percentile(50), first + width - 1) << k;
  }
}

TEST(latency_histogram, nearest_rank_definition) {
  // 1000 values 1..1000: percentile p is the ceil(p/100 * 1000)-th smallest,
  // the value equal to its rank (exact below 128). 99.9 % is rank 999, whose
  // bucket 992..999 tops at 999 — not rank 1000 (1000), which rounding
  // 0.999 * 1000 upwards would give.
  latency_histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v);
  EXPECT_EQ(h.percentile(99.9), 999u);
  EXPECT_EQ(h.percentile(99.91), 1000u);  // rank 1000
  EXPECT_EQ(h.percentile(100), 1000u);
  EXPECT_EQ(h.percentile(0.1), 1u);       // rank 1
  EXPECT_EQ(h.percentile(0.1001), 2u);    // rank 2
  EXPECT_EQ(h.percentile(5), 50u);
  EXPECT_EQ(h.percentile(10), 100u);
  EXPECT_EQ(h.percentile(10.01), 101u);
  EXPECT_EQ(h.percentile(12.7), 127u);
  EXPECT_EQ(h.percentile(12.8), 129u);    // 128's bucket is 128..129
}

TEST(latency_histogram, out_of_range_percentiles) {
  latency_histogram h;
  for (uint64_t v : {5, 500, 5000}) h.record(v);
  EXPECT_EQ(h.percentile(-1), 5u);
  EXPECT_EQ(h.percentile(std::numeric_limits<double>::quiet_NaN()), 5u);
  EXPECT_EQ(h.percentile(101), 5000u);
  EXPECT_EQ(h.percentile(std::numeric_limits<double>::infinity()), 5000u);
}

TEST(latency_histogram, clamps_beyond_the_last_bucket) {
  latency_histogram h;
  h.record(UINT64_MAX);
  h.record(UINT64_MAX);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.max(), largest);
  EXPECT_EQ(h.min(), largest);
  EXPECT_EQ(h.percentile(50), largest);
  EXPECT_EQ(h.mean(), static_cast<double>(largest));
}

TEST(latency_histogram, mean_is_exact) {
  latency_histogram h;
  for (uint64_t v : {1, 2, 3, 4, 1'000'001}) h.record(v);
  EXPECT_DOUBLE_EQ(h.mean(), 1'000'011.0 / 5.0);
}

TEST(latency_histogram, merge_is_recording_both) {
  latency_histogram a, b, both;
  for (uint64_t v = 0; v < 5000; v += 7) { a.record(v * 13); both.record(v * 13); }
  for (uint64_t v = 1; v < 300; v += 3) { b.record(v * v * v); both.record(v * v * v); }
  a.merge(b);
  EXPECT_EQ(a.count(), both.count());
  EXPECT_EQ(a.min(), both.min());
  EXPECT_EQ(a.max(), both.max());
  EXPECT_EQ(a.mean(), both.mean());
  for (double p = 0; p <= 100; p += 0.5) EXPECT_EQ(a.percentile(p), both.percentile(p)) << p;
}

TEST(latency_histogram, merge_with_empty_sides) {
  latency_histogram empty, h;
  h.record(42);
  h.record(7);
  latency_histogram into_empty;
  into_empty.merge(h);
  EXPECT_EQ(into_empty.min(), 7u);
  EXPECT_EQ(into_empty.max(), 42u);
  EXPECT_EQ(into_empty.count(), 2u);
  h.merge(empty);
  EXPECT_EQ(h.min(), 7u);
  EXPECT_EQ(h.count(), 2u);
  empty.merge(latency_histogram{});
  EXPECT_EQ(empty.count(), 0u);
  EXPECT_EQ(empty.min(), 0u);
}

TEST(latency_histogram, reset_empties) {
  latency_histogram h;
  h.record(10);
  h.record(10'000);
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  h.record(3);
  EXPECT_EQ(h.min(), 3u);
  EXPECT_EQ(h.percentile(99), 3u);
}

} // namespace
