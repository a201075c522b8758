#include "protocols/auth/nonce_issuer.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <cstring>

namespace centralita::auth {

namespace {

constexpr size_t payload_size = 16;
constexpr size_t tag_size = 16;
constexpr size_t raw_size = payload_size + tag_size;
constexpr size_t encoded_size = (raw_size * 4 + 2) / 3;  // base64 without padding: 43

constexpr char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64url_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// RFC 4648 §5 (base64url), no padding: the nonce stays a plain token.
std::string encode(const unsigned char* p, size_t n) {
  std::string out;
  out.reserve((n * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(b64url[(v >> s) & 63]);
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{p[i]} << 16;
    out.push_back(b64url[(v >> 18) & 63]);
    out.push_back(b64url[(v >> 12) & 63]);
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out.push_back(b64url[(v >> 18) & 63]);
    out.push_back(b64url[(v >> 12) & 63]);
    out.push_back(b64url[(v >> 6) & 63]);
  }
  return out;
}

/// Decodes exactly `raw_size` bytes from `encoded_size` characters; false otherwise.
bool decode(std::string_view s, std::array<unsigned char, raw_size>& out) {
  if (s.size() != encoded_size) return false;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = b64url_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o == raw_size) return false;
      out[o++] = static_cast<unsigned char>((acc >> bits) & 0xff);
    }
  }
  // Canonical form only: the leftover bits of the last character must be zero,
  // or two spellings would name the same nonce.
  return o == raw_size && (acc & ((1u << bits) - 1)) == 0;
}

void put_u64(unsigned char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v & 0xff);
}

void put_u32(unsigned char* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<unsigned char>(v & 0xff);
}

uint64_t get_u64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

} // namespace

void nonce_issuer::ctx_free::operator()(evp_mac_ctx_st* c) const noexcept { EVP_MAC_CTX_free(c); }

result<nonce_issuer> nonce_issuer::create(std::string_view secret, uint32_t salt) {
  if (secret.size() < min_secret_size)
    return error{errc::invalid_argument, "nonce secret shorter than 16 bytes"};
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac) return error{errc::unsupported, "libcrypto has no HMAC"};
  ctx_ptr ctx(EVP_MAC_CTX_new(mac));
  EVP_MAC_free(mac);  // the context holds its own reference
  if (!ctx) return error{errc::unsupported, "libcrypto: EVP_MAC_CTX_new failed"};
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                   params) != 1)
    return error{errc::unsupported, "libcrypto: HMAC-SHA-256 init failed"};
  return nonce_issuer(std::move(ctx), salt);
}

nonce_issuer::nonce_issuer(ctx_ptr keyed, uint32_t salt) noexcept : keyed_(std::move(keyed)), salt_(salt) {}
nonce_issuer::nonce_issuer(nonce_issuer&&) noexcept = default;
nonce_issuer& nonce_issuer::operator=(nonce_issuer&&) noexcept = default;
nonce_issuer::~nonce_issuer() = default;

bool nonce_issuer::tag(const unsigned char* payload, std::string_view realm, unsigned char* out) const {
  if (!keyed_) return false;  // moved-from
  ctx_ptr ctx(EVP_MAC_CTX_dup(keyed_.get()));
  std::array<unsigned char, EVP_MAX_MD_SIZE> full{};
  size_t len = 0;
  // The payload has a fixed length, so payload || realm is unambiguous.
  bool ok = ctx && EVP_MAC_update(ctx.get(), payload, payload_size) == 1 &&
            EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(realm.data()), realm.size()) == 1 &&
            EVP_MAC_final(ctx.get(), full.data(), &len, full.size()) == 1 && len >= tag_size;
  if (ok) std::memcpy(out, full.data(), tag_size);
  return ok;
}

std::string nonce_issuer::issue(std::string_view realm, uint64_t now_ms) {
  std::array<unsigned char, raw_size> raw{};
  put_u64(raw.data(), now_ms);
  put_u32(raw.data() + 8, salt_);
  put_u32(raw.data() + 12, counter_++);
  if (!tag(raw.data(), realm, raw.data() + payload_size)) return {};
  return encode(raw.data(), raw.size());
}

nonce_state nonce_issuer::check(std::string_view nonce, std::string_view realm, uint64_t now_ms,
                                uint64_t lifetime_ms) const {
  return inspect(nonce, realm, now_ms, lifetime_ms).state;
}

nonce_info nonce_issuer::inspect(std::string_view nonce, std::string_view realm, uint64_t now_ms,
                                 uint64_t lifetime_ms) const {
  std::array<unsigned char, raw_size> raw{};
  if (!decode(nonce, raw)) return {};
  std::array<unsigned char, tag_size> expected{};
  if (!tag(raw.data(), realm, expected.data())) return {};
  // Constant time, so the tag cannot be guessed byte by byte from timings.
  if (CRYPTO_memcmp(expected.data(), raw.data() + payload_size, tag_size) != 0) return {};
  uint64_t issued = get_u64(raw.data());
  uint64_t age = now_ms >= issued ? now_ms - issued : issued - now_ms;
  // RFC 7616 §3.3: an authentic but expired nonce is answered with stale=true,
  // so the client retries with the same credentials instead of prompting.
  return {age > lifetime_ms ? nonce_state::stale : nonce_state::valid, issued};
}

} // namespace centralita::auth
