#pragma once

// Internal to the four transaction machines: the compact copy of the timer
// configuration and the set of running timers. Not part of the public API.

#include "protocols/sip/transaction/event.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace centralita::sip::txn::detail {

/// timer_config in 16 bytes (milliseconds), so a machine stays small.
struct compact_timers {
  uint32_t t1, t2, t4, d;

  explicit compact_timers(const timer_config& c) noexcept
      : t1(ms(c.t1)), t2(ms(c.t2)), t4(ms(c.t4)), d(ms(c.d)) {}

  /// RFC 3261 Table 4: Timers B, F, H, J (unreliable) and RFC 6026's L and M.
  uint32_t t1x64() const noexcept { return 64 * t1; }

private:
  static uint32_t ms(std::chrono::milliseconds v) noexcept {
    return static_cast<uint32_t>(std::clamp<int64_t>(v.count(), 0, 3'600'000));
  }
};

/// Which timers are running, as a bit set; emits the start/cancel actions.
class timer_set {
public:
  bool running(timer_id id) const noexcept { return (bits_ & bit(id)) != 0; }
  bool any() const noexcept { return bits_ != 0; }

  void start(action_list& out, timer_id id, uint32_t after_ms) noexcept {
    bits_ = static_cast<uint16_t>(bits_ | bit(id));
    out.push(start_timer{id, std::chrono::milliseconds(after_ms)});
  }
  /// Emits cancel_timer only when the timer runs.
  void cancel(action_list& out, timer_id id) noexcept {
    if (!running(id)) return;
    bits_ = static_cast<uint16_t>(bits_ & ~bit(id));
    out.push(cancel_timer{id});
  }
  void cancel_all(action_list& out) noexcept {
    for (size_t i = 0; i < timer_count; ++i) cancel(out, static_cast<timer_id>(i));
  }
  /// A firing of a running timer consumes it (it no longer runs); false for a
  /// timer that does not run (stale or never started): the event is ignored.
  bool consume(timer_id id) noexcept {
    if (!running(id)) return false;
    bits_ = static_cast<uint16_t>(bits_ & ~bit(id));
    return true;
  }

private:
  static uint16_t bit(timer_id id) noexcept {
    return static_cast<uint16_t>(1u << static_cast<unsigned>(id));
  }
  uint16_t bits_ = 0;
};

/// Final or provisional, for the status codes of RFC 3261 §21.
inline bool is_provisional(int status) noexcept { return status >= 100 && status <= 199; }
inline bool is_success(int status) noexcept { return status >= 200 && status <= 299; }
inline bool is_failure(int status) noexcept { return status >= 300 && status <= 699; }

/// What the four machines share: the timer values, the running timers, the
/// state and the reliability, the public queries, and the way out (cancel
/// every running timer, emit `terminated` once). CRTP so that
/// `on(event, vector&)` forwards to the machine's own `on(event)`.
template <class Machine>
class machine_base {
public:
  /// Appends the actions for `e` to `out` (for owners collecting in a vector).
  void on(const event& e, std::vector<action>& out) {
    static_cast<Machine*>(this)->on(e).append_to(out);
  }
  /// The current state of the machine's RFC figure.
  state current() const noexcept { return state_; }
  /// True once `terminated` has been emitted.
  bool is_terminated() const noexcept { return state_ == state::terminated; }
  /// True when `id` runs (started and neither fired nor cancelled).
  bool timer_running(timer_id id) const noexcept { return timers_.running(id); }

protected:
  machine_base(reliability rel, const timer_config& cfg) noexcept : cfg_(cfg), rel_(rel) {}

  /// The last transition of every machine: cancel what runs, then `terminated`.
  void terminate(action_list& out) noexcept {
    timers_.cancel_all(out);
    out.push(terminated{});
    state_ = state::terminated;
  }

  compact_timers cfg_;
  timer_set timers_;
  state state_ = state::idle;
  reliability rel_;
};

} // namespace centralita::sip::txn::detail
