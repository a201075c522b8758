// RFC 3261 §16.6 (forwarding), §16.7 step 3, §9.1 (CANCEL), §17.1.1.3 (ACK).

#include "protocols/sip/proxy/forwarding.hpp"

#include "proxy_test_support.hpp"
#include "protocols/sip/proxy/request_rules.hpp"

#include <gtest/gtest.h>

using namespace centralita;
using namespace centralita::sip;
using namespace centralita::sip::proxy;
using namespace centralita::sip::proxy::test;

namespace {

TEST(PrepareBranch, RewritesRequestUriMaxForwardsRecordRouteAndVia) {
  auto us = identity();
  id_generator ids(1);
  auto req = parse_ok(invite_text("sip:bob@atlanta.example.com"));
  auto b = prepare_branch(req, {"sip:bob@192.0.2.4:5062;transport=tcp", {}}, us, true, ids);
  ASSERT_TRUE(b.ok()) << b.err().reason;
  const message& out = b->request;
  EXPECT_EQ(out.request_uri(), "sip:bob@192.0.2.4:5062;transport=tcp");  // step 2
  EXPECT_EQ(out.max_forwards().value_or(0), 69u);                       // step 3
  auto rr = out.record_routes();                                         // step 4
  ASSERT_EQ(rr.size(), 1u);
  EXPECT_EQ(rr[0], "<sip:192.0.2.10:5060;lr>");
  auto vias = out.vias();                                                // step 8
  ASSERT_EQ(vias.size(), 2u);
  EXPECT_EQ(vias[0].host, "192.0.2.10");
  EXPECT_EQ(vias[0].transport, "TCP");
  EXPECT_EQ(vias[0].branch, b->branch);
  EXPECT_EQ(b->branch.rfind("z9hG4bK", 0), 0u);
  EXPECT_EQ(b->branch.substr(b->branch.size() - 13), loop_hash(req));
  EXPECT_EQ(vias[1].branch, "z9hG4bKnashds8");
  EXPECT_EQ(b->hop.host, "192.0.2.4");                                   // step 7
  EXPECT_EQ(b->hop.port, 5062);
  EXPECT_EQ(b->hop.transport, "tcp");
  EXPECT_TRUE(b->hop.port_explicit);
  // The received request is untouched (step 1: a copy per branch).
  EXPECT_EQ(req.request_uri(), "sip:bob@atlanta.example.com");
  EXPECT_EQ(req.via_count(), 1u);
  EXPECT_TRUE(message::parse(out.serialize()).ok());
}

TEST(PrepareBranch, BranchesAreUniquePerTarget) {
  id_generator ids(2);
  auto req = parse_ok(invite_text());
  auto a = prepare_branch(req, {"sip:bob@192.0.2.4", {}}, identity(), false, ids);
  auto b = prepare_branch(req, {"sip:bob@192.0.2.5", {}}, identity(), false, ids);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->branch, b->branch);
  EXPECT_TRUE(a->request.record_routes().empty());  // not asked
}

TEST(PrepareBranch, MissingMaxForwardsBecomes69) {  // RFC 3261 §16.6 step 3
  std::string text = invite_text();
  text.erase(text.find("Max-Forwards: 70\r\n"), 18);
  id_generator ids(3);
  auto b = prepare_branch(parse_ok(text), {"sip:bob@192.0.2.4", {}}, identity(), false, ids);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->request.max_forwards().value_or(0), 69u);
}

TEST(PrepareBranch, MaxForwardsZeroIsAnError) {
  std::string text = invite_text();
  text.replace(text.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  id_generator ids(3);
  auto b = prepare_branch(parse_ok(text), {"sip:bob@192.0.2.4", {}}, identity(), false, ids);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.err().code, errc::invalid_argument);
}

TEST(PrepareBranch, PathBecomesTheFirstRoutes) {  // RFC 3327 §5.3
  id_generator ids(4);
  branch_target t{"sip:bob@10.1.1.1:5070", {"<sip:edge1.example.com;lr>", "<sip:edge2.example.com;lr>"}};
  auto b = prepare_branch(parse_ok(invite_text()), t, identity(), true, ids);
  ASSERT_TRUE(b.ok());
  auto routes = b->request.routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0], "<sip:edge1.example.com;lr>");
  EXPECT_EQ(routes[1], "<sip:edge2.example.com;lr>");
  EXPECT_EQ(b->request.request_uri(), "sip:bob@10.1.1.1:5070");
  EXPECT_EQ(b->hop.host, "edge1.example.com");  // step 7: the first Route
  EXPECT_EQ(b->hop.port, 5060);
  EXPECT_FALSE(b->hop.port_explicit);
  EXPECT_EQ(b->hop.transport, "udp");
}

// RFC 3261 §16.6 step 6 / §16.12.1.2: the next hop is a strict router.
TEST(PrepareBranch, StrictRouterGetsTheRouteAsRequestUri) {
  id_generator ids(5);
  auto req = parse_ok(invite_text("sip:callee@u2.domain.com",
                                  "Route: <sip:p2.domain.com>, <sip:p3.domain.com;lr>\r\n"));
  auto b = prepare_branch(req, {"sip:callee@u2.domain.com", {}}, identity(), false, ids);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->request.request_uri(), "sip:p2.domain.com");
  auto routes = b->request.routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0], "<sip:p3.domain.com;lr>");
  EXPECT_EQ(routes[1], "<sip:callee@u2.domain.com>");
  EXPECT_EQ(b->hop.host, "p2.domain.com");
}

