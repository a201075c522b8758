#include "protocols/sip/dtmf_info.hpp"

#include "protocols/util/ascii.hpp"

#include <optional>

namespace centralita::sip {

namespace {

error bad(std::string reason) { return error{errc::parse_error, std::move(reason)}; }

constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

/// Input echoed in a reason: it ends up in a status line and in logs, so keep
/// printable ASCII only (no CR/LF can reach the wire) and a bounded length.
std::string excerpt(std::string_view s) {
  constexpr std::size_t max = 32;
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    out.push_back(u >= 0x20 && u < 0x7f ? s[i] : '?');
  }
  if (s.size() > max) out += "...";
  out.push_back('\'');
  return out;
}

/// A decimal number without sign; nullopt when empty, not all digits or above `max`.
std::optional<uint32_t> decimal(std::string_view s, uint32_t max) noexcept {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > max) return std::nullopt;  // checked per digit: v never exceeds 10 * max + 9
  }
  return static_cast<uint32_t>(v);
}

/// RFC 4733 §3.2, table 3: the DTMF named events 0-16.
constexpr char event_keys[] = "0123456789*#ABCDF";

result<dtmf_digit> parse_signal(std::string_view raw, uint32_t duration_ms) {
  const std::string_view s = trim(raw);
  if (s.empty()) return bad("Missing DTMF Signal");
  if (s.size() == 1) {
    const char c = ascii::to_upper(s[0]);
    if ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D'))
      return dtmf_digit{c, duration_ms};
    if (c == '!') return dtmf_digit{'F', duration_ms};  // Asterisk's hook flash
  }
  if (auto ev = decimal(s, 16)) return dtmf_digit{event_keys[*ev], duration_ms};
  return bad("Bad DTMF Signal " + excerpt(s));
}

result<uint32_t> parse_duration(std::string_view raw) {
  const std::string_view s = trim(raw);
  if (s.empty()) return bad("Bad DTMF Duration ''");
  for (char c : s)
    if (c < '0' || c > '9') return bad("Bad DTMF Duration " + excerpt(s));
  if (auto v = decimal(s, max_dtmf_duration_ms)) return *v;
  return bad("DTMF Duration over " + std::to_string(max_dtmf_duration_ms) + " ms");
}

/// Cisco's application/dtmf-relay: "Signal=" and "Duration=" lines.
result<dtmf_digit> parse_relay(std::string_view body) {
  std::optional<std::string_view> signal, duration;
  while (!body.empty()) {
    const std::size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);  // a trailing CR is trimmed below
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;  // not a Key=Value line: ignored
    const std::string_view key = trim(line.substr(0, eq));
    const std::string_view value = line.substr(eq + 1);
    if (ascii::iequals(key, "signal")) {
      // Two Signals would be two key presses or a forged one: refuse to guess.
      if (signal) return bad("Multiple DTMF Signal lines");
      signal = value;
    } else if (ascii::iequals(key, "duration")) {
      if (duration) return bad("Multiple DTMF Duration lines");
      duration = value;
    }
  }
  if (!signal) return bad("Missing DTMF Signal");
  uint32_t ms = 0;
  if (duration) {
    auto d = parse_duration(*duration);
    if (!d) return d.err();
    ms = *d;
  }
  return parse_signal(*signal, ms);
}

} // namespace

result<dtmf_digit> parse_dtmf_info(std::string_view content_type, std::string_view body) {
  // RFC 3261 §20.15 / RFC 2045 §5.1: type/subtype are case-insensitive, parameters follow ';'.
  const std::string_view media = trim(content_type.substr(0, content_type.find(';')));
  if (ascii::iequals(media, "application/dtmf-relay")) return parse_relay(body);
  if (ascii::iequals(media, "application/dtmf")) return parse_signal(body, 0);
  return error{errc::unsupported, "Unsupported DTMF Content-Type " + excerpt(media)};
}

std::string format_dtmf_relay(const dtmf_digit& d) {
  std::string out = "Signal=";
  if (d.digit == 'F') out += "16";
  else out.push_back(d.digit);
  out += "\r\nDuration=";
  out += std::to_string(d.duration_ms);
  out += "\r\n";
  return out;
}

} // namespace centralita::sip
