#pragma once

// Test support for the transaction machines: a virtual clock that carries out a
// machine's timer actions (start/cancel) and fires due timers in deadline order,
// plus readable renderings of action lists for EXPECT_EQ.

#include "protocols/sip/transaction/event.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace centralita::sip::txn::test {

using strings = std::vector<std::string>;

/// The actions as strings ("start_timer(A, 500ms)").
inline strings names(const action_list& out) {
  strings r;
  for (const auto& a : out) r.push_back(to_string(a));
  return r;
}

/// Drives one machine in virtual time (milliseconds since the transaction began).
template <class Machine>
struct harness {
  Machine m;
  int64_t now = 0;
  std::map<timer_id, int64_t> due;  ///< running timers and their deadlines
  int sends = 0;                    ///< send_request + send_response + send_ack
  std::vector<int64_t> send_times;
  int terminations = 0;
  std::vector<action> all;

  harness(reliability rel, const timer_config& cfg = {}) : m(rel, cfg) {}

  /// Feeds one event at `now` and carries out the timer actions.
  action_list feed(const event& e) {
    auto out = m.on(e);
    bool ends = false;
    for (const auto& a : out) {
      all.push_back(a);
      EXPECT_EQ(terminations, 0) << "action after terminated: " << to_string(a);
      if (auto* s = std::get_if<start_timer>(&a)) {
        EXPECT_FALSE(due.count(s->id)) << "timer started twice: " << to_string(s->id);
        due[s->id] = now + s->after.count();
      } else if (auto* c = std::get_if<cancel_timer>(&a)) {
        EXPECT_TRUE(due.count(c->id)) << "cancel of a timer not running: " << to_string(c->id);
        due.erase(c->id);
      } else if (std::holds_alternative<terminated>(a)) {
        ++terminations;
        ends = true;
        EXPECT_TRUE(due.empty()) << "terminated with timers running";
      } else if (std::holds_alternative<send_request>(a) ||
                 std::holds_alternative<send_response>(a) ||
                 std::holds_alternative<send_ack>(a)) {
        ++sends;
        send_times.push_back(now);
      }
    }
    if (ends) {
      EXPECT_TRUE(std::holds_alternative<terminated>(out[out.size() - 1]));
    }
    return out;
  }

  /// Fires `id` now: at its deadline when it runs (advancing `now`), else as a
  /// stale firing at the current time.
  action_list fire(timer_id id) {
    if (auto it = due.find(id); it != due.end()) {
      now = it->second;
      due.erase(it);
    }
    return feed(timer_fired{id});
  }

  /// Fires the earliest running timer (advancing `now`); false when none runs.
  bool fire_next() {
    if (due.empty()) return false;
    auto next = due.begin();
    for (auto it = due.begin(); it != due.end(); ++it)
      if (it->second < next->second) next = it;
    now = next->second;
    timer_id id = next->first;
    due.erase(next);
    feed(timer_fired{id});
    return true;
  }

  /// Fires timers due up to `t` (inclusive), then sets now = t.
  void run_until(int64_t t) {
    for (;;) {
      auto next = due.end();
      for (auto it = due.begin(); it != due.end(); ++it)
        if (it->second <= t && (next == due.end() || it->second < next->second)) next = it;
      if (next == due.end()) break;
      now = next->second;
      timer_id id = next->first;
      due.erase(next);
      feed(timer_fired{id});
    }
    now = t;
  }

  /// Fires every timer until none runs.
  void run_all() {
    while (fire_next()) {}
  }

  bool running(timer_id id) const { return due.count(id) != 0; }
};

} // namespace centralita::sip::txn::test
