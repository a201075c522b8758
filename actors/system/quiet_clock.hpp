#pragma once

#include <caf/detail/thread_safe_actor_clock.hpp>

#include <mutex>
#include <unordered_map>

namespace centralita::actors {

/// CAF's clock, minus a futex wake-up per terminating actor.
///
/// CAF 0.17 calls `clock().cancel_timeouts(self)` from every actor's cleanup,
/// and thread_safe_actor_clock answers each call by queueing a cancellation
/// and signalling the caf.clock thread — a futex wake on the worker and a
/// wake-up of that thread for every transaction and proxy actor that ends,
/// although ours never set a CAF timeout (SIP timers live on the workers'
/// wheels). This clock forwards everything to the real one (whose dispatch
/// loop the coordinator runs) and remembers which actors did set a timeout,
/// so `cancel_timeouts` for any other actor costs an uncontended lock and a
/// hash lookup.
class quiet_clock final : public caf::detail::thread_safe_actor_clock {
public:
  explicit quiet_clock(caf::detail::thread_safe_actor_clock& real) : real_(real) {}

  time_point now() const noexcept override { return real_.now(); }
  duration_type difference(caf::atom_value measurement, long units, time_point t0,
                           time_point t1) const noexcept override {
    return real_.difference(measurement, units, t0, t1);
  }

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override;
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override;
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override;
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override;
  void cancel_all() override;

  /// Actors with a CAF timeout set and not yet cleaned up (for tests).
  std::size_t tracked() const;

private:
  void track(caf::abstract_actor* self);

  caf::detail::thread_safe_actor_clock& real_;
  mutable std::mutex mtx_;
  std::unordered_map<caf::actor_id, unsigned> with_timeouts_;  ///< actor → timeouts ever set
};

} // namespace centralita::actors
