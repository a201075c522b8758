#pragma once

// The strict, allocation-light tokenizer shared by credentials (Authorization,
// Proxy-Authorization) and challenges (WWW-Authenticate, Proxy-Authenticate):
//
//   value      = LWS? scheme LWS param *(LWS? "," LWS? param) LWS?   (RFC 3261 §25.1)
//   param      = token LWS? "=" LWS? (token / quoted-string)
//   LWS        = [*WSP CRLF] 1*WSP  (folded whitespace, read as one SP)
//
// Rules it enforces, each an error value (never an exception, never a crash):
// unterminated or control characters in quoted strings, a quoted-pair escaping CR
// or LF, empty parameter names or values, empty list elements (",,"), a trailing
// comma, a scheme not followed by whitespace, duplicate parameters (names compared
// case-insensitively), and more than `max_params` parameters. Parameter names are
// returned lowercased; quoted values are returned unescaped.

#include "protocols/util/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::auth {

/// One `name=value` pair of an auth header.
struct auth_param {
  std::string name;   ///< lowercased (RFC 7616 §3.3: names are case-insensitive)
  std::string value;  ///< unescaped, without the surrounding quotes
  bool quoted;        ///< true when the value was a quoted-string
};

/// A tokenized auth header value: the scheme and its parameters in wire order.
struct auth_header {
  std::string scheme;               ///< as written ("Digest"); compare case-insensitively
  std::vector<auth_param> params;

  /// The parameter called `lowercase_name`, or nullptr.
  const auth_param* find(std::string_view lowercase_name) const noexcept;
};

/// At most this many parameters per header (more is `errc::too_large`).
inline constexpr size_t max_params = 32;

/// Tokenizes one header value (without the "Authorization:" name).
/// Errors: `errc::bad_header` with the reason, `errc::too_large` past max_params.
result<auth_header> parse_auth_header(std::string_view value);

/// The leading scheme token of a header value ("" when there is none), so a
/// caller can refuse another scheme (e.g. Basic's token68 syntax) before tokenizing.
std::string_view scheme_of(std::string_view value) noexcept;

/// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// True when every character of `s` (non-empty) is a token character (RFC 3261 §25.1).
bool is_token(std::string_view s) noexcept;

/// Appends `s` as a quoted-string (RFC 3261 §25.1), escaping '"', '\' and control
/// characters; CR and LF cannot be carried in a quoted-string and are dropped.
void append_quoted(std::string& out, std::string_view s);

} // namespace centralita::auth
