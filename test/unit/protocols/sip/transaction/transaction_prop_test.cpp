// rapidcheck properties of the four RFC 3261 §17 machines: any sequence of events
// gives only transitions of the RFC figure, a consistent timer model (only running
// timers are cancelled, nothing runs at the end), and after firing every running
// timer the machine reaches Terminated with exactly one `terminated`. Plus exact
// retransmission counts for random T1/T2.
#include "protocols/sip/transaction/client_invite.hpp"
#include "protocols/sip/transaction/client_non_invite.hpp"
#include "protocols/sip/transaction/server_invite.hpp"
#include "protocols/sip/transaction/server_non_invite.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

using namespace centralita::sip::txn;

namespace {

using edge = std::pair<state, state>;
using S = state;

// The figures' edges. Edges to terminated that skip a state hold only on reliable
// transports, where D, I, J and K are zero (the state is passed through at once).
template <class M> struct figure;
template <> struct figure<client_invite> {  // RFC 3261 Figure 5 + RFC 6026 §8.4
  static constexpr bool client = true, invite = true;
  static std::set<edge> edges(reliability rel) {
    std::set<edge> e{{S::idle, S::calling},         {S::calling, S::proceeding},
                     {S::calling, S::completed},    {S::calling, S::accepted},
                     {S::calling, S::terminated},   {S::proceeding, S::completed},
                     {S::proceeding, S::accepted},  {S::completed, S::terminated},
                     {S::accepted, S::terminated}};
    if (rel == reliability::reliable) e.insert({S::proceeding, S::terminated});
    return e;
  }
  static std::set<timer_id> timers() { return {timer_id::A, timer_id::B, timer_id::D, timer_id::M}; }
};
template <> struct figure<client_non_invite> {  // RFC 3261 Figure 6
  static constexpr bool client = true, invite = false;
  static std::set<edge> edges(reliability) {
    return {{S::idle, S::trying},         {S::trying, S::proceeding},
            {S::trying, S::completed},    {S::trying, S::terminated},
            {S::proceeding, S::completed}, {S::proceeding, S::terminated},
            {S::completed, S::terminated}};
  }
  static std::set<timer_id> timers() { return {timer_id::E, timer_id::F, timer_id::K}; }
};
template <> struct figure<server_invite> {  // RFC 3261 Figure 7 + RFC 6026 §8.5-8.7
  static constexpr bool client = false, invite = true;
  static std::set<edge> edges(reliability rel) {
    std::set<edge> e{{S::idle, S::proceeding},      {S::proceeding, S::completed},
                     {S::proceeding, S::accepted},  {S::proceeding, S::terminated},
                     {S::completed, S::confirmed},  {S::completed, S::terminated},
                     {S::confirmed, S::terminated}, {S::accepted, S::terminated}};
    (void)rel;  // completed -> terminated (I = 0) is already an edge (Timer H)
    return e;
  }
  static std::set<timer_id> timers() {
    return {timer_id::G, timer_id::H, timer_id::I, timer_id::L};
  }
};
template <> struct figure<server_non_invite> {  // RFC 3261 Figure 8
  static constexpr bool client = false, invite = false;
  static std::set<edge> edges(reliability rel) {
    std::set<edge> e{{S::idle, S::trying},          {S::trying, S::proceeding},
                     {S::trying, S::completed},     {S::proceeding, S::completed},
                     {S::proceeding, S::terminated}, {S::completed, S::terminated}};
    if (rel == reliability::reliable) e.insert({S::trying, S::terminated});
    return e;
  }
  static std::set<timer_id> timers() { return {timer_id::J}; }
};

/// Timer values allowed with the default config (T1 0.5 s, T2 4 s, T4 5 s, D 32 s).
bool value_ok(timer_id id, int64_t ms, reliability rel) {
  bool udp = rel == reliability::unreliable;
  switch (id) {
    case timer_id::A:  // §17.1.1.2: T1, doubling
      return udp && ms >= 500 && ms <= 32000 && (ms / 500) * 500 == ms &&
             ((ms / 500) & (ms / 500 - 1)) == 0;
    case timer_id::E:
    case timer_id::G:  // §17.1.2.2, §17.2.1: doubling, capped at T2
      return udp && (ms == 500 || ms == 1000 || ms == 2000 || ms == 4000);
    case timer_id::B: case timer_id::F: case timer_id::H: case timer_id::L: case timer_id::M:
      return ms == 32000;
    case timer_id::J: return udp && ms == 32000;
    case timer_id::D: return udp && ms == 32000;
    case timer_id::I: case timer_id::K: return udp && ms == 5000;
  }
  return false;
}

/// The machine plus a model of its timers (deadlines in virtual time, FIFO on ties).
template <class M>
struct model {
  M m;
  reliability rel;
  std::set<edge> edges = figure<M>::edges(rel);
  struct running { int64_t due; uint64_t seq; };
  std::map<timer_id, running> timers;
  int64_t now = 0;
  uint64_t seq = 0;
  int terminations = 0;
  int sends = 0;

