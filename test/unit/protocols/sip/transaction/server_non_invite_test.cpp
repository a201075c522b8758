// RFC 3261 §17.2.2 (Figure 8): the non-INVITE server transaction, every transition
// and timer value on both reliabilities, in virtual time.
#include "protocols/sip/transaction/server_non_invite.hpp"

#include "test/unit/protocols/sip/transaction/txn_harness.hpp"

#include <gtest/gtest.h>

using namespace centralita::sip::txn;
using namespace centralita::sip::txn::test;
using namespace std::chrono_literals;

namespace {
using h = harness<server_non_invite>;
constexpr auto udp = reliability::unreliable;
constexpr auto tcp = reliability::reliable;
} // namespace

TEST(server_non_invite, request_goes_to_the_tu_and_retransmissions_are_absorbed_in_trying) {
  h t(udp);
  EXPECT_TRUE(t.feed(response_from_tu{200}).empty());  // idle: nothing to answer
  EXPECT_EQ(names(t.feed(request_received{})), (strings{"pass_to_tu(0)"}));
  EXPECT_EQ(t.m.current(), state::trying);
  EXPECT_TRUE(t.feed(request_received{}).empty());  // §17.2.2: discarded in Trying
  EXPECT_TRUE(t.feed(transport_error{}).empty());   // Figure 8: nothing sent yet
  EXPECT_EQ(t.m.current(), state::trying);
}

TEST(server_non_invite, provisional_moves_to_proceeding) {
  h t(udp);
  t.feed(request_received{});
  EXPECT_EQ(names(t.feed(response_from_tu{100})), (strings{"send_response"}));
  EXPECT_EQ(t.m.current(), state::proceeding);
  // §17.2.2: retransmissions in Proceeding re-send the last provisional.
  EXPECT_EQ(names(t.feed(request_received{})), (strings{"send_response"}));
  EXPECT_EQ(names(t.feed(response_from_tu{183})), (strings{"send_response"}));
  EXPECT_EQ(t.m.current(), state::proceeding);
}

TEST(server_non_invite, final_completes_with_timer_j_udp) {
  for (bool via_proceeding : {false, true}) {
    h t(udp);
    t.feed(request_received{});
    if (via_proceeding) t.feed(response_from_tu{100});
    EXPECT_EQ(names(t.feed(response_from_tu{200})),
              (strings{"send_response", "start_timer(J, 32000ms)"}));  // J = 64*T1
    EXPECT_EQ(t.m.current(), state::completed);
    // §17.2.2: retransmissions re-send the final; further TU responses are discarded.
    EXPECT_EQ(names(t.feed(request_received{})), (strings{"send_response"}));
    EXPECT_TRUE(t.feed(response_from_tu{500}).empty());
    EXPECT_TRUE(t.feed(response_from_tu{180}).empty());
    t.run_all();
    EXPECT_EQ(t.now, 32000);
    EXPECT_EQ(t.m.current(), state::terminated);
    EXPECT_EQ(t.terminations, 1);
  }
}

TEST(server_non_invite, final_on_tcp_terminates_at_once) {
  for (int status : {200, 404, 699}) {
    h t(tcp);
    t.feed(request_received{});
    // §17.2.2: Timer J = 0 on reliable transports.
    EXPECT_EQ(names(t.feed(response_from_tu{status})), (strings{"send_response", "terminated"}));
  }
}

TEST(server_non_invite, timer_j_follows_t1) {
  timer_config cfg;
  cfg.t1 = 250ms;
  h t(udp, cfg);
  t.feed(request_received{});
  EXPECT_EQ(names(t.feed(response_from_tu{202})).back(), "start_timer(J, 16000ms)");
}

TEST(server_non_invite, transport_errors) {
  h p(udp);
  p.feed(request_received{});
  p.feed(response_from_tu{100});
  // §17.2.4: inform the TU, terminate.
  EXPECT_EQ(names(p.feed(transport_error{})), (strings{"transport_failed", "terminated"}));
  h c(udp);
  c.feed(request_received{});
  c.feed(response_from_tu{486});
  EXPECT_EQ(names(c.feed(transport_error{})),
            (strings{"transport_failed", "cancel_timer(J)", "terminated"}));
  EXPECT_TRUE(c.feed(request_received{}).empty());
}

TEST(server_non_invite, ignores_foreign_events) {
  h t(udp);
  t.feed(request_received{});
  EXPECT_TRUE(t.feed(response_from_tu{99}).empty());
  EXPECT_TRUE(t.feed(response_from_tu{700}).empty());
  EXPECT_TRUE(t.feed(ack_received{}).empty());
  EXPECT_TRUE(t.feed(response_received{200}).empty());
  EXPECT_TRUE(t.feed(request_from_tu{}).empty());
  EXPECT_TRUE(t.fire(timer_id::J).empty());
  EXPECT_EQ(t.m.current(), state::trying);
}

TEST(server_non_invite, is_small) {
  EXPECT_LE(sizeof(server_non_invite), 32u);
}
