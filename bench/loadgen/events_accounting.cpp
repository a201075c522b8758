#include "bench/loadgen/events_accounting.hpp"

#include <algorithm>

namespace centralita::loadgen {

bool seq_set::insert(uint64_t seq) {
  // The common case: the next seq of an in-order stream, or one after a hole.
  if (ranges_.empty() || seq > ranges_.back().last) {
    if (!ranges_.empty() && seq == ranges_.back().last + 1)
      ranges_.back().last = seq;
    else
      ranges_.push_back({seq, seq});
    ++size_;
    return true;
  }
  // Out of order: the first range that starts after seq, and the one before.
  auto next = std::upper_bound(ranges_.begin(), ranges_.end(), seq,
                               [](uint64_t v, const range& r) { return v < r.first; });
  if (next != ranges_.begin()) {
    auto prev = next - 1;
    if (seq <= prev->last)
      return false;
    if (prev->last + 1 == seq) {
      prev->last = seq;
      // It may now touch the next range: join them.
      if (next != ranges_.end() && next->first == seq + 1) {
        prev->last = next->last;
        ranges_.erase(next);
      }
      ++size_;
      return true;
    }
  }
  // seq < next->first here (seq is below the last range's end).
  if (next->first == seq + 1)
    next->first = seq;
  else
    ranges_.insert(next, {seq, seq});
  ++size_;
  return true;
}

void seq_set::merge(const seq_set& other) {
  if (other.ranges_.empty())
    return;
  std::vector<range> out;
  out.reserve(ranges_.size() + other.ranges_.size());
  auto a = ranges_.begin();
  auto b = other.ranges_.begin();
  auto push = [&](const range& r) {
    // Overlapping or adjacent to the last range: extend it (no overflow:
    // last + 1 is only computed when last is below r.first).
    if (!out.empty() && (r.first <= out.back().last || r.first - 1 == out.back().last)) {
      out.back().last = std::max(out.back().last, r.last);
      return;
    }
    out.push_back(r);
  };
  while (a != ranges_.end() || b != other.ranges_.end()) {
    if (b == other.ranges_.end() || (a != ranges_.end() && a->first <= b->first))
      push(*a++);
    else
      push(*b++);
  }
  ranges_ = std::move(out);
  size_ = 0;
  for (const auto& r : ranges_)
    size_ += r.last - r.first + 1;
}

bool seq_set::contains(uint64_t seq) const noexcept {
  auto next = std::upper_bound(ranges_.begin(), ranges_.end(), seq,
                               [](uint64_t v, const range& r) { return v < r.first; });
  return next != ranges_.begin() && seq <= (next - 1)->last;
}

seq_set seq_set::above(uint64_t floor) const {
  seq_set out;
  for (const auto& r : ranges_) {
    if (r.last <= floor)
      continue;
    range c{std::max(r.first, floor + 1), r.last};  // floor < last: no overflow
    out.ranges_.push_back(c);
    out.size_ += c.last - c.first + 1;
  }
  return out;
}

uint64_t seq_set::count_above(uint64_t floor) const noexcept {
  uint64_t n = 0;
  // From the top down: ranges wholly above the floor count whole.
  for (auto it = ranges_.rbegin(); it != ranges_.rend(); ++it) {
    if (it->last <= floor)
      break;
    n += it->last - std::max(it->first, floor + 1) + 1;  // floor < last: no overflow
  }
  return n;
}

std::vector<gap_count> count_gaps(const std::vector<subscriber_seen>& subscribers,
                                  std::optional<uint64_t> expected) {
  // The union of what each saw above its own hello.
  seq_set all;
  for (const auto& s : subscribers) {
    if (s.seen == nullptr)
      continue;
    if (s.seen->empty() || s.seen->ranges().front().first > s.after)
      all.merge(*s.seen);
    else
      all.merge(s.seen->above(s.after));  // rare: it holds seqs at or below its hello
  }
  std::vector<gap_count> out;
  out.reserve(subscribers.size());
  for (const auto& s : subscribers) {
    gap_count g;
    const uint64_t owed = all.count_above(s.after);
    const uint64_t got = s.seen ? s.seen->count_above(s.after) : 0;
    g.vs_union = owed > got ? owed - got : 0;  // got <= owed: its set is in the union
    if (expected && *expected > s.driven_delivered)
      g.vs_expected = *expected - s.driven_delivered;
    out.push_back(g);
  }
  return out;
}

spread spread_of(std::vector<uint64_t> values) {
  spread s;
  if (values.empty())
    return s;
  std::sort(values.begin(), values.end());
  s.min = values.front();
  s.max = values.back();
  s.median = values[(values.size() - 1) / 2];
  return s;
}

} // namespace centralita::loadgen
