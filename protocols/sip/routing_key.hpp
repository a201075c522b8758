#pragma once

// The cheapest look a reactor takes at a datagram to pick the shard that owns it
// (DESIGN: "a reactor never parses more than it must to route"). No allocation,
// no sofia: a line scan of the header block.

#include <optional>
#include <string_view>

namespace centralita::sip {

/// The Call-ID value (RFC 3261 §20.8) of a raw message: a header line (not the
/// start line) named `Call-ID` or compact `i` (RFC 3261 §7.3.3), case-insensitive,
/// optional whitespace before the colon, value trimmed. Stops at the end of the
/// header block. nullopt when absent or empty. Lines may end in CRLF or bare LF.
/// The view points into `bytes`.
std::optional<std::string_view> scan_call_id(std::string_view bytes) noexcept;

/// True when the bytes start like a status line (RFC 3261 §7.2: "SIP/").
bool looks_like_response(std::string_view bytes) noexcept;

} // namespace centralita::sip
