#include "drivers/timer/timer_wheel.hpp"

#include <bit>
#include <cassert>

namespace centralita::drivers {

timer_wheel::timer_wheel(clock::time_point start, std::chrono::milliseconds tick,
                         std::size_t slots)
  : start_(start), tick_(tick), mask_(std::bit_ceil(slots < 64 ? 64 : slots) - 1),
    block_shift_(static_cast<uint64_t>(std::countr_zero(mask_ + 1)) - 4),
    cascaded_block_(15) {
  for (auto& l : levels_) {
    l.heads.assign(mask_ + 1, UINT32_MAX);
    l.bitmap.assign((mask_ + 1) / 64, 0);
  }
}

uint64_t timer_wheel::tick_of(clock::time_point t) const {
  if (t <= start_)
    return 0;
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(t - start_);
  // Round up: a timer never fires early.
  return static_cast<uint64_t>((elapsed.count() + tick_.count() - 1) / tick_.count());
}

void timer_wheel::link(uint32_t index, uint8_t lvl, std::size_t slot) {
  auto& n = nodes_[index];
  auto& l = levels_[lvl];
  n.level = lvl;
  n.slot = static_cast<uint32_t>(slot);
  n.prev = UINT32_MAX;
  n.next = l.heads[slot];
  if (n.next != UINT32_MAX)
    nodes_[n.next].prev = index;
  l.heads[slot] = index;
  l.set_bit(slot);
}

void timer_wheel::place(uint32_t index) {
  auto d = nodes_[index].deadline_tick;
  if ((d >> block_shift_) <= cascaded_block_)
    link(index, 0, d & mask_);  // within level 0's round (see cascade())
  else
    link(index, 1, (d >> block_shift_) & mask_);
}

void timer_wheel::unlink(uint32_t index) {
  auto& n = nodes_[index];
  if (n.slot == UINT32_MAX)
    return;
  auto& l = levels_[n.level];
  if (n.prev != UINT32_MAX)
    nodes_[n.prev].next = n.next;
  else
    l.heads[n.slot] = n.next;
  if (n.next != UINT32_MAX)
    nodes_[n.next].prev = n.prev;
  if (l.heads[n.slot] == UINT32_MAX)
    l.clear_bit(n.slot);
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
  auto due = std::max(tick_of(deadline), current_tick_ + 1);
  if (due - current_tick_ > mask_) {  // a round or more ahead: round up to its block
    auto block = uint64_t{1} << block_shift_;
    due = (due + block - 1) & ~(block - 1);
  }
  n.deadline_tick = due;
  n.cookie = cookie;
  n.target = target;
  ++live_;
  place(index);
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

void timer_wheel::cascade(uint64_t up_to_block) {
  // Level 0 takes a block once it lies wholly within one round of the current
  // tick: blocks <= (current tick's block) + 15, i.e. less than `slots` ticks
  // ahead. Every level-1 node is later than the old current tick, so after the
  // move advance()'s slot scan meets it.
  if (up_to_block <= cascaded_block_)
    return;
  auto& l1 = levels_[1];
  auto move_from = [&](std::size_t slot) {
    for (auto i = l1.heads[slot]; i != UINT32_MAX;) {
      auto next = nodes_[i].next;
      if ((nodes_[i].deadline_tick >> block_shift_) <= up_to_block) {
        unlink(i);
        link(i, 0, nodes_[i].deadline_tick & mask_);
      }
      i = next;
    }
  };
  if (up_to_block - cascaded_block_ > mask_) {
    for (std::size_t s = 0; s <= mask_; ++s)
      if (l1.heads[s] != UINT32_MAX)
        move_from(s);
  } else {
    for (auto b = cascaded_block_ + 1; b <= up_to_block; ++b)
      if (l1.heads[b & mask_] != UINT32_MAX)
        move_from(b & mask_);
  }
  cascaded_block_ = up_to_block;
}

void timer_wheel::fire_slot(std::size_t slot, uint64_t now_tick) {
  auto& heads = levels_[0].heads;
  for (auto i = heads[slot]; i != UINT32_MAX;) {
    auto next = nodes_[i].next;
    if (nodes_[i].deadline_tick <= now_tick) {
      unlink(i);
      due_.emplace_back(i, nodes_[i].generation);
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
  cascade((now_tick >> block_shift_) + 15);
  const auto& heads = levels_[0].heads;
  auto span = now_tick - current_tick_;
  if (span > mask_) {
    for (std::size_t s = 0; s <= mask_; ++s)
      if (heads[s] != UINT32_MAX)
        fire_slot(s, now_tick);
  } else {
    for (auto t = current_tick_ + 1; t <= now_tick; ++t) {
      auto s = t & mask_;
      if (heads[s] != UINT32_MAX)
        fire_slot(s, now_tick);
    }
  }
  current_tick_ = now_tick;
  std::size_t fired = 0;
  for (auto [i, generation] : due_) {
    auto& n = nodes_[i];
    // A callback earlier in this batch may have cancelled this timer (the
    // node released: a new generation), and maybe scheduled another one into
    // the same node: either way it is no longer the timer that fell due.
    if (n.generation != generation)
      continue;
    auto* target = n.target;
    auto cookie = n.cookie;
    release(i);  // before the callback: it may schedule again and reuse the node
    target->on_timer(cookie);
    ++fired;
  }
  return fired;
}

std::optional<std::size_t> timer_wheel::level::first_from(std::size_t from,
                                                         std::size_t mask) const {
  auto slots = mask + 1;
  for (std::size_t step = 0; step <= slots;) {
    auto s = (from + step) & mask;
    auto word = bitmap[s >> 6] >> (s & 63);
    if (word != 0)
      return step + static_cast<std::size_t>(std::countr_zero(word));
    step += 64 - (s & 63);
  }
  return std::nullopt;
}

std::optional<timer_wheel::clock::time_point> timer_wheel::next_wakeup() const {
  if (live_ == 0)
    return std::nullopt;
  // Level 0 holds only timers of the current round: its first non-empty slot
  // is exact. Level 1's first non-empty block gives a lower bound (its start);
  // a node of a later level-1 round (beyond 17.5 min) costs one early wake-up.
  std::optional<uint64_t> tick;
  if (auto off = levels_[0].first_from((current_tick_ + 1) & mask_, mask_))
    tick = current_tick_ + 1 + *off;
  if (auto off = levels_[1].first_from((cascaded_block_ + 1) & mask_, mask_)) {
    auto at = (cascaded_block_ + 1 + *off) << block_shift_;
    tick = tick ? std::min(*tick, at) : at;
  }
  if (!tick)
    tick = current_tick_ + 1;
  return start_ + tick_ * static_cast<int64_t>(*tick);
}

} // namespace centralita::drivers