  explicit model(reliability r, const timer_config& cfg = {}) : m(r, cfg), rel(r) {}

  void feed(const event& e) {
    state before = m.current();
    auto out = m.on(e);
    state after = m.current();
    RC_ASSERT(out.size() <= 6u);
    if (before == S::terminated) RC_ASSERT(out.empty());
    if (before != after) {
      RC_LOG() << to_string(before) << " -> " << to_string(after) << " on " << to_string(e);
      RC_ASSERT(edges.count({before, after}) == 1u);
    }
    for (size_t i = 0; i < out.size(); ++i) {
      const action& a = out[i];
      if (auto* s = std::get_if<start_timer>(&a)) {
        RC_ASSERT(figure<M>::timers().count(s->id) == 1u);
        RC_ASSERT(timers.count(s->id) == 0u);
        timers[s->id] = {now + s->after.count(), seq++};
      } else if (auto* c = std::get_if<cancel_timer>(&a)) {
        RC_ASSERT(timers.count(c->id) == 1u);
        timers.erase(c->id);
      } else if (std::holds_alternative<terminated>(a)) {
        ++terminations;
        RC_ASSERT(i + 1 == out.size());
        RC_ASSERT(timers.empty());
      } else if (std::holds_alternative<send_ack>(a)) {
        RC_ASSERT(figure<M>::client && figure<M>::invite);
      } else if (std::holds_alternative<send_request>(a)) {
        RC_ASSERT(figure<M>::client);
        ++sends;
      } else if (std::holds_alternative<send_response>(a)) {
        RC_ASSERT(!figure<M>::client);
        ++sends;
      }
    }
    RC_ASSERT(terminations <= 1);
    RC_ASSERT((terminations == 1) == m.is_terminated());
    for (size_t i = 0; i < timer_count; ++i) {
      auto id = static_cast<timer_id>(i);
      RC_ASSERT(m.timer_running(id) == (timers.count(id) == 1u));
    }
  }

  /// Fires `id` if it runs (removing it from the model first), else a stale firing.
  void fire(timer_id id) {
    if (auto it = timers.find(id); it != timers.end()) {
      now = std::max(now, it->second.due);
      timers.erase(it);
    }
    feed(timer_fired{id});
  }

