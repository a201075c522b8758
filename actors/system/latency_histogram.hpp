#pragma once

// Lock-free latency histograms for /metrics: fixed buckets, atomic counts,
// written from any worker, read by whoever renders them.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace centralita::actors {

class latency_histogram {
public:
  /// Upper bounds in seconds (Prometheus' le), from 100 µs to 10 s.
  static constexpr std::array<double, 14> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                 1.0,    10.0};

  void record(std::chrono::nanoseconds d) noexcept {
    double s = static_cast<double>(d.count()) / 1e9;
    std::size_t i = 0;
    while (i < bounds.size() && s > bounds[i])
      ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(d.count() < 0 ? 0 : d.count()),
                      std::memory_order_relaxed);
  }

  /// A copy for rendering: per-bucket counts (the last is the overflow) and the sum in seconds.
  struct snapshot {
    std::array<uint64_t, bounds.size() + 1> counts{};
    double sum = 0;
  };
  snapshot read() const noexcept {
    snapshot s;
    for (std::size_t i = 0; i < counts_.size(); ++i)
      s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return s;
  }

private:
  std::array<std::atomic<uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

/// The process's latency histograms.
struct latency_histograms {
  /// A request reaching a script VM until its routing answered or relayed it
  /// (suspended time included).
  latency_histogram routing;
  /// An event published until the routing waiting for it resumed.
  latency_histogram wakeup;
};

} // namespace centralita::actors
