// signing_key: a PEM private key checked for what JWS allows (RFC 7518 §3.3
// RSA >= 2048 bits, §3.4 P-256 for ES256), and the signatures made with it.

#include "protocols/push/push.hpp"

#include "protocols/push/detail.hpp"
#include "protocols/push/openssl_deleters.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <memory>
#include <optional>

namespace centralita::push {

namespace {

// Larger RSA keys are not worth the signing time; none of the providers issue them.
constexpr int max_rsa_bits = 16384;

using detail::bio_free;
using detail::md_ctx_free;
using detail::pkey_free;
struct sig_free {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};
struct decoder_free {
  void operator()(OSSL_DECODER_CTX* c) const noexcept { OSSL_DECODER_CTX_free(c); }
};
struct p8_free {
  void operator()(PKCS8_PRIV_KEY_INFO* p) const noexcept { PKCS8_PRIV_KEY_INFO_free(p); }
};

struct openssl_free {
  void operator()(void* p) const noexcept { OPENSSL_free(p); }
};

/// One PEM block read by PEM_read_bio, owning OpenSSL's buffers.
struct pem_block {
  std::unique_ptr<char, openssl_free> name, header;
  std::unique_ptr<unsigned char, openssl_free> data;
  long len = 0;
};

/// The first block of `pem` that is not "EC PARAMETERS" (which `openssl
/// ecparam -genkey` writes before the key); nothing when there is none.
std::optional<pem_block> first_key_block(std::string_view pem) {
  std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return std::nullopt;
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) return std::nullopt;
    pem_block b{std::unique_ptr<char, openssl_free>(name), std::unique_ptr<char, openssl_free>(header),
                std::unique_ptr<unsigned char, openssl_free>(data), len};
    if (std::string_view(name) != "EC PARAMETERS") return b;
  }
}

/// Why `label` is not a private key we can use, or "" when it is one.
std::string label_problem(std::string_view label) {
  if (label == "PRIVATE KEY" || label == "EC PRIVATE KEY" || label == "RSA PRIVATE KEY") return {};
  if (label == "ENCRYPTED PRIVATE KEY") return "an encrypted private key (no passphrase support)";
  if (label.find("PUBLIC KEY") != std::string_view::npos) return "a public key, not a private key";
  if (label.find("CERTIFICATE") != std::string_view::npos) return "a certificate, not a private key";
  return "a PEM \"" + detail::printable(label, 40) + "\" block, not a private key";
}

error key_error(std::string why) {
  ERR_clear_error();  // leave no stale entries for the next libcrypto user on this thread
  return detail::invalid("signing key: " + std::move(why));
}

/// `der` decoded as a `key_type` ("EC", "RSA") key in `structure`; null on failure.
EVP_PKEY* decode_as(const unsigned char* der, long len, const char* structure, const char* key_type) {
  EVP_PKEY* key = nullptr;
  std::unique_ptr<OSSL_DECODER_CTX, decoder_free> ctx(
      OSSL_DECODER_CTX_new_for_pkey(&key, "DER", structure, key_type, EVP_PKEY_KEYPAIR, nullptr, nullptr));
  const unsigned char* p = der;
  size_t left = len > 0 ? static_cast<size_t>(len) : 0;
  if (!ctx || OSSL_DECODER_from_data(ctx.get(), &p, &left) != 1) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  return key;
}

/// The private key in the DER of a PEM block labelled `label`. Each label gets
/// the one decoder that fits it: letting OpenSSL try every decoder costs about
/// four times as much. For a PKCS#8 key of another algorithm, `other_type`
/// names it and the result is null.
EVP_PKEY* decode_der(std::string_view label, const unsigned char* der, long len, std::string& other_type) {
  // RFC 5915 (SEC1 ECPrivateKey) and RFC 8017 A.1.2 (RSAPrivateKey).
  if (label == "EC PRIVATE KEY") return decode_as(der, len, "type-specific", "EC");
  if (label == "RSA PRIVATE KEY") return decode_as(der, len, "type-specific", "RSA");
  // RFC 5208 PrivateKeyInfo: the algorithm OID says which decoder to use.
  const unsigned char* p = der;
  std::unique_ptr<PKCS8_PRIV_KEY_INFO, p8_free> info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, len));
  const ASN1_OBJECT* oid = nullptr;
  if (!info || PKCS8_pkey_get0(&oid, nullptr, nullptr, nullptr, info.get()) != 1 || !oid) return nullptr;
  const int nid = OBJ_obj2nid(oid);
  if (nid == NID_X9_62_id_ecPublicKey) return decode_as(der, len, "PrivateKeyInfo", "EC");
  if (nid == NID_rsaEncryption) return decode_as(der, len, "PrivateKeyInfo", "RSA");
  const char* name = nid == NID_undef ? nullptr : OBJ_nid2sn(nid);
  other_type = name ? detail::printable(name, 40) : "non-EC, non-RSA";
  return nullptr;
}

