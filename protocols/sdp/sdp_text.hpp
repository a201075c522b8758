#pragma once

// The text level of SDP (RFC 4566 §5, §9): lines split the way sofia-sip's
// parser splits them, the character classes, and the line checks made before
// sofia sees a body (it is lenient where a rewrite must not be).

#include "protocols/util/result.hpp"

#include <cstddef>
#include <string_view>

namespace centralita::sdp::text {

/// The largest body accepted: RFC 3261 §18.1.1 lets a UDP SIP message reach
/// 64 KiB, no SDP needs more.
inline constexpr size_t max_sdp_size = 65535;

/// Calls `f(line)` for each line (without its end) until `f` returns false.
/// Lines end at any run of CR and LF, as in sofia's parser, so CRLF, bare LF and
/// blank lines between lines all work.
template <class F>
void for_each_line(std::string_view body, F&& f) {
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = body.substr(pos, eol - pos);
    pos = eol;
    while (pos < body.size() && (body[pos] == '\r' || body[pos] == '\n')) ++pos;
    if (!f(line)) return;
  }
}

/// RFC 4566 §9 token-char.
constexpr bool is_token_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`{|}~").find(c) != std::string_view::npos;
}

/// A non-empty RFC 4566 §9 token.
bool is_token(std::string_view s) noexcept;
/// Non-empty and only ASCII digits.
bool is_digits(std::string_view s) noexcept;
/// RFC 4566 §5: a byte-string holds no NUL, CR or LF.
bool is_line_safe(std::string_view s) noexcept;

/// The line checks sofia leaves out: size (errc::too_large), no NUL, "v=0" first,
/// every line "<letter>=" with a type letter RFC 4566 §5 knows, session-level
/// lines before the first m=, one o=, at least one m=, and each m= line's grammar
/// (RFC 4566 §5.14). Errors are errc::parse_error with a one-line reason.
result<void> check_lines(std::string_view body);

} // namespace centralita::sdp::text
