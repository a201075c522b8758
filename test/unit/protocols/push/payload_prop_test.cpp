// Properties of what is pushed:
//  1. payload_json() always parses as a JSON object and keeps every field for
//     any UTF-8 strings (quotes, backslashes, controls, any code point);
//  2. for arbitrary bytes it still parses, with the same members;
//  3. webhook substitution with a template that quotes its string placeholders
//     always yields valid JSON that reads the values back;
//  4. the APNs and FCM bodies parse and carry the payload for any field values.

#include "protocols/push/push.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>

using namespace centralita::push;
using nlohmann::json;

namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

/// Valid UTF-8 leaning on what JSON must escape: quotes, backslashes, controls,
/// braces (a webhook template's delimiters), then any scalar value.
rc::Gen<std::string> utf8_text() {
  const auto code_point = rc::gen::weightedOneOf<uint32_t>(
      {{6, rc::gen::inRange<uint32_t>(0x20, 0x7f)},
       {3, rc::gen::element<uint32_t>('"', '\\', '{', '}', '/', '\n', '\r', '\t', 0, 0x1f, 0x7f)},
       {2, rc::gen::inRange<uint32_t>(0x80, 0xd800)},
       {1, rc::gen::inRange<uint32_t>(0xe000, 0x110000)}});
  return rc::gen::map(rc::gen::container<std::vector<uint32_t>>(code_point), [](const std::vector<uint32_t>& cps) {
    std::string s;
    for (uint32_t cp : cps) append_utf8(s, cp);
    return s;
  });
}

rc::Gen<push_kind> any_kind() {
  return rc::gen::element(push_kind::call, push_kind::message, push_kind::refresh, push_kind::purr);
}

push_message any_message(const rc::Gen<std::string>& text) {
  push_message m;
  m.provider = *text;
  m.prid = *text;
  m.param = *text;
  m.aor = *text;
  m.caller = *text;
  m.call_id = *text;
  m.push_id = *text;
  m.kind = *any_kind();
  m.ttl_s = *rc::gen::arbitrary<int64_t>();
  m.extra = *rc::gen::container<std::vector<std::pair<std::string, std::string>>>(rc::gen::pair(text, text));
  return m;
}

bool is_fixed(const std::string& key) {
  return key == "aor" || key == "caller" || key == "call_id" || key == "push_id" || key == "kind";
}

/// j[key], or null when absent (const operator[] must not be given a missing key).
json member(const json& j, const std::string& key) { return j.is_object() && j.contains(key) ? j.at(key) : json(); }

/// `j` holds m's fields, and for each extra key (but `reserved`) the value of its first pair.
void check_payload(const json& j, const push_message& m, const std::string& reserved = "") {
  RC_ASSERT(j.is_object());
  RC_ASSERT(member(j, "aor") == m.aor);
  RC_ASSERT(member(j, "caller") == m.caller);
  RC_ASSERT(member(j, "call_id") == m.call_id);
  RC_ASSERT(member(j, "push_id") == m.push_id);
  RC_ASSERT(member(j, "kind") == std::string(to_string(m.kind)));
  for (const auto& [k, v] : m.extra) {
    if (is_fixed(k) || k == reserved) continue;
    for (const auto& [k2, v2] : m.extra) {
      if (k2 != k) continue;
      RC_ASSERT(member(j, k) == v2);  // the first pair with this key
      break;
    }
  }
}

} // namespace

RC_GTEST_PROP(payload_prop, parses_and_keeps_the_fields, ()) {
  const push_message m = any_message(utf8_text());
  const json j = json::parse(payload_json(m), nullptr, false);
  RC_ASSERT(!j.is_discarded());
  check_payload(j, m);
}

RC_GTEST_PROP(payload_prop, parses_for_any_bytes, ()) {
  const push_message m = any_message(rc::gen::arbitrary<std::string>());
  const json j = json::parse(payload_json(m), nullptr, false);
  RC_ASSERT(!j.is_discarded());
  RC_ASSERT(j.is_object());
  RC_ASSERT(j.contains("aor") && j.contains("caller") && j.contains("call_id") && j.contains("push_id"));
  RC_ASSERT(member(j, "kind") == std::string(to_string(m.kind)));
}

RC_GTEST_PROP(payload_prop, webhook_substitution_is_valid_json, ()) {
  const bool utf8 = *rc::gen::arbitrary<bool>();
  const push_message m = any_message(utf8 ? utf8_text() : rc::gen::arbitrary<std::string>());
  webhook_settings s;
  s.url = "https://gw.example.net/push";
  s.body_template = R"({"provider":"{{provider}}","to":"{{prid}}","param":"{{param}}","aor":"{{aor}}",)"
                    R"("from":"{{caller}}","cid":"{{call_id}}","id":"{{push_id}}","kind":"{{kind}}",)"
                    R"("ttl":{{ttl}},"text":"{{caller}} calls {{aor}} {}","data":{{payload}}})";
  auto c = webhook_request(s, m);
  RC_ASSERT(c.ok());
  const json j = json::parse(c->body, nullptr, false);
  RC_ASSERT(!j.is_discarded());
  RC_ASSERT(member(j, "ttl") == m.ttl_s);
  RC_ASSERT(member(j, "kind") == std::string(to_string(m.kind)));
  if (utf8) {
    RC_ASSERT(member(j, "to") == m.prid);
    RC_ASSERT(member(j, "from") == m.caller);
    RC_ASSERT(member(j, "text") == m.caller + " calls " + m.aor + " {}");
    check_payload(member(j, "data"), m);
  }
  // The empty template gives valid JSON too.
  s.body_template.clear();
  auto d = webhook_request(s, m);
  RC_ASSERT(d.ok());
  RC_ASSERT(!json::parse(d->body, nullptr, false).is_discarded());
}

RC_GTEST_PROP(payload_prop, provider_bodies_carry_the_payload, ()) {
  push_message m = any_message(utf8_text());
  m.prid = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0";
  m.param = "DEF123GHIJ.com.example.app.voip";
  auto a = apns_request(apns_settings{}, "token", m, 1'700'000'000);
  RC_ASSERT(a.ok());
  const json aj = json::parse(a->body, nullptr, false);
  RC_ASSERT(member(aj, "aps").is_object());
  check_payload(aj, m, "aps");

  m.param = "project-1";
  service_account sa;
  auto f = fcm_request(fcm_settings{}, sa, "token", m);
  RC_ASSERT(f.ok());
  const json fj = json::parse(f->body, nullptr, false);
  RC_ASSERT(!fj.is_discarded());
  const json data = member(member(fj, "message"), "data");
  for (const auto& [k, v] : data.items()) RC_ASSERT(v.is_string());
  check_payload(data, m);
}
