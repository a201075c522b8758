#pragma once

// ASCII case folding for protocol tokens (SIP header names, URI schemes and
// hosts, digest parameters: RFC 3261 §7.3.1, §19.1.4). Locale-free on purpose:
// std::tolower depends on the C locale and on unsigned-char casts.

#include <string>
#include <string_view>

namespace centralita::ascii {

constexpr char to_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

constexpr char to_upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - ('a' - 'A')) : c;
}

inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = to_lower(c);
  return out;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i]))
      return false;
  return true;
}

} // namespace centralita::ascii
