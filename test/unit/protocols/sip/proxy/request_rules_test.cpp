// RFC 3261 §16.3 (validation), §16.4 (route preprocessing), §16.6 step 4 defaults.

#include "protocols/sip/proxy/request_rules.hpp"

#include "protocols/sip/proxy/forwarding.hpp"
#include "proxy_test_support.hpp"

#include <gtest/gtest.h>

using namespace centralita;
using namespace centralita::sip;
using namespace centralita::sip::proxy;
using namespace centralita::sip::proxy::test;

namespace {

std::string replace(std::string s, std::string_view from, std::string_view to) {
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(Validate, AcceptsAPlainInvite) {
  EXPECT_FALSE(validate(parse_ok(invite_text()), identity()).has_value());
}

TEST(Validate, TelUriIsAcceptable) {  // RFC 3261 §16.3 step 2 (tel: RFC 3966)
  EXPECT_FALSE(validate(parse_ok(invite_text("tel:+15551234567")), identity()).has_value());
}

TEST(Validate, UnknownSchemeGets416) {  // RFC 3261 §16.3 step 2
  auto r = validate(parse_ok(invite_text("im:bob@biloxi.example.com")), identity());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 416);
}

TEST(Validate, ResponseIsRejectedAs400) {  // §16.3 step 1: only requests are forwarded
  auto req = parse_ok(invite_text());
  auto r = validate(response_to(req, 180), identity());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST(Validate, NonSipRouteIs400) {  // RFC 3261 §16.3 step 1: Route must be usable
  auto r = validate(parse_ok(invite_text("sip:bob@biloxi.example.com", "Route: <tel:+1555>\r\n")), identity());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST(Validate, MaxForwardsZeroGets483) {  // RFC 3261 §16.3 step 3
  auto text = replace(invite_text(), "Max-Forwards: 70", "Max-Forwards: 0");
  auto r = validate(parse_ok(text), identity());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 483);
  EXPECT_EQ(r->reason, "Too Many Hops");
}

TEST(Validate, OptionsToUsWithMaxForwardsZeroIsLeftToTheCaller) {  // §16.3 step 3, §11
  std::string text = invite_text("sip:192.0.2.10");
  text = replace(text, "INVITE sip", "OPTIONS sip");
  text = replace(text, "314159 INVITE", "314159 OPTIONS");
  text = replace(text, "Max-Forwards: 70", "Max-Forwards: 0");
  EXPECT_FALSE(validate(parse_ok(text), identity()).has_value());
  // The same OPTIONS for somebody else is a 483.
  text = replace(text, "OPTIONS sip:192.0.2.10", "OPTIONS sip:bob@biloxi.example.com");
  auto r = validate(parse_ok(text), identity());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 483);
}

TEST(Validate, UnsupportedProxyRequireGets420WithUnsupported) {  // RFC 3261 §16.3 step 5
  auto us = identity();
  us.supported_options = {"sec-agree"};
  auto req = parse_ok(invite_text("sip:bob@biloxi.example.com",
                                  "Proxy-Require: foo, sec-agree\r\nProxy-Require: bar\r\n"));
  auto r = validate(req, us);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 420);
  ASSERT_EQ(r->headers.size(), 1u);
  EXPECT_EQ(r->headers[0].first, "Unsupported");
  EXPECT_EQ(r->headers[0].second, "foo, bar");
  auto answer = make_rejection(req, *r, "t1");
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->status(), 420);
  EXPECT_EQ(answer->header("Unsupported").value_or(""), "foo, bar");
  EXPECT_EQ(answer->to().tag, "t1");
}

TEST(Validate, SupportedProxyRequirePasses) {
  auto us = identity();
  us.supported_options = {"sec-agree"};
  EXPECT_FALSE(validate(parse_ok(invite_text("sip:bob@biloxi.example.com", "Proxy-Require: sec-agree\r\n")), us));
}

