#include "drivers/timer/timer_wheel.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
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

namespace {

// Runs the wheel the way a reactor does: sleep until next_wakeup(), advance.
// Returns how many times it woke up before `until`.
int run_like_a_reactor(timer_wheel& w, timer_wheel::clock::time_point until) {
  int wakeups = 0;
  while (auto next = w.next_wakeup()) {
    if (*next > until)
      break;
    ++wakeups;
    w.advance(*next);
  }
  return wakeups;
}

} // namespace

TEST(timer_wheel, a_long_timer_causes_no_wakeup_before_its_block) {
  timer_wheel w(t0, 1ms, 4096);  // level 0: 4.096 s; blocks of 256 ms
  recorder r;
  w.schedule(t0 + 32s, &r, 1);  // Timer J: 32000 ms is a block boundary
  ASSERT_TRUE(w.next_wakeup().has_value());
  EXPECT_EQ(*w.next_wakeup(), t0 + 32s);
  EXPECT_EQ(run_like_a_reactor(w, t0 + 40s), 1);
  EXPECT_EQ(r.fired, std::vector<uint64_t>{1});
}

TEST(timer_wheel, long_timers_round_up_to_a_block_and_never_fire_early) {
  timer_wheel w(t0, 1ms, 4096);
  recorder r;
  w.schedule(t0 + 5s, &r, 1);  // Timer K = T4: 5000 ms rounds up to 5120 ms
  w.advance(t0 + 5000ms);
  EXPECT_TRUE(r.fired.empty());
  w.advance(t0 + 5119ms);
  EXPECT_TRUE(r.fired.empty());
  w.advance(t0 + 5120ms);
  EXPECT_EQ(r.fired, std::vector<uint64_t>{1});
}

TEST(timer_wheel, short_timers_keep_their_millisecond) {
  timer_wheel w(t0, 1ms, 4096);
  recorder r;
  w.schedule(t0 + 4000ms, &r, 1);  // Timer E capped at T2: still level 0, exact
  w.advance(t0 + 3999ms);
  EXPECT_TRUE(r.fired.empty());
  w.advance(t0 + 4000ms);
  EXPECT_EQ(r.fired, std::vector<uint64_t>{1});
}

TEST(timer_wheel, a_thousand_long_timers_in_one_second_wake_the_reactor_a_few_times) {
  timer_wheel w(t0, 1ms, 4096);
  recorder r;
  for (uint64_t i = 0; i < 1000; ++i)  // 1000 transactions' Timer J, one per ms
    w.schedule(t0 + 32s + std::chrono::milliseconds(i), &r, i);
  auto wakeups = run_like_a_reactor(w, t0 + 40s);
  EXPECT_EQ(r.fired.size(), 1000u);
  EXPECT_LE(wakeups, 5);  // blocks of 256 ms: 32.0, 32.256, 32.512, 32.768, 33.024
}

TEST(timer_wheel, timers_beyond_the_second_level_wait_their_round) {
  timer_wheel w(t0, 1ms, 4096);  // level 1 spans 4096 × 256 ms = 17.5 min
  recorder r;
  auto h = w.schedule(t0 + 30min, &r, 1);
  w.schedule(t0 + 20min, &r, 2);
  w.schedule(t0 + 3min, &r, 3);  // Timer C
  EXPECT_TRUE(w.cancel(h));
  auto wakeups = run_like_a_reactor(w, t0 + 40min);
  EXPECT_EQ(r.fired, (std::vector<uint64_t>{3, 2}));
  EXPECT_LE(wakeups, 4);  // one per timer, plus one early wake-up for the later round
  EXPECT_EQ(w.size(), 0u);
}

TEST(timer_wheel, a_long_pause_fires_due_timers_of_both_levels) {
  timer_wheel w(t0, 1ms, 4096);
  recorder r;
  w.schedule(t0 + 10ms, &r, 1);
  w.schedule(t0 + 60s, &r, 2);
  w.schedule(t0 + 25min, &r, 3);
  w.schedule(t0 + 2h, &r, 4);
  w.advance(t0 + 1h);  // one jump across everything but the last
  EXPECT_EQ(r.fired.size(), 3u);
  w.advance(t0 + 2h + 1s);
  EXPECT_EQ(r.fired.size(), 4u);
  EXPECT_EQ(w.size(), 0u);
}

