// signing_key: the PEM forms it reads, the keys it refuses (with a reason that
// says why), and its signatures: RS256 checked against `openssl dgst`, ES256 by
// shape (it is randomised; jwt_test verifies it).

#include "protocols/push/push.hpp"

#include "test_keys.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace centralita;
using namespace centralita::push;

namespace {

/// The signing input of an RS256 JWT, and its signature computed on the machine
/// that wrote this test with:
///   printf '%s' "$input" > input.txt
///   openssl dgst -sha256 -sign rsa2048.pem input.txt | basenc --base64url -w0
constexpr const char* rs256_input =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJpc3MiOiJjZW50cmFsaXRhQGV4YW1wbGUuaWFtLmdzZXJ2aWNlYWNjb3VudC5jb20iLCJpYXQiOjE3MDAwMDAwMDB9";
constexpr const char* rs256_openssl_signature =
    "aKSYyfIVgDDDUhblUe4s4IiNY24a0akXU9g7Yhoz_g0GB6BJqbThb_317XLii8taNriE3A9RK3XtQcK9EwcF1vCT__5FcuGBAE4W"
    "HQKHKUzR4MPnqc4xfKpeuiGYZl9CrY-jCQl0XUrodaiKsI9Ehi38BGgkw3dWQ5IrCm1VPYOJAjBQoKpYsw-1_jcuX2j8s2LTcjIJ"
    "wS3aL9Sdzgel7XQAuhjyD37EcKan0rzPBBu_hydRHvXQzroP5pgX2Z30amR7QVYHtohCNbKB8xGyLNQryOXAot1zwGutovRP_o-z"
    "9Gn0xNomrKR2EwLCHNNgdUA8Nf0FuG10q9RC8ewT8A==";

/// The error from_pem gives for `pem`, asserting that it fails.
error refusal(std::string_view pem) {
  auto r = signing_key::from_pem(pem);
  EXPECT_FALSE(r);
  if (r) return error{errc::parse_error, "accepted"};
  EXPECT_EQ(r.err().code, errc::invalid_argument);
  return r.err();
}

} // namespace

TEST(signing_key, reads_pkcs8_rsa_and_signs_like_openssl) {
  auto key = signing_key::from_pem(test_keys::rsa2048_pem);
  ASSERT_TRUE(key) << key.err().reason;
  EXPECT_EQ(key->alg(), signing_key::algorithm::rs256);
  EXPECT_EQ(key->alg_name(), "RS256");
  auto sig = key->sign(rs256_input);
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->size(), 256u);
  auto expected = base64url_decode(rs256_openssl_signature);
  ASSERT_TRUE(expected);
  EXPECT_EQ(*sig, *expected);
  // RSASSA-PKCS1-v1_5 is deterministic: the same input signs the same.
  EXPECT_EQ(*key->sign(rs256_input), *sig);
}

TEST(signing_key, reads_pkcs1_rsa_as_the_same_key) {
  auto key = signing_key::from_pem(test_keys::rsa2048_pkcs1_pem);
  ASSERT_TRUE(key) << key.err().reason;
  EXPECT_EQ(key->alg(), signing_key::algorithm::rs256);
  auto expected = base64url_decode(rs256_openssl_signature);
  ASSERT_TRUE(expected);
  EXPECT_EQ(*key->sign(rs256_input), *expected);
}

TEST(signing_key, reads_sec1_ec_after_ec_parameters) {
  auto key = signing_key::from_pem(test_keys::p256_sec1_pem);
  ASSERT_TRUE(key) << key.err().reason;
  EXPECT_EQ(key->alg(), signing_key::algorithm::es256);
  EXPECT_EQ(key->alg_name(), "ES256");
  auto a = key->sign("data");
  auto b = key->sign("data");
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  // R || S, 32 bytes each, not DER (which would be 70-72 bytes and start 0x30).
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(b->size(), 64u);
  EXPECT_NE(*a, *b);  // ECDSA takes a fresh nonce each time
}

TEST(signing_key, reads_pkcs8_ec_and_tolerates_surrounding_text) {
  // The SEC1 key's block alone, with text around it, as a copied file may have.
  const std::string pem = test_keys::p256_sec1_pem;
  const std::string block = pem.substr(pem.find("-----BEGIN EC PRIVATE KEY"));
  auto key = signing_key::from_pem("comment line\n" + block + "trailing\n");
  ASSERT_TRUE(key) << key.err().reason;
  EXPECT_EQ(key->alg(), signing_key::algorithm::es256);
}

TEST(signing_key, moves) {
  auto key = signing_key::from_pem(test_keys::p256_sec1_pem);
  ASSERT_TRUE(key);
  signing_key moved = std::move(key).value();
  EXPECT_TRUE(moved.sign("x"));
  auto rsa = signing_key::from_pem(test_keys::rsa2048_pem);
  ASSERT_TRUE(rsa);
  signing_key other = std::move(rsa).value();
  EXPECT_EQ(other.alg(), signing_key::algorithm::rs256);
  other = std::move(moved);
  EXPECT_EQ(other.alg(), signing_key::algorithm::es256);
  EXPECT_EQ(other.sign("x")->size(), 64u);
}

TEST(signing_key, refuses_what_is_not_pem) {
  for (const char* garbage : {"", "hello", "MIIEvgIBADANBgkqhkiG9w0BAQEFAASC", "\x00\x01\x02"}) {
    const error e = refusal(garbage);
    EXPECT_NE(e.reason.find("not PEM"), std::string::npos) << e.reason;
  }
  const error e = refusal("-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n");
  EXPECT_FALSE(e.reason.empty());
  const error truncated = refusal("-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASC\n");
  EXPECT_FALSE(truncated.reason.empty());
  // Valid base64, but not a key inside.
  const error junk = refusal("-----BEGIN PRIVATE KEY-----\nZm9vYmFy\n-----END PRIVATE KEY-----\n");
  EXPECT_NE(junk.reason.find("does not hold a private key"), std::string::npos) << junk.reason;
}

TEST(signing_key, refuses_public_keys_and_certificates) {
  const error e = refusal(test_keys::p256_public_pem);
  EXPECT_NE(e.reason.find("public key"), std::string::npos) << e.reason;
  EXPECT_NE(refusal(test_keys::rsa2048_public_pem).reason.find("public key"), std::string::npos);
  const error c = refusal("-----BEGIN CERTIFICATE-----\nZm9vYmFy\n-----END CERTIFICATE-----\n");
  EXPECT_NE(c.reason.find("certificate"), std::string::npos) << c.reason;
}

TEST(signing_key, refuses_p384) {
  const error e = refusal(test_keys::p384_pem);
  EXPECT_NE(e.reason.find("secp384r1"), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("P-256"), std::string::npos) << e.reason;
}

TEST(signing_key, refuses_rsa_1024) {
  const error e = refusal(test_keys::rsa1024_pem);
  EXPECT_NE(e.reason.find("1024 bits"), std::string::npos) << e.reason;
  EXPECT_NE(e.reason.find("2048"), std::string::npos) << e.reason;
}

TEST(signing_key, refuses_other_key_types) {
  const error e = refusal(test_keys::ed25519_pem);
  EXPECT_NE(e.reason.find("ED25519"), std::string::npos) << e.reason;
}

TEST(signing_key, refuses_encrypted_keys_without_prompting) {
  EXPECT_NE(refusal(test_keys::p256_encrypted_pem).reason.find("encrypted"), std::string::npos);
  EXPECT_NE(refusal(test_keys::p256_encrypted_trad_pem).reason.find("encrypted"), std::string::npos);
}
