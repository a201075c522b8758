// RFC 3261 §16.7 (response processing), §16.8 (Timer C), §16.10 (CANCEL).

#include "protocols/sip/proxy/response_context.hpp"

#include "proxy_test_support.hpp"

#include <gtest/gtest.h>

using namespace centralita;
using namespace centralita::sip;
using namespace centralita::sip::proxy;
using namespace centralita::sip::proxy::test;

namespace {

struct ResponseContext : ::testing::Test {
  message request = parse_ok(invite_text());
  message resp(int status, std::string_view extra = "") { return response_to(request, status, "t", extra); }
};

TEST_F(ResponseContext, ForwardsProvisionalsButNot100) {  // §16.7 step 5
  response_context ctx(true);
  ASSERT_TRUE(ctx.add_branch("b1"));
  EXPECT_FALSE(ctx.on_response("b1", resp(100)).forward);
  auto d = ctx.on_response("b1", resp(180));
  ASSERT_TRUE(d.forward);
  EXPECT_EQ(d.forward->status, 180);
  ASSERT_TRUE(d.forward->response);
}

TEST_F(ResponseContext, FirstTwoHundredGoesUpAndCancelsTheRest) {  // §16.7 steps 5, 10
  response_context ctx(true);
  ctx.add_branch("b1");
  ctx.add_branch("b2");
  ctx.add_branch("b3");
  ctx.on_response("b2", resp(180));
  auto d = ctx.on_response("b1", resp(200));
  ASSERT_TRUE(d.forward);
  EXPECT_EQ(d.forward->status, 200);
  EXPECT_EQ(d.cancel, std::vector<std::string>{"b2"});  // b3 has no provisional yet (§9.1)
  EXPECT_TRUE(ctx.final_sent());
  EXPECT_FALSE(ctx.add_branch("b4"));
  // b3's first provisional releases its CANCEL; nothing more goes upstream but 2xx.
  auto late = ctx.on_response("b3", resp(183));
  EXPECT_FALSE(late.forward);
  EXPECT_EQ(late.cancel, std::vector<std::string>{"b3"});
  auto second = ctx.on_response("b2", resp(200));  // a 2xx raced the CANCEL
  ASSERT_TRUE(second.forward);
  EXPECT_EQ(second.forward->status, 200);
  EXPECT_FALSE(ctx.on_response("b3", resp(487)).forward);
  EXPECT_TRUE(ctx.done());
  EXPECT_EQ(ctx.best_branch().value_or(""), "b1");
}

TEST_F(ResponseContext, NonInviteForwardsOnlyTheFirst2xx) {
  response_context ctx(false);
  ctx.add_branch("b1");
  ctx.add_branch("b2");
  auto d = ctx.on_response("b1", resp(200));
  EXPECT_TRUE(d.forward);
  EXPECT_TRUE(d.cancel.empty());  // §9.1: no CANCEL for non-INVITE
  EXPECT_FALSE(ctx.on_response("b2", resp(202)).forward);
}

TEST_F(ResponseContext, LowestClassWinsWhenAllFail) {  // §16.7 step 6
  response_context ctx(true);
  ctx.add_branch("b1");
  ctx.add_branch("b2");
  ctx.add_branch("b3");
  EXPECT_FALSE(ctx.on_response("b1", resp(486)).forward);
  EXPECT_FALSE(ctx.on_response("b2", resp(302)).forward);
  auto d = ctx.on_response("b3", resp(500));
  ASSERT_TRUE(d.forward);
  EXPECT_EQ(d.forward->status, 302);
  ASSERT_TRUE(d.forward->response);
  EXPECT_EQ(ctx.best_branch().value_or(""), "b2");
}

TEST_F(ResponseContext, SixHundredEndsForking) {  // §16.7 step 5/6
  response_context ctx(true);
  ctx.add_branch("b1");
  ctx.add_branch("b2");
  ctx.on_response("b2", resp(180));
  auto d = ctx.on_response("b1", resp(603));
  EXPECT_FALSE(d.forward);  // held until b2 ends
  EXPECT_EQ(d.cancel, std::vector<std::string>{"b2"});
  EXPECT_FALSE(ctx.add_branch("b3"));
  auto end = ctx.on_response("b2", resp(487));
  ASSERT_TRUE(end.forward);
  EXPECT_EQ(end.forward->status, 603);
}

TEST_F(ResponseContext, A503IsSentAs500) {  // §16.7 step 6
  response_context ctx(true);
  ctx.add_branch("b1");
  auto d = ctx.on_response("b1", resp(503));
  ASSERT_TRUE(d.forward);
  EXPECT_EQ(d.forward->status, 500);
  EXPECT_FALSE(d.forward->response);
}

TEST_F(ResponseContext, TransportErrorCountsAs503) {  // §8.1.3.1
  response_context ctx(true);
  ctx.add_branch("b1");
  ctx.add_branch("b2");
  EXPECT_FALSE(ctx.on_transport_error("b1").forward);
  auto d = ctx.on_response("b2", resp(604));
  ASSERT_TRUE(d.forward);
  EXPECT_EQ(d.forward->status, 604);
  response_context alone(true);
  alone.add_branch("x");
  auto e = alone.on_transport_error("x");
  ASSERT_TRUE(e.forward);
  EXPECT_EQ(e.forward->status, 500);
}

TEST_F(ResponseContext, ChallengesAreMerged) {  // §16.7 step 7
  response_context ctx(true);
  ctx.add_branch("b1");
  ctx.add_branch("b2");
  ctx.add_branch("b3");
  ctx.on_response("b1", resp(401, "WWW-Authenticate: Digest realm=\"a\", nonce=\"1\"\r\n"));
  ctx.on_response("b2", resp(407, "Proxy-Authenticate: Digest realm=\"b\", nonce=\"2\"\r\n"));
  auto d = ctx.on_response("b3", resp(404));
  ASSERT_TRUE(d.forward);
  ASSERT_TRUE(d.forward->response);
  EXPECT_EQ(d.forward->status, 401);  // preferred within 4xx, first received
  EXPECT_EQ(d.forward->response->header_values("WWW-Authenticate").size(), 1u);
  auto proxy = d.forward->response->header_values("Proxy-Authenticate");
  ASSERT_EQ(proxy.size(), 1u);
  EXPECT_NE(proxy[0].find("realm=\"b\""), std::string::npos);
  EXPECT_TRUE(message::parse(d.forward->response->serialize()).ok());
}

TEST_F(ResponseContext, TimerCCancelsARingingBranchThenGives408) {  // §16.8
  response_context ctx(true);
  ctx.add_branch("b1");
  ctx.on_response("b1", resp(180));
  auto d = ctx.on_branch_timeout("b1");
  EXPECT_EQ(d.cancel, std::vector<std::string>{"b1"});
  EXPECT_FALSE(d.forward);
  auto end = ctx.on_response("b1", resp(487));
  ASSERT_TRUE(end.forward);
  EXPECT_EQ(end.forward->status, 487);
}

TEST_F(ResponseContext, TimeoutWithoutProvisionalIs408) {  // §16.8, §16.7 step 6
  response_context ctx(true);
  ctx.add_branch("b1");
  auto d = ctx.on_branch_timeout("b1");
  ASSERT_TRUE(d.forward);
  EXPECT_EQ(d.forward->status, 408);
  EXPECT_FALSE(d.forward->response);
  EXPECT_TRUE(ctx.done());
}

TEST_F(ResponseContext, UpstreamCancelFansOutAndEndsWith487) {  // §16.10
  response_context ctx(true);
  ctx.add_branch("b1");
  ctx.add_branch("b2");
  ctx.on_response("b1", resp(180));
  auto d = ctx.on_cancel();
  EXPECT_EQ(d.cancel, std::vector<std::string>{"b1"});
  EXPECT_EQ(ctx.pending_branches(), (std::vector<std::string>{"b1", "b2"}));
  auto held = ctx.on_response("b2", resp(100));
  EXPECT_EQ(held.cancel, std::vector<std::string>{"b2"});
  EXPECT_FALSE(ctx.on_response("b1", resp(487)).forward);
  auto end = ctx.on_response("b2", resp(487));
  ASSERT_TRUE(end.forward);
  EXPECT_EQ(end.forward->status, 487);
  EXPECT_FALSE(ctx.add_branch("b3"));
}

TEST_F(ResponseContext, CancelWithNoBranchAnswers487) {
  response_context ctx(true);
  auto d = ctx.on_cancel();
  ASSERT_TRUE(d.forward);
  EXPECT_EQ(d.forward->status, 487);
}

TEST_F(ResponseContext, SerialForkingAsksForTheNextGroup) {  // §16.6 (q-values)
  response_context ctx(true);
  ctx.set_more_targets(true);
  ctx.add_branch("q1");
  auto d = ctx.on_response("q1", resp(480));
  EXPECT_TRUE(d.try_next_targets);
  EXPECT_FALSE(d.forward);
  ctx.set_more_targets(false);
  ASSERT_TRUE(ctx.add_branch("q2"));
  auto end = ctx.on_response("q2", resp(486));
  ASSERT_TRUE(end.forward);
  EXPECT_EQ(end.forward->status, 480);  // same class: the first received stays
  response_context none(true);
  none.set_more_targets(true);
  none.add_branch("a");
  EXPECT_TRUE(none.on_response("a", resp(404)).try_next_targets);
  auto fin = none.finish();
  ASSERT_TRUE(fin.forward);
  EXPECT_EQ(fin.forward->status, 404);
}

TEST_F(ResponseContext, FinishWithoutAnyBranchIs408) {
  response_context ctx(true);
  auto d = ctx.finish();
  ASSERT_TRUE(d.forward);
  EXPECT_EQ(d.forward->status, 408);
  EXPECT_FALSE(ctx.finish().forward);
}

TEST_F(ResponseContext, UnknownBranchAndDuplicatesAreIgnored) {
  response_context ctx(true);
  ctx.add_branch("b1");
  EXPECT_FALSE(ctx.add_branch("b1"));
  EXPECT_FALSE(ctx.on_response("zz", resp(200)).forward);
  ctx.add_branch("b2");
  ctx.on_response("b1", resp(404));
  EXPECT_FALSE(ctx.on_response("b1", resp(404)).forward);  // retransmission
  EXPECT_FALSE(ctx.on_response("b1", resp(200)).forward);  // 2xx after a non-2xx final
}

TEST(BetterFinal, FollowsSection16_7Step6) {
  EXPECT_TRUE(better_final(486, 0));
  EXPECT_TRUE(better_final(600, 302));
  EXPECT_FALSE(better_final(302, 603));
  EXPECT_FALSE(better_final(603, 600));
  EXPECT_TRUE(better_final(302, 404));
  EXPECT_TRUE(better_final(404, 500));
  EXPECT_TRUE(better_final(407, 404));
  EXPECT_FALSE(better_final(404, 401));
  EXPECT_FALSE(better_final(486, 480));
}

} // namespace
