#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace centralita::drivers {

/// Receives timer expiries. The cookie is whatever the scheduler passed in.
class timer_target {
public:
  virtual void on_timer(uint64_t cookie) = 0;

protected:
  ~timer_target() = default;
};

/// A hashed timing wheel (Varghese & Lauck) in two levels: O(1) schedule,
/// O(1) cancel by generation, expiry work proportional to the timers that are
/// due. One wheel belongs to one thread (a reactor); it is not thread-safe by
/// design.
///
/// Why not CAF's delayed_send: it cannot be cancelled, costs 5–20 µs per firing
/// and keeps dead actors alive (DESIGN.md). Timers here are slab nodes in
/// per-slot intrusive lists; a bitmap of non-empty slots tells the reactor how
/// long it may sleep.
///
/// Level 0 has `slots` ticks of `tick` (4096 × 1 ms: the retransmission
/// timers A, E, G live here and fire on their tick). A timer at least one
/// level-0 round ahead (Timers B, D, F, H, I, J, K, C, ...: timeouts and clean-up,
/// whose precision does not matter) is rounded up to a block of slots/16 ticks
/// (256 ms) and parked in level 1 (`slots` blocks: 17.5 min), from which it moves
/// down when its block comes within level 0's reach. Two things follow: the
/// reactor never wakes for a timer of a later round, and long timers of a busy
/// worker fire together at most a few times per second instead of waking it
/// on every millisecond that holds one.
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

  /// Fires `target->on_timer(cookie)` at the first tick at or after `deadline`
  /// (for a deadline at least a level-0 round ahead: the first block boundary
  /// at or after it). Never early.
  handle schedule(clock::time_point deadline, timer_target* target, uint64_t cookie);
  /// Cancels a pending timer; false when it already fired or was cancelled.
  bool cancel(handle h);
  /// Fires every timer due at `now`; returns how many fired.
  std::size_t advance(clock::time_point now);
  /// When the earliest timer may be due (a lower bound: for level 1, the start
  /// of its block), if any timer is live.
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
    uint8_t level = 0;           // which wheel `slot` indexes
  };

  struct level {
    std::vector<uint32_t> heads;
    std::vector<uint64_t> bitmap;
    void set_bit(std::size_t slot) { bitmap[slot >> 6] |= uint64_t{1} << (slot & 63); }
    void clear_bit(std::size_t slot) { bitmap[slot >> 6] &= ~(uint64_t{1} << (slot & 63)); }
    /// The first non-empty slot at or after `from` (wrapping once), as an
    /// offset from `from`; nullopt when the level is empty.
    std::optional<std::size_t> first_from(std::size_t from, std::size_t mask) const;
  };

  uint64_t tick_of(clock::time_point t) const;
  void link(uint32_t index, uint8_t lvl, std::size_t slot);
  void place(uint32_t index);  // into level 0 or 1 by its deadline
  void unlink(uint32_t index);
  void release(uint32_t index);
  void fire_slot(std::size_t slot, uint64_t now_tick);
  void cascade(uint64_t up_to_block);

  clock::time_point start_;
  std::chrono::milliseconds tick_;
  std::size_t mask_;
  uint64_t block_shift_;       // a level-1 block is 1 << block_shift_ ticks
  uint64_t current_tick_ = 0;  // every tick <= this has been processed
  uint64_t cascaded_block_;    // level-1 blocks <= this have moved to level 0
  level levels_[2];
  std::vector<node> nodes_;
  uint32_t free_ = UINT32_MAX;
  std::size_t live_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> due_;  // (node, its generation): scratch, reused
};

} // namespace centralita::drivers
