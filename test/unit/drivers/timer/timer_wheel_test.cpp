#include "drivers/timer/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

using namespace centralita::drivers;
using namespace std::chrono_literals;

namespace {

struct recorder final : timer_target {
  std::vector<uint64_t> fired;
  void on_timer(uint64_t cookie) override { fired.push_back(cookie); }
};

// Virtual time: the wheel only sees the time points we pass.
const auto t0 = timer_wheel::clock::time_point{} + 1000s;

} // namespace

TEST(timer_wheel, fires_at_deadline_never_early) {
  timer_wheel w(t0, 1ms, 64);
  recorder r;
  w.schedule(t0 + 500ms, &r, 1);  // RFC 3261 T1
  EXPECT_EQ(w.advance(t0 + 499ms), 0u);
  EXPECT_TRUE(r.fired.empty());
  EXPECT_EQ(w.advance(t0 + 500ms), 1u);
  ASSERT_EQ(r.fired.size(), 1u);
  EXPECT_EQ(r.fired[0], 1u);
  EXPECT_EQ(w.size(), 0u);
}

TEST(timer_wheel, deadlines_beyond_one_round_wait_their_round) {
  timer_wheel w(t0, 1ms, 64);  // one round = 64 ms
  recorder r;
  w.schedule(t0 + 32s, &r, 7);  // Timer B = 64*T1
  for (auto t = t0; t < t0 + 32s; t += 10ms)
    w.advance(t);
  EXPECT_TRUE(r.fired.empty());
  w.advance(t0 + 32s);
  EXPECT_EQ(r.fired, std::vector<uint64_t>{7});
}

TEST(timer_wheel, cancel_by_generation) {
  timer_wheel w(t0, 1ms, 64);
  recorder r;
  auto h = w.schedule(t0 + 10ms, &r, 1);
  EXPECT_TRUE(w.cancel(h));
  EXPECT_FALSE(w.cancel(h));  // already gone
  // The slot is reused with a new generation: the stale handle cannot touch it.
  auto h2 = w.schedule(t0 + 10ms, &r, 2);
  EXPECT_EQ(h2.index, h.index);
  EXPECT_FALSE(w.cancel(h));
  w.advance(t0 + 20ms);
  EXPECT_EQ(r.fired, std::vector<uint64_t>{2});
}

TEST(timer_wheel, a_long_pause_fires_everything_due_once) {
  timer_wheel w(t0, 1ms, 64);
  recorder r;
  for (uint64_t i = 0; i < 200; ++i)
    w.schedule(t0 + std::chrono::milliseconds(i * 3), &r, i);
  w.advance(t0 + 10s);
  EXPECT_EQ(r.fired.size(), 200u);
  EXPECT_EQ(w.size(), 0u);
}

TEST(timer_wheel, callbacks_may_reschedule_and_cancel) {
  timer_wheel w(t0, 1ms, 64);
  struct chain final : timer_target {
    timer_wheel* w;
    int left = 3;
    int fired = 0;
    timer_wheel::clock::time_point now;
    void on_timer(uint64_t) override {
      ++fired;
      if (--left > 0)
        w->schedule(now + 5ms, this, 0);
    }
  } c;
  c.w = &w;
  c.now = t0;
  w.schedule(t0 + 5ms, &c, 0);
  for (auto t = t0; t <= t0 + 100ms; t += 1ms) {
    c.now = t;
    w.advance(t);
  }
  EXPECT_EQ(c.fired, 3);
}

TEST(timer_wheel, next_wakeup_points_at_the_earliest_nonempty_slot) {
  timer_wheel w(t0, 1ms, 4096);
  recorder r;
  EXPECT_FALSE(w.next_wakeup().has_value());
  w.schedule(t0 + 300ms, &r, 1);
  w.schedule(t0 + 40ms, &r, 2);
  auto next = w.next_wakeup();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, t0 + 40ms);
}

TEST(timer_wheel, hundred_thousand_timers_schedule_cancel_and_fire) {
  timer_wheel w(t0, 1ms, 4096);
  recorder r;
  std::vector<timer_wheel::handle> handles;
  for (uint64_t i = 0; i < 100000; ++i)
    handles.push_back(w.schedule(t0 + std::chrono::milliseconds(1 + i % 32000), &r, i));
  for (std::size_t i = 0; i < handles.size(); i += 2)
    EXPECT_TRUE(w.cancel(handles[i]));
  EXPECT_EQ(w.size(), 50000u);
  for (auto t = t0; t <= t0 + 33s; t += 7ms)
    w.advance(t);
  EXPECT_EQ(r.fired.size(), 50000u);
  for (auto c : r.fired)
    EXPECT_EQ(c % 2, 1u);
}
