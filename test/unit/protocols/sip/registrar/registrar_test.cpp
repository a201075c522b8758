#include "protocols/sip/registrar/registrar.hpp"

#include "protocols/sip/message.hpp"

#include <gtest/gtest.h>

#include <memory_resource>
#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::sip;

namespace {

constexpr int64_t t0 = 1'800'000'000;  // a wall-clock "now"

/// A real REGISTER for alice@example.com with the given extra header lines.
std::string register_bytes(std::string_view headers, uint32_t cseq = 1,
                           std::string_view call_id = "reg-1@host") {
  return "REGISTER sip:example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bK" + std::to_string(cseq) + ";rport\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:alice@Example.COM>;tag=f1\r\n"
         "To: <sip:alice@Example.COM>\r\n"
         "Call-ID: " + std::string(call_id) + "\r\n"
         "CSeq: " + std::to_string(cseq) + " REGISTER\r\n"
         "User-Agent: test-phone/1.0\r\n"
         + std::string(headers) + "Content-Length: 0\r\n\r\n";
}

register_request extract(const std::string& bytes, std::string_view transport = "udp",
                         uint64_t conn = 0) {
  auto m = message::parse(bytes);
  EXPECT_TRUE(m) << (m ? "" : m.err().reason);
  auto r = extract_register(*m, "10.0.0.9:5062", transport, conn);
  EXPECT_TRUE(r) << (r ? "" : r.err().reason);
  return std::move(r.value());
}

registrar_outcome run(const std::vector<binding>& current, std::string_view headers,
                      uint32_t cseq = 1, std::string_view call_id = "reg-1@host",
                      int64_t now = t0, const registrar_config& cfg = {}) {
  return process_register(current, extract(register_bytes(headers, cseq, call_id)), cfg, now);
}

} // namespace

TEST(registrar_aor, normalises_domain_and_drops_port_and_params) {
  EXPECT_EQ(normalize_aor("sip:Alice@Example.COM:5060;transport=tcp").value(), "Alice@example.com");
  EXPECT_EQ(normalize_aor("sips:bob@[2001:DB8::1]:5061").value(), "bob@[2001:db8::1]");
  EXPECT_EQ(normalize_aor("sip:Example.org").value(), "example.org");
  EXPECT_FALSE(normalize_aor("tel:+34911234567"));
  EXPECT_TRUE(same_contact_uri("sip:a@HOST:5062;ob", "SIP:a@host:5062;ob"));
  EXPECT_FALSE(same_contact_uri("sip:A@host", "sip:a@host"));
}

TEST(registrar_qvalue, parses_and_prints) {
  EXPECT_EQ(parse_qvalue("0.5"), 500);
  EXPECT_EQ(parse_qvalue("1"), 1000);
  EXPECT_EQ(parse_qvalue("1.000"), 1000);
  EXPECT_EQ(parse_qvalue("0.125"), 125);
  EXPECT_EQ(parse_qvalue("0"), 0);
  EXPECT_FALSE(parse_qvalue("1.5"));
  EXPECT_FALSE(parse_qvalue("0.1234"));
  EXPECT_FALSE(parse_qvalue("2"));
  EXPECT_FALSE(parse_qvalue(""));
  EXPECT_EQ(format_qvalue(500), "0.5");
  EXPECT_EQ(format_qvalue(125), "0.125");
  EXPECT_EQ(format_qvalue(1000), "1");
  EXPECT_EQ(format_qvalue(0), "0");
}

