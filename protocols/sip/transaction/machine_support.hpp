#pragma once

// Internal to the four transaction machines: the compact copy of the timer
// configuration and the set of running timers. Not part of the public API.

#include "protocols/sip/transaction/event.hpp"

#include <algorithm>
#include <cstdint>

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

} // namespace centralita::sip::txn::detail
