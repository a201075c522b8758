#pragma once

// Digest computations (RFC 7616 §3.4.1–§3.4.3, RFC 2617 §3.2.2, RFC 3261 §22.4),
// all returning lowercase hex. MD5 and SHA-256 come from libcrypto's EVP API.
//
//   HA1       = H(username ":" realm ":" password)            ha1()
//   HA1-sess  = H(HA1 ":" nonce ":" cnonce)                    session_ha1()
//   HA2       = H(method ":" uri)              (qop=auth)      ha2()
//   response  = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)   response()
//   response  = H(HA1 ":" nonce ":" HA2)      (no qop, RFC 2069)    response_rfc2069()
//
// A server stores HA1 for the base algorithm (MD5 or SHA-256), never the -sess
// value: verify() derives HA1-sess itself when the client chose a -sess algorithm.

#include "protocols/auth/algorithm.hpp"
#include "protocols/auth/credentials.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace centralita::auth {

/// H(data) as lowercase hex, with MD5 or SHA-256 per `a` (the -sess suffix is ignored).
std::string hash_hex(algorithm a, std::string_view data);

/// HA1 = H(user:realm:password) (RFC 7616 §3.4.2), for the base algorithm of `a`.
std::string ha1(algorithm a, std::string_view user, std::string_view realm, std::string_view password);

/// HA1 for a -sess algorithm: H(HA1:nonce:cnonce) (RFC 7616 §3.4.2), from the stored HA1.
std::string session_ha1(algorithm a, std::string_view ha1_hex, std::string_view nonce,
                        std::string_view cnonce);

/// HA2 = H(method:uri) for qop=auth or no qop (RFC 7616 §3.4.3).
std::string ha2(algorithm a, std::string_view method, std::string_view uri);

/// The request-digest with qop (RFC 7616 §3.4.1). `effective_ha1` is the -sess
/// value when the algorithm is a -sess one; `nc_hex` is the 8 digits as sent.
std::string response(algorithm a, std::string_view effective_ha1, std::string_view nonce,
                     std::string_view nc_hex, std::string_view cnonce, std::string_view qop,
                     std::string_view ha2_hex);

/// The request-digest without qop (RFC 2069 §2.1.2, kept by RFC 3261 §22.4 for
/// compatibility): H(HA1:nonce:HA2).
std::string response_rfc2069(algorithm a, std::string_view effective_ha1, std::string_view nonce,
                             std::string_view ha2_hex);

/// The response a client computes from a password: the reference the server checks
/// against (used by tests and by a future UAC). `c` supplies everything but the
/// `response` field, which is ignored.
std::string client_response(const credentials& c, std::string_view method, std::string_view password);

/// True when `c.response` is right for `method`, given the stored HA1 for
/// (c.username, c.realm) and the base algorithm of `c.alg` (hex, any case).
/// The comparison takes the same time wherever the first difference is
/// (CRYPTO_memcmp). The caller still checks, separately: that c.realm is its realm,
/// the nonce (nonce_issuer::check), the nonce-count (nonce_tracker), that c.uri
/// names the Request-URI (RFC 3261 §22.4 / RFC 7616 §3.4.6), and whether a
/// response without qop is acceptable.
bool verify(const credentials& c, std::string_view method, std::string_view ha1_hex);

/// Constant-time equality of two byte strings of equal length (false otherwise).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

} // namespace centralita::auth
