// Parsing Authorization values (credentials) and WWW-Authenticate values
// (challenges): the strict tokenizer's rules, required fields, and what is
// refused as unsupported.

#include "protocols/auth/auth_header.hpp"
#include "protocols/auth/challenge.hpp"
#include "protocols/auth/credentials.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace centralita;
using namespace centralita::auth;

namespace {

const std::string good =
    "Digest username=\"alice\", realm=\"example.com\", nonce=\"abc\", uri=\"sip:example.com\", "
    "response=\"0123456789abcdef0123456789abcdef\", qop=auth, nc=0000000a, cnonce=\"xyz\"";

/// `good` with `from` replaced by `to` (which must occur).
std::string with(std::string_view from, std::string_view to) {
  std::string s = good;
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

::testing::AssertionResult fails_with(std::string_view value, errc code, std::string_view needle) {
  auto r = parse_credentials(value);
  if (r) return ::testing::AssertionFailure() << "parsed: " << value;
  if (r.err().code != code)
    return ::testing::AssertionFailure() << "code " << to_string(r.err().code) << ": " << r.err().reason;
  if (r.err().reason.find(needle) == std::string::npos)
    return ::testing::AssertionFailure() << "reason '" << r.err().reason << "' lacks '" << needle << "'";
  return ::testing::AssertionSuccess();
}

} // namespace

TEST(credentials, parses_all_fields) {
  auto c = parse_credentials(good);
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->realm, "example.com");
  EXPECT_EQ(c->nonce, "abc");
  EXPECT_EQ(c->uri, "sip:example.com");
  EXPECT_EQ(c->alg, algorithm::md5);
  EXPECT_EQ(c->qop, "auth");
  EXPECT_EQ(c->nc, 10u);
  EXPECT_EQ(c->nc_hex, "0000000a");
  EXPECT_EQ(c->cnonce, "xyz");
  EXPECT_TRUE(c->opaque.empty());
}

TEST(credentials, lexical_freedoms) {
  // Case-insensitive scheme and names, folded whitespace, spaces around '=' and
  // ',', escapes in quoted strings, quoted qop/nc/algorithm, unknown params.
  auto c = parse_credentials(
      "  dIGEST\r\n\tUserName = \"al\\\"ice\\\\\" ,REALM=\"exa\r\n  mple\",nonce=\"abc\",uri=\"sip:x\","
      "response=\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\","
      "algorithm=\"sha-256\",qop=\"auth\",nc=\"FFFFFFFF\",cnonce=\"c\",x-ext=tok, userhash=false  ");
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->username, "al\"ice\\");
  EXPECT_EQ(c->realm, "exa mple");  // a fold reads as one SP
  EXPECT_EQ(c->alg, algorithm::sha256);
  EXPECT_EQ(c->nc, 0xffffffffu);
  EXPECT_EQ(c->response, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
}

TEST(credentials, malformed_values_are_errors) {
  EXPECT_TRUE(fails_with("", errc::bad_header, "missing auth scheme"));
  EXPECT_TRUE(fails_with("Digest", errc::bad_header, "missing 'username'"));
  EXPECT_TRUE(fails_with(with("\"xyz\"", "\"xyz"), errc::bad_header, "unterminated quoted string"));
  EXPECT_TRUE(fails_with(good + ", x=\"ab\\", errc::bad_header, "unterminated"));
  EXPECT_TRUE(fails_with(with("\"abc\"", "\"a\nbc\""), errc::bad_header, "control character"));
  EXPECT_TRUE(fails_with(with("\"abc\"", "\"a\\\rbc\""), errc::bad_header, "invalid escape"));
  EXPECT_TRUE(fails_with(with("nc=0000000a", "nc=000000a"), errc::bad_header, "nc must be 8 hex digits"));
  EXPECT_TRUE(fails_with(with("nc=0000000a", "nc=0000000g"), errc::bad_header, "nc must be 8 hex digits"));
  EXPECT_TRUE(fails_with(with("nc=0000000a", "nc=00000000a"), errc::bad_header, "nc must be 8 hex digits"));
  EXPECT_TRUE(fails_with(with(", nc=0000000a", ""), errc::bad_header, "qop without 'nc'"));
  EXPECT_TRUE(fails_with(with(", cnonce=\"xyz\"", ""), errc::bad_header, "qop without 'cnonce'"));
  EXPECT_TRUE(fails_with(with("qop=auth, ", ""), errc::bad_header, "without qop"));
  EXPECT_TRUE(fails_with(with("username=\"alice\", ", ""), errc::bad_header, "missing 'username'"));
  EXPECT_TRUE(fails_with(with("realm=\"example.com\", ", ""), errc::bad_header, "missing 'realm'"));
  EXPECT_TRUE(fails_with(with("nonce=\"abc\", ", ""), errc::bad_header, "missing 'nonce'"));
  EXPECT_TRUE(fails_with(with("uri=\"sip:example.com\", ", ""), errc::bad_header, "missing 'uri'"));
  EXPECT_TRUE(fails_with(with("response=\"0123456789abcdef0123456789abcdef\", ", ""), errc::bad_header, "missing 'response'"));
  EXPECT_TRUE(fails_with(with("nonce=\"abc\"", "nonce=\"\""), errc::bad_header, "empty 'nonce'"));
  EXPECT_TRUE(fails_with(with("nonce=\"abc\"", "nonce=\"abc\", NONCE=\"abc\""), errc::bad_header, "duplicate parameter 'nonce'"));
  EXPECT_TRUE(fails_with(with("0123456789abcdef\"", "0123456789abcde\""), errc::bad_header, "wrong length"));
  EXPECT_TRUE(fails_with(with("0123456789abcdef\"", "0123456789abcdeg\""), errc::bad_header, "not hex"));
  EXPECT_TRUE(fails_with(with("Digest ", "Digest,"), errc::bad_header, "expected whitespace"));
  EXPECT_TRUE(fails_with(with(", nc=", ",, nc="), errc::bad_header, "empty parameter"));
  EXPECT_TRUE(fails_with(good + ",", errc::bad_header, "trailing ','"));
  EXPECT_TRUE(fails_with(good + " x", errc::bad_header, "expected ','"));
  EXPECT_TRUE(fails_with(with("uri=", "uri "), errc::bad_header, "expected '='"));
  EXPECT_TRUE(fails_with(with("qop=auth", "qop="), errc::bad_header, "missing value for 'qop'"));
  EXPECT_TRUE(fails_with(with("qop=auth", "qop=foo"), errc::bad_header, "unknown qop"));
  EXPECT_TRUE(fails_with(good + ", userhash=maybe", errc::bad_header, "userhash"));
  // A bare LF (no fold) is not whitespace.
  EXPECT_TRUE(fails_with(with("\", realm", "\",\n realm"), errc::bad_header, ""));
}

