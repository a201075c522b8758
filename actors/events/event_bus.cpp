#include "actors/events/event_bus.hpp"

#include "protocols/events/catalogue.hpp"

#include "protocols/events/event_json.hpp"
#include "protocols/events/subscription_index.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <bitset>
#include <chrono>
#include <deque>
#include <unordered_map>
#include <algorithm>
#include <utility>
#include <vector>

namespace centralita::actors {

subscription_id next_subscription_id() noexcept {
  static std::atomic<subscription_id> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

namespace {

std::size_t kind_slot(std::string_view event_name) noexcept {
  auto* k = events::find_kind(event_name);
  auto slot = k == nullptr ? 15 : static_cast<std::size_t>(k - events::catalogue().data());
  return slot < 16 ? slot : 15;
}

} // namespace

void event_bus_stats::want(std::string_view event_name) noexcept {
  interest[kind_slot(event_name)].fetch_add(1, std::memory_order_seq_cst);
}

void event_bus_stats::unwant(std::string_view event_name) noexcept {
  interest[kind_slot(event_name)].fetch_sub(1, std::memory_order_relaxed);
}

bool event_bus_stats::wanted(std::string_view event_name) const noexcept {
  return interest[kind_slot(event_name)].load(std::memory_order_seq_cst) > 0;
}

const char* to_string(subscription_end e) noexcept {
  switch (e) {
    case subscription_end::event: return "event";
    case subscription_end::timeout: return "timeout";
    case subscription_end::cancelled: return "cancelled";
  }
  return "?";
}

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct event_bus_state {
  static constexpr const char* name = "event_bus";

  struct sub_info {
    caf::actor subscriber;
    subscription_mode mode;
    timer_handle timeout;
  };
  /// What the bus knows of one subscriber actor (several subscriptions).
  struct subscriber_info {
    std::shared_ptr<std::atomic<uint32_t>> inflight =
      std::make_shared<std::atomic<uint32_t>>(0);
    uint32_t limit = 1024;
    std::size_t subscriptions = 0;
    uint64_t dropped = 0;
    uint64_t dropped_since_delivery = 0;
    bool stream = false;
    std::chrono::steady_clock::time_point last_drop_log{};
  };

  caf::event_based_actor* self = nullptr;
  event_bus_deps deps;
  events::subscription_index index;
  std::unordered_map<subscription_id, sub_info> subs;
  std::unordered_map<caf::actor_addr, subscriber_info> subscribers;
  uint64_t seq = 0;
  std::vector<events::subscription_index::id> matched;  // scratch
  /// The replay buffer: the newest events of the kinds stream clients asked
  /// for, oldest first (seq ascending, with gaps for kinds not kept).
  std::deque<stream_item> ring;
  std::bitset<16> retained_kinds;
  uint64_t evicted_up_to = 0;  ///< the newest sequence number evicted from the ring

  event_bus_stats& stats() { return *deps.stats; }

  void on_subscribe(subscribe& s) {
    if (!s.subscriber || subs.count(s.id) != 0) {
      if (s.counted)
        stats().unwant(s.filter.event_name());
      return;
    }
    if (!s.counted)
      stats().want(s.filter.event_name());
    auto addr = s.subscriber.address();
    auto [it, fresh] = subscribers.try_emplace(addr);
    if (fresh) {
      it->second.limit = std::max<uint32_t>(1, s.queue_limit);
      self->monitor(s.subscriber);
    }
    if (s.stream) {
      it->second.stream = true;
      // Sticky: from the first stream subscription on, this kind is built
      // and kept even while no client is connected, so a dashboard that
      // restarts gets what happened meanwhile (within the buffer).
      auto slot = kind_slot(s.filter.event_name());
      if (deps.replay_size > 0 && !retained_kinds.test(slot)) {
        retained_kinds.set(slot);
        stats().want(s.filter.event_name());
      }
    }
    ++it->second.subscriptions;
    sub_info info{std::move(s.subscriber), s.mode, {}};
    if (s.timeout.count() > 0)
      info.timeout = deps.timers->arm(self, s.timeout, s.id);
    index.add(s.id, std::move(s.filter));
    subs.emplace(s.id, std::move(info));
    stats().subscriptions.fetch_add(1, std::memory_order_relaxed);
    if (s.mode == subscription_mode::once)
      stats().waits.fetch_add(1, std::memory_order_relaxed);
  }

  /// Removes a live subscription; the caller tells the subscriber why.
  sub_info remove(std::unordered_map<subscription_id, sub_info>::iterator it) {
    auto info = std::move(it->second);
    if (auto* f = index.find(it->first))
      stats().unwant(f->event_name());
    index.remove(it->first);
    subs.erase(it);
    deps.timers->cancel(info.timeout);
    stats().subscriptions.fetch_sub(1, std::memory_order_relaxed);
    if (info.mode == subscription_mode::once)
      stats().waits.fetch_sub(1, std::memory_order_relaxed);
    if (auto s = subscribers.find(info.subscriber.address()); s != subscribers.end()) {
      if (--s->second.subscriptions == 0) {
        self->demonitor(info.subscriber);
        subscribers.erase(s);
      }
    }
    return info;
  }

  void on_unsubscribe(const unsubscribe& u) {
    auto it = subs.find(u.id);
    if (it == subs.end())
      return;  // already ended: its end was reported
    auto info = remove(it);
    self->send(info.subscriber, subscription_ended{u.id, subscription_end::cancelled});
  }

  void on_timeout(const timer_expired& t) {
    auto it = subs.find(t.tag);
    if (it == subs.end())
      return;
    it->second.timeout = {};
    auto info = remove(it);
    stats().timeouts.fetch_add(1, std::memory_order_relaxed);
    self->send(info.subscriber, subscription_ended{t.tag, subscription_end::timeout});
  }

  void on_publish(publish_event& p) {
    p.ev.seq = ++seq;
    if (p.ev.timestamp_ms == 0)
      p.ev.timestamp_ms = wall_ms();
    p.ev.mono_ns = std::chrono::steady_clock::now().time_since_epoch().count();
    stats().published.fetch_add(1, std::memory_order_relaxed);
    stats().last_seq.store(seq, std::memory_order_relaxed);
    matched.clear();
    index.match(p.ev, matched);
    bool retain = deps.replay_size > 0 && retained_kinds.test(kind_slot(p.ev.name));
    if (matched.empty() && !retain)
      return;  // the common case: no copy, no allocation
    std::shared_ptr<const events::event> shared = std::make_shared<events::event>(std::move(p.ev));
    std::shared_ptr<const std::string> json;
    auto json_of = [&] {
      if (!json)
        json = std::make_shared<const std::string>(events::to_json(*shared, deps.node));
      return json;
    };
    if (retain) {
      ring.push_back({shared, json_of()});
      while (ring.size() > deps.replay_size) {
        evicted_up_to = ring.front().ev->seq;
        ring.pop_front();
      }
      stats().retained.store(ring.size(), std::memory_order_relaxed);
    }
    for (auto id : matched) {
      auto it = subs.find(id);
      if (it == subs.end())
        continue;
      auto s = subscribers.find(it->second.subscriber.address());
      if (s == subscribers.end())
        continue;
      auto& who = s->second;
      bool last = it->second.mode == subscription_mode::once;
      if (!last && who.inflight->load(std::memory_order_relaxed) >= who.limit) {
        drop(id, who, *shared);
        continue;
      }
      // A wait's one event is never dropped: it ends the wait either way.
      who.inflight->fetch_add(1, std::memory_order_relaxed);
      auto token = std::make_shared<inflight_token>(who.inflight);
      auto target = it->second.subscriber;
      event_delivery d{id, shared, last, std::move(token), nullptr, 0};
      if (who.stream) {
        d.json = json_of();
        d.dropped_before = std::exchange(who.dropped_since_delivery, 0);
      }
      if (last)
        remove(it);  // may take `who` with it: nothing of it is read after this
      stats().delivered.fetch_add(1, std::memory_order_relaxed);
      self->send(target, std::move(d));
    }
  }

  void drop(subscription_id id, subscriber_info& who, const events::event& ev) {
    ++who.dropped;
    ++who.dropped_since_delivery;
    stats().dropped.fetch_add(1, std::memory_order_relaxed);
    auto now = std::chrono::steady_clock::now();
    if (deps.log && now - who.last_drop_log >= std::chrono::seconds{1}) {
      who.last_drop_log = now;
      deps.log->warn("event bus: subscriber of subscription {} has {} events in flight (limit {}): "
                     "dropped {} #{} ({} dropped for it so far)",
                     id, who.inflight->load(std::memory_order_relaxed), who.limit, ev.name,
                     ev.seq, who.dropped);
    }
  }

  replay_answer on_replay(const replay_request& r) {
    replay_answer out;
    out.up_to = seq;
    // A `since` from the future is from an earlier run of the node (its
    // numbering restarted): everything held is news to that client.
    uint64_t since = r.since > seq ? 0 : r.since;
    if (evicted_up_to > since) {
      out.missed_first = since + 1;
      out.missed_last = evicted_up_to;
      out.missed = evicted_up_to - since;
    }
    auto first = std::partition_point(ring.begin(), ring.end(),
                                      [&](const stream_item& i) { return i.ev->seq <= since; });
    for (auto it = first; it != ring.end(); ++it)
      for (auto& f : r.filters)
        if (f.matches(*it->ev)) {
          out.items.push_back(*it);
          break;
        }
    return out;
  }

  void on_down(const caf::down_msg& m) {
    // A subscriber died: its subscriptions go, silently (nobody to tell).
    std::vector<subscription_id> gone;
    for (auto& [id, info] : subs)
      if (info.subscriber.address() == m.source)
        gone.push_back(id);
    for (auto id : gone)
      remove(subs.find(id));
    subscribers.erase(m.source);
  }

  ~event_bus_state() {
    if (deps.stats) {
      deps.stats->subscriptions.fetch_sub(subs.size(), std::memory_order_relaxed);
      for (auto& [id, info] : subs)
        if (info.mode == subscription_mode::once)
          deps.stats->waits.fetch_sub(1, std::memory_order_relaxed);
    }
    if (deps.timers)
      for (auto& [id, info] : subs)
        deps.timers->cancel(info.timeout);
  }
};

caf::behavior event_bus(caf::stateful_actor<event_bus_state>* self, event_bus_deps deps) {
  auto& st = self->state;
  st.self = self;
  st.deps = std::move(deps);
  if (!st.deps.stats)
    st.deps.stats = std::make_shared<event_bus_stats>();
  self->set_down_handler([&st](caf::down_msg& m) { st.on_down(m); });
  return {
    [&st](publish_event& p) { st.on_publish(p); },
    [&st](subscribe& s) { st.on_subscribe(s); },
    [&st](const unsubscribe& u) { st.on_unsubscribe(u); },
    [&st](const timer_expired& t) { st.on_timeout(t); },
    [&st](const replay_request& r) { return st.on_replay(r); },
  };
}

} // namespace

caf::actor spawn_event_bus(caf::actor_system& sys, event_bus_deps deps) {
  return sys.spawn(event_bus, std::move(deps));
}

} // namespace centralita::actors
