// What a provider's answer means for the binding and for the next attempt.
// Bodies come from the network: anything malformed still gives a verdict.

#include "protocols/push/push.hpp"

#include "protocols/push/detail.hpp"
#include "protocols/util/ascii.hpp"

namespace centralita::push {

namespace {

using detail::header_list;

bool is_2xx(int status) noexcept { return status >= 200 && status <= 299; }
bool is_5xx(int status) noexcept { return status >= 500 && status <= 599; }

/// A verdict with Retry-After applied (it may come with any status).
verdict make(outcome what, std::string reason, const header_list& headers) {
  return verdict{what, std::move(reason), detail::retry_after(headers)};
}

/// No answer at all: the transport's reason, or a generic one.
verdict no_answer(std::string_view transport_error, const header_list& headers) {
  std::string why = detail::printable(transport_error);
  return make(outcome::transient, why.empty() ? "no answer" : std::move(why), headers);
}

/// `reason` when non-empty, else "HTTP <status>".
std::string or_status(std::string reason, int status) {
  return reason.empty() ? detail::http_reason(status) : std::move(reason);
}

/// FCM's error (google.rpc.Status as JSON): status, message and the FcmError code.
struct fcm_error {
  std::string status;      ///< e.g. "NOT_FOUND", "INVALID_ARGUMENT"
  std::string message;
  std::string error_code;  ///< from google.firebase.fcm.v1.FcmError, e.g. "UNREGISTERED"
  bool token_field = false;  ///< a google.rpc.BadRequest field violation names message.token
};

fcm_error read_fcm_error(std::string_view body) {
  fcm_error e;
  auto j = detail::parse(body);
  if (!j || !j->is_object()) return e;
  const auto err = j->find("error");
  if (err == j->end() || !err->is_object()) return e;
  e.status = detail::string_member(*err, "status");
  e.message = detail::string_member(*err, "message");
  const auto details = err->find("details");
  if (details == err->end() || !details->is_array()) return e;
  for (const auto& d : *details) {
    const std::string type = detail::string_member(d, "@type");
    if (type.ends_with("google.firebase.fcm.v1.FcmError")) {
      if (std::string code = detail::string_member(d, "errorCode"); !code.empty() && e.error_code.empty())
        e.error_code = std::move(code);
    } else if (type.ends_with("google.rpc.BadRequest")) {
      const auto violations = d.find("fieldViolations");
      if (violations == d.end() || !violations->is_array()) continue;
      for (const auto& v : *violations)
        if (detail::string_member(v, "field") == "message.token") e.token_field = true;
    }
  }
  return e;
}

bool mentions_registration_token(std::string_view message) {
  return ascii::to_lower(message).find("registration token") != std::string::npos;
}

} // namespace

namespace detail {

std::optional<std::string_view> find_header(const header_list& headers, std::string_view name) noexcept {
  for (const auto& [n, v] : headers)
    if (ascii::iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

std::optional<int64_t> retry_after(const header_list& headers) noexcept {
  for (const auto& [n, v] : headers) {
    if (!ascii::iequals(n, "retry-after")) continue;
    std::string_view s = v;
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    // RFC 9110 §10.2.3: delay-seconds = 1*DIGIT. The HTTP-date form is left out.
    if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) continue;
    int64_t secs = 0;
    for (char c : s) {
      if (secs > (INT64_MAX - 9) / 10) return INT64_MAX;  // absurdly far: hold at the limit
      secs = secs * 10 + (c - '0');
    }
    return secs;
  }
  return std::nullopt;
}

} // namespace detail

std::string_view to_string(outcome o) noexcept {
  switch (o) {
  case outcome::delivered:
    return "delivered";
  case outcome::gone:
    return "gone";
  case outcome::transient:
    return "transient";
  case outcome::auth:
    return "auth";
  case outcome::rejected:
    return "rejected";
  }
  return "transient";
}

verdict classify_apns(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                      std::string_view body, std::string_view transport_error) {
  if (status <= 0) return no_answer(transport_error, headers);
  if (is_2xx(status)) return make(outcome::delivered, detail::http_reason(status), headers);
  // APNs answers errors with {"reason": "..."} (and "timestamp" on a 410).
  std::string reason;
  if (auto j = detail::parse(body)) reason = detail::printable(detail::string_member(*j, "reason"), 100);
  // 410: the token is no longer active for the topic; 400 with these reasons:
  // it never was (a token of another app, or a sandbox token in production).
  if (status == 410 || (status == 400 && (reason == "BadDeviceToken" || reason == "DeviceTokenNotForTopic")))
    return make(outcome::gone, or_status(std::move(reason), status), headers);
  if (status == 403 && (reason == "ExpiredProviderToken" || reason == "InvalidProviderToken" ||
                        reason == "MissingProviderToken"))
    return make(outcome::auth, std::move(reason), headers);
  if (status == 429 || is_5xx(status)) return make(outcome::transient, or_status(std::move(reason), status), headers);
  return make(outcome::rejected, or_status(std::move(reason), status), headers);
}

verdict classify_fcm(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                     std::string_view body, std::string_view transport_error) {
  if (status <= 0) return no_answer(transport_error, headers);
  if (is_2xx(status)) return make(outcome::delivered, detail::http_reason(status), headers);
  const fcm_error e = read_fcm_error(body);
  const std::string code = detail::printable(e.error_code, 60);
  const std::string rpc_status = detail::printable(e.status, 60);
  // The FCM error code says most; the google.rpc status, then the HTTP status, less.
  std::string reason = or_status(!code.empty() ? code : rpc_status, status);

  // UNREGISTERED (404): the app instance is gone. INVALID_ARGUMENT (400) about
  // the registration token: it never was one. Either way, drop the binding.
  if (code == "UNREGISTERED") return make(outcome::gone, "UNREGISTERED", headers);
  if (status == 404) return make(outcome::gone, or_status(rpc_status, status), headers);
  if (status == 400 && (code == "INVALID_ARGUMENT" || rpc_status == "INVALID_ARGUMENT") &&
      (e.token_field || mentions_registration_token(e.message)))
    return make(outcome::gone, "INVALID_ARGUMENT", headers);
  // 401 UNAUTHENTICATED: the access token was refused. (FCM also answers 401
  // THIRD_PARTY_AUTH_ERROR for a bad APNs credential in the Firebase project;
  // a renewed token does not cure it, and the single retry then fails again.)
  if (status == 401) return make(outcome::auth, std::move(reason), headers);
  // 429 QUOTA_EXCEEDED, 500 INTERNAL, 503 UNAVAILABLE (and any other 5xx).
  if (status == 429 || is_5xx(status) || code == "UNAVAILABLE" || code == "INTERNAL" || code == "QUOTA_EXCEEDED")
    return make(outcome::transient, std::move(reason), headers);
  return make(outcome::rejected, std::move(reason), headers);
}

verdict classify_webhook(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                         std::string_view, std::string_view transport_error) {
  if (status <= 0) return no_answer(transport_error, headers);
  const std::string reason = detail::http_reason(status);
  if (is_2xx(status)) return make(outcome::delivered, reason, headers);
  if (status == 404 || status == 410) return make(outcome::gone, reason, headers);
  if (status == 429 || is_5xx(status)) return make(outcome::transient, reason, headers);
  return make(outcome::rejected, reason, headers);
}

} // namespace centralita::push
