// The request side of the scanner (the built-in UAS reads requests with it),
// the route-set helpers, and the UAS's answers built from scanned requests.
#include "bench/loadgen/sip_scan.hpp"
#include "bench/loadgen/uas.hpp"

#include "protocols/sip/message.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::loadgen;

namespace {

const std::string invite =
    "INVITE sip:bob@127.0.0.1:5090 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-proxy1;rport=40000\r\n"
    "v: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-uac;rport=40000;received=127.0.0.1\r\n"
    "Record-Route: <sip:127.0.0.1:5060;lr>\r\n"
    "Max-Forwards: 69\r\n"
    "f: <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "i: abc@host\r\n"
    "CSeq: 7 INVITE\r\n"
    "Contact: <sip:alice@127.0.0.1:40000>\r\n"
    "Content-Length: 0\r\n\r\n";

} // namespace

TEST(scan_request, reads_what_an_answer_echoes) {
  auto r = scan_request(invite);
  ASSERT_TRUE(r) << r.err().reason;
  EXPECT_EQ(r->method, "INVITE");
  EXPECT_EQ(r->request_uri, "sip:bob@127.0.0.1:5090");
  EXPECT_EQ(r->call_id, "abc@host");
  EXPECT_EQ(r->branch, "z9hG4bK-proxy1");
  EXPECT_EQ(r->cseq, 7u);
  EXPECT_EQ(r->cseq_method, "INVITE");
  EXPECT_TRUE(r->to_tag.empty());
  ASSERT_EQ(r->echo_count, 7);  // 2 Via, Record-Route, From, To, Call-ID, CSeq
  EXPECT_EQ(r->echo[r->to_index], "To: <sip:bob@example.com>");
  EXPECT_EQ(r->record_route_mask, 1u << 2);
}

TEST(scan_request, refuses_what_cannot_be_answered) {
  for (std::string bad : {
           std::string("INVITE sip:b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n"),
           std::string("SIP/2.0 200 OK\r\n\r\n"),
           std::string("INVITE sip:b SIP/3.0\r\n\r\n"),
           std::string("INVITE sip:b SIP/2.0\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: x INVITE\r\n\r\n"),
           std::string("INVITE sip:b SIP/2.0\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"),
       })
    EXPECT_FALSE(scan_request(bad)) << bad;
  std::string many = "BYE sip:b SIP/2.0\r\n";
  for (int i = 0; i < 40; ++i)
    many += "Via: SIP/2.0/UDP h" + std::to_string(i) + ";branch=z9hG4bK" + std::to_string(i) + "\r\n";
  many += "From: a;tag=1\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 BYE\r\n\r\n";
  auto r = scan_request(many);
  ASSERT_FALSE(r);
  EXPECT_NE(r.err().reason.find("too many"), std::string::npos);
}

RC_GTEST_PROP(scan_request, never_crashes_on_a_cut_or_mangled_request, (unsigned cut, char c)) {
  auto text = invite.substr(0, cut % (invite.size() + 1));
  (void)scan_request(text);
  if (!text.empty()) {
    text[cut % text.size()] = c;
    (void)scan_request(text);
  }
}

TEST(route_helpers, entries_and_host_port) {
  std::vector<std::string> got;
  for_each_route_entry(R"(<sip:a;lr>, "x, y" <sip:b;lr> ,<sip:c,d;lr>)",
                       [&](std::string_view e) { got.emplace_back(e); });
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "<sip:a;lr>");
  EXPECT_EQ(got[1], "\"x, y\" <sip:b;lr>");
  EXPECT_EQ(got[2], "<sip:c,d;lr>");

  std::string_view host;
  uint16_t port = 0;
  ASSERT_TRUE(uri_host_port("<sip:10.0.0.1:5070;lr>", host, port));
  EXPECT_EQ(host, "10.0.0.1");
  EXPECT_EQ(port, 5070);
  ASSERT_TRUE(uri_host_port("sip:bob@[::1];transport=udp", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 5060);
  ASSERT_TRUE(uri_host_port("SIP:u:pw@example.com:5080?x=y", host, port));
  EXPECT_EQ(host, "example.com");
  EXPECT_EQ(port, 5080);
  for (auto bad : {"tel:+123", "sip:", "sip:h:0", "sip:h:99999", "sip:h:5x", "<sip:h", "sip:[::1"})
    EXPECT_FALSE(uri_host_port(bad, host, port)) << bad;
}

TEST(uas_answers, echo_the_request_and_add_the_tag) {
  auto r = scan_request(invite);
  ASSERT_TRUE(r);
  std::string out;
  build_response(out, *r, 200, "OK", "t1", "<sip:uas@127.0.0.1:5090>", true);
  auto m = sip::message::parse(out);
  ASSERT_TRUE(m) << out;
  EXPECT_EQ(m->status(), 200);
  EXPECT_EQ(m->via_count(), 2u);
  EXPECT_EQ(m->top_via().branch, "z9hG4bK-proxy1");
  EXPECT_NE(out.find("To: <sip:bob@example.com>;tag=t1\r\n"), std::string::npos);
  EXPECT_NE(out.find("Record-Route: <sip:127.0.0.1:5060;lr>\r\n"), std::string::npos);
  EXPECT_NE(out.find("Contact: <sip:uas@127.0.0.1:5090>\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Max-Forwards"), std::string::npos);

  // Not dialog-creating: no Record-Route; a To that has a tag keeps it.
  std::string bye = invite;
  bye.replace(bye.find("To: <sip:bob@example.com>"), 25, "To: <sip:bob@example.com>;tag=x9");
  auto b = scan_request(bye);
  ASSERT_TRUE(b);
  out.clear();
  build_response(out, *b, 481, "Call/Transaction Does Not Exist", "t1", {}, false);
  EXPECT_EQ(out.find("Record-Route"), std::string::npos);
  EXPECT_NE(out.find("To: <sip:bob@example.com>;tag=x9\r\n"), std::string::npos);
  EXPECT_EQ(out.find("tag=t1"), std::string::npos);
  EXPECT_TRUE(sip::message::parse(out));
}
