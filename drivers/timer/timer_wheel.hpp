#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace centralita::drivers {

/// Receives timer expiries. The cookie is whatever the scheduler passed in.
class timer_target {
public:
  virtual void on_timer(uint64_t cookie) = 0;

protected:
  ~timer_target() = default;
};

/// A hashed timing wheel (Varghese & Lauck): O(1) schedule, O(1) cancel by
/// generation, expiry work proportional to the timers that are due. One wheel
/// belongs to one thread (a reactor); it is not thread-safe by design.
///
/// Why not CAF's delayed_send: it cannot be cancelled, costs 5–20 µs per firing
/// and keeps dead actors alive (DESIGN.md). Timers here are slab nodes in
/// per-slot intrusive lists; a bitmap of non-empty slots tells the reactor how
/// long it may sleep.
class timer_wheel {
public:
  using clock = std::chrono::steady_clock;

  /// Identifies one scheduled timer; stale after it fires or is cancelled.
  struct handle {
    uint32_t index = UINT32_MAX;
    uint32_t generation = 0;
    bool valid() const { return index != UINT32_MAX; }
  };

  explicit timer_wheel(clock::time_point start = clock::now(),
                       std::chrono::milliseconds tick = std::chrono::milliseconds{1},
                       std::size_t slots = 4096);

  /// Fires `target->on_timer(cookie)` at the first tick at or after `deadline`.
  handle schedule(clock::time_point deadline, timer_target* target, uint64_t cookie);
  /// Cancels a pending timer; false when it already fired or was cancelled.
  bool cancel(handle h);
  /// Fires every timer due at `now`; returns how many fired.
  std::size_t advance(clock::time_point now);
  /// The earliest tick that holds a timer (possibly of a later round), if any.
  std::optional<clock::time_point> next_wakeup() const;
  std::size_t size() const { return live_; }

private:
  struct node {
    uint64_t deadline_tick = 0;
    uint64_t cookie = 0;
    timer_target* target = nullptr;
    uint32_t generation = 0;
    uint32_t prev = UINT32_MAX;
    uint32_t next = UINT32_MAX;  // in a slot list, or the free list
    uint32_t slot = UINT32_MAX;  // UINT32_MAX when not linked in a slot
  };

  uint64_t tick_of(clock::time_point t) const;
  void link(uint32_t index, std::size_t slot);
  void unlink(uint32_t index);
  void release(uint32_t index);
  void set_bit(std::size_t slot) { bitmap_[slot >> 6] |= uint64_t{1} << (slot & 63); }
  void clear_bit(std::size_t slot) { bitmap_[slot >> 6] &= ~(uint64_t{1} << (slot & 63)); }
  void fire_slot(std::size_t slot, uint64_t now_tick);

  clock::time_point start_;
  std::chrono::milliseconds tick_;
  std::size_t mask_;
  uint64_t current_tick_ = 0;  // every tick <= this has been processed
  std::vector<uint32_t> heads_;
  std::vector<uint64_t> bitmap_;
  std::vector<node> nodes_;
  uint32_t free_ = UINT32_MAX;
  std::size_t live_ = 0;
  std::vector<uint32_t> due_;  // scratch, reused
};

} // namespace centralita::drivers