TEST(registrar_extract, reads_every_field) {
  auto r = extract(register_bytes(
      "Contact: <sip:alice@10.0.0.9:5062;transport=tcp;pn-provider=apns;pn-prid=tok.1;"
      "pn-param=ABC.voip>;expires=120;q=0.7;+sip.instance=\"<urn:uuid:0001>\";reg-id=1\r\n"
      "Expires: 300\r\nPath: <sip:edge1.example.net;lr>, <sip:edge2.example.net;lr>\r\n"
      "Supported: outbound, path\r\n", 7), "tcp", 42);
  EXPECT_EQ(r.aor, "alice@example.com");
  EXPECT_EQ(r.call_id, "reg-1@host");
  EXPECT_EQ(r.cseq, 7u);
  EXPECT_EQ(r.expires, 300u);
  EXPECT_FALSE(r.star);
  ASSERT_EQ(r.contacts.size(), 1u);
  const auto& c = r.contacts[0];
  EXPECT_EQ(c.uri, "sip:alice@10.0.0.9:5062;transport=tcp;pn-provider=apns;pn-prid=tok.1;"
                   "pn-param=ABC.voip");
  EXPECT_EQ(c.expires, 120u);
  EXPECT_EQ(c.q, 700);
  EXPECT_EQ(c.instance, "<urn:uuid:0001>");
  EXPECT_EQ(c.reg_id, 1u);
  EXPECT_EQ(c.pn_provider, "apns");
  EXPECT_EQ(c.pn_prid, "tok.1");
  EXPECT_EQ(c.pn_param, "ABC.voip");
  ASSERT_EQ(r.path.size(), 2u);
  EXPECT_NE(r.path[0].find("edge1"), std::string::npos);
  EXPECT_TRUE(r.path_supported);
  EXPECT_EQ(r.received, "10.0.0.9:5062");
  EXPECT_EQ(r.transport, "tcp");
  EXPECT_EQ(r.connection, 42u);
  EXPECT_EQ(r.user_agent, "test-phone/1.0");
}

TEST(registrar_extract, errors_and_lenient_values) {
  auto inv = message::parse(
      "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
      "From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: x\r\n"
      "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(inv);
  EXPECT_EQ(extract_register(*inv, "1.2.3.4:5", "udp", 0).err().code, errc::invalid_argument);
  auto badq = message::parse(register_bytes("Contact: <sip:alice@10.0.0.9>;q=2\r\n"));
  ASSERT_TRUE(badq);
  auto r = extract_register(*badq, "1.2.3.4:5", "udp", 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().reason, "Bad q-value in Contact");
  // RFC 3261 §20.10: a malformed expires parameter counts as 3600.
  auto lenient = extract(register_bytes("Contact: <sip:alice@10.0.0.9>;expires=soon\r\n"));
  EXPECT_EQ(lenient.contacts.at(0).expires, 3600u);
  // RFC 5626 §6: reg-id without +sip.instance is ignored.
  auto noinst = extract(register_bytes("Contact: <sip:alice@10.0.0.9>;reg-id=1\r\n"));
  EXPECT_EQ(noinst.contacts.at(0).reg_id, 0u);
}

TEST(registrar, add_binding_answers_200_with_contact_and_expires) {
  auto out = run({}, "Contact: <sip:alice@10.0.0.9:5062>\r\nExpires: 600\r\n");
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 1u);
  const binding& b = out.bindings[0];
  EXPECT_EQ(b.aor(), "alice@example.com");
  EXPECT_EQ(b.contact(), "sip:alice@10.0.0.9:5062");
  EXPECT_EQ(b.expires_at, t0 + 600);
  EXPECT_EQ(b.call_id(), "reg-1@host");
  EXPECT_EQ(b.cseq, 1u);
  EXPECT_EQ(b.received(), "10.0.0.9:5062");
  EXPECT_EQ(b.transport(), "udp");
  EXPECT_EQ(b.user_agent(), "test-phone/1.0");
  EXPECT_EQ(out.added.size(), 1u);
  EXPECT_TRUE(out.refreshed.empty());
  EXPECT_TRUE(out.removed.empty());
  ASSERT_EQ(out.contacts.size(), 1u);
  EXPECT_EQ(out.contacts[0], "<sip:alice@10.0.0.9:5062>;expires=600");
}

TEST(registrar, default_expires_when_neither_param_nor_header) {
  auto out = run({}, "Contact: <sip:alice@10.0.0.9>\r\n");
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.bindings.at(0).expires_at, t0 + 3600);
}

