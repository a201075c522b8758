#pragma once

// The `--users FILE` format, for quick starts without a users table in the store:
//
//   # comment lines start with '#' (after optional blanks); blank lines are skipped
//   alice@example.com  Circle of Life          a password: the rest of the line,
//                                              surrounding blanks trimmed
//   bob@example.com    md5:<32 hex digits>     HA1 = MD5(bob:example.com:password)
//   carol@example.com  sha256:<64 hex digits>  HA1 = SHA-256(carol:example.com:password)
//   dave@example.com   plain:md5:not-a-hash    "plain:" keeps the rest literal
//
// An HA1 binds the realm it was computed with (RFC 7616 §3.4.2): here the realm is
// always the domain after '@', which is what the switch puts in its challenges,
// so an HA1 line only works for that domain, and only for its algorithm (an md5:
// line cannot answer a SHA-256 challenge; a password line serves both). Compute
// one with `printf '%s' 'bob:example.com:secret' | md5sum` (or sha256sum).
// A '#' after the password is part of the password. Errors name the line.

#include "protocols/auth/algorithm.hpp"
#include "protocols/util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::auth {

/// How a user_entry's secret is stored.
enum class secret_kind {
  password,    ///< clear text: HA1 computed per challenge, any algorithm
  ha1_md5,     ///< lowercase hex HA1 for MD5 / MD5-sess, realm = domain
  ha1_sha256,  ///< lowercase hex HA1 for SHA-256 / SHA-256-sess, realm = domain
};

/// One account of a users file.
struct user_entry {
  std::string user;    ///< the part before '@' (the digest username)
  std::string domain;  ///< the part after '@' (the realm)
  secret_kind kind = secret_kind::password;
  std::string secret;  ///< the password, or the HA1 in lowercase hex
};

/// Parses a users file. Errors (`errc::parse_error`) read "line N: what", e.g.
/// "line 3: missing password for alice@example.com", "line 7: duplicate user
/// bob@example.com (first on line 2)", "line 4: md5: needs 32 hex digits".
result<std::vector<user_entry>> parse_users(std::string_view text);

/// The HA1 (hex) for answering a challenge with `a` in `realm`, or nullopt when
/// this entry cannot: a stored HA1 of the other hash family or another realm.
std::optional<std::string> ha1_for(const user_entry& e, algorithm a, std::string_view realm);

} // namespace centralita::auth
