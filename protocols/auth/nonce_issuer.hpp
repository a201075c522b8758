#pragma once

// Stateless nonces that expire (RFC 7616 §3.3 and §5.4, RFC 3261 §22.4): the
// nonce carries its own issue time, authenticated by an HMAC-SHA-256 under a
// secret key only this switch knows, so no table of issued nonces is needed and a
// nonce cannot be forged, moved to another realm or have its time changed.
//
//   nonce   = base64url-nopad( payload || tag )                     43 characters
//   payload = issued_ms (u64, big-endian) || salt (u32) || counter (u32)
//   tag     = first 16 bytes of HMAC-SHA-256(secret, payload || realm)
//
// A 128-bit tag keeps forgery out of reach (2^-128 per attempt) and the nonce
// short. The salt tells issuers (or restarts) apart; the counter makes two nonces
// issued in the same millisecond differ. Replay *within* a nonce's lifetime is the
// job of nonce_tracker (nonce-count, RFC 7616 §3.4). Time and randomness come from
// the caller: pass the same clock to issue() and check(), in milliseconds.

#include "protocols/util/result.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct evp_mac_ctx_st;  // libcrypto's EVP_MAC_CTX, kept out of this header

namespace centralita::auth {

/// What check() concluded about a nonce.
enum class nonce_state {
  valid,    ///< issued by us for this realm, within its lifetime
  stale,    ///< issued by us for this realm, but expired: challenge with stale=true
  invalid,  ///< not ours (forged, altered, truncated, other realm or other key)
};

/// check() and inspect() answers: the state, and for valid and stale nonces the
/// authenticated issue time (the ordering key nonce_tracker wants).
struct nonce_info {
  nonce_state state = nonce_state::invalid;
  uint64_t issued_ms = 0;  ///< 0 when invalid
};

/// Issues and checks nonces under one secret. Move-only. check() and inspect()
/// are const and may run concurrently; issue() advances the counter.
class nonce_issuer {
public:
  /// Minimum secret length in bytes (draw 32 random bytes at start).
  static constexpr size_t min_secret_size = 16;

  /// An issuer keyed by `secret` (at least min_secret_size bytes), with `salt`
  /// (random, per process) mixed into every nonce.
  /// Errors: `errc::invalid_argument` for a short secret, `errc::unsupported` if
  /// libcrypto lacks HMAC-SHA-256.
  static result<nonce_issuer> create(std::string_view secret, uint32_t salt = 0);

  nonce_issuer(nonce_issuer&&) noexcept;
  nonce_issuer& operator=(nonce_issuer&&) noexcept;
  ~nonce_issuer();

  /// A fresh nonce for `realm`, issued at `now_ms` (empty only if libcrypto fails).
  std::string issue(std::string_view realm, uint64_t now_ms);

  /// valid / stale / invalid for a nonce received with `realm`: stale when it is
  /// more than `lifetime_ms` old (or issued more than that in the future).
  nonce_state check(std::string_view nonce, std::string_view realm, uint64_t now_ms,
                    uint64_t lifetime_ms) const;

  /// check(), plus the authenticated issue time.
  nonce_info inspect(std::string_view nonce, std::string_view realm, uint64_t now_ms,
                     uint64_t lifetime_ms) const;

private:
  struct ctx_free {
    void operator()(evp_mac_ctx_st* c) const noexcept;
  };
  using ctx_ptr = std::unique_ptr<evp_mac_ctx_st, ctx_free>;

  nonce_issuer(ctx_ptr keyed, uint32_t salt) noexcept;
  /// The 16-byte tag for `payload` and `realm`; false if libcrypto failed.
  bool tag(const unsigned char* payload, std::string_view realm, unsigned char* out) const;

  ctx_ptr keyed_;  ///< HMAC-SHA-256 already keyed; duplicated per use
  uint32_t salt_ = 0;
  uint32_t counter_ = 0;
};

} // namespace centralita::auth
