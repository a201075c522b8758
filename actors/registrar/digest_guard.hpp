#pragma once

#include "protocols/auth/algorithm.hpp"
#include "protocols/auth/nonce_issuer.hpp"
#include "protocols/auth/nonce_tracker.hpp"
#include "protocols/auth/users_file.hpp"
#include "protocols/sip/message.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace centralita::actors {

/// The provisioned users, by "user@domain" (read-only once built).
class user_directory {
public:
  explicit user_directory(std::vector<auth::user_entry> users);
  const auth::user_entry* find(std::string_view user, std::string_view domain) const;
  bool contains(std::string_view aor) const;
  bool empty() const { return users_.empty(); }
  std::size_t size() const { return users_.size(); }

private:
  std::map<std::string, auth::user_entry, std::less<>> users_;
};

struct digest_settings {
  std::string realm;                       ///< empty: the request's domain
  uint64_t nonce_lifetime_ms = 300'000;
  std::vector<auth::algorithm> offered{auth::algorithm::sha256, auth::algorithm::md5};
};

/// Digest authentication of one request (RFC 3261 §22, RFC 7616): answers
/// nullopt when the request carries valid, fresh, non-replayed credentials
/// of the user it claims to be (the To AOR of a REGISTER, the From AOR of a
/// proxied request), else the response to send: a 401 (registrar) or 407
/// (proxy) challenge — with stale=true for an expired nonce — a 400 for
/// malformed credentials, or a 403 for a user acting for another AOR.
/// Thread-safe (the nonce-count table is locked), so one instance may serve
/// every proxy context; registrar shards each own one.
class digest_guard {
public:
  /// `issuer` is this guard's own (same secret everywhere, a salt of its
  /// own): a nonce issued by any guard verifies at every other.
  digest_guard(std::shared_ptr<const user_directory> users, auth::nonce_issuer issuer,
               digest_settings settings, bool proxy);

  std::optional<sip::message> check(const sip::message& request, int64_t now_ms);

  /// Whether a proxied request needs credentials: out-of-dialog requests
  /// (no To tag) whose From is a provisioned user; never ACK or CANCEL.
  bool applies_to(const sip::message& request) const;

private:
  std::optional<sip::message> challenge(const sip::message& request, const std::string& realm,
                                        bool stale, uint64_t now_ms);
  std::optional<sip::message> refuse(const sip::message& request, int status,
                                     std::string_view reason);

  std::shared_ptr<const user_directory> users_;
  auth::nonce_issuer issuer_;
  digest_settings settings_;
  bool proxy_;
  std::mutex mtx_;
  auth::nonce_tracker tracker_{65536};
};

} // namespace centralita::actors
