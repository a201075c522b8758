#pragma once

// An event of the bus (docs/events.md): a name plus key/value attributes.
// Names are canonical upper case ("REGISTER"), attribute names lower case
// ("aor"); both are matched case-insensitively. Values are text, compared
// case-sensitively (a SIP user part is case-sensitive).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace centralita::events {

struct attribute {
  std::string name;   ///< lower case
  std::string value;
};

struct event {
  std::string name;               ///< upper case, e.g. "REGISTER"
  std::vector<attribute> attrs;   ///< unique names, in insertion order
  uint64_t seq = 0;               ///< per-node sequence number (set by the bus)
  int64_t timestamp_ms = 0;       ///< wall clock, ms since the epoch (set by the bus)
  int64_t mono_ns = 0;            ///< steady clock when the bus numbered it (latency metrics)

  event() = default;
  /// `name` is upper-cased.
  explicit event(std::string_view name);

  /// The value of `attr` (any case), or nullptr.
  const std::string* find(std::string_view attr) const noexcept;
  /// Sets `attr` (lower-cased) to `value`, replacing an earlier value.
  event& set(std::string_view attr, std::string value);
};

/// ASCII case folding used for event and attribute names.
std::string upper(std::string_view s);
std::string lower(std::string_view s);

} // namespace centralita::events
