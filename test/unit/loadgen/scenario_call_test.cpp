// The call scenario's state machine: INVITE, ACK, hold, BYE and the failure
// causes, through the fake client_ops (no sockets, no clock); every request
// it writes is read back by the real SIP parser.
#include "bench/loadgen/scenario.hpp"
#include "test/unit/loadgen/fake_ops.hpp"

#include <gtest/gtest.h>

using namespace centralita;
using namespace centralita::loadgen;
using namespace centralita::loadgen::testing;

namespace {

call_params params(std::chrono::milliseconds hold = {}) {
  call_params p;
  p.target = {"sip:127.0.0.1:5070", "127.0.0.1"};
  p.callee = "bob";
  p.caller = "alice";
  p.hold = hold;
  return p;
}

std::string header(const sip::message& m, std::string_view name) {
  auto v = m.header(name);
  return v ? std::string(*v) : std::string();
}

/// An answer to `request` by hand: its Via, From, Call-ID and CSeq, To with
/// `to_tag`, and `extra` lines.
scanned_response reply(const std::string& request, int status, std::string_view to_tag,
                       const std::vector<std::string>& extra, std::string& storage) {
  auto req = parsed(request);
  storage = "SIP/2.0 " + std::to_string(status) + " Whatever\r\nVia: " + header(req, "Via")
            + "\r\nFrom: " + header(req, "From") + "\r\nTo: " + header(req, "To") + ";tag="
            + std::string(to_tag) + "\r\nCall-ID: " + header(req, "Call-ID") + "\r\nCSeq: "
            + header(req, "CSeq") + "\r\n";
  for (auto& line : extra)
    storage += line + "\r\n";
  storage += "Content-Length: 0\r\n\r\n";
  auto s = scan_response(storage);
  EXPECT_TRUE(s) << storage;
  return s.value();
}

} // namespace

TEST(call_scenario, invite_ack_bye_through_a_record_routing_proxy) {
  auto s = make_call_scenario(params());
  s->resize(2);
  fake_ops ops;
  s->begin(ops, 1, 7);
  ASSERT_EQ(ops.sends.size(), 1u);
  EXPECT_EQ(ops.sends[0].method, "INVITE");
  auto invite = parsed(ops.sends[0].bytes);
  EXPECT_EQ(invite.request_uri(), "sip:bob@127.0.0.1:5070");
  EXPECT_NE(header(invite, "Contact").find("sip:alice@127.0.0.1:40001"), std::string::npos);
  EXPECT_EQ(header(invite, "CSeq"), "1 INVITE");

  // 180 with a To tag: the post-dial delay; a 100 is not ringing.
  auto trying = respond(ops.sends[0].bytes, 100);
  s->on_provisional(ops, 1, trying.scanned);
  EXPECT_TRUE(ops.named_latencies.empty());
  std::string buf;
  s->on_provisional(ops, 1, reply(ops.sends[0].bytes, 180, "b0b", {}, buf));
  ASSERT_EQ(ops.named_latencies.size(), 1u);
  EXPECT_EQ(ops.named_latencies[0].second, "pdd");

  // The 200 through two record-routing proxies: the route set is reversed.
  std::string ok_bytes =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:40001;branch=" + std::string(invite.top_via().branch) + ";rport\r\n"
      "Record-Route: <sip:10.0.0.2;lr>, <sip:10.0.0.1:5070;lr>\r\n"
      "From: " + header(invite, "From") + "\r\n"
      "To: <sip:bob@127.0.0.1:5070>;tag=b0b\r\n"
      "Call-ID: " + header(invite, "Call-ID") + "\r\n"
      "CSeq: 1 INVITE\r\n"
      "Contact: <sip:bob@10.0.0.9:5090;transport=udp>\r\n"
      "Content-Length: 0\r\n\r\n";
  auto ok = scan_response(ok_bytes);
  ASSERT_TRUE(ok);
  s->on_final(ops, 1, ok.value());
  ASSERT_EQ(ops.named_latencies.size(), 2u);
  EXPECT_EQ(ops.named_latencies[1].second, "setup");
  EXPECT_EQ(ops.next_hops[1], "<sip:10.0.0.1:5070;lr>");

  ASSERT_EQ(ops.acks.size(), 1u);
  auto ack = parsed(ops.acks[0].bytes);
  EXPECT_EQ(ack.request_uri(), "sip:bob@10.0.0.9:5090;transport=udp");
  EXPECT_EQ(header(ack, "CSeq"), "1 ACK");
  EXPECT_NE(header(ack, "To").find("tag=b0b"), std::string::npos);
  EXPECT_NE(ack.top_via().branch, invite.top_via().branch);  // §13.2.2.4: its own transaction
  EXPECT_NE(ops.acks[0].bytes.find("Route: <sip:10.0.0.1:5070;lr>\r\nRoute: <sip:10.0.0.2;lr>\r\n"),
            std::string::npos)
      << ops.acks[0].bytes;

  // No hold: the BYE at once, same dialog, CSeq 2.
  ASSERT_EQ(ops.sends.size(), 2u);
  EXPECT_EQ(ops.sends[1].method, "BYE");
  auto bye = parsed(ops.sends[1].bytes);
  EXPECT_EQ(bye.request_uri(), "sip:bob@10.0.0.9:5090;transport=udp");
  EXPECT_EQ(header(bye, "CSeq"), "2 BYE");
  EXPECT_EQ(header(bye, "Call-ID"), header(invite, "Call-ID"));
  EXPECT_EQ(ops.outcome.count(1), 0u);
  s->on_final(ops, 1, respond(ops.sends[1].bytes, 200).scanned);
  ASSERT_EQ(ops.outcome.count(1), 1u);
  EXPECT_EQ(ops.outcome[1], "");
}

