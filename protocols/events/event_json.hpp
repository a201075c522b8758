#pragma once

// An event as the WebSocket stream and the HTTP API carry it (docs/api.md):
//   {"type":"event","name":"REGISTER","seq":42,"timestamp":1795391234123,
//    "node":"host1","attributes":{"aor":"bob@example.com",...}}
// Attribute values are always JSON strings. Written by hand (not through a
// JSON DOM): a busy stream renders every event once, for all its clients.

#include "protocols/events/event.hpp"

#include <string>
#include <string_view>

namespace centralita::events {

std::string to_json(const event& e, std::string_view node);

/// Appends `s` as a JSON string (quotes included); invalid UTF-8 bytes are
/// replaced by U+FFFD so the output is always valid JSON text.
void append_json_string(std::string& out, std::string_view s);

} // namespace centralita::events