std::optional<std::string> digest_sign(EVP_PKEY* key, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1)
    return std::nullopt;
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()) != 1)
    return std::nullopt;
  sig.resize(len);
  return sig;
}

} // namespace

struct signing_key::impl {
  std::unique_ptr<EVP_PKEY, pkey_free> key;
  algorithm alg;
};

signing_key::signing_key(std::unique_ptr<impl> p) : p_(std::move(p)) {}
signing_key::signing_key(signing_key&&) noexcept = default;
signing_key& signing_key::operator=(signing_key&&) noexcept = default;
signing_key::~signing_key() = default;

result<signing_key> signing_key::from_pem(std::string_view pem) {
  if (pem.find("-----BEGIN ") == std::string_view::npos) return key_error("not PEM (no -----BEGIN line)");
  if (pem.size() > 1'000'000) return key_error("PEM text over 1 MB");
  auto block = first_key_block(pem);
  if (!block) return key_error("not PEM (no readable -----BEGIN/-----END block)");
  if (std::string why = label_problem(block->name.get()); !why.empty()) return key_error(std::move(why));
  // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED") mark a traditional encrypted key.
  if (block->header && *block->header != '\0') return key_error("an encrypted private key (no passphrase support)");

  // The block's DER: PKCS#8, or SEC1 / PKCS#1 for the traditional labels. Read
  // with a decoder rather than PEM_read_bio_PrivateKey, which, given no
  // passphrase callback, would prompt on the terminal for an encrypted key.
  std::string type;
  std::unique_ptr<EVP_PKEY, pkey_free> key(decode_der(block->name.get(), block->data.get(), block->len, type));
  if (!key) {
    if (!type.empty()) return key_error("a " + type + " key (only EC P-256 and RSA sign JWTs here)");
    return key_error("the PEM block does not hold a private key OpenSSL can read");
  }

  auto p = std::make_unique<impl>();
  if (EVP_PKEY_is_a(key.get(), "EC")) {
    std::array<char, 64> group{};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key.get(), group.data(), group.size(), &len) != 1)
      return key_error("an EC key without a named curve (ES256 needs P-256)");
    const std::string_view name(group.data(), len);
    // RFC 7518 §3.4: ES256 is ECDSA on P-256 ("prime256v1" to OpenSSL).
    if (name != "prime256v1" && name != "P-256")
      return key_error("an EC key on curve " + detail::printable(name, 40) + " (ES256 needs P-256)");
    p->alg = algorithm::es256;
  } else if (EVP_PKEY_is_a(key.get(), "RSA")) {
    const int bits = EVP_PKEY_get_bits(key.get());
    // RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used".
    if (bits < 2048)
      return key_error("an RSA key of " + std::to_string(bits) + " bits (RS256 needs at least 2048)");
    if (bits > max_rsa_bits)
      return key_error("an RSA key of " + std::to_string(bits) + " bits (at most 16384 accepted)");
    p->alg = algorithm::rs256;
  } else {
    const char* type = EVP_PKEY_get0_type_name(key.get());
    return key_error(std::string("a ") + (type ? detail::printable(type, 40) : "non-EC, non-RSA") +
                     " key (only EC P-256 and RSA sign JWTs here)");
  }
  p->key = std::move(key);
  return signing_key(std::move(p));
}

signing_key::algorithm signing_key::alg() const noexcept { return p_ ? p_->alg : algorithm::es256; }

std::string_view signing_key::alg_name() const noexcept {
  return alg() == algorithm::es256 ? "ES256" : "RS256";
}

result<std::string> signing_key::sign(std::string_view data) const {
  if (!p_ || !p_->key) return detail::invalid("signing key: moved from");
  auto sig = digest_sign(p_->key.get(), data);
  if (!sig) {
    ERR_clear_error();
    return detail::invalid("signing key: libcrypto could not sign");
  }
  if (p_->alg == algorithm::rs256) return *std::move(sig);  // RFC 7518 §3.3: RSASSA-PKCS1-v1_5
  std::string raw = detail::ecdsa_der_to_raw(*sig);         // RFC 7518 §3.4: R || S, not DER
  if (raw.empty()) return detail::invalid("signing key: libcrypto gave a malformed ECDSA signature");
  return raw;
}

namespace detail {

std::string ecdsa_der_to_raw(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, sig_free> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    ERR_clear_error();
    return {};
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  // Each half is the 32-byte big-endian integer, left-padded with zeros.
  if (!r || !s || BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32) return {};
  return raw;
}

std::string ecdsa_raw_to_der(std::string_view raw) {
  if (raw.size() != 64) return {};
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, sig_free> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(in, 32, nullptr);
  BIGNUM* s = BN_bin2bn(in + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

} // namespace detail

} // namespace centralita::push
