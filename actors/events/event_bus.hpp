#pragma once

// The event bus (docs/events.md): publishers send events, subscribers are
// actors holding filtered subscriptions. One bus actor per process owns the
// subscription index (protocols/events/subscription_index.hpp: equality
// filters cost O(1) per event however many there are), numbers the events
// (a per-node sequence) and delivers each to the subscribers whose filter
// matches it.
//
// - Publishing is a send to the bus: it never blocks the publisher.
// - A subscription is persistent (a handler: every matching event until it is
//   cancelled or times out) or once (a wait: the first matching event ends it).
//   It may have a timeout (on the worker's timing wheel). Whatever ends it —
//   event, timeout, cancel, or the subscriber's death — happens exactly once,
//   decided in the bus's mailbox order, and the subscriber is told which.
// - Every subscriber has a bounded number of events in flight (delivered, not
//   yet handled). Past that bound the bus drops the event for that subscriber,
//   counts it and logs (at most one line per second per subscriber): a slow
//   subscriber never stalls the bus.

#include "actors/system/actor_timers.hpp"
#include "protocols/events/event.hpp"
#include "protocols/events/filter.hpp"

#include <caf/actor.hpp>

#include <array>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace centralita::actors {

using subscription_id = uint64_t;

/// A process-wide unique subscription id (subscribers choose it, so that
/// subscribing is a plain send that returns at once).
subscription_id next_subscription_id() noexcept;

enum class subscription_mode : uint8_t {
  persistent,  ///< a handler: zero or many events until cancelled or timed out
  once,        ///< a wait: ends with the first matching event
};

/// Why a subscription ended.
enum class subscription_end : uint8_t { event, timeout, cancelled };
const char* to_string(subscription_end e) noexcept;

// -- to the bus --------------------------------------------------------------

/// Publish an event (fire and forget). The bus sets `seq` and, when zero,
/// `timestamp_ms`.
struct publish_event {
  events::event ev;
};

struct subscribe {
  subscription_id id;            ///< from next_subscription_id()
  events::filter filter;         ///< validated when it was made
  caf::actor subscriber;
  subscription_mode mode = subscription_mode::persistent;
  std::chrono::milliseconds timeout{0};  ///< 0: none
  uint32_t queue_limit = 1024;   ///< events in flight to this subscriber (the first subscription sets it)
  /// The subscriber called event_bus_stats::want() for it before sending
  /// (else the bus does when it files the subscription).
  bool counted = false;
  /// A stream client (WebSocket /events): its deliveries carry the event's
  /// JSON (rendered once per event for all such clients), and the bus keeps
  /// this kind of event in its replay buffer from now on, so a client that
  /// reconnects with ?since= gets what it missed (docs/api.md).
  bool stream = false;
};

/// Replay (request; the bus answers `replay_answer`): the retained events
/// after `since` that match any of `filters`, oldest first.
struct replay_request {
  uint64_t since = 0;
  std::vector<events::filter> filters;
};

/// One retained event with its JSON.
struct stream_item {
  std::shared_ptr<const events::event> ev;
  std::shared_ptr<const std::string> json;
};

struct replay_answer {
  std::vector<stream_item> items;
  /// Events after `since` the buffer no longer holds (first..last seq;
  /// count 0 when nothing is missing). They may not all have matched.
  uint64_t missed = 0;
  uint64_t missed_first = 0;
  uint64_t missed_last = 0;
  uint64_t up_to = 0;  ///< the last sequence number published when answering
};

/// Cancel a subscription. The subscriber gets `subscription_ended{cancelled}`
/// unless the subscription had already ended (then nothing).
struct unsubscribe {
  subscription_id id;
};

// -- to a subscriber ---------------------------------------------------------

/// Counts an event in flight to a subscriber until the last copy of the
/// delivery is destroyed (after the handler ran, or dropped unhandled).
class inflight_token {
public:
  explicit inflight_token(std::shared_ptr<std::atomic<uint32_t>> n) : n_(std::move(n)) {}
  ~inflight_token() { n_->fetch_sub(1, std::memory_order_relaxed); }
  inflight_token(const inflight_token&) = delete;
  inflight_token& operator=(const inflight_token&) = delete;

private:
  std::shared_ptr<std::atomic<uint32_t>> n_;
};

struct event_delivery {
  subscription_id id;
  std::shared_ptr<const events::event> ev;
  bool last = false;  ///< a once-subscription, ended by this event
  std::shared_ptr<inflight_token> token;
  std::shared_ptr<const std::string> json;  ///< stream subscribers only
  /// Events the bus dropped for this subscriber (its queue was full) since
  /// its previous delivery.
  uint64_t dropped_before = 0;
};

/// A subscription ended without an event (timeout or cancel).
struct subscription_ended {
  subscription_id id;
  subscription_end why;
};

// -- the bus -----------------------------------------------------------------

/// Process-wide counters (read by HEARTBEAT and, later, /metrics).
struct event_bus_stats {
  /// Live subscriptions per kind of event (catalogue order). Publishers skip
  /// building an event nobody subscribed to (a call would otherwise build three
  /// for nobody); a subscriber counts its subscription before sending it, so a
  /// publisher that runs after the subscribe was sent sees it.
  std::array<std::atomic<int64_t>, 16> interest{};
  void want(std::string_view event_name) noexcept;
  void unwant(std::string_view event_name) noexcept;
  bool wanted(std::string_view event_name) const noexcept;

  std::atomic<uint64_t> published{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> dropped{0};        ///< a subscriber's queue was full
  std::atomic<uint64_t> subscriptions{0};  ///< live
  std::atomic<uint64_t> waits{0};          ///< live once-subscriptions (suspended routings)
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> last_seq{0};       ///< the newest event's sequence number
  std::atomic<uint64_t> retained{0};       ///< events in the replay buffer
};

struct event_bus_deps {
  timer_service* timers = nullptr;  ///< subscription timeouts (required)
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<event_bus_stats> stats;
  std::string node;             ///< this node's name, in stream JSON
  std::size_t replay_size = 0;  ///< events kept for stream clients' ?since= (0: none)
};

caf::actor spawn_event_bus(caf::actor_system& sys, event_bus_deps deps);

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::publish_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::subscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::unsubscribe)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::event_delivery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::subscription_ended)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::replay_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::replay_answer)
