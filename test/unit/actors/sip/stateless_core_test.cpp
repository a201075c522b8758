#include "actors/sip/stateless_core.hpp"

#include "protocols/sip/message.hpp"

#include <gtest/gtest.h>

using namespace centralita;
using namespace centralita::actors;
using drivers::endpoint;
using drivers::transport_kind;

namespace {

stateless_core make_core() {
  return stateless_core(local_identity{{"127.0.0.1", "example.com"}, {5060}, "centralita test"});
}

std::string request(std::string_view method, std::string_view ruri,
                    std::string_view extra = "Max-Forwards: 70\r\n",
                    std::string_view via = "SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bKx1;rport") {
  std::string m(method);
  return m + " " + std::string(ruri) + " SIP/2.0\r\nVia: " + std::string(via)
         + "\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <" + std::string(ruri)
         + ">\r\nCall-ID: cid-" + m + "\r\nCSeq: 7 " + m + "\r\n" + std::string(extra)
         + "Content-Length: 0\r\n\r\n";
}

const endpoint source = *endpoint::from("10.0.0.9", 40000);

sip::message answer(const stateless_core& core, const std::string& bytes, sip_counters& c,
                    int expect) {
  auto reply = core.handle(bytes, source, transport_kind::udp, c);
  EXPECT_TRUE(reply.has_value());
  if (!reply)
    return std::move(sip::message::parse("SIP/2.0 500 x\r\n\r\n").value());
  EXPECT_EQ(reply->status, expect);
  auto parsed = sip::message::parse(reply->bytes);
  EXPECT_TRUE(parsed) << reply->bytes;
  EXPECT_EQ(parsed->status(), expect) << reply->bytes;
  return std::move(parsed.value());
}

} // namespace

TEST(stateless_core, options_to_us_gets_200_with_allow_accept_supported) {
  auto core = make_core();
  sip_counters c;
  auto r = answer(core, request("OPTIONS", "sip:127.0.0.1"), c, 200);
  EXPECT_TRUE(r.header("Allow").has_value());
  EXPECT_TRUE(r.header("Accept").has_value());
  EXPECT_TRUE(r.header("Supported").has_value());
  EXPECT_EQ(r.call_id(), "cid-OPTIONS");
  EXPECT_EQ(r.cseq(), 7u);
  EXPECT_FALSE(r.to().tag.empty());  // RFC 3261 §8.2.6.2
  auto via = r.top_via();
  EXPECT_EQ(via.received, "10.0.0.9");  // RFC 3581
  EXPECT_EQ(via.rport.value_or(""), "40000");
  EXPECT_EQ(c.responses_sent_by_class[2].load(), 1u);
  // a user at a local domain, and a local host name, are ours too
  answer(core, request("OPTIONS", "sip:ping@example.com"), c, 200);
  answer(core, request("OPTIONS", "sip:ping@LOCALHOST:5060"), c, 200);
}

TEST(stateless_core, same_request_gets_same_to_tag) {
  auto core = make_core();
  sip_counters c;
  auto a = answer(core, request("OPTIONS", "sip:127.0.0.1"), c, 200);
  auto b = answer(core, request("OPTIONS", "sip:127.0.0.1"), c, 200);
  EXPECT_EQ(a.to().tag, b.to().tag);
}

TEST(stateless_core, reply_goes_to_source_with_rport_else_via_port) {
  auto core = make_core();
  sip_counters c;
  auto with = core.handle(request("OPTIONS", "sip:127.0.0.1"), source, transport_kind::udp, c);
  ASSERT_TRUE(with);
  EXPECT_EQ(with->destination.to_string(), "10.0.0.9:40000");
  auto without = core.handle(request("OPTIONS", "sip:127.0.0.1", "",
                                     "SIP/2.0/UDP 10.0.0.9:5062;branch=z9hG4bKx2"),
                             source, transport_kind::udp, c);
  ASSERT_TRUE(without);
  EXPECT_EQ(without->destination.to_string(), "10.0.0.9:5062");
}

