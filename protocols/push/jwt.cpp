// Compact JWS (RFC 7515 §7.1) made with a signing_key and checked against a
// public key, for the two algorithms the providers use (RFC 7518 §3.1).

#include "protocols/push/push.hpp"

#include "protocols/push/detail.hpp"
#include "protocols/push/openssl_deleters.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <memory>

namespace centralita::push {

namespace {

using detail::bio_free;
using detail::md_ctx_free;
using detail::pkey_free;

/// Refuses every passphrase: without a callback OpenSSL would prompt on the
/// terminal for a PEM block marked encrypted, I/O this layer must not do.
int no_passphrase(char*, int, int, void*) { return -1; }

/// The JSON object in `text`, or nothing.
std::optional<detail::json> json_object(std::string_view text) {
  auto j = detail::parse(text);
  if (!j || !j->is_object()) return std::nullopt;
  return j;
}

error verify_error(std::string why) {
  ERR_clear_error();
  return detail::invalid("JWT: " + std::move(why));
}

bool is_p256(EVP_PKEY* key) {
  std::array<char, 64> group{};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &len) != 1) return false;
  const std::string_view name(group.data(), len);
  return name == "prime256v1" || name == "P-256";
}

} // namespace

result<std::string> make_jwt(const signing_key& key, std::string_view header_json,
                             std::string_view claims_json) {
  // The texts are signed as given; checking them here catches a caller's slip
  // before the provider answers with an opaque 403.
  auto header = json_object(header_json);
  if (!header) return detail::invalid("JWT: the header is not a JSON object");
  if (detail::string_member(*header, "alg") != key.alg_name())
    return detail::invalid("JWT: the header's \"alg\" is not " + std::string(key.alg_name()));
  if (!json_object(claims_json)) return detail::invalid("JWT: the claims are not a JSON object");

  // RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature),
  // the signature taken over the ASCII of the first two parts.
  std::string out = base64url(header_json);
  out += '.';
  out += base64url(claims_json);
  auto sig = key.sign(out);
  if (!sig) return sig.err();
  out += '.';
  out += base64url(*sig);
  return out;
}

result<std::string> verify_jwt(std::string_view jwt, std::string_view public_pem) {
  const size_t dot1 = jwt.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : jwt.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || jwt.find('.', dot2 + 1) != std::string_view::npos)
    return detail::malformed("JWT: not three dot-separated parts");
  const std::string_view signing_input = jwt.substr(0, dot2);
  auto header_text = base64url_decode(jwt.substr(0, dot1));
  auto claims = base64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = base64url_decode(jwt.substr(dot2 + 1));
  if (!header_text || !claims || !sig) return detail::malformed("JWT: a part is not base64url");
  auto header = json_object(*header_text);
  if (!header) return detail::malformed("JWT: the header is not a JSON object");
  if (!json_object(*claims)) return detail::malformed("JWT: the claims are not a JSON object");

  const std::string alg = detail::string_member(*header, "alg");
  // RFC 8725 §3.1: only the algorithms we expect; "none" never verifies.
  if (alg != "ES256" && alg != "RS256")
    return verify_error("alg \"" + detail::printable(alg, 20) + "\" is not ES256 or RS256");

  if (public_pem.size() > 1'000'000) return verify_error("public key PEM over 1 MB");
  std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())));
  std::unique_ptr<EVP_PKEY, pkey_free> key(
      bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  if (!key) return verify_error("no \"BEGIN PUBLIC KEY\" PEM OpenSSL can read");

  std::string signature = *std::move(sig);
  if (alg == "ES256") {
    if (!EVP_PKEY_is_a(key.get(), "EC") || !is_p256(key.get())) return verify_error("ES256 needs an EC P-256 key");
    // RFC 7518 §3.4: R || S, 32 bytes each; OpenSSL verifies the DER form.
    if (signature.size() != 64) return verify_error("an ES256 signature is 64 bytes");
    signature = detail::ecdsa_raw_to_der(signature);
    if (signature.empty()) return verify_error("libcrypto could not encode the signature");
  } else if (!EVP_PKEY_is_a(key.get(), "RSA")) {
    return verify_error("RS256 needs an RSA key");
  }

  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  const bool good =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  if (!good) return verify_error("the signature does not verify");
  return *std::move(claims);
}

} // namespace centralita::push
