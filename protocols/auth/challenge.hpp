#pragma once

// Digest challenges: WWW-Authenticate (401, registrar / UAS) and
// Proxy-Authenticate (407, proxy) values (RFC 3261 §22.2–§22.3, RFC 7616 §3.3,
// RFC 8760 §2.4). make_challenge() builds one; parse_challenge() reads one the
// way a client does (used by tests, and by a UAC side later).

#include "protocols/auth/algorithm.hpp"
#include "protocols/util/result.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::auth {

/// One Digest challenge as a client reads it.
struct challenge {
  std::string realm;
  std::string nonce;
  std::string opaque;                  ///< empty when absent
  algorithm alg = algorithm::md5;      ///< RFC 7616 §3.3: absent means MD5
  bool stale = false;                  ///< the nonce expired: retry, do not prompt
  bool qop_auth = false;               ///< "auth" is among the offered qop values
};

/// A challenge value:
///   Digest realm="r", nonce="n"[, opaque="o"], algorithm=A, qop="auth"[, stale=true]
/// Realm, nonce and opaque are quoted-strings ('"', '\' and controls escaped; CR
/// and LF dropped: they cannot be carried). The algorithm is always written, so old
/// clients that assume MD5 (RFC 2617) never guess wrong. `opaque` is omitted when
/// empty. When offering several algorithms, emit one header per algorithm, the
/// most preferred first (RFC 8760 §2.4, RFC 7616 §3.7: SHA-256 before MD5); see
/// make_challenges().
std::string make_challenge(std::string_view realm, std::string_view nonce, algorithm a, bool stale,
                           std::string_view opaque);

/// One challenge per algorithm in `offered`, ordered SHA-256 family first, then
/// MD5 (RFC 8760 §2.4), each with the same realm, nonce and opaque; duplicates
/// are dropped.
std::vector<std::string> make_challenges(std::string_view realm, std::string_view nonce,
                                         std::span<const algorithm> offered, bool stale,
                                         std::string_view opaque);

/// Parses a WWW-Authenticate / Proxy-Authenticate value as a client would:
/// realm and nonce are required; `qop` is a quoted comma-separated list
/// (RFC 7616 §3.3); `stale` is "true" or "false" in any case. Unknown parameters
/// are ignored; unknown algorithms are `errc::unsupported`.
result<challenge> parse_challenge(std::string_view header_value);

} // namespace centralita::auth