TEST(registrar, contact_expires_parameter_wins_over_header) {
  auto out = run({}, "Contact: <sip:alice@10.0.0.9>;expires=120, <sip:alice@10.0.0.10>\r\n"
                     "Expires: 900\r\n");
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 2u);
  EXPECT_EQ(out.bindings[0].expires_at, t0 + 120);
  EXPECT_EQ(out.bindings[1].expires_at, t0 + 900);
}

TEST(registrar, expires_above_max_is_lowered) {
  auto out = run({}, "Contact: <sip:alice@10.0.0.9>\r\nExpires: 999999\r\n");
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.bindings.at(0).expires_at, t0 + 86400);
  EXPECT_EQ(out.contacts.at(0), "<sip:alice@10.0.0.9>;expires=86400");
}

TEST(registrar, interval_too_brief_gives_423_with_min_expires) {
  std::vector<binding> current = run({}, "Contact: <sip:alice@10.0.0.9>\r\n").bindings;
  auto out = run(current, "Contact: <sip:alice@10.0.0.9>;expires=30\r\n", 2);
  EXPECT_EQ(out.status, 423);
  EXPECT_EQ(out.min_expires, 60u);
  EXPECT_EQ(out.bindings, current);  // nothing changes
  EXPECT_TRUE(out.contacts.empty());
  // Only when also under one hour (§10.3 step 7): a huge minimum is not enforced above 3600.
  registrar_config cfg;
  cfg.min_expires = 7200;
  auto hour = run({}, "Contact: <sip:alice@10.0.0.9>;expires=3600\r\n", 1, "c", t0, cfg);
  EXPECT_EQ(hour.status, 200);
}

TEST(registrar, refresh_updates_expiry_and_is_reported) {
  auto first = run({}, "Contact: <sip:alice@10.0.0.9>\r\nExpires: 600\r\n", 1);
  auto out = run(first.bindings, "Contact: <sip:alice@10.0.0.9>\r\nExpires: 600\r\n", 2,
                 "reg-1@host", t0 + 300);
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 1u);
  EXPECT_EQ(out.bindings[0].expires_at, t0 + 900);
  EXPECT_EQ(out.bindings[0].cseq, 2u);
  EXPECT_TRUE(out.added.empty());
  ASSERT_EQ(out.refreshed.size(), 1u);
  EXPECT_EQ(out.contacts.at(0), "<sip:alice@10.0.0.9>;expires=600");
}

TEST(registrar, expires_zero_removes_binding) {
  auto first = run({}, "Contact: <sip:alice@10.0.0.9>, <sip:alice@10.0.0.10>\r\n", 1);
  ASSERT_EQ(first.bindings.size(), 2u);
  auto out = run(first.bindings, "Contact: <sip:alice@10.0.0.9>;expires=0\r\n", 2);
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 1u);
  EXPECT_EQ(out.bindings[0].contact(), "sip:alice@10.0.0.10");
  ASSERT_EQ(out.removed.size(), 1u);
  EXPECT_EQ(out.removed[0].contact(), "sip:alice@10.0.0.9");
  EXPECT_EQ(out.contacts.size(), 1u);
}

TEST(registrar, star_with_expires_zero_removes_all) {
  auto first = run({}, "Contact: <sip:alice@10.0.0.9>, <sip:alice@10.0.0.10>\r\n", 1);
  auto out = run(first.bindings, "Contact: *\r\nExpires: 0\r\n", 2);
  ASSERT_EQ(out.status, 200);
  EXPECT_TRUE(out.bindings.empty());
  EXPECT_EQ(out.removed.size(), 2u);
  EXPECT_TRUE(out.contacts.empty());
}

