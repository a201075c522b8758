#pragma once

#include "actors/system/actor_timers.hpp"
#include "protocols/sip/transaction/event.hpp"

#include <caf/local_actor.hpp>

#include <array>
#include <optional>

namespace centralita::actors {

/// The timers of one transaction actor: starts and cancels them on the
/// worker's wheel as the state machine asks, and turns a `timer_expired`
/// back into the machine's `timer_fired` — unless it is stale (the timer was
/// cancelled or restarted since), which a generation in the tag tells.
class txn_timers {
public:
  explicit txn_timers(timer_service* service) : service_(service) {}

  void start(caf::local_actor* self, sip::txn::timer_id id, std::chrono::milliseconds after) {
    auto i = static_cast<std::size_t>(id);
    service_->cancel(handles_[i]);
    ++generation_[i];
    handles_[i] = service_->arm(self, after, (uint64_t{generation_[i]} << 8) | i);
  }

  void cancel(sip::txn::timer_id id) {
    auto i = static_cast<std::size_t>(id);
    service_->cancel(handles_[i]);
    ++generation_[i];
  }

  void cancel_all() {
    for (std::size_t i = 0; i < sip::txn::timer_count; ++i) {
      service_->cancel(handles_[i]);
      ++generation_[i];
    }
  }

  /// The timer a firing stands for, or nothing when it is stale.
  std::optional<sip::txn::timer_id> fired(uint64_t tag) {
    auto i = static_cast<std::size_t>(tag & 0xff);
    if (i >= sip::txn::timer_count || (tag >> 8) != generation_[i])
      return std::nullopt;
    handles_[i] = {};
    return static_cast<sip::txn::timer_id>(i);
  }

private:
  timer_service* service_;
  std::array<timer_handle, sip::txn::timer_count> handles_{};
  std::array<uint32_t, sip::txn::timer_count> generation_{};
};

} // namespace centralita::actors
