// Byte-level encodings: base64url (RFC 4648 §5), form encoding, and the small
// text checks the request builders share.

#include "protocols/push/push.hpp"

#include "protocols/push/detail.hpp"

#include <cstdint>

namespace centralita::push {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int value_of(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool is_hex_digit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

} // namespace

std::string base64url(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  std::string out;
  out.reserve((n * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(alphabet[(v >> s) & 63]);
  }
  // RFC 7515 §2: JWS base64url omits the '=' padding of the final quantum.
  const size_t rest = n - i;
  if (rest > 0) {
    uint32_t v = uint32_t{p[i]} << 16;
    if (rest == 2) v |= uint32_t{p[i + 1]} << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
  }
  return out;
}

result<std::string> base64url_decode(std::string_view text) {
  // Padding is optional, but when present it must complete the last quantum.
  const size_t first_pad = text.find('=');
  if (first_pad != std::string_view::npos) {
    const std::string_view pad = text.substr(first_pad);
    if (pad.size() > 2 || pad.find_first_not_of('=') != std::string_view::npos || text.size() % 4 != 0)
      return detail::malformed("base64url: bad padding");
    text = text.substr(0, first_pad);
    if (text.size() % 4 == 0 || 4 - text.size() % 4 != pad.size())
      return detail::malformed("base64url: bad padding");
  }
  if (text.size() % 4 == 1) return detail::malformed("base64url: bad length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const int v = value_of(text[i]);
    if (v < 0) return detail::malformed("base64url: bad character at offset " + std::to_string(i));
    acc = ((acc << 6) | static_cast<uint32_t>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // RFC 4648 §3.5: the pad bits must be zero. Accepting others would give one
  // value several spellings, and a JWS signature could be altered unnoticed.
  if ((acc & ((1u << bits) - 1)) != 0) return detail::malformed("base64url: non-zero pad bits");
  return out;
}

namespace detail {

std::string printable(std::string_view s, std::size_t cap) {
  std::string out;
  out.reserve(s.size() < cap ? s.size() : cap);
  for (char c : s) {
    if (out.size() == cap) break;
    out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  }
  return out;
}

bool header_safe(std::string_view v) noexcept {
  for (char c : v)
    if (!((c >= 0x20 && c <= 0x7e) || c == '\t')) return false;
  return true;
}

std::string_view without_trailing_slash(std::string_view url) noexcept {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return url;
}

bool is_hex(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_hex_digit(c)) return false;
  return true;
}

bool is_uuid(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex_digit(s[i])) return false;
  }
  return true;
}

std::string form_encode(std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0x0f]);
    }
  }
  return out;
}

int64_t add_saturated(int64_t a, int64_t b) noexcept {
  int64_t out = 0;
  if (!__builtin_add_overflow(a, b, &out)) return out;
  return b > 0 ? INT64_MAX : INT64_MIN;
}

std::string http_reason(int status) { return "HTTP " + std::to_string(status); }

} // namespace detail

std::string uuid_v4(uint64_t hi, uint64_t lo) {
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                          // version 4
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);       // variant 10
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i)
      out += hex[(v >> (4 * i)) & 0xf];
  };
  put(hi >> 32, 8);
  out += '-';
  put((hi >> 16) & 0xffff, 4);
  out += '-';
  put(hi & 0xffff, 4);
  out += '-';
  put(lo >> 48, 4);
  out += '-';
  put(lo & 0xffffffffffffull, 12);
  return out;
}

} // namespace centralita::push
