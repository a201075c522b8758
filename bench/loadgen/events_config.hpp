#pragma once

// The `events` scenario's target and options (docs/load-testing.md,
// "events"): the switch's HTTP listener as given on the command line, and
// the checks parse_cli() runs on the events flags. Pure apart from nothing:
// no resolution, no I/O.

#include "bench/loadgen/cli.hpp"
#include "protocols/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::loadgen {

/// Where the event stream is: "http://127.0.0.1:8080", "ws://[::1]:8080/events?event=REGISTER",
/// "127.0.0.1:8080" or "switch.example.net".
struct events_target {
  std::string host;            ///< without brackets
  uint16_t port = 8080;        ///< 80 for a URL without port, 8080 (the switch's default) otherwise
  std::string path = "/events";
  std::string query;           ///< from the URL, without '?' (may be empty)

  /// The Host header (RFC 6455 §4.1 item 4; RFC 9110 §7.2): "127.0.0.1:8080", "[::1]:8080".
  std::string authority() const;
  /// The resource name (§3): the path, then '?' and the query with `extra`
  /// (--filter) joined by '&'.
  std::string resource(std::string_view extra = {}) const;
  /// "ws://127.0.0.1:8080/events?..." for the report.
  std::string url(std::string_view extra = {}) const;
};

/// Parses a TARGET. http:// and ws:// (any case); https:// and wss:// are
/// refused (no TLS), as are user info, a fragment (RFC 6455 §3) and bad ports.
/// An empty path or "/" means /events.
result<events_target> parse_events_target(std::string_view text);

/// `query` with every byte a URL query cannot hold (RFC 3986 §3.4: space,
/// quotes, <>, \, ^, `, {|}, controls, non-ASCII) percent-encoded, and a '%'
/// not followed by two hex digits too; what is already valid stays as is,
/// '+' included (the switch reads it as a space, like a browser would send it).
std::string encode_query(std::string_view query);

/// The events half of parse_cli()'s combination check: for the events
/// scenario, the TARGET, the flags it accepts (`given`: the command line's
/// keys) and their defaults (duration, --drive's filter, users and count);
/// for the others, that no events-only flag was given. Empty when fine,
/// else the usage error naming the flag.
std::string check_events_options(bench_options& o, const std::vector<std::string>& given);

/// The driver's attempts (--drive-count, 1000 by default).
inline constexpr uint64_t default_drive_count = 1000;

} // namespace centralita::loadgen