  /// Fires the earliest running timer (FIFO on ties); false when none runs.
  bool fire_next() {
    if (timers.empty()) return false;
    auto next = timers.begin();
    for (auto it = timers.begin(); it != timers.end(); ++it)
      if (it->second.due < next->second.due ||
          (it->second.due == next->second.due && it->second.seq < next->second.seq))
        next = it;
    fire(next->first);
    return true;
  }
};

/// A status of class `cls` (1..6).
int status_of(int cls, int pick) { return cls * 100 + pick % 100; }

/// One random step: the event depends on the machine side and the model's timers.
template <class M>
void random_step(model<M>& md, int kind, int pick) {
  constexpr bool client = figure<M>::client;
  switch (kind) {
    case 0:  // the request: the TU's (client) or from the network (first or retransmitted)
      if (client) md.feed(request_from_tu{}); else md.feed(request_received{});
      return;
    case 1:  // a response of a random class
      if (client) md.feed(response_received{status_of(1 + pick % 6, pick / 6)});
      else md.feed(response_from_tu{status_of(1 + pick % 6, pick / 6)});
      return;
    case 2: md.feed(ack_received{}); return;
    case 3: {  // a running timer fires
      if (md.timers.empty()) return;
      auto it = md.timers.begin();
      std::advance(it, pick % static_cast<int>(md.timers.size()));
      md.fire(it->first);
      return;
    }
    case 4: md.feed(transport_error{}); return;
    case 5: {  // a stale firing of a timer that does not run: must be ignored
      auto id = static_cast<timer_id>(pick % static_cast<int>(timer_count));
      if (md.timers.count(id)) return;
      auto before = md.m.current();
      auto out = md.m.on(timer_fired{id});
      RC_ASSERT(out.empty());
      RC_ASSERT(md.m.current() == before);
      return;
    }
    default:  // an out-of-range status
      if (client) md.feed(response_received{pick % 2 ? 99 : 700});
      else md.feed(response_from_tu{pick % 2 ? 0 : 700});
      return;
  }
}

/// Fires timers until none runs; where a state waits on somebody else with no timer
/// (server Trying/Proceeding: the TU; client INVITE Proceeding: a final response,
/// Figure 5 has no timer there), supplies that answer. Must end in Terminated.
template <class M>
void drain(model<M>& md, int final_status) {
  for (int guard = 0; guard < 1000 && !md.m.is_terminated(); ++guard) {
    if (md.fire_next()) continue;
    if (md.m.current() == S::idle) {
      random_step(md, 0, 0);
    } else if (figure<M>::client) {
      md.feed(response_received{final_status});
    } else if (md.m.current() == S::accepted || md.m.current() == S::completed) {
      RC_FAIL("no timer runs in a state that only a timer ends");
    } else {
      md.feed(response_from_tu{final_status});
    }
  }
  RC_ASSERT(md.m.is_terminated());
  RC_ASSERT(md.terminations == 1);
  RC_ASSERT(md.timers.empty());
}

template <class M>
void any_sequence_terminates() {
  auto rel = *rc::gen::element(reliability::unreliable, reliability::reliable);
  auto steps = *rc::gen::container<std::vector<std::pair<int, int>>>(
      rc::gen::pair(rc::gen::inRange(0, 7), rc::gen::inRange(0, 600)));
  int final_status = *rc::gen::element(200, 302, 404, 486, 503, 603);
  model<M> md(rel);
  for (auto [kind, pick] : steps) random_step(md, kind, pick);
  drain(md, final_status);
  for (auto [kind, pick] : steps) {  // after terminated, nothing yields an action
    auto out = md.m.on(kind == 3 ? event{timer_fired{timer_id::F}} : event{request_received{}});
    RC_ASSERT(out.empty());
    random_step(md, kind, pick);
  }
  RC_ASSERT(md.terminations == 1);
}

/// Timer values with the default config, on the property's traces.
template <class M>
void timer_values_follow_table_4() {
  auto rel = *rc::gen::element(reliability::unreliable, reliability::reliable);
  auto steps = *rc::gen::container<std::vector<std::pair<int, int>>>(
      rc::gen::pair(rc::gen::inRange(0, 7), rc::gen::inRange(0, 600)));
  M m(rel, timer_config{});
  constexpr bool client = figure<M>::client;
  auto check = [&](const event& e) {
    for (const auto& a : m.on(e))
      if (auto* s = std::get_if<start_timer>(&a)) {
        RC_LOG() << to_string(a);
        RC_ASSERT(value_ok(s->id, s->after.count(), rel));
      }
  };
  for (auto [kind, pick] : steps) {
    switch (kind) {
      case 0: client ? check(request_from_tu{}) : check(request_received{}); break;
      case 1:
        client ? check(response_received{status_of(1 + pick % 6, pick)})
               : check(response_from_tu{status_of(1 + pick % 6, pick)});
        break;
      case 2: check(ack_received{}); break;
      default: {
        auto id = static_cast<timer_id>(pick % static_cast<int>(timer_count));
        if (m.timer_running(id)) check(timer_fired{id});
      }
    }
  }
}

/// Transmissions with no answer until the timeout timer, for T1 and T2.
int expected_sends(int64_t t1, int64_t t2, bool capped) {
  // RFC 3261 §17.1.1.2 / §17.1.2.2: sends at 0 and after intervals T1, 2T1, 4T1, ...
  // (capped at T2 for non-INVITE); the timeout fires at 64*T1 and wins a tie, since
  // it was started first.
  int n = 0;
  int64_t t = 0, iv = t1;
  while (t < 64 * t1) {
    ++n;
    t += iv;
    iv = capped ? std::min(2 * iv, t2) : 2 * iv;
  }
  return n;
}

} // namespace

