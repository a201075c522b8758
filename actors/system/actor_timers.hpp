#pragma once

#include "drivers/timer/timer_wheel.hpp"
#include "drivers/uring/reactor.hpp"

#include <caf/actor_control_block.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/local_actor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace centralita::actors {

/// Delivered (at high priority) to an actor whose timer expired. `tag` is
/// whatever the actor armed it with; actors also keep a generation in it, so
/// a firing that raced a cancel is recognised and ignored.
struct timer_expired {
  uint64_t tag;
};

/// One armed timer. Valid until it fires or is cancelled.
struct timer_handle {
  uint32_t reactor = UINT32_MAX;
  uint32_t entry = UINT32_MAX;
  drivers::timer_wheel::handle wheel;
  bool valid() const { return reactor != UINT32_MAX; }
};

/// SIP timers for actors, on the hashed timing wheel of the reactor whose
/// worker runs the actor (DESIGN.md: CAF's delayed_send is not a SIP timer —
/// it cannot be cancelled, costs 5–20 µs per firing and keeps dead actors
/// alive). The wheel holds only a weak reference to the actor. Cancelling on
/// the worker that armed the timer is O(1) and synchronous; from another
/// worker (actors run where their last message was sent from) the cancel is
/// queued for the owning reactor without waking it: it runs before that
/// reactor's next timers, and a firing that still slipped through is stale
/// by its tag's generation.
/// One per process, shared by every actor that needs timers.
class timer_service {
public:
  explicit timer_service(const std::vector<drivers::reactor*>& reactors);
  ~timer_service();
  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  /// Arms a timer for `self` on the calling worker's wheel. Off a worker
  /// thread (tests with CAF's own scheduler, detached actors) it falls back
  /// to a delayed message, which cannot be cancelled (the tag's generation
  /// makes the stale firing harmless).
  timer_handle arm(caf::local_actor* self, std::chrono::milliseconds after, uint64_t tag);
  void cancel(timer_handle& h);

  /// Live timers over all wheels (approximate off-thread).
  std::size_t live() const;

  class per_reactor;

private:
  std::vector<std::unique_ptr<per_reactor>> wheels_;
};

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::timer_expired)