// Property: for any mix of short and long timers, cancels and irregular
// advances, a timer fires exactly once unless cancelled, never before its
// deadline, on its tick when it is less than a round ahead and within one
// block (256 ms) otherwise; next_wakeup() is never later than a due timer.
RC_GTEST_PROP(timer_wheel, fires_once_never_early_never_late, ()) {
  timer_wheel w(t0, 1ms, 4096);
  struct track final : timer_target {
    std::map<uint64_t, int> fired;
    std::map<uint64_t, timer_wheel::clock::time_point> fired_at;
    timer_wheel::clock::time_point now;
    void on_timer(uint64_t cookie) override {
      ++fired[cookie];
      fired_at[cookie] = now;
    }
  } tr;
  struct planned {
    timer_wheel::clock::time_point scheduled_at, deadline;
    timer_wheel::handle h;
    bool cancelled = false;
  };
  std::vector<planned> timers;
  // A timer a round or more ahead may wait for the end of its 256 ms block.
  auto latest_fire = [](const planned& p) {
    return p.deadline - p.scheduled_at >= 4096ms ? p.deadline + 256ms : p.deadline;
  };
  std::vector<timer_wheel::clock::time_point> advances;
  auto now = t0;
  auto steps = *rc::gen::inRange(1, 60);
  for (int step = 0; step < steps; ++step) {
    auto action = *rc::gen::inRange(0, 10);
    if (action < 5) {
      auto far = *rc::gen::arbitrary<bool>();
      auto ms = far ? *rc::gen::inRange(4000, 1'300'000) : *rc::gen::inRange(0, 4096);
      auto deadline = now + std::chrono::milliseconds(ms);
      timers.push_back({now, deadline, w.schedule(deadline, &tr, timers.size())});
    } else if (action < 6 && !timers.empty()) {
      auto i = *rc::gen::inRange<std::size_t>(0, timers.size());
      if (!timers[i].cancelled && !tr.fired.count(i)) {
        RC_ASSERT(w.cancel(timers[i].h));
        timers[i].cancelled = true;
      }
    } else {
      auto next = w.next_wakeup();
      auto to = now + std::chrono::milliseconds(*rc::gen::inRange(1, 400'000));
      if (next && *next < to && *rc::gen::arbitrary<bool>())
        to = std::max(*next, now + 1ms);  // sometimes wake exactly when asked
      for (std::size_t i = 0; i < timers.size(); ++i)  // nothing due is past next_wakeup
        if (!timers[i].cancelled && !tr.fired.count(i) && timers[i].deadline <= to)
          RC_ASSERT(next.has_value() && *next <= std::max(latest_fire(timers[i]), now + 1ms));
      now = tr.now = to;
      w.advance(now);
      advances.push_back(now);
    }
  }
  now = tr.now = now + 2h;
  w.advance(now);
  advances.push_back(now);
  RC_ASSERT(w.size() == 0u);
  for (std::size_t i = 0; i < timers.size(); ++i) {
    if (timers[i].cancelled) {
      RC_ASSERT(tr.fired.count(i) == 0u);
      continue;
    }
    RC_ASSERT(tr.fired[i] == 1);
    RC_ASSERT(tr.fired_at[i] >= timers[i].deadline);
    // Late by at most the rounding: the first advance at or after the deadline
    // (plus a block, for a timer a round or more ahead) fires it.
    auto latest = latest_fire(timers[i]);
    // (One already due when scheduled waits for the next advance.)
    auto first = std::lower_bound(advances.begin(), advances.end(), latest);
    if (timers[i].deadline <= timers[i].scheduled_at)
      first = std::upper_bound(advances.begin(), advances.end(), timers[i].scheduled_at);
    RC_ASSERT(first != advances.end());
    auto ms = [](auto tp) { return std::chrono::duration_cast<std::chrono::milliseconds>(tp - t0).count(); };
    RC_LOG() << "timer " << i << " scheduled " << ms(timers[i].scheduled_at) << " deadline "
             << ms(timers[i].deadline) << " fired " << ms(tr.fired_at[i]) << " first " << ms(*first) << "\n";
    RC_ASSERT(tr.fired_at[i] <= *first);
  }
}

// A callback that cancels another timer due in the same advance() (the load
// generator's end of run cancelling its once-a-second timer due on the same
// tick): the cancelled one must not fire, and a timer scheduled into the
// released node must fire at its own deadline, once, with its own cookie.
TEST(timer_wheel, a_callback_cancels_a_timer_due_in_the_same_batch) {
  // Two timers on one tick, each cancelling the other when it fires: which
  // goes first is the wheel's business, but only that one may fire.
  struct canceller final : timer_target {
    timer_wheel* wheel = nullptr;
    timer_wheel::handle handles[2];
    std::vector<uint64_t> fired;
    bool reschedule = false;
    bool cancelled = false;
    void on_timer(uint64_t cookie) override {
      fired.push_back(cookie);
      if (cookie < 2) {
        cancelled = wheel->cancel(handles[1 - cookie]);
        if (reschedule)  // reuses the node just released
          wheel->schedule(t0 + 20ms, this, 7);
      }
    }
  };
  for (bool reschedule : {false, true}) {
    timer_wheel wheel(t0, 1ms, 64);
    canceller c;
    c.wheel = &wheel;
    c.reschedule = reschedule;
    c.handles[0] = wheel.schedule(t0 + 5ms, &c, 0);
    c.handles[1] = wheel.schedule(t0 + 5ms, &c, 1);
    EXPECT_EQ(wheel.advance(t0 + 5ms), 1u);
    ASSERT_EQ(c.fired.size(), 1u);
    EXPECT_TRUE(c.cancelled);
    EXPECT_EQ(wheel.size(), reschedule ? 1u : 0u);
    EXPECT_EQ(wheel.advance(t0 + 19ms), 0u);
    EXPECT_EQ(wheel.advance(t0 + 20ms), reschedule ? 1u : 0u);
    EXPECT_EQ(c.fired.size(), reschedule ? 2u : 1u);
    if (reschedule) {
      EXPECT_EQ(c.fired.back(), 7u);
    }
    EXPECT_EQ(wheel.size(), 0u);
  }
}