RC_GTEST_PROP(transaction_prop, client_invite_any_sequence_terminates, ()) {
  any_sequence_terminates<client_invite>();
}
RC_GTEST_PROP(transaction_prop, client_non_invite_any_sequence_terminates, ()) {
  any_sequence_terminates<client_non_invite>();
}
RC_GTEST_PROP(transaction_prop, server_invite_any_sequence_terminates, ()) {
  any_sequence_terminates<server_invite>();
}
RC_GTEST_PROP(transaction_prop, server_non_invite_any_sequence_terminates, ()) {
  any_sequence_terminates<server_non_invite>();
}

RC_GTEST_PROP(transaction_prop, timer_values_follow_table_4, ()) {
  timer_values_follow_table_4<client_invite>();
  timer_values_follow_table_4<client_non_invite>();
  timer_values_follow_table_4<server_invite>();
  timer_values_follow_table_4<server_non_invite>();
}

RC_GTEST_PROP(transaction_prop, unanswered_retransmission_counts, ()) {
  int64_t t1 = *rc::gen::inRange<int64_t>(50, 2001);
  int64_t t2 = t1 * *rc::gen::inRange<int64_t>(1, 17);
  timer_config cfg;
  cfg.t1 = std::chrono::milliseconds(t1);
  cfg.t2 = std::chrono::milliseconds(t2);

  model<client_non_invite> nict(reliability::unreliable, cfg);
  nict.feed(request_from_tu{});
  while (nict.fire_next()) {}
  RC_ASSERT(nict.sends == expected_sends(t1, t2, true));
  RC_ASSERT(nict.now == 64 * t1);

  model<client_invite> ict(reliability::unreliable, cfg);
  ict.feed(request_from_tu{});
  while (ict.fire_next()) {}
  RC_ASSERT(ict.sends == 7);  // §17.1.1.2: 0, 1, 3, 7, 15, 31, 63 T1, then B at 64 T1
  RC_ASSERT(ict.sends == expected_sends(t1, t2, false));

  // §17.2.1: a final response re-sent by Timer G (capped at T2) until Timer H.
  model<server_invite> ist(reliability::unreliable, cfg);
  ist.feed(request_received{});
  ist.feed(response_from_tu{486});
  while (ist.fire_next()) {}
  RC_ASSERT(ist.sends == expected_sends(t1, t2, true));

  model<client_non_invite> tcp(reliability::reliable, cfg);
  tcp.feed(request_from_tu{});
  while (tcp.fire_next()) {}
  RC_ASSERT(tcp.sends == 1);  // §17.1.2.2: no retransmission on reliable transports
}

// The RFC's own numbers with the defaults (T1 = 0.5 s, T2 = 4 s).
TEST(transaction_prop, default_counts) {
  EXPECT_EQ(expected_sends(500, 4000, true), 11);   // 0, .5, 1.5, 3.5, 7.5, 11.5 ... 31.5
  EXPECT_EQ(expected_sends(500, 4000, false), 7);   // 0, .5, 1.5, 3.5, 7.5, 15.5, 31.5
}