TEST(call_scenario, hold_waits_before_the_bye) {
  auto s = make_call_scenario(params(std::chrono::milliseconds{1500}));
  s->resize(1);
  fake_ops ops;
  s->begin(ops, 0, 0);
  s->on_final(ops, 0, respond(ops.sends[0].bytes, 200,
                              {"Contact: <sip:bob@127.0.0.1:5090>"}).scanned);
  ASSERT_EQ(ops.wakes.size(), 1u);
  EXPECT_EQ(ops.wakes[0].second, std::chrono::milliseconds{1500});
  EXPECT_EQ(ops.sends.size(), 1u);  // no BYE yet
  EXPECT_EQ(ops.next_hops[0], "sip:bob@127.0.0.1:5090");  // no route set: the Contact
  s->on_wake(ops, 0);
  ASSERT_EQ(ops.sends.size(), 2u);
  EXPECT_EQ(ops.sends[1].method, "BYE");
  s->on_timeout(ops, 0);
  EXPECT_EQ(ops.outcome[0], "bye:timeout");
}

TEST(call_scenario, a_rejected_invite_is_acked_hop_by_hop) {
  auto s = make_call_scenario(params());
  s->resize(1);
  fake_ops ops;
  s->begin(ops, 0, 3);
  auto invite = parsed(ops.sends[0].bytes);
  std::string buf;
  s->on_final(ops, 0, reply(ops.sends[0].bytes, 486, "busy", {}, buf));
  EXPECT_EQ(ops.outcome[0], "486");
  ASSERT_EQ(ops.acks.size(), 1u);
  auto ack = parsed(ops.acks[0].bytes);
  // §17.1.1.3: same branch and Request-URI as the INVITE, the answer's To tag.
  EXPECT_EQ(ack.top_via().branch, invite.top_via().branch);
  EXPECT_EQ(ack.request_uri(), invite.request_uri());
  EXPECT_EQ(header(ack, "CSeq"), "1 ACK");
  EXPECT_NE(header(ack, "To").find("tag=busy"), std::string::npos);
  EXPECT_TRUE(ops.next_hops.empty());
}

TEST(call_scenario, failure_causes) {
  auto s = make_call_scenario(params());
  s->resize(4);
  fake_ops ops;
  s->begin(ops, 0, 0);
  s->on_timeout(ops, 0);
  EXPECT_EQ(ops.outcome[0], "timeout");
  s->begin(ops, 1, 1);
  s->on_transport_error(ops, 1);
  EXPECT_EQ(ops.outcome[1], "transport");
  // A 200 without Contact cannot be followed (§13.3.1.4 requires one).
  s->begin(ops, 2, 2);
  s->on_final(ops, 2, respond(ops.sends.back().bytes, 200).scanned);
  EXPECT_EQ(ops.outcome[2], "no-contact");
  // The BYE refused.
  s->begin(ops, 3, 3);
  s->on_final(ops, 3, respond(ops.sends.back().bytes, 200,
                              {"Contact: <sip:bob@127.0.0.1:5090>"}).scanned);
  s->on_final(ops, 3, respond(ops.sends.back().bytes, 481).scanned);
  EXPECT_EQ(ops.outcome[3], "bye:481");
}
