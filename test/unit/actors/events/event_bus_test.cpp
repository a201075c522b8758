// The event bus on the real io_uring scheduler: filtered delivery, waits
// that end exactly once (event, timeout or cancel), bounded subscriber
// queues with drop counting, cleanup when a subscriber dies.
#include "actors/events/event_bus.hpp"
#include "test/unit/actors/system/uring_system_fixture.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <map>
#include <mutex>
#include <random>
#include <vector>

using namespace centralita;
using namespace centralita::actors;
using namespace std::chrono_literals;

namespace {

struct fixture : test::uring_system_fixture {
  void SetUp() override {
    uring_system_fixture::SetUp();
    timers = std::make_unique<timer_service>(raw);
  }
  caf::actor bus(caf::actor_system& sys, std::size_t replay = 0) {
    return spawn_event_bus(sys, {timers.get(), nullptr, stats, "node1", replay});
  }
  std::unique_ptr<timer_service> timers;
  std::shared_ptr<event_bus_stats> stats = std::make_shared<event_bus_stats>();
};

/// What a test subscriber saw, shared with the test thread.
struct seen {
  std::mutex mu;
  std::vector<event_delivery> deliveries;  // kept: their tokens stay in flight when `hold`
  std::vector<std::pair<subscription_id, uint64_t>> events;  // (id, seq)
  std::vector<std::string> json;         // stream deliveries' JSON
  std::vector<uint64_t> dropped_before;  // per delivery
  std::map<subscription_id, std::vector<std::string>> ends;   // "event"/"timeout"/"cancelled"
  bool hold = false;

  std::size_t event_count() {
    std::lock_guard g{mu};
    return events.size();
  }
  std::size_t end_count() {
    std::lock_guard g{mu};
    std::size_t n = 0;
    for (auto& [id, v] : ends)
      n += v.size();
    return n;
  }
};

caf::behavior recorder(caf::event_based_actor*, seen* s) {
  return {
    [s](event_delivery& d) {
      std::lock_guard g{s->mu};
      s->events.emplace_back(d.id, d.ev->seq);
      s->json.push_back(d.json ? *d.json : std::string());
      s->dropped_before.push_back(d.dropped_before);
      if (d.last)
        s->ends[d.id].push_back("event");
      if (s->hold)
        s->deliveries.push_back(std::move(d));
    },
    [s](const subscription_ended& e) {
      std::lock_guard g{s->mu};
      s->ends[e.id].push_back(to_string(e.why));
    },
  };
}

events::event reg(const std::string& aor) {
  events::event e("REGISTER");
  e.set("aor", aor).set("contact", "sip:" + aor).set("expires", "600");
  return e;
}

events::filter f(std::string_view text) {
  auto r = events::filter::parse(text);
  EXPECT_TRUE(r) << (r ? "" : r.err().reason);
  return *r;
}

} // namespace

