#pragma once

// Digest algorithms (RFC 7616 §3.3 and §6.1, as adopted for SIP by RFC 8760).
// SHA-512-256 is not offered: RFC 8760 §2.2 lists it, but SIP phones in the field
// implement MD5 and SHA-256 only.

#include <cstddef>
#include <optional>
#include <string_view>

namespace centralita::auth {

/// A digest algorithm. The `-sess` variants hash HA1 once more with the nonce and
/// the client nonce (RFC 7616 §3.4.2).
enum class algorithm { md5, md5_sess, sha256, sha256_sess };

/// Parses the `algorithm` parameter value, case-insensitively ("MD5", "md5-sess",
/// "SHA-256", ...). nullopt for anything else (e.g. "SHA-512-256", "AKAv1-MD5").
std::optional<algorithm> parse_algorithm(std::string_view text) noexcept;

/// The canonical spelling: "MD5", "MD5-sess", "SHA-256", "SHA-256-sess".
std::string_view to_string(algorithm a) noexcept;

/// True for MD5-sess and SHA-256-sess.
constexpr bool is_session(algorithm a) noexcept {
  return a == algorithm::md5_sess || a == algorithm::sha256_sess;
}

/// True for SHA-256 and SHA-256-sess.
constexpr bool is_sha256(algorithm a) noexcept {
  return a == algorithm::sha256 || a == algorithm::sha256_sess;
}

/// The algorithm without its `-sess` suffix (the one HA1 is stored for).
constexpr algorithm base_of(algorithm a) noexcept {
  return is_sha256(a) ? algorithm::sha256 : algorithm::md5;
}

/// Length of the lowercase hex digest: 32 (MD5) or 64 (SHA-256).
constexpr size_t hex_length(algorithm a) noexcept { return is_sha256(a) ? 64 : 32; }

} // namespace centralita::auth
