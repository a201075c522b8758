#include "bench/loadgen/events_config.hpp"

#include "bench/loadgen/rate.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

namespace centralita::loadgen {

namespace {

/// Flags only the events scenario takes.
constexpr std::string_view events_only[] = {"subscribers", "filter", "token", "slow",
                                            "slow-pause", "connect-timeout", "drain",
                                            "drive", "sip", "drive-count"};

/// Flags events takes besides its own: the run, the output, the target's CPU.
constexpr std::string_view events_general[] = {"count", "duration", "json", "progress",
                                               "no-progress", "config", "target-pid", "target"};

/// Flags of the driver (the register scenario's), only with --drive.
constexpr std::string_view driver_flags[] = {"rate", "ramp", "users", "users-csv", "password",
                                             "domain", "expires", "sockets", "timeout-ms",
                                             "t1-ms", "t2-ms", "no-retransmit", "max-inflight",
                                             "local-ip"};

template <std::size_t N>
bool listed(const std::string_view (&list)[N], std::string_view key) {
  return std::find(std::begin(list), std::end(list), key) != std::end(list);
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i])
      return false;
  }
  return true;
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// RFC 3986 §3.4: query = *( pchar / "/" / "?" ), pchar = unreserved /
/// pct-encoded / sub-delims / ":" / "@". '%' is handled by the caller.
bool query_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return std::string_view("-._~!$&'()*+,;=:@/?").find(c) != std::string_view::npos;
}

/// RFC 3986 §3.3, the same for a path (no '?').
bool path_char(char c) {
  return c != '?' && query_char(c);
}

} // namespace

std::string events_target::authority() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string events_target::resource(std::string_view extra) const {
  std::string r = path;
  if (!query.empty() || !extra.empty()) {
    r += '?';
    r += query;
    if (!query.empty() && !extra.empty())
      r += '&';
    r += encode_query(extra);
  }
  return r;
}

std::string events_target::url(std::string_view extra) const {
  return "ws://" + authority() + resource(extra);
}

std::string encode_query(std::string_view query) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(query.size());
  for (std::size_t i = 0; i < query.size(); ++i) {
    char c = query[i];
    bool escape_ok = c == '%' && i + 2 < query.size() && is_hex(query[i + 1]) && is_hex(query[i + 2]);
    if (query_char(c) || escape_ok) {
      out += c;
      continue;
    }
    auto b = static_cast<unsigned char>(c);
    out += '%';
    out += hex[b >> 4];
    out += hex[b & 0xf];
  }
  return out;
}

result<events_target> parse_events_target(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return error{errc::invalid_argument,
                 "target '" + std::string(text) + "': " + why
                     + " (expected http://HOST:PORT, ws://HOST:PORT/events or HOST:PORT)"};
  };
  events_target t;
  std::string_view rest = text;
  bool url = false;
  if (starts_with_nocase(rest, "https://") || starts_with_nocase(rest, "wss://"))
    return bad("TLS is not supported");
  if (starts_with_nocase(rest, "sip:") || starts_with_nocase(rest, "sips:"))
    return bad("a SIP address; events wants the switch's HTTP listener (--sip is the driver's)");
  if (starts_with_nocase(rest, "http://")) {
    rest.remove_prefix(7);
    url = true;
  } else if (starts_with_nocase(rest, "ws://")) {
    rest.remove_prefix(5);
    url = true;
  } else if (rest.find("://") != std::string_view::npos) {
    return bad("unknown scheme");
  }
  t.port = url ? 80 : 8080;  // RFC 6455 §3: ws:// defaults to 80
  if (rest.find('#') != std::string_view::npos)
    return bad("a fragment has no meaning here (RFC 6455 §3)");
  std::size_t end_authority = std::min(rest.find('/'), rest.find('?'));
  std::string_view authority = rest.substr(0, end_authority);
  std::string_view after = end_authority == std::string_view::npos ? std::string_view{}
                                                                     : rest.substr(end_authority);
  if (authority.find('@') != std::string_view::npos)
    return bad("user info is not supported (use --token)");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return bad("missing ']'");
    t.host = std::string(authority.substr(1, close - 1));
    auto tail = authority.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':')
        return bad("junk after ']'");
      port_text = tail.substr(1);
      if (port_text.empty())
        return bad("empty port");
    }
  } else {
    auto colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
      return bad("an IPv6 address goes in brackets");
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty())
        return bad("empty port");
    }
  }
  if (t.host.empty())
    return bad("no host");
  if (t.host.find_first_of(" \t\r\n") != std::string::npos)
    return bad("a space in the host");
  if (!port_text.empty()) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || p == 0 || p > 65535)
      return bad("bad port");
    t.port = static_cast<uint16_t>(p);
  }
  auto q = after.find('?');
  std::string_view path = after.substr(0, q);
  if (!path.empty() && path != "/")
    t.path = std::string(path);
  if (!std::all_of(t.path.begin(), t.path.end(), [](char c) { return path_char(c) || c == '%'; }))
    return bad("the path holds characters a URL cannot (encode them with %XX)");
  if (q != std::string_view::npos)
    t.query = encode_query(after.substr(q + 1));
  return t;
}

