// The io_uring-backed CAF scheduler: actors run, talk, wake from foreign
// threads, see delayed messages, and the system shuts down cleanly.
#include "test/unit/actors/system/uring_system_fixture.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <cstdlib>
#include <thread>

using namespace centralita;
using namespace std::chrono_literals;

namespace {

using fixture = test::uring_system_fixture;

caf::behavior counter(caf::event_based_actor* self, std::atomic<int>* n) {
  (void)self;
  return {
    [=](int x) { n->fetch_add(x); return x; },
  };
}

caf::behavior pinger(caf::event_based_actor* self, caf::actor pong, int rounds) {
  self->send(pong, 1);
  return {
    [=](int) mutable {
      if (--rounds > 0)
        self->send(pong, 1);
      else
        self->quit();
    },
  };
}

// (Named functions with arguments: CAF 0.17 spawning an argument-less lambda
// dereferences an empty std::tuple<> pointer, which UBSan reports.)
caf::behavior never_answers(caf::event_based_actor*, int) {
  return {[](int) -> caf::result<int> { return caf::delegated<int>{}; }};
}

caf::behavior asks_with_timeout(caf::event_based_actor* self, caf::actor silent,
                                std::atomic<bool>* timed_out) {
  self->request(silent, std::chrono::milliseconds{20}, 1)
    .then([](int) {}, [=](caf::error&) {
      *timed_out = true;
      self->quit();
    });
  return {[](int) {}};
}

} // namespace

TEST_F(fixture, request_response_through_the_uring_workers) {
  caf::actor_system sys{cfg};
  std::atomic<int> n{0};
  auto c = sys.spawn(counter, &n);
  caf::scoped_actor self{sys};
  for (int i = 1; i <= 100; ++i)
    self->request(c, caf::infinite, i).receive([&](int x) { EXPECT_EQ(x, i); },
                                               [&](caf::error& e) { FAIL() << sys.render(e); });
  EXPECT_EQ(n.load(), 5050);
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
}

TEST_F(fixture, ping_pong_between_actors_completes) {
  std::atomic<int> n{0};
  {
    caf::actor_system sys{cfg};
    auto c = sys.spawn(counter, &n);
    for (int i = 0; i < 8; ++i)
      sys.spawn(pinger, c, 1000);
    wait_until(sys, [&] { return n.load() >= 8000; });
    EXPECT_EQ(n.load(), 8000);
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  }  // the destructor stops the workers: must not hang
}

TEST_F(fixture, foreign_threads_wake_sleeping_workers) {
  caf::actor_system sys{cfg};
  std::atomic<int> n{0};
  auto c = sys.spawn(counter, &n);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        caf::anon_send(c, 1);
    });
  for (auto& t : threads)
    t.join();
  wait_until(sys, [&] { return n.load() >= 6000; });
  EXPECT_EQ(n.load(), 6000);
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
}

TEST_F(fixture, delayed_messages_arrive) {
  caf::actor_system sys{cfg};
  std::atomic<int> n{0};
  auto c = sys.spawn(counter, &n);
  caf::scoped_actor self{sys};
  self->delayed_send(c, 20ms, 5);
  wait_until(sys, [&] { return n.load() >= 5; });
  EXPECT_EQ(n.load(), 5);
  caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
}

TEST_F(fixture, posted_work_runs_on_the_reactor_thread) {
  caf::actor_system sys{cfg};
  std::atomic<int> ran{0};
  std::atomic<bool> on_right_thread{true};
  for (auto& r : reactors) {
    auto* rp = r.get();
    r->post([&, rp] {
      if (drivers::reactor::current() != rp)
        on_right_thread = false;
      ran.fetch_add(1);
    });
  }
  wait_until(sys, [&] { return ran.load() >= 2; });
  EXPECT_EQ(ran.load(), 2);
  EXPECT_TRUE(on_right_thread.load());
}

// The quiet clock: actors that never set a CAF timeout end without touching
// caf.clock; request timeouts still fire; the bookkeeping empties.
TEST_F(fixture, quiet_clock_tracks_only_actors_with_caf_timeouts) {
  caf::actor_system sys{cfg};
  auto& clock = dynamic_cast<actors::quiet_clock&>(sys.clock());
  std::atomic<int> n{0};
  for (int i = 0; i < 50; ++i) {  // actors that never set a timeout
    auto c = sys.spawn(counter, &n);
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  }
  EXPECT_EQ(clock.tracked(), 0u);
  // An actor whose request times out: tracked while alive, error delivered.
  std::atomic<bool> timed_out{false};
  auto silent = sys.spawn(never_answers, 0);
  sys.spawn(asks_with_timeout, silent, &timed_out);
  fixture::wait_until(sys, [&] { return timed_out.load() && clock.tracked() == 0; });
  EXPECT_TRUE(timed_out.load());
  EXPECT_EQ(clock.tracked(), 0u);  // cleaned up when the asker ended
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}
