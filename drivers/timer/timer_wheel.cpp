#include "drivers/timer/timer_wheel.hpp"

#include <bit>
#include <cassert>

namespace centralita::drivers {

timer_wheel::timer_wheel(clock::time_point start, std::chrono::milliseconds tick,
                         std::size_t slots)
  : start_(start), tick_(tick), mask_(std::bit_ceil(slots < 64 ? 64 : slots) - 1) {
  heads_.assign(mask_ + 1, UINT32_MAX);
  bitmap_.assign((mask_ + 1) / 64, 0);
}

uint64_t timer_wheel::tick_of(clock::time_point t) const {
  if (t <= start_)
    return 0;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(t - start_);
  // Round up: a timer never fires early.
  return static_cast<uint64_t>((elapsed.count() + tick_.count() - 1) / tick_.count());
}

void timer_wheel::link(uint32_t index, std::size_t slot) {
  auto& n = nodes_[index];
  n.slot = static_cast<uint32_t>(slot);
  n.prev = UINT32_MAX;
  n.next = heads_[slot];
  if (n.next != UINT32_MAX)
    nodes_[n.next].prev = index;
  heads_[slot] = index;
  set_bit(slot);
}

void timer_wheel::unlink(uint32_t index) {
  auto& n = nodes_[index];
  if (n.slot == UINT32_MAX)
    return;
  if (n.prev != UINT32_MAX)
    nodes_[n.prev].next = n.next;
  else
    heads_[n.slot] = n.next;
  if (n.next != UINT32_MAX)
    nodes_[n.next].prev = n.prev;
  if (heads_[n.slot] == UINT32_MAX)
    clear_bit(n.slot);
  n.slot = UINT32_MAX;
  n.prev = n.next = UINT32_MAX;
}

void timer_wheel::release(uint32_t index) {
  auto& n = nodes_[index];
  ++n.generation;  // every outstanding handle becomes stale
  n.target = nullptr;
  n.next = free_;
  free_ = index;
  --live_;
}

timer_wheel::handle timer_wheel::schedule(clock::time_point deadline, timer_target* target,
                                          uint64_t cookie) {
  assert(target != nullptr);
  uint32_t index;
  if (free_ != UINT32_MAX) {
    index = free_;
    free_ = nodes_[index].next;
  } else {
    index = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  auto& n = nodes_[index];
  // A deadline already past fires at the next advance().
  n.deadline_tick = std::max(tick_of(deadline), current_tick_ + 1);
  n.cookie = cookie;
  n.target = target;
  ++live_;
  link(index, n.deadline_tick & mask_);
  return {index, n.generation};
}

bool timer_wheel::cancel(handle h) {
  if (!h.valid() || h.index >= nodes_.size())
    return false;
  auto& n = nodes_[h.index];
  if (n.generation != h.generation || n.target == nullptr)
    return false;
  unlink(h.index);
  release(h.index);
  return true;
}

void timer_wheel::fire_slot(std::size_t slot, uint64_t now_tick) {
  for (auto i = heads_[slot]; i != UINT32_MAX;) {
    auto next = nodes_[i].next;
    if (nodes_[i].deadline_tick <= now_tick) {
      unlink(i);
      due_.push_back(i);
    }
    i = next;
  }
}

std::size_t timer_wheel::advance(clock::time_point now) {
  // Only whole ticks count: floor, where deadlines round up.
  uint64_t now_tick = 0;
  if (now > start_)
    now_tick = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - start_).count() / tick_.count());
  if (now_tick <= current_tick_)
    return 0;
  due_.clear();
  auto span = now_tick - current_tick_;
  if (span > mask_) {
    for (std::size_t s = 0; s <= mask_; ++s)
      if (heads_[s] != UINT32_MAX)
        fire_slot(s, now_tick);
  } else {
    for (auto t = current_tick_ + 1; t <= now_tick; ++t) {
      auto s = t & mask_;
      if (heads_[s] != UINT32_MAX)
        fire_slot(s, now_tick);
    }
  }
  current_tick_ = now_tick;
  std::size_t fired = 0;
  for (auto i : due_) {
    auto& n = nodes_[i];
    auto* target = n.target;
    auto cookie = n.cookie;
    release(i);  // before the callback: it may schedule again and reuse the node
    target->on_timer(cookie);
    ++fired;
  }
  return fired;
}

std::optional<timer_wheel::clock::time_point> timer_wheel::next_wakeup() const {
  if (live_ == 0)
    return std::nullopt;
  // Scan the bitmap from the slot after the current tick, wrapping once.
  auto slots = mask_ + 1;
  auto first = (current_tick_ + 1) & mask_;
  for (std::size_t step = 0; step <= slots;) {
    auto s = (first + step) & mask_;
    auto word = bitmap_[s >> 6] >> (s & 63);
    if (word != 0) {
      auto offset = static_cast<std::size_t>(std::countr_zero(word));
      auto tick = current_tick_ + 1 + step + offset;
      return start_ + tick_ * static_cast<int64_t>(tick);
    }
    step += 64 - (s & 63);
  }
  return start_ + tick_ * static_cast<int64_t>(current_tick_ + 1);
}

} // namespace centralita::drivers