TEST(registrar, star_misuse_is_400) {
  auto first = run({}, "Contact: <sip:alice@10.0.0.9>\r\n", 1);
  // RFC 3261 §10.3 step 6: "*" needs Expires: 0 ...
  auto no_expires = run(first.bindings, "Contact: *\r\n", 2);
  EXPECT_EQ(no_expires.status, 400);
  auto nonzero = run(first.bindings, "Contact: *\r\nExpires: 60\r\n", 2);
  EXPECT_EQ(nonzero.status, 400);
  // ... and no other Contact.
  auto mixed = run(first.bindings, "Contact: *\r\nContact: <sip:alice@10.0.0.11>\r\nExpires: 0\r\n", 2);
  EXPECT_EQ(mixed.status, 400);
  EXPECT_EQ(mixed.bindings, first.bindings);
  EXPECT_TRUE(mixed.removed.empty());
}

TEST(registrar, star_with_stale_cseq_fails_500) {
  auto first = run({}, "Contact: <sip:alice@10.0.0.9>\r\n", 5);
  auto out = run(first.bindings, "Contact: *\r\nExpires: 0\r\n", 5);
  EXPECT_EQ(out.status, 500);
  EXPECT_EQ(out.bindings.size(), 1u);
  // A different Call-ID removes regardless of CSeq.
  auto other = run(first.bindings, "Contact: *\r\nExpires: 0\r\n", 1, "other-call");
  EXPECT_EQ(other.status, 200);
  EXPECT_TRUE(other.bindings.empty());
}

TEST(registrar, same_call_id_lower_or_equal_cseq_fails_500_and_changes_nothing) {
  auto first = run({}, "Contact: <sip:alice@10.0.0.9>\r\n", 10);
  auto older = run(first.bindings,
                   "Contact: <sip:alice@10.0.0.12>, <sip:alice@10.0.0.9>;expires=0\r\n", 9);
  EXPECT_EQ(older.status, 500);
  EXPECT_EQ(older.bindings, first.bindings);  // the new contact was not kept either
  EXPECT_TRUE(older.added.empty());
  auto same = run(first.bindings, "Contact: <sip:alice@10.0.0.9>\r\n", 10);
  EXPECT_EQ(same.status, 500);
  // Another Call-ID (a rebooted phone) updates whatever its CSeq.
  auto reboot = run(first.bindings, "Contact: <sip:alice@10.0.0.9>\r\n", 1, "new-call");
  EXPECT_EQ(reboot.status, 200);
  EXPECT_EQ(reboot.bindings.at(0).call_id(), "new-call");
  EXPECT_EQ(reboot.refreshed.size(), 1u);
}

TEST(registrar, query_without_contact_returns_current_bindings) {
  auto first = run({}, "Contact: <sip:alice@10.0.0.9>;q=0.5\r\nExpires: 600\r\n", 1);
  auto out = run(first.bindings, "", 2, "reg-1@host", t0 + 100);
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.bindings, first.bindings);
  EXPECT_TRUE(out.added.empty() && out.refreshed.empty() && out.removed.empty());
  ASSERT_EQ(out.contacts.size(), 1u);
  EXPECT_EQ(out.contacts[0], "<sip:alice@10.0.0.9>;expires=500;q=0.5");
}

TEST(registrar, expired_bindings_are_pruned_by_now) {
  auto first = run({}, "Contact: <sip:alice@10.0.0.9>;expires=100, "
                       "<sip:alice@10.0.0.10>;expires=1000\r\n", 1);
  auto out = run(first.bindings, "", 2, "reg-1@host", t0 + 100);
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 1u);
  EXPECT_EQ(out.bindings[0].contact(), "sip:alice@10.0.0.10");
  ASSERT_EQ(out.expired.size(), 1u);
  EXPECT_EQ(out.expired[0].contact(), "sip:alice@10.0.0.9");
  EXPECT_TRUE(out.removed.empty());
}

TEST(registrar, q_values_kept_and_returned) {
  auto out = run({}, "Contact: <sip:alice@10.0.0.9>;q=0.8, <sip:alice@10.0.0.10>;q=0.125, "
                     "<sip:alice@10.0.0.11>\r\nExpires: 60\r\n");
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 3u);
  EXPECT_EQ(out.bindings[0].q, 800);
  EXPECT_EQ(out.bindings[1].q, 125);
  EXPECT_EQ(out.bindings[2].q, 1000);
  EXPECT_FALSE(out.bindings[2].q_given);
  EXPECT_EQ(out.contacts[0], "<sip:alice@10.0.0.9>;expires=60;q=0.8");
  EXPECT_EQ(out.contacts[1], "<sip:alice@10.0.0.10>;expires=60;q=0.125");
  EXPECT_EQ(out.contacts[2], "<sip:alice@10.0.0.11>;expires=60");
}

