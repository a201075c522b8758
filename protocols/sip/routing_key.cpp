#include "protocols/sip/routing_key.hpp"
#include "protocols/util/ascii.hpp"

namespace centralita::sip {

namespace {
constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr char lower(char c) noexcept { return ascii::to_lower(c); }

bool is_call_id_name(std::string_view name) noexcept {
  // RFC 3261 §7.3.3: "i" is the compact form of Call-ID.
  if (name.size() == 1) return lower(name[0]) == 'i';
  if (name.size() != 7) return false;
  constexpr std::string_view want = "call-id";
  for (size_t i = 0; i < 7; ++i)
    if (lower(name[i]) != want[i]) return false;
  return true;
}
} // namespace

std::optional<std::string_view> scan_call_id(std::string_view bytes) noexcept {
  size_t pos = bytes.find('\n');  // skip the start line
  if (pos == std::string_view::npos) return std::nullopt;
  ++pos;
  while (pos < bytes.size()) {
    size_t eol = bytes.find('\n', pos);
    size_t end = eol == std::string_view::npos ? bytes.size() : eol;
    std::string_view line = bytes.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return std::nullopt;  // RFC 3261 §7: end of the header block
    if (is_ws(line[0])) continue;           // a continuation line (§7.3.1)
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && is_ws(name.back())) name.remove_suffix(1);
    if (!is_call_id_name(name)) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && is_ws(value.front())) value.remove_prefix(1);
    while (!value.empty() && is_ws(value.back())) value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

bool looks_like_response(std::string_view bytes) noexcept {
  return bytes.size() >= 4 && bytes.substr(0, 4) == "SIP/";
}

} // namespace centralita::sip
