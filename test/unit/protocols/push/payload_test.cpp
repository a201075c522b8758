// payload_json(): the fields the app matches a push with, extras from the
// script, and the escaping that keeps any value valid JSON.

#include "protocols/push/push.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace centralita::push;
using nlohmann::json;

namespace {

push_message sample() {
  push_message m;
  m.provider = "apns";
  m.prid = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0";
  m.param = "DEF123GHIJ.com.example.app.voip";
  m.aor = "sip:alice@example.com";
  m.caller = "sip:bob@example.org";
  m.call_id = "a84b4c76e66710@pc33.example.org";
  m.push_id = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
  return m;
}

} // namespace

TEST(push_kind, names) {
  EXPECT_EQ(to_string(push_kind::call), "call");
  EXPECT_EQ(to_string(push_kind::message), "message");
  EXPECT_EQ(to_string(push_kind::refresh), "refresh");
  EXPECT_EQ(to_string(push_kind::purr), "purr");
}

TEST(payload_json, carries_the_fixed_fields_in_order) {
  push_message m = sample();
  m.kind = push_kind::message;
  EXPECT_EQ(payload_json(m),
            R"({"aor":"sip:alice@example.com","caller":"sip:bob@example.org",)"
            R"("call_id":"a84b4c76e66710@pc33.example.org","push_id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301",)"
            R"("kind":"message"})");
}

TEST(payload_json, refresh_has_empty_caller_and_call_id) {
  push_message m = sample();
  m.kind = push_kind::refresh;
  m.caller.clear();
  m.call_id.clear();
  const json j = json::parse(payload_json(m));
  EXPECT_EQ(j["caller"], "");
  EXPECT_EQ(j["call_id"], "");
  EXPECT_EQ(j["kind"], "refresh");
}

TEST(payload_json, extras_are_added_and_fixed_fields_win) {
  push_message m = sample();
  m.extra = {{"room", "42"}, {"aor", "sip:mallory@example.net"}, {"kind", "spoof"}, {"room", "43"}, {"", "empty key"}};
  const json j = json::parse(payload_json(m));
  EXPECT_EQ(j["aor"], "sip:alice@example.com");
  EXPECT_EQ(j["kind"], "call");
  EXPECT_EQ(j["room"], "42");  // the first of two pairs with one key
  EXPECT_EQ(j[""], "empty key");
  EXPECT_EQ(j.size(), 7u);
}

TEST(payload_json, escapes_quotes_controls_and_keeps_utf8) {
  push_message m = sample();
  m.caller = "\"Bob\" <sip:bob@example.org>\\\r\n\t\x01";
  m.extra = {{"name", "Zoë 日本 🎉"}, {"quote\"key", "v"}};
  const std::string text = payload_json(m);
  const json j = json::parse(text);
  EXPECT_EQ(j["caller"], m.caller);
  EXPECT_EQ(j["name"], "Zoë 日本 🎉");
  EXPECT_EQ(j["quote\"key"], "v");
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

TEST(payload_json, bytes_that_are_not_utf8_become_replacement_characters) {
  push_message m = sample();
  m.call_id = std::string("ab\xff\xfe", 4);
  m.extra = {{std::string("k\xc3", 2), "1"}, {std::string("k\xc0", 2), "2"}};
  const json j = json::parse(payload_json(m));
  EXPECT_EQ(j["call_id"], "ab\xef\xbf\xbd\xef\xbf\xbd");
  // Both keys read as "k\uFFFD": one entry, the first pair's.
  EXPECT_EQ(j["k\xef\xbf\xbd"], "1");
  EXPECT_EQ(j.size(), 6u);
}