TEST(PrepareBranch, LooseRouteIsTheNextHopAndRequestUriStays) {
  id_generator ids(6);
  auto req = parse_ok(invite_text("sip:callee@u2.domain.com", "Route: <sip:p2.domain.com:5080;lr;transport=tcp>\r\n"));
  auto b = prepare_branch(req, {"sip:callee@u2.domain.com", {}}, identity(), false, ids);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->request.request_uri(), "sip:callee@u2.domain.com");
  EXPECT_EQ(b->hop.host, "p2.domain.com");
  EXPECT_EQ(b->hop.port, 5080);
  EXPECT_EQ(b->hop.transport, "tcp");
  EXPECT_EQ(b->request.top_via().transport, "TCP");
}

TEST(PrepareBranch, SipsTargetGetsSipsRecordRouteAndTls) {  // §16.6 step 4, RFC 3263 §4.1
  id_generator ids(7);
  auto b = prepare_branch(parse_ok(invite_text()), {"sips:bob@biloxi.example.com", {}}, identity(), true, ids);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->request.record_routes().at(0), "<sips:192.0.2.10:5060;lr>");
  EXPECT_EQ(b->hop.transport, "tls");
  EXPECT_EQ(b->hop.port, 5061);
  EXPECT_EQ(b->request.top_via().transport, "TLS");
}

TEST(PrepareBranch, MaddrIsTheNextHop) {
  id_generator ids(8);
  auto b = prepare_branch(parse_ok(invite_text()), {"sip:bob@biloxi.example.com;maddr=198.51.100.9", {}},
                          identity(), false, ids);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->hop.host, "198.51.100.9");
}

TEST(PrepareBranch, RejectsNonSipTarget) {
  id_generator ids(9);
  auto b = prepare_branch(parse_ok(invite_text()), {"tel:+15551234567", {}}, identity(), false, ids);
  EXPECT_FALSE(b.ok());
}

TEST(NextHop, OfARequestAsItIs) {
  auto hop = next_hop_of(parse_ok(invite_text("sip:bob@Biloxi.Example.com:5090")));
  ASSERT_TRUE(hop.ok());
  EXPECT_EQ(hop->host, "biloxi.example.com");
  EXPECT_EQ(hop->port, 5090);
  EXPECT_EQ(hop->transport, "udp");
}

TEST(PrepareResponse, RemovesOurVia) {  // RFC 3261 §16.7 step 3
  id_generator ids(10);
  auto b = prepare_branch(parse_ok(invite_text()), {"sip:bob@192.0.2.4", {}}, identity(), true, ids);
  ASSERT_TRUE(b.ok());
  auto ringing = response_to(b->request, 180);
  EXPECT_EQ(ringing.via_count(), 2u);
  EXPECT_TRUE(prepare_response(ringing));
  ASSERT_EQ(ringing.via_count(), 1u);
  EXPECT_EQ(ringing.top_via().branch, "z9hG4bKnashds8");
  // A response to a request we originated has only our Via: it is for us.
  auto mine = response_to(parse_ok(invite_text()), 200);
  EXPECT_FALSE(prepare_response(mine));
}

TEST(MakeCancel, MatchesTheBranchHopByHop) {  // RFC 3261 §9.1
  id_generator ids(11);
  auto req = parse_ok(invite_text("sip:bob@biloxi.example.com", "Route: <sip:p2.domain.com;lr>\r\n"));
  auto b = prepare_branch(req, {"sip:bob@192.0.2.4", {}}, identity(), true, ids);
  ASSERT_TRUE(b.ok());
  auto c = make_cancel(b->request);
  ASSERT_TRUE(c.ok()) << c.err().reason;
  EXPECT_EQ(c->request_method(), method::cancel);
  EXPECT_EQ(c->request_uri(), b->request.request_uri());
  EXPECT_EQ(c->call_id(), b->request.call_id());
  EXPECT_EQ(c->cseq(), 314159u);
  EXPECT_EQ(c->cseq_method(), method::cancel);
  EXPECT_EQ(c->from().tag, "1928301774");
  EXPECT_TRUE(c->to().tag.empty());
  ASSERT_EQ(c->via_count(), 1u);
  EXPECT_EQ(c->top_via().branch, b->branch);
  EXPECT_EQ(c->routes(), b->request.routes());
  EXPECT_TRUE(c->record_routes().empty());
}

TEST(MakeAck, ForANonSuccessFinal) {  // RFC 3261 §17.1.1.3
  id_generator ids(12);
  auto b = prepare_branch(parse_ok(invite_text()), {"sip:bob@192.0.2.4", {}}, identity(), true, ids);
  ASSERT_TRUE(b.ok());
  auto busy = response_to(b->request, 486, "busytag");
  auto ack = make_ack_for(b->request, busy);
  ASSERT_TRUE(ack.ok()) << ack.err().reason;
  EXPECT_EQ(ack->request_method(), method::ack);
  EXPECT_EQ(ack->request_uri(), "sip:bob@192.0.2.4");
  EXPECT_EQ(ack->to().tag, "busytag");
  EXPECT_EQ(ack->cseq(), 314159u);
  EXPECT_EQ(ack->cseq_method(), method::ack);
  ASSERT_EQ(ack->via_count(), 1u);
  EXPECT_EQ(ack->top_via().branch, b->branch);
  EXPECT_FALSE(make_ack_for(b->request, response_to(b->request, 200)).ok());
}

} // namespace
