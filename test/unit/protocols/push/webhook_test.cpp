// Webhook: template substitution, the default body, and what is refused.

#include "protocols/push/push.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace centralita;
using namespace centralita::push;
using nlohmann::json;

namespace {

push_message sample() {
  push_message m;
  m.provider = "gateway";
  m.prid = "device-7";
  m.param = "tenant-a";
  m.aor = "sip:alice@example.com";
  m.caller = "\"Bob\" <sip:bob@example.org>";
  m.call_id = "c1";
  m.push_id = "p1";
  m.kind = push_kind::purr;
  m.ttl_s = 20;
  return m;
}

webhook_settings settings(std::string body_template) {
  webhook_settings s;
  s.url = "https://push.example.net/notify";
  s.body_template = std::move(body_template);
  return s;
}

} // namespace

TEST(webhook_request, default_body) {
  auto c = webhook_request(settings(""), sample());
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->method, "POST");
  EXPECT_EQ(c->url, "https://push.example.net/notify");
  ASSERT_EQ(c->headers.size(), 1u);
  EXPECT_EQ(c->headers[0], (std::pair<std::string, std::string>{"Content-Type", "application/json"}));
  const json body = json::parse(c->body);
  EXPECT_EQ(body["provider"], "gateway");
  EXPECT_EQ(body["prid"], "device-7");
  EXPECT_EQ(body["param"], "tenant-a");
  EXPECT_EQ(body["payload"], json::parse(payload_json(sample())));
  EXPECT_EQ(body.size(), 4u);
}

TEST(webhook_request, every_placeholder) {
  auto c = webhook_request(
      settings(R"({"p":"{{provider}}","t":"{{prid}}","x":"{{param}}","a":"{{aor}}","f":"{{caller}}",)"
               R"("c":"{{call_id}}","i":"{{push_id}}","k":"{{kind}}","ttl":{{ttl}},"d":{{payload}},)"
               R"("s":"ttl={{ttl}} {{ kind }}"})"),
      sample());
  ASSERT_TRUE(c) << c.err().reason;
  const json body = json::parse(c->body);
  EXPECT_EQ(body["p"], "gateway");
  EXPECT_EQ(body["t"], "device-7");
  EXPECT_EQ(body["x"], "tenant-a");
  EXPECT_EQ(body["a"], "sip:alice@example.com");
  EXPECT_EQ(body["f"], "\"Bob\" <sip:bob@example.org>");  // escaped inside the template's quotes
  EXPECT_EQ(body["c"], "c1");
  EXPECT_EQ(body["i"], "p1");
  EXPECT_EQ(body["k"], "purr");
  EXPECT_EQ(body["ttl"], 20);
  EXPECT_EQ(body["d"], json::parse(payload_json(sample())));
  EXPECT_EQ(body["s"], "ttl=20 purr");
}

TEST(webhook_request, substituted_text_is_not_scanned_again) {
  push_message m = sample();
  m.prid = "{{payload}}";
  auto c = webhook_request(settings(R"({"t":"{{prid}}"})"), m);
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(json::parse(c->body)["t"], "{{payload}}");
}

TEST(webhook_request, literal_braces_that_close_json_objects_are_fine) {
  auto c = webhook_request(settings(R"({"a":{"b":{"c":"{{prid}}"}}})"), sample());
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(json::parse(c->body)["a"]["b"]["c"], "device-7");
}

TEST(webhook_request, unknown_placeholder_is_named) {
  auto c = webhook_request(settings(R"({"x":"{{token}}"})"), sample());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().code, errc::invalid_argument);
  EXPECT_NE(c.err().reason.find("{{token}}"), std::string::npos) << c.err().reason;
  c = webhook_request(settings(R"({"x":"{{prid"})"), sample());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.err().code, errc::invalid_argument);
}

TEST(webhook_request, result_must_be_json) {
  // The payload is an object: quoting it breaks the JSON, as does a bare string.
  for (const char* bad : {R"({"d":"{{payload}}"})", R"({"t":{{prid}}})", "not json", R"({"t":"{{prid}}")"}) {
    auto c = webhook_request(settings(bad), sample());
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.err().code, errc::invalid_argument);
  }
}

TEST(webhook_request, configured_headers) {
  webhook_settings s = settings("");
  s.headers = {{"Authorization", "Bearer s3cret"}, {"X-Tenant", "a"}};
  auto c = webhook_request(s, sample());
  ASSERT_TRUE(c);
  ASSERT_EQ(c->headers.size(), 3u);
  EXPECT_EQ(c->headers[0].first, "Content-Type");
  EXPECT_EQ(c->headers[1], (std::pair<std::string, std::string>{"Authorization", "Bearer s3cret"}));
  s.headers = {{"content-type", "application/vnd.example+json"}};
  c = webhook_request(s, sample());
  ASSERT_TRUE(c);
  ASSERT_EQ(c->headers.size(), 1u);
  EXPECT_EQ(c->headers[0].second, "application/vnd.example+json");
}

TEST(webhook_request, refuses_bad_settings) {
  webhook_settings s = settings("");
  s.url.clear();
  EXPECT_EQ(webhook_request(s, sample()).err().code, errc::invalid_argument);
  s = settings("");
  s.headers = {{"X-A", "1\r\nX-B: 2"}};
  EXPECT_EQ(webhook_request(s, sample()).err().code, errc::invalid_argument);
  s.headers = {{"Bad Name", "1"}};
  EXPECT_EQ(webhook_request(s, sample()).err().code, errc::invalid_argument);
  s.headers = {{"", "1"}};
  EXPECT_EQ(webhook_request(s, sample()).err().code, errc::invalid_argument);
}

TEST(webhook_body, is_what_the_request_sends) {
  auto body = webhook_body(R"({"k":"{{kind}}"})", sample());
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, R"({"k":"purr"})");
  EXPECT_EQ(*webhook_body("", sample()), webhook_request(settings(""), sample())->body);
}