TEST(registrar, max_contacts_refuses_growth_with_503) {
  registrar_config cfg;
  cfg.max_contacts = 2;
  auto two = run({}, "Contact: <sip:alice@10.0.0.9>, <sip:alice@10.0.0.10>\r\n", 1, "c", t0, cfg);
  ASSERT_EQ(two.status, 200);
  auto three = run(two.bindings, "Contact: <sip:alice@10.0.0.11>\r\n", 2, "c", t0, cfg);
  EXPECT_EQ(three.status, 503);
  EXPECT_EQ(three.reason, "Too Many Registered Contacts");
  EXPECT_EQ(three.bindings, two.bindings);
  // Refreshing the existing ones stays allowed; replacing one by another too.
  auto refresh = run(two.bindings, "Contact: <sip:alice@10.0.0.9>\r\n", 3, "c", t0, cfg);
  EXPECT_EQ(refresh.status, 200);
  auto swap = run(two.bindings, "Contact: <sip:alice@10.0.0.9>;expires=0, <sip:alice@10.0.0.11>\r\n",
                  3, "c", t0, cfg);
  EXPECT_EQ(swap.status, 200);
  EXPECT_EQ(swap.bindings.size(), 2u);
  // Too many in one request.
  auto burst = run({}, "Contact: <sip:a@1.1.1.1>, <sip:a@1.1.1.2>, <sip:a@1.1.1.3>\r\n", 1, "c",
                   t0, cfg);
  EXPECT_EQ(burst.status, 503);
  EXPECT_TRUE(burst.bindings.empty());
}

TEST(registrar, instance_and_reg_id_replace_old_contact) {
  auto first = run({}, "Contact: <sip:alice@10.0.0.9:5062;ob>;+sip.instance=\"<urn:uuid:1>\";"
                       "reg-id=1\r\n", 1, "call-a");
  ASSERT_EQ(first.status, 200);
  // The phone comes back from another address (new Call-ID after a reboot).
  auto out = run(first.bindings, "Contact: <sip:alice@192.0.2.7:40000;ob>;+sip.instance="
                                 "\"<urn:uuid:1>\";reg-id=1\r\n", 1, "call-b");
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 1u);
  EXPECT_EQ(out.bindings[0].contact(), "sip:alice@192.0.2.7:40000;ob");
  EXPECT_EQ(out.bindings[0].instance(), "<urn:uuid:1>");
  EXPECT_EQ(out.bindings[0].reg_id, 1u);
  ASSERT_EQ(out.removed.size(), 1u);
  EXPECT_EQ(out.removed[0].contact(), "sip:alice@10.0.0.9:5062;ob");
  ASSERT_EQ(out.added.size(), 1u);
  EXPECT_EQ(out.contacts.at(0), "<sip:alice@192.0.2.7:40000;ob>;expires=3600;"
                                "+sip.instance=\"<urn:uuid:1>\";reg-id=1");
  // Another reg-id of the same instance is a second flow, not a replacement.
  auto second = run(out.bindings, "Contact: <sip:alice@192.0.2.8:40001;ob>;+sip.instance="
                                  "\"<urn:uuid:1>\";reg-id=2\r\n", 2, "call-b");
  EXPECT_EQ(second.bindings.size(), 2u);
}