TEST(credentials, unsupported_features) {
  EXPECT_TRUE(fails_with("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", errc::unsupported, "not Digest"));
  EXPECT_TRUE(fails_with(good + ", algorithm=SHA-512-256", errc::unsupported, "unsupported algorithm"));
  EXPECT_TRUE(fails_with(with("qop=auth", "qop=auth-int"), errc::unsupported, "auth-int"));
  EXPECT_TRUE(fails_with(good + ", userhash=true", errc::unsupported, "userhash"));
  EXPECT_TRUE(fails_with(good + ", username*=UTF-8''al", errc::unsupported, "username*"));
}

TEST(credentials, too_many_parameters) {
  std::string v = good;
  for (int i = 0; i < 40; ++i) v += ", p" + std::to_string(i) + "=1";
  EXPECT_TRUE(fails_with(v, errc::too_large, "too many"));
}

TEST(challenge, make_and_parse_back) {
  std::string v = make_challenge("example.com", "n0nce", algorithm::sha256, false, "op");
  EXPECT_EQ(v, "Digest realm=\"example.com\", nonce=\"n0nce\", opaque=\"op\", algorithm=SHA-256, qop=\"auth\"");
  auto c = parse_challenge(v);
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->realm, "example.com");
  EXPECT_EQ(c->nonce, "n0nce");
  EXPECT_EQ(c->opaque, "op");
  EXPECT_EQ(c->alg, algorithm::sha256);
  EXPECT_TRUE(c->qop_auth);
  EXPECT_FALSE(c->stale);

  std::string s = make_challenge("we \"quote\" \\ here", "n", algorithm::md5_sess, true, "");
  EXPECT_EQ(s, "Digest realm=\"we \\\"quote\\\" \\\\ here\", nonce=\"n\", algorithm=MD5-sess, qop=\"auth\", stale=true");
  auto d = parse_challenge(s);
  ASSERT_TRUE(d) << d.err().reason;
  EXPECT_EQ(d->realm, "we \"quote\" \\ here");
  EXPECT_TRUE(d->stale);
  EXPECT_EQ(d->alg, algorithm::md5_sess);
}

TEST(challenge, several_algorithms_sha256_first) {
  const algorithm offered[] = {algorithm::md5, algorithm::sha256, algorithm::md5};
  auto v = make_challenges("r", "n", offered, false, "");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_NE(v[0].find("algorithm=SHA-256"), std::string::npos);  // RFC 8760 §2.4
  EXPECT_NE(v[1].find("algorithm=MD5"), std::string::npos);
}

TEST(challenge, client_side_parsing) {
  auto c = parse_challenge("Digest realm=\"r\", qop=\"auth-int, auth\", nonce=\"n\", stale=TRUE");
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_TRUE(c->qop_auth);
  EXPECT_TRUE(c->stale);
  EXPECT_EQ(c->alg, algorithm::md5);
  EXPECT_FALSE(parse_challenge("Digest nonce=\"n\""));
  EXPECT_FALSE(parse_challenge("Digest realm=\"r\""));
  EXPECT_FALSE(parse_challenge("Digest realm=\"r\", nonce=\"n\", stale=yes"));
  EXPECT_FALSE(parse_challenge("Bearer realm=\"r\""));
}

TEST(auth_header, tokenizer) {
  auto h = parse_auth_header("Digest a=b, C=\"d\"");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->scheme, "Digest");
  ASSERT_EQ(h->params.size(), 2u);
  EXPECT_EQ(h->params[1].name, "c");
  EXPECT_TRUE(h->params[1].quoted);
  EXPECT_FALSE(h->params[0].quoted);
  EXPECT_TRUE(is_token("MD5-sess"));
  EXPECT_FALSE(is_token("a b"));
  EXPECT_FALSE(is_token(""));
}