// RFC 3261 §16.3 step 4: a request we forwarded that comes back unchanged is a loop.
TEST(Validate, LoopIsDetectedAndAnswered482) {
  auto us = identity();
  id_generator ids(7);
  auto received = parse_ok(invite_text());
  auto branch = prepare_branch(received, {"sip:bob@biloxi.example.com", {}}, us, true, ids);
  ASSERT_TRUE(branch.ok());
  // Another proxy sends it straight back to us, unchanged but for its own Via.
  std::string back = branch->request.serialize();
  back.insert(back.find("\r\n") + 2, "Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKother\r\n");
  auto looped = parse_ok(back);
  auto r = validate(looped, us);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 482);
  EXPECT_EQ(r->reason, "Loop Detected");
}

// RFC 3261 §16.3 step 4: the same request back with a new Request-URI is a spiral.
TEST(Validate, SpiralIsNotALoop) {
  auto us = identity();
  id_generator ids(7);
  auto received = parse_ok(invite_text());
  auto branch = prepare_branch(received, {"sip:bob@biloxi.example.com", {}}, us, true, ids);
  ASSERT_TRUE(branch.ok());
  std::string back = branch->request.serialize();
  back.insert(back.find("\r\n") + 2, "Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKother\r\n");
  back = replace(back, "INVITE sip:bob@biloxi.example.com", "INVITE sip:bob@192.0.2.99");
  EXPECT_FALSE(validate(parse_ok(back), us).has_value());
  // A different Proxy-Authorization changes the admission: also a spiral.
  std::string reauth = branch->request.serialize();
  reauth.insert(reauth.find("\r\n") + 2, "Via: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKother\r\n"
                                          "Proxy-Authorization: Digest username=\"alice\"\r\n");
  EXPECT_FALSE(validate(parse_ok(reauth), us).has_value());
}

TEST(Validate, OurViaFromAnotherProcessWithoutHashIsNoLoop) {
  auto text = replace(invite_text(), "Via: SIP/2.0/UDP pc33",
                      "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKplain\r\nVia: SIP/2.0/UDP pc33");
  EXPECT_FALSE(validate(parse_ok(text), identity()).has_value());
}

TEST(LoopHash, IgnoresMethodAndMaxForwardsButNotCallId) {  // RFC 3261 §16.6 step 8
  auto a = parse_ok(invite_text());
  auto b = parse_ok(replace(replace(replace(invite_text(), "INVITE sip", "CANCEL sip"), "314159 INVITE", "314159 CANCEL"),
                             "Max-Forwards: 70", "Max-Forwards: 12"));
  auto c = parse_ok(replace(invite_text(), "a84b4c76e66710", "other-call"));
  EXPECT_EQ(loop_hash(a).size(), 13u);
  EXPECT_EQ(loop_hash(a), loop_hash(b));
  EXPECT_NE(loop_hash(a), loop_hash(c));
}

// RFC 3261 §16.4 ¶3 (and §16.12.1.1): our own loose Route value is removed.
TEST(Preprocess, RemovesOurLooseRoute) {
  auto req = parse_ok(invite_text("sip:bob@biloxi.example.com",
                                  "Route: <sip:192.0.2.10;lr>, <sip:p2.biloxi.example.com;lr>\r\n"));
  auto o = preprocess_routes(req, identity());
  EXPECT_TRUE(o.removed_self);
  EXPECT_TRUE(o.has_route);
  EXPECT_FALSE(o.strict_route_restored);
  EXPECT_FALSE(o.request_uri_is_us);
  auto routes = req.routes();
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0], "<sip:p2.biloxi.example.com;lr>");
  EXPECT_EQ(req.request_uri(), "sip:bob@biloxi.example.com");
}

TEST(Preprocess, LeavesForeignRouteAlone) {
  auto req = parse_ok(invite_text("sip:bob@biloxi.example.com", "Route: <sip:p2.biloxi.example.com;lr>\r\n"));
  auto o = preprocess_routes(req, identity());
  EXPECT_FALSE(o.removed_self);
  EXPECT_TRUE(o.has_route);
  EXPECT_EQ(req.routes().size(), 1u);
}