TEST_F(fixture, persistent_subscription_gets_only_matching_events_in_order) {
  caf::actor_system sys{cfg};
  auto b = bus(sys);
  seen s;
  auto sub = sys.spawn(recorder, &s);
  auto id = next_subscription_id();
  caf::anon_send(b, subscribe{id, f("REGISTER aor=bob@example.com"), sub});
  for (auto aor : {"alice@example.com", "bob@example.com", "carol@example.com", "bob@example.com"})
    caf::anon_send(b, publish_event{reg(aor)});
  wait_until(sys, [&] { return s.event_count() == 2; });
  {
    std::lock_guard g{s.mu};
    ASSERT_EQ(s.events.size(), 2u);
    EXPECT_EQ(s.events[0].first, id);
    EXPECT_EQ(s.events[0].second, 2u);  // the bus numbers every event it publishes
    EXPECT_EQ(s.events[1].second, 4u);
  }
  EXPECT_EQ(stats->published.load(), 4u);
  EXPECT_EQ(stats->subscriptions.load(), 1u);
  caf::anon_send(b, unsubscribe{id});
  wait_until(sys, [&] { return s.end_count() == 1; });
  EXPECT_EQ(stats->subscriptions.load(), 0u);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

TEST_F(fixture, a_wait_ends_with_the_first_matching_event) {
  caf::actor_system sys{cfg};
  auto b = bus(sys);
  seen s;
  auto sub = sys.spawn(recorder, &s);
  auto id = next_subscription_id();
  caf::anon_send(b, subscribe{id, f("REGISTER aor=bob@*"), sub, subscription_mode::once, 5s});
  wait_until(sys, [&] { return stats->waits.load() == 1; });
  caf::anon_send(b, publish_event{reg("bob@example.com")});
  caf::anon_send(b, publish_event{reg("bob@example.org")});
  caf::anon_send(b, unsubscribe{id});  // too late: already ended, no second end
  wait_until(sys, [&] { return s.end_count() >= 1 && stats->published.load() == 2; });
  {
    std::lock_guard g{s.mu};
    EXPECT_EQ(s.events.size(), 1u);
    EXPECT_EQ(s.ends[id], std::vector<std::string>{"event"});
  }
  EXPECT_EQ(stats->waits.load(), 0u);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

TEST_F(fixture, a_wait_times_out_once_and_a_cancel_is_reported) {
  caf::actor_system sys{cfg};
  auto b = bus(sys);
  seen s;
  auto sub = sys.spawn(recorder, &s);
  auto timed = next_subscription_id();
  auto cancelled = next_subscription_id();
  caf::anon_send(b, subscribe{timed, f("REGISTER aor=nobody@example.com"), sub,
                              subscription_mode::once, 30ms});
  caf::anon_send(b, subscribe{cancelled, f("REGISTER"), sub, subscription_mode::once, 10s});
  caf::anon_send(b, unsubscribe{cancelled});
  wait_until(sys, [&] { return s.end_count() == 2; });
  {
    std::lock_guard g{s.mu};
    EXPECT_EQ(s.ends[timed], std::vector<std::string>{"timeout"});
    EXPECT_EQ(s.ends[cancelled], std::vector<std::string>{"cancelled"});
    EXPECT_TRUE(s.events.empty());
  }
  EXPECT_EQ(stats->timeouts.load(), 1u);
  EXPECT_EQ(stats->waits.load(), 0u);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

TEST_F(fixture, a_full_subscriber_queue_drops_and_counts_without_stalling) {
  caf::actor_system sys{cfg};
  auto b = bus(sys);
  seen slow;
  slow.hold = true;  // keeps every delivery (and its in-flight token)
  seen fast;
  auto s1 = sys.spawn(recorder, &slow);
  auto s2 = sys.spawn(recorder, &fast);
  subscribe a{next_subscription_id(), f("REGISTER"), s1};
  a.queue_limit = 10;
  caf::anon_send(b, std::move(a));
  caf::anon_send(b, subscribe{next_subscription_id(), f("REGISTER"), s2});
  for (int i = 0; i < 50; ++i)
    caf::anon_send(b, publish_event{reg("user" + std::to_string(i) + "@example.com")});
  wait_until(sys, [&] { return fast.event_count() == 50; });
  EXPECT_EQ(fast.event_count(), 50u);  // the fast one got everything
  EXPECT_EQ(slow.event_count(), 10u);  // the slow one its limit
  EXPECT_EQ(stats->dropped.load(), 40u);
  {  // once it handled them, it gets events again
    std::lock_guard g{slow.mu};
    slow.deliveries.clear();
    slow.hold = false;
  }
  caf::anon_send(b, publish_event{reg("late@example.com")});
  wait_until(sys, [&] { return slow.event_count() == 11; });
  EXPECT_EQ(slow.event_count(), 11u);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(s1, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(s2, caf::exit_reason::user_shutdown);
}

TEST_F(fixture, a_dead_subscriber_loses_its_subscriptions) {
  caf::actor_system sys{cfg};
  auto b = bus(sys);
  seen s;
  auto sub = sys.spawn(recorder, &s);
  for (int i = 0; i < 3; ++i)
    caf::anon_send(b, subscribe{next_subscription_id(), f("REGISTER"), sub,
                                subscription_mode::once, 10s});
  wait_until(sys, [&] { return stats->subscriptions.load() == 3; });
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
  wait_until(sys, [&] { return stats->subscriptions.load() == 0; });
  EXPECT_EQ(stats->subscriptions.load(), 0u);
  EXPECT_EQ(stats->waits.load(), 0u);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

// Any interleaving of events, timeouts and cancels ends every wait exactly
// once (fixed seed: the same trials every run; the timing varies, the
// property must hold whatever it is).
TEST_F(fixture, every_wait_ends_exactly_once_whatever_the_interleaving) {
  caf::actor_system sys{cfg};
  auto b = bus(sys);
  seen s;
  auto sub = sys.spawn(recorder, &s);
  std::mt19937 rng(20261122);
  std::vector<subscription_id> ids;
  for (int i = 0; i < 300; ++i) {
    auto id = next_subscription_id();
    ids.push_back(id);
    auto user = "u" + std::to_string(rng() % 20) + "@example.com";
    caf::anon_send(b, subscribe{id, f("REGISTER aor=" + user), sub, subscription_mode::once,
                                std::chrono::milliseconds(1 + rng() % 40)});
    switch (rng() % 3) {
      case 0: caf::anon_send(b, unsubscribe{ids[rng() % ids.size()]}); break;
      case 1: caf::anon_send(b, publish_event{reg("u" + std::to_string(rng() % 20) + "@example.com")}); break;
      default: break;
    }
  }
  wait_until(sys, [&] { return s.end_count() >= ids.size(); });
  std::lock_guard g{s.mu};
  for (auto id : ids)
    EXPECT_EQ(s.ends[id].size(), 1u) << "subscription " << id;
  EXPECT_EQ(stats->waits.load(), 0u);
  EXPECT_EQ(stats->subscriptions.load(), 0u);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

// Publishers skip events nobody subscribed to: the interest count per kind
// follows the live subscriptions, counted by the subscriber before it sends
// (counted = true) or by the bus when it files one (counted = false), and
// released however the subscription ends.
TEST_F(fixture, interest_counts_follow_live_subscriptions) {
  caf::actor_system sys{cfg};
  auto b = bus(sys);
  seen s;
  auto sub = sys.spawn(recorder, &s);
  EXPECT_FALSE(stats->wanted("REGISTER"));
  EXPECT_FALSE(stats->wanted("DTMF"));
  auto persistent = next_subscription_id();
  caf::anon_send(b, subscribe{persistent, f("REGISTER aor=bob@example.com"), sub,
                              subscription_mode::persistent, 0s});
  wait_until(sys, [&] { return stats->subscriptions.load() == 1; });
  EXPECT_TRUE(stats->wanted("REGISTER"));
  EXPECT_TRUE(stats->wanted("register"));  // names in any case
  EXPECT_FALSE(stats->wanted("UNREGISTER"));
  // Counted by the subscriber before sending: visible at once.
  auto wait = next_subscription_id();
  stats->want("DTMF");
  EXPECT_TRUE(stats->wanted("DTMF"));
  caf::anon_send(b, subscribe{wait, f("DTMF call_id=c1"), sub, subscription_mode::once, 50ms,
                              1024, true});
  // The wait times out, the persistent one is cancelled: nothing is wanted any more.
  wait_until(sys, [&] { return s.end_count() == 1; });
  EXPECT_FALSE(stats->wanted("DTMF"));
  caf::anon_send(b, unsubscribe{persistent});
  wait_until(sys, [&] { return s.end_count() == 2; });
  EXPECT_FALSE(stats->wanted("REGISTER"));
  // A subscription the bus refuses (an id already live) gives its count back.
  auto again = next_subscription_id();
  caf::anon_send(b, subscribe{again, f("CALL_END"), sub, subscription_mode::persistent, 0s});
  wait_until(sys, [&] { return stats->subscriptions.load() == 1; });
  stats->want("CALL_END");
  caf::anon_send(b, subscribe{again, f("CALL_END"), sub, subscription_mode::persistent, 0s,
                              1024, true});
  caf::anon_send(b, unsubscribe{again});
  wait_until(sys, [&] { return s.end_count() == 3; });
  EXPECT_FALSE(stats->wanted("CALL_END"));
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

TEST_F(fixture, stream_subscribers_get_json_and_the_count_of_what_the_bus_dropped) {
  caf::actor_system sys{cfg};
  auto b = bus(sys);
  seen slow;
  slow.hold = true;
  auto sub = sys.spawn(recorder, &slow);
  subscribe a{next_subscription_id(), f("REGISTER"), sub};
  a.queue_limit = 2;
  a.stream = true;
  caf::anon_send(b, std::move(a));
  for (int i = 0; i < 5; ++i)
    caf::anon_send(b, publish_event{reg("u" + std::to_string(i) + "@example.com")});
  wait_until(sys, [&] { return stats->published.load() == 5 && slow.event_count() == 2; });
  {
    std::lock_guard g{slow.mu};
    ASSERT_EQ(slow.json.size(), 2u);
    EXPECT_NE(slow.json[0].find(R"("name":"REGISTER","seq":1,)"), std::string::npos) << slow.json[0];
    EXPECT_NE(slow.json[0].find(R"("node":"node1")"), std::string::npos);
    EXPECT_NE(slow.json[0].find(R"("aor":"u0@example.com")"), std::string::npos);
    slow.deliveries.clear();  // handled: room again
    slow.hold = false;
  }
  caf::anon_send(b, publish_event{reg("late@example.com")});
  wait_until(sys, [&] { return slow.event_count() == 3; });
  {
    std::lock_guard g{slow.mu};
    EXPECT_EQ(slow.dropped_before.back(), 3u);  // #3, #4 and #5 went, and it is told
    EXPECT_EQ(slow.events.back().second, 6u);
  }
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}

TEST_F(fixture, replay_gives_the_retained_events_after_since_and_counts_the_evicted) {
  caf::actor_system sys{cfg};
  auto b = bus(sys, 4);  // keeps the newest four
  seen s;
  auto sub = sys.spawn(recorder, &s);
  subscribe a{next_subscription_id(), f("REGISTER"), sub};
  a.stream = true;  // from now on REGISTER is kept, subscribed or not
  caf::anon_send(b, std::move(a));
  for (int i = 1; i <= 6; ++i)
    caf::anon_send(b, publish_event{reg((i % 2 ? "odd" : "even") + std::to_string(i) + "@x")});
  wait_until(sys, [&] { return s.event_count() == 6; });
  EXPECT_EQ(stats->retained.load(), 4u);
  caf::scoped_actor self{sys};
  auto ask = [&](uint64_t since, const char* filter) {
    replay_answer out;
    self->request(b, 5s, replay_request{since, {f(filter)}})
      .receive([&](replay_answer& a) { out = std::move(a); },
               [&](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    return out;
  };
  auto all = ask(3, "REGISTER");
  ASSERT_EQ(all.items.size(), 3u);  // #4, #5, #6
  EXPECT_EQ(all.items.front().ev->seq, 4u);
  EXPECT_EQ(all.missed, 0u);
  EXPECT_EQ(all.up_to, 6u);
  EXPECT_NE(all.items.front().json->find(R"("seq":4)"), std::string::npos);
  auto old = ask(0, "REGISTER aor=odd*");  // #1 and #2 are gone; #3 and #5 match
  EXPECT_EQ(old.missed, 2u);
  EXPECT_EQ(old.missed_first, 1u);
  EXPECT_EQ(old.missed_last, 2u);
  ASSERT_EQ(old.items.size(), 2u);
  EXPECT_EQ(old.items[0].ev->seq, 3u);
  EXPECT_EQ(old.items[1].ev->seq, 5u);
  auto future = ask(1000, "REGISTER");  // an earlier run's numbering: all that is held
  EXPECT_EQ(future.items.size(), 4u);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sub, caf::exit_reason::user_shutdown);
}
