// FCM HTTP v1: the service account's OAuth2 token (RFC 7523 JWT-bearer grant,
// RFC 6749 §5 answers) and the messages:send request.

#include "protocols/push/push.hpp"

#include "protocols/push/detail.hpp"

#include <cmath>

namespace centralita::push {

namespace {

constexpr std::string_view fcm_scope = "https://www.googleapis.com/auth/firebase.messaging";
constexpr std::string_view jwt_bearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr int64_t assertion_lifetime_s = 3600;  // Google's maximum for the assertion

/// A Google project id ("my-app-123", or the legacy "example.com:my-app") goes
/// into the URL path; pn-param comes from a REGISTER, so nothing else passes.
bool project_id_ok(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == ':' || c == '_';
    if (!ok) return false;
  }
  return true;
}

/// `obj[key]` as a string: error naming the field when absent, empty or not a string.
result<std::string> required(const detail::json& obj, const char* key) {
  std::string v = detail::string_member(obj, key);
  if (v.empty()) return detail::invalid(std::string("service account: no \"") + key + "\" string");
  return v;
}

/// expires_in as an integer number of seconds (a numeric string is tolerated).
std::optional<int64_t> seconds(const detail::json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    return i < 0 ? std::nullopt : std::optional<int64_t>(i);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < 0 || d > 9.2e18) return std::nullopt;
    return static_cast<int64_t>(d);
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::stoll(s);
  }
  return std::nullopt;
}

} // namespace

result<service_account> parse_service_account(std::string_view json) {
  auto j = detail::parse(json);
  if (!j || !j->is_object()) return detail::malformed("service account: not a JSON object");
  if (j->contains("type")) {
    const std::string type = detail::string_member(*j, "type");
    if (type != "service_account")
      return detail::invalid("service account: \"type\" is \"" + detail::printable(type, 40) +
                             "\", not \"service_account\"");
  }
  service_account sa;
  auto email = required(*j, "client_email");
  if (!email) return email.err();
  auto key = required(*j, "private_key");
  if (!key) return key.err();
  auto project = required(*j, "project_id");
  if (!project) return project.err();
  sa.client_email = *std::move(email);
  sa.private_key_pem = *std::move(key);
  sa.project_id = *std::move(project);
  sa.private_key_id = detail::string_member(*j, "private_key_id");
  if (std::string uri = detail::string_member(*j, "token_uri"); !uri.empty()) sa.token_uri = std::move(uri);
  return sa;
}

result<http_call> fcm_token_request(const signing_key& key, const service_account& sa,
                                    const fcm_settings& s, int64_t now_s) {
  if (key.alg() != signing_key::algorithm::rs256)
    return detail::invalid("FCM token request: the service account key must be RSA (RS256)");
  if (sa.client_email.empty()) return detail::invalid("FCM token request: no client_email");
  const std::string& token_url = s.token_url.empty() ? sa.token_uri : s.token_url;
  if (token_url.empty()) return detail::invalid("FCM token request: no token URL");

  detail::ordered_json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!sa.private_key_id.empty()) header["kid"] = sa.private_key_id;
  // RFC 7523 §3: iss, aud (the token endpoint), exp; Google adds "scope".
  detail::ordered_json claims = {{"iss", sa.client_email},
                                 {"scope", fcm_scope},
                                 {"aud", token_url},
                                 {"iat", now_s},
                                 {"exp", detail::add_saturated(now_s, assertion_lifetime_s)}};
  auto jwt = make_jwt(key, detail::dump(header), detail::dump(claims));
  if (!jwt) return jwt.err();

  http_call c;
  c.method = "POST";
  c.url = token_url;
  c.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  // RFC 7523 §2.1 (and its example): both values form-encoded.
  c.body = "grant_type=" + detail::form_encode(jwt_bearer) + "&assertion=" + detail::form_encode(*jwt);
  return c;
}

result<access_token> parse_token_response(int status, std::string_view body) {
  auto j = detail::parse(body);
  if (status < 200 || status > 299) {
    // RFC 6749 §5.2: {"error": code, "error_description": text}.
    std::string why = "token endpoint: " + (status > 0 ? detail::http_reason(status) : std::string("no answer"));
    if (j) {
      const std::string code = detail::string_member(*j, "error");
      const std::string text = detail::string_member(*j, "error_description");
      if (!code.empty()) why += " " + detail::printable(code, 60);
      if (!text.empty()) why += ": " + detail::printable(text, 200);
    }
    return error{errc::unsupported, std::move(why)};
  }
  if (!j || !j->is_object()) return detail::malformed("token endpoint: the answer is not a JSON object");
  access_token t;
  t.token = detail::string_member(*j, "access_token");
  if (t.token.empty()) return detail::malformed("token endpoint: no \"access_token\"");
  // It goes into an Authorization header: nothing that could split it.
  if (!detail::header_safe(t.token)) return detail::malformed("token endpoint: the access_token is not header-safe");
  if (const auto it = j->find("token_type"); it != j->end()) {
    const std::string type = it->is_string() ? it->get<std::string>() : std::string();
    // RFC 6749 §7.1: the client must understand the type; we only send Bearer (RFC 6750).
    if (type.size() != 6 || (type != "Bearer" && type != "bearer" && type != "BEARER"))
      return error{errc::unsupported, "token endpoint: token_type \"" + detail::printable(type, 40) +
                                          "\" is not Bearer"};
  }
  if (const auto it = j->find("expires_in"); it != j->end()) {
    auto s = seconds(*it);
    if (!s) return detail::malformed("token endpoint: \"expires_in\" is not a number of seconds");
    t.expires_in_s = *s;
  }
  return t;
}

result<http_call> fcm_request(const fcm_settings& s, const service_account& sa,
                              std::string_view access_token, const push_message& m) {
  // pn-param carries the project id for FCM (RFC 8599 §12); then the settings,
  // then the service account.
  const std::string& project =
      !m.param.empty() ? m.param : !s.project_id.empty() ? s.project_id : sa.project_id;
  if (project.empty()) return detail::invalid("FCM: no project id (pn-param, settings or service account)");
  if (!project_id_ok(project))
    return detail::invalid("FCM: project id \"" + detail::printable(project, 60) + "\" has characters a URL path cannot carry");
  if (m.prid.empty()) return detail::invalid("FCM: no pn-prid (registration token)");
  if (!detail::header_safe(access_token))
    return detail::invalid("FCM: the access token has characters a header cannot carry");

  http_call c;
  c.method = "POST";
  c.url = std::string(detail::without_trailing_slash(s.base_url)) + "/v1/projects/" + project + "/messages:send";
  c.headers.emplace_back("Authorization", "Bearer " + std::string(access_token));
  c.headers.emplace_back("Content-Type", "application/json; charset=UTF-8");

  // FCM's data map takes strings only; the payload's values all are.
  detail::ordered_json data = detail::ordered_json::object();
  detail::add_payload(data, m);
  const int64_t ttl = m.ttl_s > 0 ? m.ttl_s : 0;
  detail::ordered_json message = {
      {"token", m.prid},
      // A duration in seconds with an "s" suffix (protobuf Duration JSON form).
      {"android", {{"priority", "HIGH"}, {"ttl", std::to_string(ttl) + "s"}}},
      {"data", std::move(data)}};
  detail::ordered_json body = {{"message", std::move(message)}};
  c.body = detail::dump(body);
  return c;
}

} // namespace centralita::push