std::string check_events_options(bench_options& o, const std::vector<std::string>& given) {
  auto was_given = [&](std::string_view key) {
    return std::find(given.begin(), given.end(), key) != given.end();
  };
  if (o.scenario != "events") {
    for (const auto& k : given)
      if (listed(events_only, k))
        return "--" + k + ": only for the events scenario";
    return {};
  }
  bool driven = !o.drive.empty();
  for (const auto& k : given) {
    if (listed(events_only, k) || listed(events_general, k))
      continue;
    if (listed(driver_flags, k)) {
      if (!driven)
        return "--" + k + ": only with --drive register (it sets the driver's REGISTERs)";
      continue;
    }
    return "--" + k + ": not for the events scenario";
  }
  if (o.target.empty())
    return "no TARGET given (the switch's HTTP listener: http://HOST:PORT)";
  if (auto t = parse_events_target(o.target); !t)
    return t.err().reason;
  if (o.slow > o.subscribers)
    return "--slow: " + std::to_string(o.slow) + " of " + std::to_string(o.subscribers)
           + " subscribers (at most --subscribers)";
  if (!driven) {
    for (auto key : {"sip", "drive-count", "drain"})
      if (was_given(key))
        return std::string("--") + key + ": only with --drive register";
  } else {
    if (o.sip.empty())
      return "--drive register needs --sip sip:HOST:PORT (the switch's SIP address)";
    if (auto t = parse_target(o.sip); !t)
      return "--sip: " + t.err().reason;
    if (o.unregister)
      return "--unregister: not with events (the driver counts REGISTER events)";
    if (!o.drive_count)
      o.drive_count = default_drive_count;
    // Distinct users by default, so that every REGISTER adds a binding.
    if (o.users.empty() && o.users_csv.empty())
      o.users = "events[1-" + std::to_string(*o.drive_count) + "]";
    // What the driver causes, unless the filter says otherwise.
    if (!o.filter)
      o.filter = "event=REGISTER";
  }
  if (!o.duration_s) {
    // Bounded always: 10 s, or long enough for the subscribers to connect,
    // the driver to make its requests at its pace, and the drain.
    double need = 10;
    if (driven) {
      pacer p = o.ramp ? pacer::ramp(o.ramp->from, o.ramp->to,
                                     std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::duration<double>(o.ramp->seconds)))
                       : pacer::fixed(o.rate);
      double pace_s = std::chrono::duration<double>(p.when(*o.drive_count)).count();
      need = std::max(need, o.connect_timeout_s + pace_s + o.drain_s + 2);
    }
    o.duration_s = std::ceil(need);
  }
  return {};
}

} // namespace centralita::loadgen
