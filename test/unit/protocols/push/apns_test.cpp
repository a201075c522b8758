// APNs: the ES256 provider token and the VoIP push request.

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

push_message sample() {
  push_message m;
  m.provider = "apns";
  m.prid = "00FC13ADff785122b4ad28809a3420982341241421348097878e577c991de8f0";
  m.param = "DEF123GHIJ.com.example.app.voip";
  m.aor = "sip:alice@example.com";
  m.caller = "sip:bob@example.org";
  m.call_id = "a84b4c76e66710@pc33.example.org";
  m.push_id = "3F2504E0-4f89-11d3-9a0c-0305e82c3301";
  m.ttl_s = 30;
  return m;
}

apns_settings settings() {
  apns_settings s;
  s.team_id = "DEF123GHIJ";
  s.key_id = "ABC123DEFG";
  return s;
}

std::string header(const http_call& c, std::string_view name) {
  for (const auto& [n, v] : c.headers)
    if (n == name) return v;
  return "<absent>";
}

} // namespace

TEST(apns_provider_token, es256_with_kid_iss_iat) {
  auto key = signing_key::from_pem(test_keys::p256_sec1_pem);
  ASSERT_TRUE(key);
  auto token = apns_provider_token(*key, settings(), now);
  ASSERT_TRUE(token) << token.err().reason;
  auto claims = verify_jwt(*token, test_keys::p256_public_pem);
  ASSERT_TRUE(claims) << claims.err().reason;
  EXPECT_EQ(json::parse(*claims), json::parse(R"({"iss":"DEF123GHIJ","iat":1700000000})"));
  auto header_text = base64url_decode(token->substr(0, token->find('.')));
  ASSERT_TRUE(header_text);
  EXPECT_EQ(json::parse(*header_text), json::parse(R"({"alg":"ES256","kid":"ABC123DEFG"})"));
}

TEST(apns_provider_token, refuses_rsa_and_missing_ids) {
  auto rsa = signing_key::from_pem(test_keys::rsa2048_pem);
  ASSERT_TRUE(rsa);
  EXPECT_EQ(apns_provider_token(*rsa, settings(), now).err().code, errc::invalid_argument);
  auto ec = signing_key::from_pem(test_keys::p256_sec1_pem);
  ASSERT_TRUE(ec);
  apns_settings s = settings();
  s.team_id.clear();
  EXPECT_FALSE(apns_provider_token(*ec, s, now));
  s = settings();
  s.key_id.clear();
  EXPECT_FALSE(apns_provider_token(*ec, s, now));
}

TEST(apns_request, voip_push_to_the_device) {
  auto c = apns_request(settings(), "TOKEN", sample(), now);
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->method, "POST");
  EXPECT_EQ(c->url, "https://api.push.apple.com/3/device/00FC13ADff785122b4ad28809a3420982341241421348097878e577c991de8f0");
  EXPECT_EQ(header(*c, "authorization"), "bearer TOKEN");
  // RFC 8599 §11: pn-param "<team id>.<topic>".
  EXPECT_EQ(header(*c, "apns-topic"), "com.example.app.voip");
  EXPECT_EQ(header(*c, "apns-push-type"), "voip");
  EXPECT_EQ(header(*c, "apns-priority"), "10");
  EXPECT_EQ(header(*c, "apns-expiration"), "1700000030");
  EXPECT_EQ(header(*c, "apns-id"), "3F2504E0-4f89-11d3-9a0c-0305e82c3301");
  for (const auto& [name, value] : c->headers)
    for (char ch : name) EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << name;  // HTTP/2: lower case
  const json body = json::parse(c->body);
  EXPECT_TRUE(body["aps"].is_object());
  EXPECT_TRUE(body["aps"].empty());
  EXPECT_EQ(body["aor"], "sip:alice@example.com");
  EXPECT_EQ(body["caller"], "sip:bob@example.org");
  EXPECT_EQ(body["call_id"], "a84b4c76e66710@pc33.example.org");
  EXPECT_EQ(body["push_id"], "3F2504E0-4f89-11d3-9a0c-0305e82c3301");
  EXPECT_EQ(body["kind"], "call");
  EXPECT_EQ(c->body.substr(0, 9), R"({"aps":{})");
}

TEST(apns_request, topic_setting_wins_and_base_url_slash) {
  apns_settings s = settings();
  s.topic = "org.example.phone.voip";
  s.base_url = "https://api.sandbox.push.apple.com/";
  auto c = apns_request(s, "T", sample(), now);
  ASSERT_TRUE(c);
  EXPECT_EQ(header(*c, "apns-topic"), "org.example.phone.voip");
  EXPECT_EQ(c->url.substr(0, 48), "https://api.sandbox.push.apple.com/3/device/00FC");
}

TEST(apns_request, apns_id_only_for_a_uuid) {
  for (const char* id : {"", "3f2504e0-4f89-11d3-9a0c-0305e82c330", "3f2504e04f8911d39a0c0305e82c3301",
                         "3f2504e0-4f89-11d3-9a0c-0305e82c330g", "push-17", "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}"}) {
    push_message m = sample();
    m.push_id = id;
    auto c = apns_request(settings(), "T", m, now);
    ASSERT_TRUE(c);
    EXPECT_EQ(header(*c, "apns-id"), "<absent>") << id;
  }
}

TEST(apns_request, zero_ttl_means_deliver_once) {
  push_message m = sample();
  m.ttl_s = 0;
  auto c = apns_request(settings(), "T", m, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(header(*c, "apns-expiration"), "0");
  m.ttl_s = INT64_MAX;
  c = apns_request(settings(), "T", m, now);
  ASSERT_TRUE(c);
  EXPECT_EQ(header(*c, "apns-expiration"), std::to_string(INT64_MAX));
}

TEST(apns_request, extras_cannot_replace_aps_or_fixed_fields) {
  push_message m = sample();
  m.extra = {{"aps", "x"}, {"aor", "sip:mallory@example.net"}, {"room", "7"}};
  auto c = apns_request(settings(), "T", m, now);
  ASSERT_TRUE(c);
  const json body = json::parse(c->body);
  EXPECT_TRUE(body["aps"].is_object());
  EXPECT_EQ(body["aor"], "sip:alice@example.com");
  EXPECT_EQ(body["room"], "7");
}

TEST(apns_request, refuses_bad_prid_and_missing_topic) {
  for (const char* prid : {"", "xyz", "00fc13ad/../x", "00fc 13ad", "00fc13ad\r\n"}) {
    push_message m = sample();
    m.prid = prid;
    auto c = apns_request(settings(), "T", m, now);
    ASSERT_FALSE(c) << prid;
    EXPECT_EQ(c.err().code, errc::invalid_argument);
  }
  for (const char* param : {"", "DEF123GHIJ", "DEF123GHIJ."}) {
    push_message m = sample();
    m.param = param;
    auto c = apns_request(settings(), "T", m, now);
    ASSERT_FALSE(c) << param;
    EXPECT_EQ(c.err().code, errc::invalid_argument);
    EXPECT_NE(c.err().reason.find("topic"), std::string::npos);
  }
}

TEST(apns_request, refuses_what_would_split_a_header) {
  push_message m = sample();
  m.param = "DEF123GHIJ.com.example\r\nx-injected: 1";
  EXPECT_EQ(apns_request(settings(), "T", m, now).err().code, errc::invalid_argument);
  EXPECT_EQ(apns_request(settings(), "T\nx: y", sample(), now).err().code, errc::invalid_argument);
}
