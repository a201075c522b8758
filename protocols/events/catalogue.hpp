#pragma once

// The events the switch publishes and the attributes each carries
// (docs/events.md is the prose version of this table). A filter may only name
// attributes its event has: naming another is an error at subscribe time.

#include <span>
#include <string_view>

namespace centralita::events {

struct event_kind {
  std::string_view name;                        ///< upper case
  std::span<const std::string_view> attributes; ///< lower case
  bool open = false;  ///< any attribute may appear (CUSTOM: scripts choose them)
  std::string_view description;                 ///< one line, for docs and errors
};

/// Every kind: REGISTER, UNREGISTER, EXPIRED, CALL_START, CALL_ANSWER,
/// CALL_END, TRANSACTION_TIMEOUT, DTMF, HEARTBEAT, CUSTOM.
std::span<const event_kind> catalogue() noexcept;

/// The kind called `name` (any case), or nullptr.
const event_kind* find_kind(std::string_view name) noexcept;

/// True when `kind` has attribute `attr` (any case), or is open.
bool has_attribute(const event_kind& kind, std::string_view attr) noexcept;

} // namespace centralita::events