TEST(registrar, flow_moving_onto_an_existing_contact_leaves_one_binding) {
  // Found by registrar_prop: the flow (instance, reg-id) matches one binding and the
  // contact URI another; the URI's binding is updated, the flow's old contact goes.
  auto first = run({}, "Contact: <sip:alice@10.0.0.9>, <sip:alice@10.0.0.10>;"
                       "+sip.instance=\"<urn:uuid:1>\";reg-id=1\r\n", 1, "call-a");
  ASSERT_EQ(first.bindings.size(), 2u);
  auto out = run(first.bindings, "Contact: <sip:alice@10.0.0.9>;+sip.instance=\"<urn:uuid:1>\";"
                                 "reg-id=1\r\n", 2, "call-a");
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 1u);
  EXPECT_EQ(out.bindings[0].contact(), "sip:alice@10.0.0.9");
  EXPECT_EQ(out.bindings[0].instance(), "<urn:uuid:1>");
  ASSERT_EQ(out.removed.size(), 1u);
  EXPECT_EQ(out.removed[0].contact(), "sip:alice@10.0.0.10");
  EXPECT_EQ(out.refreshed.size(), 1u);
  EXPECT_TRUE(out.added.empty());
}

TEST(registrar, path_stored_and_echoed_only_when_supported) {
  std::string path = "Path: <sip:edge.example.net;lr>\r\n";
  auto with = run({}, "Contact: <sip:alice@10.0.0.9>\r\n" + path + "Supported: path\r\n");
  ASSERT_EQ(with.status, 200);
  auto stored = with.bindings.at(0).path();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0], "<sip:edge.example.net;lr>");
  ASSERT_EQ(with.path.size(), 1u);
  EXPECT_EQ(with.path[0], "<sip:edge.example.net;lr>");
  auto without = run({}, "Contact: <sip:alice@10.0.0.9>\r\n" + path);
  EXPECT_EQ(without.bindings.at(0).path().size(), 1u);  // stored anyway (RFC 3327 §5.3)
  EXPECT_TRUE(without.path.empty());
}

TEST(registrar, tcp_flow_remembered) {
  auto r = extract(register_bytes("Contact: <sip:alice@10.0.0.9;transport=tcp>\r\n"), "tcp", 77);
  auto out = process_register({}, r, {}, t0);
  ASSERT_EQ(out.status, 200);
  EXPECT_EQ(out.bindings.at(0).transport(), "tcp");
  EXPECT_EQ(out.bindings.at(0).connection, 77u);
}

TEST(registrar, repeated_contact_in_one_request_is_not_out_of_order) {
  auto out = run({}, "Contact: <sip:alice@10.0.0.9>;expires=60, <sip:alice@10.0.0.9>;expires=120\r\n");
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 1u);
  EXPECT_EQ(out.bindings[0].expires_at, t0 + 120);
}

TEST(registrar, push_contact_for_a_served_provider_gets_feature_caps) {
  registrar_config cfg;
  cfg.pn_providers = {"apns", "webhook"};
  auto out = run({},
                 "Contact: <sip:alice@10.0.0.9:5062;pn-provider=apns;pn-prid=00fc13;"
                 "pn-param=ABCD1234.com.example.voip>\r\nExpires: 600\r\n",
                 1, "reg-1@host", t0, cfg);
  ASSERT_EQ(out.status, 200);
  ASSERT_EQ(out.bindings.size(), 1u);
  EXPECT_EQ(out.bindings[0].pn_provider(), "apns");
  EXPECT_EQ(out.bindings[0].pn_prid(), "00fc13");
  EXPECT_EQ(out.feature_caps, (std::vector<std::string>{"*;+sip.pns=\"apns\""}));
  // No push parameters: no Feature-Caps.
  auto plain = run({}, "Contact: <sip:alice@10.0.0.9:5062>\r\n", 1, "reg-1@host", t0, cfg);
  EXPECT_TRUE(plain.feature_caps.empty());
}

