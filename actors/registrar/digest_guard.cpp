#include "actors/registrar/digest_guard.hpp"

#include "protocols/auth/challenge.hpp"
#include "protocols/auth/credentials.hpp"
#include "protocols/auth/digest.hpp"
#include "protocols/sip/proxy/sip_uri.hpp"
#include "protocols/sip/registrar/binding.hpp"

namespace centralita::actors {

user_directory::user_directory(std::vector<auth::user_entry> users) {
  for (auto& u : users) {
    auto key = u.user + "@" + sip::proxy::to_lower(u.domain);
    users_.emplace(std::move(key), std::move(u));
  }
}

const auth::user_entry* user_directory::find(std::string_view user,
                                             std::string_view domain) const {
  auto it = users_.find(std::string(user) + "@" + sip::proxy::to_lower(domain));
  return it == users_.end() ? nullptr : &it->second;
}

bool user_directory::contains(std::string_view aor) const {
  return users_.find(aor) != users_.end();
}

digest_guard::digest_guard(std::shared_ptr<const user_directory> users,
                           auth::nonce_issuer issuer, digest_settings settings, bool proxy)
  : users_(std::move(users)), issuer_(std::move(issuer)), settings_(std::move(settings)),
    proxy_(proxy) {
}

bool digest_guard::applies_to(const sip::message& request) const {
  auto m = request.request_method();
  if (m == sip::method::ack || m == sip::method::cancel || !request.to().tag.empty())
    return false;  // ACK/CANCEL cannot be challenged (§22.1); in-dialog: trusted dialog
  auto from = sip::normalize_aor(request.from().uri);
  return from && users_->contains(*from);
}

std::optional<sip::message> digest_guard::refuse(const sip::message& request, int status,
                                                 std::string_view reason) {
  auto r = sip::make_response(request, status, reason, "auth");
  if (!r)
    return std::nullopt;
  return std::move(r.value());
}

std::optional<sip::message> digest_guard::challenge(const sip::message& request,
                                                    const std::string& realm, bool stale,
                                                    uint64_t now_ms) {
  std::string nonce;
  {
    std::lock_guard<std::mutex> lock(mtx_);
    nonce = issuer_.issue(realm, now_ms);
  }
  // §22.1 / §22.3: 401 + WWW-Authenticate from a registrar (UAS), 407 +
  // Proxy-Authenticate from a proxy; RFC 8760 §2.4: SHA-256 first.
  auto r = sip::make_response(request, proxy_ ? 407 : 401, {}, "auth");
  if (!r)
    return std::nullopt;
  // In the operator's order (auth.algorithms): RFC 8760 prefers SHA-256
  // first, but some UAs (libre/baresip 1.0) give up at a first challenge
  // they cannot use, so the order is configurable.
  for (auto a : settings_.offered)
    r->add_header(proxy_ ? "Proxy-Authenticate" : "WWW-Authenticate",
                  auth::make_challenge(realm, nonce, a, stale, {}));
  return std::move(r.value());
}

std::optional<sip::message> digest_guard::check(const sip::message& request, int64_t now) {
  auto now_ms = static_cast<uint64_t>(now);
  // Who the request claims to be: the AOR being registered (§10.3 step 3)
  // or the caller (From) of a proxied request.
  auto claimed = sip::normalize_aor(proxy_ ? request.from().uri : request.to().uri);
  if (!claimed)
    return refuse(request, 400, proxy_ ? "Malformed From" : "Malformed To");
  auto at = claimed->find('@');
  std::string domain = at == std::string::npos ? *claimed : claimed->substr(at + 1);
  std::string realm = settings_.realm.empty() ? domain : settings_.realm;

  // One credentials header per realm may come (§22.4): use ours.
  std::optional<auth::credentials> creds;
  for (auto& value : request.header_values(proxy_ ? "Proxy-Authorization" : "Authorization")) {
    auto c = auth::parse_credentials(value);
    if (!c)
      return refuse(request, 400, "Malformed Credentials");
    if (sip::proxy::iequal(c->realm, realm)) {
      creds = std::move(c.value());
      break;
    }
  }
  if (!creds)
    return challenge(request, realm, false, now_ms);
  auto info = issuer_.inspect(creds->nonce, realm, now_ms, settings_.nonce_lifetime_ms);
  if (info.state == auth::nonce_state::invalid)
    return challenge(request, realm, false, now_ms);
  if (info.state == auth::nonce_state::stale)
    return challenge(request, realm, true, now_ms);  // RFC 7616 §3.3: stale=true
  if (!creds->has_qop())  // RFC 3261 §22.4 allows RFC 2069; we insist on qop=auth
    return challenge(request, realm, false, now_ms);
  // RFC 7616 §3.4.6: the digest-uri must name the Request-URI.
  auto a = sip::proxy::sip_uri::parse(creds->uri);
  auto b = sip::proxy::sip_uri::parse(request.request_uri());
  if (!a || !b || a->user != b->user || a->host != b->host || a->port != b->port)
    return refuse(request, 400, "Digest URI Mismatch");
  const auto* user = users_->find(creds->username, domain);
  if (user == nullptr)
    return challenge(request, realm, false, now_ms);  // no hint that the user does not exist
  auto ha1 = auth::ha1_for(*user, creds->alg, realm);
  if (!ha1 || !auth::verify(*creds, request.method_name(), *ha1))
    return challenge(request, realm, false, now_ms);  // wrong password: 401/407 again
  // The response is right: now make sure it is not a replay (§22.4, RFC
  // 7616 §3.4: the nonce-count must grow).
  auth::nc_verdict verdict;
  {
    std::lock_guard<std::mutex> lock(mtx_);
    verdict = tracker_.observe(creds->nonce, info.issued_ms, creds->nc);
    tracker_.expire(now_ms > settings_.nonce_lifetime_ms ? now_ms - settings_.nonce_lifetime_ms
                                                         : 0);
  }  // challenge() takes the lock itself
  if (verdict == auth::nc_verdict::replay)
    return challenge(request, realm, false, now_ms);
  if (verdict == auth::nc_verdict::forgotten)
    return challenge(request, realm, true, now_ms);
  // The authenticated user may only act for itself.
  if (creds->username + "@" + sip::proxy::to_lower(domain) != *claimed)
    return refuse(request, 403, "Forbidden (credentials of another user)");
  return std::nullopt;
}

} // namespace centralita::actors
