// Actor timers on the workers' timing wheels: firing, cancelling (same
// worker and posted), weak references to dead actors, many live timers.
#include "actors/system/actor_timers.hpp"
#include "test/unit/actors/system/uring_system_fixture.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <cstdlib>

using namespace centralita;
using namespace std::chrono_literals;

namespace {

struct fixture : test::uring_system_fixture {
  void SetUp() override {
    uring_system_fixture::SetUp();
    timers = std::make_unique<actors::timer_service>(raw);
  }
  std::unique_ptr<actors::timer_service> timers;
};

// Arms `n` timers (tags 1..n, 20 ms apart, from 20 ms), cancels the even ones,
// and records what fires.
caf::behavior armer(caf::event_based_actor* self, actors::timer_service* ts, int n,
                    std::atomic<int>* fired_sum, std::atomic<int>* fired_count) {
  std::vector<actors::timer_handle> handles;
  for (int i = 1; i <= n; ++i)
    handles.push_back(ts->arm(self, std::chrono::milliseconds(20 * i), static_cast<uint64_t>(i)));
  for (int i = 2; i <= n; i += 2)
    ts->cancel(handles[static_cast<std::size_t>(i - 1)]);
  return {
    [=](actors::timer_expired t) {
      fired_sum->fetch_add(static_cast<int>(t.tag));
      fired_count->fetch_add(1);
    },
  };
}

// (A named function with arguments: CAF 0.17 spawning a capture-only lambda
// dereferences an empty std::tuple<> pointer, which UBSan reports.)
caf::behavior many(caf::event_based_actor* self, actors::timer_service* ts, int n,
                   std::atomic<int>* count) {
  for (int i = 0; i < n; ++i)
    ts->arm(self, std::chrono::milliseconds(1 + i % 50), static_cast<uint64_t>(i));
  return {[=](actors::timer_expired) { count->fetch_add(1); }};
}

} // namespace

TEST_F(fixture, timers_fire_and_cancelled_ones_do_not) {
  caf::actor_system sys{cfg};
  std::atomic<int> sum{0}, count{0};
  auto a = sys.spawn(armer, timers.get(), 6, &sum, &count);
  wait_until(sys, [&] { return count.load() >= 3; });
  // let the cancelled ones' deadlines pass too
  caf::scoped_actor self{sys};
  self->receive(caf::after(std::chrono::milliseconds(150)) >> [] {});
  EXPECT_EQ(count.load(), 3);
  EXPECT_EQ(sum.load(), 1 + 3 + 5);
  EXPECT_EQ(timers->live(), 0u);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_F(fixture, a_dead_actor_is_not_kept_alive_nor_messaged) {
  caf::actor_system sys{cfg};
  std::atomic<int> sum{0}, count{0};
  {
    auto a = sys.spawn(armer, timers.get(), 1, &sum, &count);
    caf::anon_send_exit(a, caf::exit_reason::kill);
  }
  caf::scoped_actor self{sys};
  self->receive(caf::after(std::chrono::milliseconds(100)) >> [] {});
  EXPECT_EQ(count.load(), 0);
  EXPECT_EQ(timers->live(), 0u);  // the wheel entry fired and was freed
}

TEST_F(fixture, ten_thousand_timers) {
  caf::actor_system sys{cfg};
  std::atomic<int> count{0};
  auto a = sys.spawn(many, timers.get(), 10000, &count);
  wait_until(sys, [&] { return count.load() >= 10000; });
  EXPECT_EQ(count.load(), 10000);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}
