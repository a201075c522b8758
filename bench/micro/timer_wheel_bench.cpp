// Cost of the reactor's timing wheel with many live timers (RFC 3261 timers
// for 100,000 transactions live there from the SIP core on).
#include "drivers/timer/timer_wheel.hpp"

#include <benchmark/benchmark.h>

#include <vector>

using namespace centralita::drivers;
using namespace std::chrono_literals;

namespace {

struct sink final : timer_target {
  uint64_t fired = 0;
  void on_timer(uint64_t) override { ++fired; }
};

const auto t0 = timer_wheel::clock::time_point{} + 1000s;

// Schedule + cancel one timer while `live` others are pending (the common
// case: a transaction's Timer E/F cancelled by its response).
void schedule_cancel(benchmark::State& state) {
  timer_wheel w(t0);
  sink s;
  auto live = static_cast<uint64_t>(state.range(0));
  for (uint64_t i = 0; i < live; ++i)
    w.schedule(t0 + std::chrono::milliseconds(1 + i % 32000), &s, i);
  uint64_t n = 0;
  for (auto _ : state) {
    ++n;
    auto h = w.schedule(t0 + std::chrono::milliseconds(500 + n % 1000), &s, n);
    benchmark::DoNotOptimize(w.cancel(h));
  }
}
BENCHMARK(schedule_cancel)->Arg(0)->Arg(100000);

// Advancing 1 ms with 100,000 timers spread over 32 s (a few due per tick).
void advance_with_live_timers(benchmark::State& state) {
  timer_wheel w(t0);
  sink s;
  for (uint64_t i = 0; i < 100000; ++i)
    w.schedule(t0 + std::chrono::milliseconds(1 + i % 32000), &s, i);
  auto now = t0;
  for (auto _ : state) {
    now += 1ms;
    w.advance(now);
    // keep the population constant: re-arm what fired, 32 s out
    while (s.fired > 0) {
      --s.fired;
      w.schedule(now + 32s, &s, 0);
    }
  }
}
BENCHMARK(advance_with_live_timers);

} // namespace

BENCHMARK_MAIN();
