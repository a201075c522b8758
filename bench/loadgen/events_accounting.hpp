#pragma once

// What the `events` scenario counts per subscriber, and how it finds the
// events a subscriber should have had and did not (its gaps). Pure: no
// clock, no I/O; the client fills it, the report reads it, tests drive it.
//
// Gaps, two ways (docs/load-testing.md, "events"):
//  - against the union: every seq some subscriber saw after its own hello
//    is one this subscriber should have seen too, if it is above this
//    subscriber's hello (the switch had published up to that seq when it
//    subscribed). All subscribers share one filter, so they are owed the
//    same events. An event nobody saw escapes this count;
//  - against the driver: with --drive, the switch publishes one event of the
//    driven kind per successful request, so each subscriber is owed that
//    many; fewer delivered is a gap even when every subscriber missed it.
// A subscriber's gaps are the larger of the two (each is a lower bound of
// what it missed).

#include <cstdint>
#include <optional>
#include <vector>

namespace centralita::loadgen {

/// A set of sequence numbers, kept as sorted disjoint ranges: a stream that
/// arrives in order costs one range however long it is, and holes cost one
/// range each.
class seq_set {
public:
  struct range {
    uint64_t first = 0;
    uint64_t last = 0;  ///< inclusive
  };

  /// Adds `seq`; false when it was already there (a duplicate delivery).
  bool insert(uint64_t seq);
  /// Adds every member of `other`.
  void merge(const seq_set& other);
  bool contains(uint64_t seq) const noexcept;
  /// How many members there are.
  uint64_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// How many members are above `floor`.
  uint64_t count_above(uint64_t floor) const noexcept;
  /// The members above `floor`.
  seq_set above(uint64_t floor) const;
  const std::vector<range>& ranges() const noexcept { return ranges_; }

private:
  std::vector<range> ranges_;
  uint64_t size_ = 0;
};

/// One subscriber, as the gap count sees it.
struct subscriber_seen {
  uint64_t after = 0;              ///< its hello's seq: it is owed only events above it
  const seq_set* seen = nullptr;   ///< the event seqs it received (all above `after`)
  uint64_t driven_delivered = 0;   ///< events of the driven kind it received
};

struct gap_count {
  uint64_t vs_union = 0;     ///< union members above `after` it did not see
  uint64_t vs_expected = 0;  ///< expected − driven_delivered, when positive
  uint64_t total() const noexcept { return vs_union > vs_expected ? vs_union : vs_expected; }
};

/// The gaps of each subscriber (same order). `expected`: the events of the
/// driven kind each subscriber is owed, when a driver ran. Members of a
/// subscriber's set at or below its `after` are not counted against others.
std::vector<gap_count> count_gaps(const std::vector<subscriber_seen>& subscribers,
                                  std::optional<uint64_t> expected);

/// Smallest, median (the lower middle of an even count) and largest of
/// `values`; all 0 when empty.
struct spread {
  uint64_t min = 0;
  uint64_t median = 0;
  uint64_t max = 0;
};
spread spread_of(std::vector<uint64_t> values);

} // namespace centralita::loadgen
