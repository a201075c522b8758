// BYEs a record-routing proxy builds to end a call (protocols/sip/dialog/hangup.hpp).

#include "protocols/sip/dialog/hangup.hpp"

#include "../proxy/proxy_test_support.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace centralita::sip::dialog {
namespace {

using proxy::test::identity;
using proxy::test::invite_text;

party caller() {
  return party{"sip:alice@atlanta.example.com", "Alice", "1928301774",
               "sip:alice@pc33.atlanta.example.com", {}};
}

party callee() {
  return party{"sip:bob@biloxi.example.com", "Bob", "a6c85cf", "sip:bob@192.0.2.4", {}};
}

TEST(Hangup, ByeToTheCalleeLooksLikeTheCallerSentIt) {
  auto us = identity();
  auto bye = make_bye(caller(), callee(), "a84b4c76e66710", 314160, "UDP", "z9hG4bKhang1", us,
                      "SIP;cause=200;text=\"hangup\"");
  ASSERT_TRUE(bye) << bye.err().reason;
  EXPECT_EQ(bye->request_method(), method::bye);
  EXPECT_EQ(bye->request_uri(), "sip:bob@192.0.2.4");
  EXPECT_EQ(bye->from().uri, "sip:alice@atlanta.example.com");
  EXPECT_EQ(bye->from().tag, "1928301774");
  EXPECT_EQ(bye->to().uri, "sip:bob@biloxi.example.com");
  EXPECT_EQ(bye->to().tag, "a6c85cf");
  EXPECT_EQ(bye->call_id(), "a84b4c76e66710");
  EXPECT_EQ(bye->cseq(), 314160u);
  EXPECT_EQ(bye->top_via().branch, "z9hG4bKhang1");
  EXPECT_EQ(bye->top_via().host, "192.0.2.10");
  EXPECT_EQ(bye->max_forwards(), 70u);
  EXPECT_TRUE(bye->routes().empty());
  ASSERT_TRUE(bye->header("Reason"));
}

TEST(Hangup, ByeToTheCallerSwapsTheParties) {
  auto us = identity();
  auto bye = make_bye(callee(), caller(), "a84b4c76e66710", 1, "TCP", "z9hG4bKhang2", us);
  ASSERT_TRUE(bye) << bye.err().reason;
  EXPECT_EQ(bye->request_uri(), "sip:alice@pc33.atlanta.example.com");
  EXPECT_EQ(bye->from().tag, "a6c85cf");
  EXPECT_EQ(bye->to().tag, "1928301774");
  EXPECT_EQ(bye->top_via().transport, "TCP");
  EXPECT_FALSE(bye->header("Reason"));
}

TEST(Hangup, RouteSetsAreLooseRoutes) {
  auto us = identity();
  auto to = callee();
  to.route = {"<sip:q1.example.com;lr>", "sip:q2.example.com;lr"};
  auto bye = make_bye(caller(), to, "c1", 2, "UDP", "z9hG4bKr", us);
  ASSERT_TRUE(bye) << bye.err().reason;
  auto routes = bye->routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_NE(routes[0].find("q1.example.com"), std::string::npos);
  EXPECT_NE(routes[1].find("q2.example.com"), std::string::npos);
}

TEST(Hangup, RefusesIncompleteDialogs) {
  auto us = identity();
  auto no_tag = callee();
  no_tag.tag.clear();
  EXPECT_FALSE(make_bye(caller(), no_tag, "c", 1, "UDP", "z9hG4bKx", us));
  EXPECT_FALSE(make_bye(caller(), callee(), "", 1, "UDP", "z9hG4bKx", us));
  auto bad = callee();
  bad.contact = "mailto:bob@example.com";
  EXPECT_FALSE(make_bye(caller(), bad, "c", 1, "UDP", "z9hG4bKx", us));
  auto inject = callee();
  inject.uri = "sip:bob@example.com\r\nX-Evil: 1";
  EXPECT_FALSE(make_bye(caller(), inject, "c", 1, "UDP", "z9hG4bKx", us));
}

TEST(Hangup, CallerRouteIsTheInvitesRecordRoute) {
  auto inv = message::parse(invite_text("sip:bob@biloxi.example.com",
                                        "Record-Route: <sip:p2.example.com;lr>\r\n"
                                        "Record-Route: <sip:p1.example.com;lr>\r\n"));
  ASSERT_TRUE(inv) << inv.err().reason;
  auto route = caller_route(*inv);
  ASSERT_EQ(route.size(), 2u);
  EXPECT_NE(route[0].find("p2.example.com"), std::string::npos);
}

TEST(Hangup, CalleeRouteIsWhatSitsAboveUsReversed) {
  auto us = identity();
  std::string ok = "SIP/2.0 200 OK\r\n"
                   "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx\r\n"
                   "Record-Route: <sip:q2.example.com;lr>\r\n"
                   "Record-Route: <sip:q1.example.com;lr>\r\n"
                   "Record-Route: <sip:192.0.2.10:5060;lr>\r\n"
                   "Record-Route: <sip:p1.example.com;lr>\r\n"
                   "From: <sip:alice@atlanta.example.com>;tag=1\r\n"
                   "To: <sip:bob@biloxi.example.com>;tag=2\r\n"
                   "Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
  auto m = message::parse(ok);
  ASSERT_TRUE(m) << m.err().reason;
  auto route = callee_route(*m, us);
  ASSERT_EQ(route.size(), 2u);
  EXPECT_NE(route[0].find("q1.example.com"), std::string::npos);
  EXPECT_NE(route[1].find("q2.example.com"), std::string::npos);
  // Without our entry: no route (we were not in the path as a record-router).
  std::string other = ok;
  other.replace(other.find("192.0.2.10:5060"), 15, "198.51.100.1:99");
  auto m2 = message::parse(other);
  ASSERT_TRUE(m2);
  EXPECT_TRUE(callee_route(*m2, us).empty());
}

RC_GTEST_PROP(HangupProp, AnyCleanDialogGivesAParsableByeCarryingItsTags,
              (uint32_t cseq, std::string tag_a, std::string tag_b)) {
  auto keep = [](std::string s) {
    std::string out;
    for (char c : s)
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        out += c;
    return out.empty() ? std::string("t") : out;
  };
  auto a = caller();
  auto b = callee();
  a.tag = keep(tag_a);
  b.tag = keep(tag_b);
  auto us = identity();
  auto bye = make_bye(a, b, "call-1", cseq % 0x7fffffffu, "UDP", "z9hG4bKp", us);
  RC_ASSERT(static_cast<bool>(bye));
  RC_ASSERT(bye->from().tag == a.tag);
  RC_ASSERT(bye->to().tag == b.tag);
  RC_ASSERT(bye->cseq() == cseq % 0x7fffffffu);
}

} // namespace
} // namespace centralita::sip::dialog
