// Properties of JWTs, with keys generated here by EVP keygen (not the fixed
// test keys), exported as PEM and read back through signing_key::from_pem:
//  1. make_jwt then verify_jwt gives back the claims, for ES256 and RS256 and
//     any claims object;
//  2. changing any one byte of the JWT makes verify_jwt fail;
//  3. verify_jwt never crashes on arbitrary text.

#include "protocols/push/push.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <memory>
#include <string>

using namespace centralita;
using namespace centralita::push;

namespace {

struct generated_key {
  std::string private_pem;
  std::string public_pem;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

/// A fresh key from EVP keygen, written as PKCS#8 and SubjectPublicKeyInfo PEM.
generated_key generate(bool ec) {
  EVP_PKEY* raw = ec ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), BIO_free);
  if (!key || !priv || !pub ||
      PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1)
    return {};
  return {bio_text(priv.get()), bio_text(pub.get())};
}

/// Two keys of each kind, made once: keygen (RSA above all) is slow.
const generated_key& key_for(bool ec, bool second) {
  static const generated_key keys[4] = {generate(true), generate(true), generate(false), generate(false)};
  return keys[(ec ? 0 : 2) + (second ? 1 : 0)];
}

/// A claims object with arbitrary string and integer members.
std::string any_claims() {
  nlohmann::json claims = nlohmann::json::object();
  const auto members = *rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
      rc::gen::pair(rc::gen::string<std::string>(), rc::gen::string<std::string>()));
  for (const auto& [k, v] : members) claims[k] = v;
  claims["iat"] = *rc::gen::arbitrary<int64_t>();
  return claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

TEST(jwt_prop, generated_keys_load) {
  for (bool ec : {true, false}) {
    for (bool second : {false, true}) {
      const auto& k = key_for(ec, second);
      ASSERT_FALSE(k.private_pem.empty());
      auto key = signing_key::from_pem(k.private_pem);
      ASSERT_TRUE(key) << key.err().reason;
      EXPECT_EQ(key->alg(), ec ? signing_key::algorithm::es256 : signing_key::algorithm::rs256);
    }
  }
}

RC_GTEST_PROP(jwt_prop, make_then_verify_round_trips, ()) {
  const bool ec = *rc::gen::arbitrary<bool>();
  const auto& k = key_for(ec, false);
  auto key = signing_key::from_pem(k.private_pem);
  RC_ASSERT(key.ok());
  const std::string header = ec ? R"({"alg":"ES256","kid":"K"})" : R"({"alg":"RS256","typ":"JWT"})";
  const std::string claims = any_claims();
  auto jwt = make_jwt(*key, header, claims);
  RC_ASSERT(jwt.ok());
  auto back = verify_jwt(*jwt, k.public_pem);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == claims);
  // Another key of the same kind does not verify it.
  RC_ASSERT(!verify_jwt(*jwt, key_for(ec, true).public_pem).ok());
}

RC_GTEST_PROP(jwt_prop, any_changed_byte_fails, ()) {
  const bool ec = *rc::gen::arbitrary<bool>();
  const auto& k = key_for(ec, false);
  auto key = signing_key::from_pem(k.private_pem);
  RC_ASSERT(key.ok());
  auto jwt = make_jwt(*key, ec ? R"({"alg":"ES256"})" : R"({"alg":"RS256"})", any_claims());
  RC_ASSERT(jwt.ok());
  std::string bad = *jwt;
  const size_t pos = *rc::gen::inRange<size_t>(0, bad.size());
  const char with = *rc::gen::suchThat(rc::gen::arbitrary<char>(), [&](char c) { return c != bad[pos]; });
  bad[pos] = with;
  RC_ASSERT(!verify_jwt(bad, k.public_pem).ok());
}

RC_GTEST_PROP(jwt_prop, verify_never_crashes, (const std::string& text)) {
  const auto& k = key_for(*rc::gen::arbitrary<bool>(), false);
  (void)verify_jwt(text, k.public_pem);
  (void)verify_jwt(text, text);
}
