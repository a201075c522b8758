// Compact JWS: what make_jwt() writes, JWTs signed by the openssl CLI verified
// here (so the R||S <-> DER conversion is checked against an outside signer),
// and each way verify_jwt() refuses.

#include "protocols/push/push.hpp"

#include "test_keys.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace centralita;
using namespace centralita::push;

namespace {

// Signed with `openssl dgst -sha256 -sign` (p256_sec1_pem: DER signature turned
// into R||S with `openssl asn1parse`; rsa2048_pem: the bytes as they are).
constexpr const char* es256_by_openssl =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6IkFCQzEyM0RFRkcifQ.eyJpc3MiOiJERUYxMjNHSElKIiwiaWF0IjoxNzAwMDAwMDAwfQ."
    "gpu-AYLssIN63KpZY-4KMnYWB4mPi9KElEE2oWh1JP4x3eae6UlnPZGPyWjMGlNmACLHyuoMXsX4CJ3K3AFt5Q";
constexpr const char* rs256_by_openssl =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJpc3MiOiJjZW50cmFsaXRhQGV4YW1wbGUuaWFtLmdzZXJ2aWNlYWNjb3VudC5jb20iLCJpYXQiOjE3MDAwMDAwMDB9."
    "aKSYyfIVgDDDUhblUe4s4IiNY24a0akXU9g7Yhoz_g0GB6BJqbThb_317XLii8taNriE3A9RK3XtQcK9EwcF1vCT__5FcuGBAE4W"
    "HQKHKUzR4MPnqc4xfKpeuiGYZl9CrY-jCQl0XUrodaiKsI9Ehi38BGgkw3dWQ5IrCm1VPYOJAjBQoKpYsw-1_jcuX2j8s2LTcjIJ"
    "wS3aL9Sdzgel7XQAuhjyD37EcKan0rzPBBu_hydRHvXQzroP5pgX2Z30amR7QVYHtohCNbKB8xGyLNQryOXAot1zwGutovRP_o-z"
    "9Gn0xNomrKR2EwLCHNNgdUA8Nf0FuG10q9RC8ewT8A";

signing_key key(const char* pem) {
  auto k = signing_key::from_pem(pem);
  EXPECT_TRUE(k) << k.err().reason;
  return std::move(k).value();
}

errc refusal_code(std::string_view jwt, std::string_view pem) {
  auto r = verify_jwt(jwt, pem);
  EXPECT_FALSE(r);
  if (r) return errc::io_error;  // any code the checks below do not expect
  EXPECT_FALSE(r.err().reason.empty());
  return r.err().code;
}

} // namespace

TEST(jwt, verifies_what_openssl_signed) {
  auto es = verify_jwt(es256_by_openssl, test_keys::p256_public_pem);
  ASSERT_TRUE(es) << es.err().reason;
  EXPECT_EQ(*es, R"({"iss":"DEF123GHIJ","iat":1700000000})");
  auto rs = verify_jwt(rs256_by_openssl, test_keys::rsa2048_public_pem);
  ASSERT_TRUE(rs) << rs.err().reason;
  EXPECT_EQ(*rs, R"({"iss":"centralita@example.iam.gserviceaccount.com","iat":1700000000})");
}

TEST(jwt, make_writes_the_texts_as_given) {
  const signing_key k = key(test_keys::p256_sec1_pem);
  const std::string header = R"({"alg":"ES256","kid":"ABC123DEFG"})";
  const std::string claims = R"({ "iss" : "DEF123GHIJ", "iat" : 1700000000 })";
  auto jwt = make_jwt(k, header, claims);
  ASSERT_TRUE(jwt) << jwt.err().reason;
  const size_t d1 = jwt->find('.');
  const size_t d2 = jwt->find('.', d1 + 1);
  ASSERT_NE(d2, std::string::npos);
  EXPECT_EQ(jwt->find('.', d2 + 1), std::string::npos);
  EXPECT_EQ(jwt->substr(0, d1), base64url(header));
  EXPECT_EQ(jwt->substr(d1 + 1, d2 - d1 - 1), base64url(claims));
  EXPECT_EQ(jwt->size() - d2 - 1, 86u);  // 64 bytes of R||S
  EXPECT_EQ(jwt->find('='), std::string::npos);
  auto back = verify_jwt(*jwt, test_keys::p256_public_pem);
  ASSERT_TRUE(back) << back.err().reason;
  EXPECT_EQ(*back, claims);
}

TEST(jwt, make_rs256_matches_openssl) {
  const signing_key k = key(test_keys::rsa2048_pem);
  auto jwt = make_jwt(k, R"({"alg":"RS256","typ":"JWT"})",
                      R"({"iss":"centralita@example.iam.gserviceaccount.com","iat":1700000000})");
  ASSERT_TRUE(jwt);
  EXPECT_EQ(*jwt, rs256_by_openssl);
}