// RFC 3261 §16.4 ¶1: a strict router put our Record-Route URI in the Request-URI;
// the real Request-URI is the last Route value.
TEST(Preprocess, RestoresRequestUriAfterStrictRouter) {
  std::string text = invite_text("sip:192.0.2.10:5060;lr",
                                 "Route: <sip:p3.example.com;lr>, <sip:bob@192.0.2.4>\r\n");
  text = replace(text, "To: Bob <sip:bob@biloxi.example.com>", "To: Bob <sip:bob@biloxi.example.com>;tag=x1");
  auto req = parse_ok(text);
  auto o = preprocess_routes(req, identity());
  EXPECT_TRUE(o.strict_route_restored);
  EXPECT_TRUE(o.in_dialog);
  EXPECT_TRUE(o.has_route);
  EXPECT_EQ(req.request_uri(), "sip:bob@192.0.2.4");
  auto routes = req.routes();
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0], "<sip:p3.example.com;lr>");
  // The request is still valid and serializable after the rewrite.
  EXPECT_TRUE(message::parse(req.serialize()).ok());
}

TEST(Preprocess, RequestUriForUsWithUserIsATargetNotARecordRoute) {
  auto req = parse_ok(invite_text("sip:bob@atlanta.example.com", "Route: <sip:192.0.2.10;lr>\r\n"));
  auto o = preprocess_routes(req, identity());
  EXPECT_FALSE(o.strict_route_restored);
  EXPECT_TRUE(o.removed_self);
  EXPECT_FALSE(o.has_route);
  EXPECT_TRUE(o.request_uri_is_us);  // §16.5: look up the location service
  EXPECT_TRUE(req.routes().empty());
}

TEST(Preprocess, StripsMaddrNamingUs) {  // RFC 3261 §16.4 ¶2
  auto req = parse_ok(invite_text("sip:bob@atlanta.example.com:5060;maddr=192.0.2.10;transport=udp"));
  auto o = preprocess_routes(req, identity());
  EXPECT_TRUE(o.maddr_stripped);
  EXPECT_EQ(req.request_uri(), "sip:bob@atlanta.example.com");
}

TEST(RecordRoute, DefaultsFollowDialogCreation) {  // §16.6 step 4, RFC 6665 §4.3
  route_outcome outside{};
  route_outcome inside{};
  inside.in_dialog = true;
  EXPECT_TRUE(record_route_by_default(parse_ok(invite_text()), outside));
  EXPECT_FALSE(record_route_by_default(parse_ok(invite_text()), inside));
  auto sub = parse_ok(replace(replace(invite_text(), "INVITE sip", "SUBSCRIBE sip"), "314159 INVITE", "1 SUBSCRIBE"));
  EXPECT_TRUE(record_route_by_default(sub, outside));
  auto notify = parse_ok(replace(replace(invite_text(), "INVITE sip", "NOTIFY sip"), "314159 INVITE", "1 NOTIFY"));
  route_outcome via_us{};
  via_us.removed_self = true;
  EXPECT_FALSE(record_route_by_default(notify, outside));
  EXPECT_TRUE(record_route_by_default(notify, via_us));
  auto msg = parse_ok(replace(replace(invite_text(), "INVITE sip", "MESSAGE sip"), "314159 INVITE", "1 MESSAGE"));
  EXPECT_FALSE(record_route_by_default(msg, outside));
}

TEST(Identity, IsUs) {
  auto us = identity();
  EXPECT_TRUE(us.is_us("sip:192.0.2.10"));
  EXPECT_TRUE(us.is_us("<sip:ATLANTA.example.com;lr>"));
  EXPECT_TRUE(us.is_us("sip:192.0.2.10:5060;lr"));
  EXPECT_FALSE(us.is_us("sip:192.0.2.10:5070;lr"));
  EXPECT_FALSE(us.is_us("sip:biloxi.example.com"));
  EXPECT_FALSE(us.is_us("tel:+1555"));
  EXPECT_FALSE(us.is_us("sip:atlanta.example.com;maddr=198.51.100.1"));
}

} // namespace
