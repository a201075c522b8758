// Stateless nonces: valid within the lifetime, stale after it, invalid when
// forged, altered, moved to another realm or checked under another key.

#include "protocols/auth/nonce_issuer.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace centralita;
using namespace centralita::auth;

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef";
constexpr uint64_t t0 = 1'700'000'000'000;  // ms
constexpr uint64_t lifetime = 30'000;

nonce_issuer make(std::string_view key = secret, uint32_t salt = 7) {
  auto r = nonce_issuer::create(key, salt);
  EXPECT_TRUE(r);
  return std::move(r).value();
}

} // namespace

TEST(nonce_issuer, rejects_short_secret) {
  auto r = nonce_issuer::create("short");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::invalid_argument);
}

TEST(nonce_issuer, valid_then_stale) {
  nonce_issuer iss = make();
  std::string n = iss.issue("example.com", t0);
  EXPECT_EQ(n.size(), 43u);
  EXPECT_EQ(n.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), std::string::npos);
  EXPECT_EQ(iss.check(n, "example.com", t0, lifetime), nonce_state::valid);
  EXPECT_EQ(iss.check(n, "example.com", t0 + lifetime, lifetime), nonce_state::valid);
  EXPECT_EQ(iss.check(n, "example.com", t0 + lifetime + 1, lifetime), nonce_state::stale);
  EXPECT_EQ(iss.check(n, "example.com", t0 - lifetime - 1, lifetime), nonce_state::stale);  // clock stepped back
  auto info = iss.inspect(n, "example.com", t0 + 5, lifetime);
  EXPECT_EQ(info.state, nonce_state::valid);
  EXPECT_EQ(info.issued_ms, t0);
}

TEST(nonce_issuer, unique_per_issue) {
  nonce_issuer iss = make();
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(iss.issue("r", t0)).second);
  // Another salt, same key, same time and counter: still different.
  nonce_issuer a = make(secret, 1), b = make(secret, 2);
  EXPECT_NE(a.issue("r", t0), b.issue("r", t0));
}

TEST(nonce_issuer, forgery_and_tampering_are_invalid) {
  nonce_issuer iss = make();
  std::string n = iss.issue("example.com", t0);
  EXPECT_EQ(iss.check(n, "other.com", t0, lifetime), nonce_state::invalid);        // another realm
  EXPECT_EQ(make(std::string(32, 'k')).check(n, "example.com", t0, lifetime), nonce_state::invalid);  // another key
  EXPECT_EQ(iss.check("", "example.com", t0, lifetime), nonce_state::invalid);
  EXPECT_EQ(iss.check(n.substr(1), "example.com", t0, lifetime), nonce_state::invalid);
  EXPECT_EQ(iss.check(n + "A", "example.com", t0, lifetime), nonce_state::invalid);
  EXPECT_EQ(iss.check(std::string(43, '!'), "example.com", t0, lifetime), nonce_state::invalid);
  // Any single character changed (timestamp, salt, counter or tag): invalid.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < n.size(); ++i) {
    std::string t = n;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(iss.check(t, "example.com", t0, lifetime), nonce_state::invalid) << i;
  }
  // A non-canonical spelling of the same bytes (last character's spare bits set).
  std::string t = n;
  size_t v = alphabet.find(t.back());
  t.back() = alphabet[v ^ 1];
  EXPECT_EQ(iss.check(t, "example.com", t0, lifetime), nonce_state::invalid);
}

TEST(nonce_issuer, expired_forgery_is_invalid_not_stale) {
  // A tampered timestamp must not be reported as stale (that would make the
  // client retry with its credentials for a nonce we never issued).
  nonce_issuer iss = make();
  std::string n = iss.issue("r", t0);
  n[3] = n[3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(iss.check(n, "r", t0 + 10 * lifetime, lifetime), nonce_state::invalid);
}

TEST(nonce_issuer, movable) {
  nonce_issuer a = make();
  std::string n = a.issue("r", t0);
  nonce_issuer b = std::move(a);
  EXPECT_EQ(b.check(n, "r", t0, lifetime), nonce_state::valid);
}
