#include "protocols/auth/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <initializer_list>
#include <memory>

namespace centralita::auth {

namespace {

struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

const EVP_MD* md_for(algorithm a) noexcept { return is_sha256(a) ? EVP_sha256() : EVP_md5(); }

void append_hex(std::string& out, const unsigned char* p, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 0x0f]);
  }
}

/// H(part1 ":" part2 ":" ...) as lowercase hex, without building the joined string.
std::string hash_joined(algorithm a, std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), md_for(a), nullptr) == 1;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) ok = ok && EVP_DigestUpdate(ctx.get(), ":", 1) == 1;
    first = false;
    ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), md.data(), &len) == 1;
  // Only an allocation failure inside libcrypto gets here; an empty digest then
  // matches no response, so authentication fails closed.
  if (!ok) return {};
  std::string out;
  out.reserve(2 * len);
  append_hex(out, md.data(), len);
  return out;
}

/// `hex` lowercased, so stored HA1s in uppercase still hash the RFC's way (LHEX).
std::string lowercase_hex(std::string_view hex) {
  std::string out(hex);
  for (char& c : out)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

} // namespace

std::string hash_hex(algorithm a, std::string_view data) { return hash_joined(a, {data}); }

std::string ha1(algorithm a, std::string_view user, std::string_view realm, std::string_view password) {
  return hash_joined(a, {user, realm, password});  // RFC 7616 §3.4.2
}

std::string session_ha1(algorithm a, std::string_view ha1_hex, std::string_view nonce,
                        std::string_view cnonce) {
  return hash_joined(a, {ha1_hex, nonce, cnonce});  // RFC 7616 §3.4.2: -sess
}

std::string ha2(algorithm a, std::string_view method, std::string_view uri) {
  return hash_joined(a, {method, uri});  // RFC 7616 §3.4.3: qop=auth or none
}

std::string response(algorithm a, std::string_view effective_ha1, std::string_view nonce,
                     std::string_view nc_hex, std::string_view cnonce, std::string_view qop,
                     std::string_view ha2_hex) {
  return hash_joined(a, {effective_ha1, nonce, nc_hex, cnonce, qop, ha2_hex});  // RFC 7616 §3.4.1
}

std::string response_rfc2069(algorithm a, std::string_view effective_ha1, std::string_view nonce,
                             std::string_view ha2_hex) {
  return hash_joined(a, {effective_ha1, nonce, ha2_hex});  // RFC 2069 §2.1.2
}

std::string client_response(const credentials& c, std::string_view method, std::string_view password) {
  std::string h1 = ha1(c.alg, c.username, c.realm, password);
  if (is_session(c.alg)) h1 = session_ha1(c.alg, h1, c.nonce, c.cnonce);
  std::string h2 = ha2(c.alg, method, c.uri);
  if (!c.has_qop()) return response_rfc2069(c.alg, h1, c.nonce, h2);
  return response(c.alg, h1, c.nonce, c.nc_hex, c.cnonce, c.qop, h2);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Lengths are public (fixed per algorithm); only the contents must not leak.
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool verify(const credentials& c, std::string_view method, std::string_view ha1_hex) {
  if (ha1_hex.size() != hex_length(c.alg) || c.response.size() != hex_length(c.alg)) return false;
  std::string h1 = lowercase_hex(ha1_hex);
  // RFC 7616 §3.4.2: for -sess, HA1 is rehashed with this nonce and cnonce.
  if (is_session(c.alg)) {
    if (!c.has_qop()) return false;  // -sess needs a cnonce, which only comes with qop
    h1 = session_ha1(c.alg, h1, c.nonce, c.cnonce);
  }
  std::string h2 = ha2(c.alg, method, c.uri);
  std::string expected = c.has_qop() ? response(c.alg, h1, c.nonce, c.nc_hex, c.cnonce, c.qop, h2)
                                     : response_rfc2069(c.alg, h1, c.nonce, h2);
  return !expected.empty() && constant_time_equal(expected, c.response);
}

} // namespace centralita::auth
