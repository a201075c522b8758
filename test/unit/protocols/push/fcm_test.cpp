// FCM HTTP v1: the service account file, the JWT-bearer token request, the
// token endpoint's answer and the messages:send request.

#include "protocols/push/push.hpp"

#include "test_keys.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace centralita;
using namespace centralita::push;
using nlohmann::json;

namespace {

constexpr int64_t now = 1'700'000'000;

std::string account_json() {
  json j = {{"type", "service_account"},
            {"project_id", "centralita-test"},
            {"private_key_id", "0123abcd"},
            {"private_key", test_keys::rsa2048_pem},
            {"client_email", "push@centralita-test.iam.gserviceaccount.com"},
            {"client_id", "1234567890"},
            {"auth_uri", "https://accounts.google.com/o/oauth2/auth"},
            {"token_uri", "https://oauth2.googleapis.com/token"}};
  return j.dump();
}

service_account account() {
  auto sa = parse_service_account(account_json());
  EXPECT_TRUE(sa) << sa.err().reason;
  return std::move(sa).value();
}

push_message sample() {
  push_message m;
  m.provider = "fcm";
  m.prid = "dGhpcyBpcyBhIHJlZ2lzdHJhdGlvbiB0b2tlbg:APA91bH";
  m.aor = "sip:alice@example.com";
  m.caller = "sip:bob@example.org";
  m.call_id = "call-1";
  m.push_id = "p-1";
  m.ttl_s = 45;
  return m;
}

std::string header(const http_call& c, std::string_view name) {
  for (const auto& [n, v] : c.headers)
    if (n == name) return v;
  return "<absent>";
}

/// The value of `name` in a form body, percent-decoded.
std::string form_value(const std::string& body, const std::string& name) {
  const size_t start = body.find(name + "=");
  if (start == std::string::npos) return "<absent>";
  const size_t from = start + name.size() + 1;
  const size_t end = body.find('&', from);
  const std::string raw = body.substr(from, end == std::string::npos ? end : end - from);
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      out.push_back(static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(raw[i]);
    }
  }
  return out;
}

} // namespace

TEST(parse_service_account, reads_the_fields) {
  const service_account sa = account();
  EXPECT_EQ(sa.project_id, "centralita-test");
  EXPECT_EQ(sa.client_email, "push@centralita-test.iam.gserviceaccount.com");
  EXPECT_EQ(sa.private_key_id, "0123abcd");
  EXPECT_EQ(sa.private_key_pem, test_keys::rsa2048_pem);
  EXPECT_EQ(sa.token_uri, "https://oauth2.googleapis.com/token");
  EXPECT_TRUE(signing_key::from_pem(sa.private_key_pem));
}

