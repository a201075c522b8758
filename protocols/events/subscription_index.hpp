#pragma once

// Which subscriptions an event reaches. A filter with an equality condition is
// filed under (event, attribute, value) of its first equality (the anchor), so
// publishing looks up one hash bucket per attribute of the event: the cost of
// an event does not grow with the number of subscriptions that cannot match
// it (100,000 waits on "REGISTER aor=<each user>" cost one lookup per event
// attribute). Filters with no equality (wildcards, regexes only, or none) are
// checked one by one, per event name.

#include "protocols/events/filter.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace centralita::events {

class subscription_index {
public:
  using id = uint64_t;

  /// Files `f` under `sub` (an id not already present: a debug build
  /// asserts, a release build replaces the old filter). O(1) amortised.
  void add(id sub, filter f);
  /// Removes `sub`; false when it is not present. O(1) amortised.
  bool remove(id sub);
  /// Appends to `out` every subscription whose filter matches `e` (each once,
  /// in no particular order): exactly those for which filter::matches(e)
  /// holds, event and attribute names compared in any case.
  void match(const event& e, std::vector<id>& out) const;

  const filter* find(id sub) const;
  std::size_t size() const noexcept;

private:
  // Implementation is free: an anchored table keyed by (event, attr, value)
  // and an unanchored list per event name, with whatever back-references
  // make remove() O(1).
  struct entry;
  struct impl;
  std::unique_ptr<impl> impl_;

public:
  subscription_index();
  ~subscription_index();
  subscription_index(subscription_index&&) noexcept;
  subscription_index& operator=(subscription_index&&) noexcept;
};

} // namespace centralita::events