TEST(jwt, make_checks_header_and_claims) {
  const signing_key es = key(test_keys::p256_sec1_pem);
  const signing_key rs = key(test_keys::rsa2048_pem);
  const std::string claims = R"({"iss":"x"})";
  for (auto [k, header] : {std::pair{&es, R"({"alg":"RS256"})"}, std::pair{&rs, R"({"alg":"ES256"})"},
                           std::pair{&es, R"({"typ":"JWT"})"}, std::pair{&es, R"(not json)"},
                           std::pair{&es, R"(["ES256"])"}, std::pair{&es, R"({"alg":"none"})"}}) {
    auto r = make_jwt(*k, header, claims);
    ASSERT_FALSE(r) << header;
    EXPECT_EQ(r.err().code, errc::invalid_argument);
  }
  for (const char* bad : {"", "[]", "{", "\"text\""}) {
    auto r = make_jwt(es, R"({"alg":"ES256"})", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.err().code, errc::invalid_argument);
  }
}

TEST(jwt, malformed_is_a_parse_error) {
  const std::string good = es256_by_openssl;
  const std::string h = good.substr(0, good.find('.'));
  const std::string sig = good.substr(good.rfind('.') + 1);
  for (const std::string& bad : {std::string(), std::string("abc"), std::string("a.b"), good + ".x",
                                 "." + good, h + "..", "!!." + good.substr(good.find('.') + 1),
                                 base64url("not json") + "." + base64url("{}") + "." + sig,
                                 h + "." + base64url("[1]") + "." + sig, h + "." + base64url("{}") + ".*"}) {
    EXPECT_EQ(refusal_code(bad, test_keys::p256_public_pem), errc::parse_error) << bad;
  }
}

TEST(jwt, refuses_other_algorithms_and_the_wrong_key_type) {
  const std::string claims = base64url(R"({"iss":"x"})");
  const std::string sig = base64url(std::string(64, 'x'));
  for (const char* header : {R"({"alg":"none"})", R"({"alg":"HS256"})", R"({"alg":"ES384"})", R"({"typ":"JWT"})",
                             R"({"alg":"es256"})"}) {
    EXPECT_EQ(refusal_code(base64url(header) + "." + claims + "." + sig, test_keys::p256_public_pem),
              errc::invalid_argument)
        << header;
  }
  // The header's alg must match the key: no RS256 checked with an EC key, or back.
  EXPECT_EQ(refusal_code(rs256_by_openssl, test_keys::p256_public_pem), errc::invalid_argument);
  EXPECT_EQ(refusal_code(es256_by_openssl, test_keys::rsa2048_public_pem), errc::invalid_argument);
}

TEST(jwt, refuses_bad_keys) {
  EXPECT_EQ(refusal_code(es256_by_openssl, ""), errc::invalid_argument);
  EXPECT_EQ(refusal_code(es256_by_openssl, "garbage"), errc::invalid_argument);
  // A private key is not what verify wants.
  EXPECT_EQ(refusal_code(es256_by_openssl, test_keys::p256_sec1_pem), errc::invalid_argument);
}

TEST(jwt, refuses_signatures_that_do_not_verify) {
  const std::string good = es256_by_openssl;
  const std::string signing_input = good.substr(0, good.rfind('.'));
  // Wrong length for ES256, DER instead of R||S, a zero signature, another key's.
  EXPECT_EQ(refusal_code(signing_input + "." + base64url(std::string(63, 'x')), test_keys::p256_public_pem),
            errc::invalid_argument);
  EXPECT_EQ(refusal_code(signing_input + "." + base64url(std::string(72, '\x30')), test_keys::p256_public_pem),
            errc::invalid_argument);
  EXPECT_EQ(refusal_code(signing_input + "." + base64url(std::string(64, '\0')), test_keys::p256_public_pem),
            errc::invalid_argument);
  auto other = make_jwt(key(test_keys::p256_sec1_pem), R"({"alg":"ES256"})", R"({"iss":"y"})");
  ASSERT_TRUE(other);
  EXPECT_EQ(refusal_code(signing_input + other->substr(other->rfind('.')), test_keys::p256_public_pem),
            errc::invalid_argument);
  // RS256 with an altered claim.
  std::string rs = rs256_by_openssl;
  const std::string forged_claims = base64url(R"({"iss":"attacker@example.com","iat":1700000000})");
  const size_t d1 = rs.find('.');
  const size_t d2 = rs.find('.', d1 + 1);
  rs = rs.substr(0, d1 + 1) + forged_claims + rs.substr(d2);
  EXPECT_EQ(refusal_code(rs, test_keys::rsa2048_public_pem), errc::invalid_argument);
}