TEST(registrar, push_contact_for_another_provider_gets_555_and_changes_nothing) {
  registrar_config cfg;
  cfg.pn_providers = {"apns"};
  auto first = run({}, "Contact: <sip:alice@10.0.0.9:5062>\r\n", 1, "reg-1@host", t0, cfg);
  ASSERT_EQ(first.status, 200);
  auto out = run(first.bindings,
                 "Contact: <sip:alice@10.0.0.9:5062>\r\n"
                 "Contact: <sip:alice@10.0.0.9:5064;pn-provider=fcm;pn-prid=abc>\r\n",
                 2, "reg-1@host", t0, cfg);
  EXPECT_EQ(out.status, 555);
  EXPECT_EQ(out.reason, "Push Notification Service Not Supported");
  EXPECT_TRUE(out.added.empty());
  EXPECT_TRUE(out.refreshed.empty());
  EXPECT_TRUE(out.feature_caps.empty());
  // No provider configured at all: every push contact is refused...
  auto none = run({}, "Contact: <sip:a@10.0.0.9;pn-provider=apns;pn-prid=01>\r\n");
  EXPECT_EQ(none.status, 555);
  // ...but removing such a binding is not a request for pushes: it passes.
  auto gone = run({}, "Contact: <sip:a@10.0.0.9;pn-provider=fcm;pn-prid=01>;expires=0\r\n");
  EXPECT_EQ(gone.status, 200);
}

TEST(registrar_binding, compact_footprint) {
  auto out = run({}, "Contact: <sip:alice@192.0.2.7:40000;transport=tcp;ob>;+sip.instance="
                     "\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\";reg-id=1\r\n"
                     "Path: <sip:edge.example.net;lr>\r\n");
  const binding& b = out.bindings.at(0);
  size_t total = sizeof(binding) + b.heap_bytes();
  EXPECT_LE(sizeof(binding), 128u);
  EXPECT_LE(total, 600u) << "sizeof " << sizeof(binding) << " heap " << b.heap_bytes();
  binding copy = b;
  copy.set(binding::field::received, "203.0.113.1:1");
  EXPECT_EQ(copy.contact(), b.contact());
  EXPECT_EQ(copy.received(), "203.0.113.1:1");
  EXPECT_EQ(copy.user_agent(), b.user_agent());
  RecordProperty("sizeof_binding", static_cast<int>(sizeof(binding)));
  RecordProperty("heap_bytes", static_cast<int>(b.heap_bytes()));
}

namespace {

/// Counts what it hands out, on top of the default resource.
struct counting_resource final : std::pmr::memory_resource {
  std::size_t live = 0;
  void* do_allocate(std::size_t n, std::size_t a) override {
    live += n;
    return std::pmr::new_delete_resource()->allocate(n, a);
  }
  void do_deallocate(void* p, std::size_t n, std::size_t a) override {
    live -= n;
    std::pmr::new_delete_resource()->deallocate(p, n, a);
  }
  bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override { return this == &o; }
};

} // namespace

TEST(registrar_binding, allocator_extended_copies_live_in_the_pool_plain_copies_do_not) {
  binding b;
  b.set(binding::field::aor, "alice@example.com");
  b.set(binding::field::contact, "sip:alice@192.0.2.10:5060;transport=udp;ob");
  b.set(binding::field::user_agent, "a user agent string long enough to need the heap");
  b.expires_at = 1234;
  counting_resource pool;
  {
    std::pmr::vector<binding> list{&pool};
    list.push_back(b);  // uses-allocator construction: the text goes to the pool
    auto after_push = pool.live;
    EXPECT_GT(after_push, sizeof(binding));
    EXPECT_EQ(list[0], b);
    binding copy = list[0];  // leaves the shard: must not point into the pool
    EXPECT_EQ(copy, b);
    EXPECT_EQ(pool.live, after_push);
    std::vector<binding> out(list.begin(), list.end());
    EXPECT_EQ(pool.live, after_push);
    EXPECT_EQ(out[0].contact(), b.contact());
  }
  EXPECT_EQ(pool.live, 0u);
}

