#include "protocols/events/event_json.hpp"

#include <charconv>
#include <cstdint>

namespace centralita::events {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 (RFC 3629:
// no overlongs, no surrogates, nothing past U+10FFFF).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2))
      return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) >= 0xA0))
      return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) >= 0x90))
      return 0;
    return 4;
  }
  return 0;
}

void append_number(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

} // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      auto n = utf8_length(s, i);
      if (n == 0) {
        out.append("\xEF\xBF\xBD");
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20) {
          out.append("\\u00");
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

std::string to_json(const event& e, std::string_view node) {
  std::string out;
  std::size_t guess = 96 + e.name.size() + node.size();
  for (auto& a : e.attrs)
    guess += a.name.size() + a.value.size() + 6;
  out.reserve(guess);
  out.append(R"({"type":"event","name":)");
  append_json_string(out, e.name);
  out.append(R"(,"seq":)");
  append_number(out, static_cast<int64_t>(e.seq));
  out.append(R"(,"timestamp":)");
  append_number(out, e.timestamp_ms);
  out.append(R"(,"node":)");
  append_json_string(out, node);
  out.append(R"(,"attributes":{)");
  bool first = true;
  for (auto& a : e.attrs) {
    if (!first)
      out.push_back(',');
    first = false;
    append_json_string(out, a.name);
    out.push_back(':');
    append_json_string(out, a.value);
  }
  out.append("}}");
  return out;
}

} // namespace centralita::events
