#pragma once

// A parsed Authorization / Proxy-Authorization value with the Digest scheme
// (RFC 3261 §22.4 and §25.1, RFC 7616 §3.4, RFC 8760).
//
// Accepted: the parameters below (names case-insensitive, any order), unknown
// auth-params (ignored, RFC 7616 §3.4), `qop` and `algorithm` and `nc` quoted or
// not (RFC 7616 has them unquoted; some phones quote them; the value is the
// same), an uppercase `response` (lowered here). Refused with `errc::bad_header`:
// any tokenizer error (see auth_header.hpp), a missing username / realm / nonce /
// uri / response, an `nc` that is not exactly 8 hex digits, `qop` without `nc` and
// `cnonce` or either of them without `qop` (RFC 7616 §3.4), a -sess algorithm
// without qop (no cnonce to hash, §3.4.2), a response of the
// wrong length for the algorithm. Refused with `errc::unsupported`: a scheme other
// than Digest, an unknown algorithm, qop other than "auth" (auth-int needs the
// body), `userhash=true` and `username*` (RFC 7616 §3.4.4).

#include "protocols/auth/algorithm.hpp"
#include "protocols/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace centralita::auth {

/// The Digest credentials a client sent. Strings are unquoted and unescaped: the
/// exact values that enter the hashes (RFC 7616 §3.4.1 uses unq(...)).
struct credentials {
  std::string username;
  std::string realm;
  std::string nonce;
  std::string uri;             ///< the `uri` parameter (digest-uri), as sent
  std::string response;        ///< lowercase hex, hex_length(algorithm) characters
  algorithm alg = algorithm::md5;  ///< RFC 7616 §3.4: absent means MD5
  std::string cnonce;          ///< empty when qop is absent
  std::string opaque;          ///< empty when absent
  std::string qop;             ///< "auth" or empty (RFC 2069 compatibility mode)
  std::string nc_hex;          ///< the 8 hex digits as sent (they enter the hash)
  uint32_t nc = 0;             ///< nonce-count, 0 when qop is absent

  /// True when the client used qop (RFC 7616); false for RFC 2069-style responses,
  /// which the caller should refuse when it requires qop (RFC 3261 §22.4).
  bool has_qop() const noexcept { return !qop.empty(); }
};

/// Parses an Authorization or Proxy-Authorization header value (see the file comment).
result<credentials> parse_credentials(std::string_view header_value);

} // namespace centralita::auth