TEST(stateless_core, max_forwards_zero_gets_483) {
  auto core = make_core();
  sip_counters c;
  answer(core, request("OPTIONS", "sip:127.0.0.1", "Max-Forwards: 0\r\n"), c, 483);
  answer(core, request("INVITE", "sip:bob@example.com", "Max-Forwards: 0\r\n"), c, 483);
}

TEST(stateless_core, unknown_method_501_users_404_foreign_404_cancel_481) {
  auto core = make_core();
  sip_counters c;
  auto r = answer(core, request("FOO", "sip:127.0.0.1"), c, 501);
  EXPECT_TRUE(r.header("Allow").has_value());
  answer(core, request("INVITE", "sip:bob@example.com"), c, 404);
  answer(core, request("MESSAGE", "sip:bob@127.0.0.1"), c, 404);
  answer(core, request("OPTIONS", "sip:x@elsewhere.net"), c, 404);
  answer(core, request("CANCEL", "sip:bob@example.com"), c, 481);
  answer(core, request("REGISTER", "sip:example.com"), c, 501);
}

TEST(stateless_core, ack_and_responses_are_not_answered) {
  auto core = make_core();
  sip_counters c;
  EXPECT_FALSE(core.handle(request("ACK", "sip:bob@example.com"), source, transport_kind::udp, c));
  EXPECT_EQ(c.acks_absorbed.load(), 1u);
  std::string resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
                     "To: <sip:b@c>;tag=2\r\nCall-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  EXPECT_FALSE(core.handle(resp, source, transport_kind::udp, c));
  EXPECT_EQ(c.stray_responses.load(), 1u);
  EXPECT_FALSE(core.handle("SIP/2.0 200 OK\r\ngarbage\r\n\r\n", source, transport_kind::udp, c));
  EXPECT_EQ(c.bad_responses.load(), 1u);
}

TEST(stateless_core, missing_call_id_gets_400_naming_it) {
  auto core = make_core();
  sip_counters c;
  std::string bad = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKq\r\n"
                    "From: <sip:a@b>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCSeq: 1 OPTIONS\r\n"
                    "Content-Length: 0\r\n\r\n";
  auto reply = core.handle(bad, source, transport_kind::udp, c);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  EXPECT_NE(reply->bytes.find("Call-ID"), std::string::npos) << reply->bytes;
  EXPECT_EQ(reply->bytes.rfind("SIP/2.0 400 ", 0), 0u) << reply->bytes;
  EXPECT_NE(reply->bytes.find("To: <sip:127.0.0.1>;tag="), std::string::npos) << reply->bytes;
  EXPECT_EQ(c.bad_requests.load(), 1u);
  // the retransmission gets the same answer, tag included
  auto again = core.handle(bad, source, transport_kind::udp, c);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->bytes, reply->bytes);
}

TEST(stateless_core, garbage_without_via_is_dropped_and_counted) {
  auto core = make_core();
  sip_counters c;
  EXPECT_FALSE(core.handle("\x01\x02\x03 hello", source, transport_kind::udp, c));
  EXPECT_FALSE(core.handle("", source, transport_kind::udp, c));
  EXPECT_EQ(c.unanswerable_requests.load(), 2u);
}

TEST(stateless_core, too_large_builds_a_513) {
  auto core = make_core();
  auto headers = request("OPTIONS", "sip:127.0.0.1");
  auto r = core.too_large(headers, source);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("SIP/2.0 513 ", 0), 0u) << *r;
  EXPECT_NE(r->find(";tag="), std::string::npos) << *r;
}

TEST(stateless_core, junk_holding_a_compact_via_line_is_not_answered) {
  // Random bytes once held "\nv:" followed by binary: no 400 may echo that.
  auto core = make_core();
  sip_counters c;
  std::string junk = "\x9c\xb8u`!0cR\r\nv: \xcc\xee\x9bNV\xbf binary\r\nf: x\r\n\r\n";
  EXPECT_FALSE(core.handle(junk, source, transport_kind::udp, c));
  std::string not_a_via = "FOO sip:x SIP/2.0\r\nv: hello world\r\n\r\n";
  EXPECT_FALSE(core.handle(not_a_via, source, transport_kind::udp, c));
  EXPECT_EQ(c.unanswerable_requests.load(), 2u);
}
