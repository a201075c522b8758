#include "protocols/auth/algorithm.hpp"

#include "protocols/auth/auth_header.hpp"

namespace centralita::auth {

std::optional<algorithm> parse_algorithm(std::string_view text) noexcept {
  // RFC 7616 §3.3: algorithm names are case-insensitive tokens.
  if (iequals(text, "MD5")) return algorithm::md5;
  if (iequals(text, "MD5-sess")) return algorithm::md5_sess;
  if (iequals(text, "SHA-256")) return algorithm::sha256;
  if (iequals(text, "SHA-256-sess")) return algorithm::sha256_sess;
  return std::nullopt;
}

std::string_view to_string(algorithm a) noexcept {
  switch (a) {
    case algorithm::md5: return "MD5";
    case algorithm::md5_sess: return "MD5-sess";
    case algorithm::sha256: return "SHA-256";
    case algorithm::sha256_sess: return "SHA-256-sess";
  }
  return "MD5";
}

} // namespace centralita::auth