TEST(parse_service_account, defaults_token_uri_and_key_id) {
  json j = json::parse(account_json());
  j.erase("token_uri");
  j.erase("private_key_id");
  j.erase("type");
  auto sa = parse_service_account(j.dump());
  ASSERT_TRUE(sa) << sa.err().reason;
  EXPECT_EQ(sa->token_uri, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(sa->private_key_id, "");
}

TEST(parse_service_account, names_what_is_missing) {
  for (const char* field : {"client_email", "private_key", "project_id"}) {
    json j = json::parse(account_json());
    j.erase(field);
    auto sa = parse_service_account(j.dump());
    ASSERT_FALSE(sa) << field;
    EXPECT_EQ(sa.err().code, errc::invalid_argument);
    EXPECT_NE(sa.err().reason.find(field), std::string::npos) << sa.err().reason;
    j[field] = 42;  // present, but not a string
    sa = parse_service_account(j.dump());
    ASSERT_FALSE(sa);
    EXPECT_NE(sa.err().reason.find(field), std::string::npos) << sa.err().reason;
  }
  json j = json::parse(account_json());
  j["type"] = "authorized_user";
  auto sa = parse_service_account(j.dump());
  ASSERT_FALSE(sa);
  EXPECT_EQ(sa.err().code, errc::invalid_argument);
  EXPECT_NE(sa.err().reason.find("authorized_user"), std::string::npos);
}

TEST(parse_service_account, bad_json_is_a_parse_error) {
  for (const char* bad : {"", "{", "[]", "\"x\"", "{\"project_id\":}", "null"}) {
    auto sa = parse_service_account(bad);
    ASSERT_FALSE(sa) << bad;
    EXPECT_EQ(sa.err().code, errc::parse_error);
  }
}

TEST(fcm_token_request, jwt_bearer_grant) {
  const service_account sa = account();
  auto key = signing_key::from_pem(sa.private_key_pem);
  ASSERT_TRUE(key);
  auto c = fcm_token_request(*key, sa, fcm_settings{}, now);
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->method, "POST");
  EXPECT_EQ(c->url, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(header(*c, "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(c->body.substr(0, 67), "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&as");
  EXPECT_EQ(form_value(c->body, "grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
  const std::string jwt = form_value(c->body, "assertion");
  auto claims = verify_jwt(jwt, test_keys::rsa2048_public_pem);
  ASSERT_TRUE(claims) << claims.err().reason;
  EXPECT_EQ(json::parse(*claims), json::parse(R"({"iss":"push@centralita-test.iam.gserviceaccount.com",
      "scope":"https://www.googleapis.com/auth/firebase.messaging","aud":"https://oauth2.googleapis.com/token",
      "iat":1700000000,"exp":1700003600})"));
  auto header_text = base64url_decode(jwt.substr(0, jwt.find('.')));
  ASSERT_TRUE(header_text);
  EXPECT_EQ(json::parse(*header_text), json::parse(R"({"alg":"RS256","typ":"JWT","kid":"0123abcd"})"));
}

TEST(fcm_token_request, token_url_setting_and_no_kid) {
  service_account sa = account();
  sa.private_key_id.clear();
  auto key = signing_key::from_pem(sa.private_key_pem);
  ASSERT_TRUE(key);
  fcm_settings s;
  s.token_url = "http://127.0.0.1:8080/token";
  auto c = fcm_token_request(*key, sa, s, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->url, "http://127.0.0.1:8080/token");
  const std::string jwt = form_value(c->body, "assertion");
  auto claims = verify_jwt(jwt, test_keys::rsa2048_public_pem);
  ASSERT_TRUE(claims);
  EXPECT_EQ(json::parse(*claims)["aud"], "http://127.0.0.1:8080/token");
  EXPECT_EQ(json::parse(*base64url_decode(jwt.substr(0, jwt.find('.')))), json::parse(R"({"alg":"RS256","typ":"JWT"})"));
}

TEST(fcm_token_request, needs_an_rsa_key) {
  auto ec = signing_key::from_pem(test_keys::p256_sec1_pem);
  ASSERT_TRUE(ec);
  auto c = fcm_token_request(*ec, account(), fcm_settings{}, now);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().code, errc::invalid_argument);
}

TEST(parse_token_response, reads_token_and_lifetime) {
  auto t = parse_token_response(200, R"({"access_token":"ya29.c.abc-_.~+/=","expires_in":3599,"token_type":"Bearer"})");
  ASSERT_TRUE(t) << t.err().reason;
  EXPECT_EQ(t->token, "ya29.c.abc-_.~+/=");
  EXPECT_EQ(t->expires_in_s, 3599);
  t = parse_token_response(200, R"({"access_token":"x","expires_in":"120"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expires_in_s, 120);
  t = parse_token_response(200, R"({"access_token":"x"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->expires_in_s, 0);
}

TEST(parse_token_response, error_answers_are_unsupported_with_the_reason) {
  auto t = parse_token_response(400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.err().code, errc::unsupported);
  EXPECT_NE(t.err().reason.find("invalid_grant"), std::string::npos) << t.err().reason;
  EXPECT_NE(t.err().reason.find("Invalid JWT Signature."), std::string::npos) << t.err().reason;
  EXPECT_NE(t.err().reason.find("400"), std::string::npos) << t.err().reason;
  t = parse_token_response(503, "<html>busy</html>");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.err().code, errc::unsupported);
  EXPECT_NE(t.err().reason.find("HTTP 503"), std::string::npos);
  // Even an access token in a non-2xx answer is not taken.
  EXPECT_FALSE(parse_token_response(401, R"({"access_token":"x"})"));
}

TEST(parse_token_response, malformed_success_is_a_parse_error) {
  for (const char* bad : {"", "{}", "[]", R"({"access_token":""})", R"({"access_token":42})",
                          R"({"access_token":"a\r\nx: y"})", R"({"access_token":"x","expires_in":-5})",
                          R"({"access_token":"x","expires_in":"soon"})", R"({"access_token":"x","expires_in":null})"}) {
    auto t = parse_token_response(200, bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.err().code, errc::parse_error) << bad;
  }
  auto mac = parse_token_response(200, R"({"access_token":"x","token_type":"mac"})");
  ASSERT_FALSE(mac);
  EXPECT_EQ(mac.err().code, errc::unsupported);
}

TEST(fcm_request, data_message_to_the_token) {
  auto c = fcm_request(fcm_settings{}, account(), "ya29.token", sample());
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->method, "POST");
  EXPECT_EQ(c->url, "https://fcm.googleapis.com/v1/projects/centralita-test/messages:send");
  EXPECT_EQ(header(*c, "Authorization"), "Bearer ya29.token");
  EXPECT_EQ(header(*c, "Content-Type").substr(0, 16), "application/json");
  const json body = json::parse(c->body);
  const json& msg = body["message"];
  EXPECT_EQ(msg["token"], "dGhpcyBpcyBhIHJlZ2lzdHJhdGlvbiB0b2tlbg:APA91bH");
  EXPECT_EQ(msg["android"], json::parse(R"({"priority":"HIGH","ttl":"45s"})"));
  EXPECT_EQ(msg["data"], json::parse(R"({"aor":"sip:alice@example.com","caller":"sip:bob@example.org",
      "call_id":"call-1","push_id":"p-1","kind":"call"})"));
  for (const auto& [k, v] : msg["data"].items()) EXPECT_TRUE(v.is_string()) << k;
}

TEST(fcm_request, project_from_param_then_settings_then_account) {
  fcm_settings s;
  push_message m = sample();
  EXPECT_NE(fcm_request(s, account(), "t", m)->url.find("/projects/centralita-test/"), std::string::npos);
  s.project_id = "from-settings";
  EXPECT_NE(fcm_request(s, account(), "t", m)->url.find("/projects/from-settings/"), std::string::npos);
  m.param = "from-param";
  s.base_url = "http://127.0.0.1:9999/";
  EXPECT_EQ(fcm_request(s, account(), "t", m)->url, "http://127.0.0.1:9999/v1/projects/from-param/messages:send");
}

TEST(fcm_request, refuses_what_cannot_be_sent) {
  push_message m = sample();
  m.param = "../../other";
  EXPECT_EQ(fcm_request(fcm_settings{}, account(), "t", m).err().code, errc::invalid_argument);
  m = sample();
  m.prid.clear();
  EXPECT_EQ(fcm_request(fcm_settings{}, account(), "t", m).err().code, errc::invalid_argument);
  service_account sa = account();
  sa.project_id.clear();
  EXPECT_EQ(fcm_request(fcm_settings{}, sa, "t", sample()).err().code, errc::invalid_argument);
  EXPECT_EQ(fcm_request(fcm_settings{}, account(), "t\r\nx: y", sample()).err().code, errc::invalid_argument);
}

TEST(fcm_request, zero_ttl) {
  push_message m = sample();
  m.ttl_s = -3;
  auto c = fcm_request(fcm_settings{}, account(), "t", m);
  ASSERT_TRUE(c);
  EXPECT_EQ(json::parse(c->body)["message"]["android"]["ttl"], "0s");
}