TEST(registrar, pnsreg_contact_is_kept_and_answered_with_the_interval) {
  registrar_config cfg;
  cfg.pn_providers = {"apns"};
  cfg.pnsreg_interval = 120;
  auto out = run({},
                 "Contact: <sip:alice@10.0.0.9:5062;pn-provider=apns;pn-prid=00fc13;"
                 "pn-param=ABCD1234.com.example.voip>;+sip.pnsreg\r\nExpires: 600\r\n",
                 1, "reg-1@host", t0, cfg);
  ASSERT_EQ(out.status, 200);
  EXPECT_TRUE(out.bindings.at(0).pnsreg);
  EXPECT_EQ(out.feature_caps,
            (std::vector<std::string>{"*;+sip.pns=\"apns\";+sip.pnsreg=\"120\""}));
  cfg.pnsreg_interval = 0;  // refresh pushes not offered
  auto off = run({}, "Contact: <sip:alice@10.0.0.9:5062;pn-provider=apns;pn-prid=00fc13>;+sip.pnsreg\r\n",
                 1, "reg-1@host", t0, cfg);
  EXPECT_EQ(off.feature_caps, (std::vector<std::string>{"*;+sip.pns=\"apns\""}));
  // Without push parameters the tag means nothing.
  auto plain = run({}, "Contact: <sip:alice@10.0.0.9:5062>;+sip.pnsreg\r\n", 1, "reg-1@host", t0, cfg);
  EXPECT_FALSE(plain.bindings.at(0).pnsreg);
}

TEST(registrar, refresh_pushes_come_before_expiry_then_closer_and_closer) {
  const int64_t exp = t0 + 600;
  EXPECT_EQ(refresh_push_due(exp, 0, 0, 0), std::nullopt);  // not offered
  EXPECT_EQ(refresh_push_due(exp, 120, 0, 0), exp - 120);   // the first
  // No refresh after it: again at half the time left, at least 5 s apart, never at expiry.
  EXPECT_EQ(refresh_push_due(exp, 120, 1, exp - 120), exp - 60);
  EXPECT_EQ(refresh_push_due(exp, 120, 2, exp - 60), exp - 30);
  EXPECT_EQ(refresh_push_due(exp, 120, 5, exp - 8), exp - 3);
  EXPECT_EQ(refresh_push_due(exp, 120, 6, exp - 3), std::nullopt);
}

TEST(registrar, same_push_token_from_a_new_address_replaces_the_binding_and_keeps_its_purr) {
  registrar_config cfg;
  cfg.pn_providers = {"apns"};
  auto first = run({}, "Contact: <sip:alice@10.0.0.9:5062;pn-provider=apns;pn-prid=00fc13>\r\n", 1,
                   "reg-1@host", t0, cfg);
  ASSERT_EQ(first.status, 200);
  auto bindings = first.bindings;
  bindings.at(0).set(binding::field::pn_purr, make_pn_purr("alice@example.com", 42));
  // Woken by a push, the phone registers from another address, same token.
  auto woken = run(bindings, "Contact: <sip:alice@10.0.0.77:40000;pn-provider=apns;pn-prid=00fc13>\r\n",
                   1, "reg-2@host", t0 + 10, cfg);
  ASSERT_EQ(woken.status, 200);
  ASSERT_EQ(woken.bindings.size(), 1u);
  EXPECT_EQ(woken.bindings[0].contact(), "sip:alice@10.0.0.77:40000;pn-provider=apns;pn-prid=00fc13");
  EXPECT_EQ(woken.bindings[0].pn_purr(), bindings[0].pn_purr());
  ASSERT_EQ(woken.removed.size(), 1u);
  EXPECT_EQ(woken.added.size(), 1u);
  // Another token is another device.
  auto other = run(woken.bindings, "Contact: <sip:alice@10.0.0.78:40000;pn-provider=apns;pn-prid=99aa>\r\n",
                   1, "reg-3@host", t0 + 20, cfg);
  EXPECT_EQ(other.bindings.size(), 2u);
  EXPECT_EQ(pn_purr_aor(bindings[0].pn_purr()), "alice@example.com");
  EXPECT_EQ(pn_purr_aor("garbage"), "");
  EXPECT_EQ(pn_purr_aor("!!!.0123456789abcdef"), "");
}
