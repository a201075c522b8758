// RFC 3261 §17.2.1 (Figure 7) with RFC 6026 §8.5-§8.7: the INVITE server
// transaction, every transition and timer value on both reliabilities.
#include "protocols/sip/transaction/server_invite.hpp"

#include "test/unit/protocols/sip/transaction/txn_harness.hpp"

#include <gtest/gtest.h>

using namespace centralita::sip::txn;
using namespace centralita::sip::txn::test;
using namespace std::chrono_literals;

namespace {
using h = harness<server_invite>;
constexpr auto udp = reliability::unreliable;
constexpr auto tcp = reliability::reliable;
} // namespace

TEST(server_invite, invite_goes_to_the_tu) {
  h t(udp);
  EXPECT_TRUE(t.feed(ack_received{}).empty());
  EXPECT_TRUE(t.feed(response_from_tu{100}).empty());
  EXPECT_EQ(names(t.feed(request_received{})), (strings{"pass_to_tu(0)"}));
  EXPECT_EQ(t.m.current(), state::proceeding);
  // §17.2.1: a retransmission before any response is absorbed.
  EXPECT_TRUE(t.feed(request_received{}).empty());
}

TEST(server_invite, provisionals_stay_in_proceeding_and_are_resent_on_retransmission) {
  h t(udp);
  t.feed(request_received{});
  EXPECT_EQ(names(t.feed(response_from_tu{100})), (strings{"send_response"}));
  EXPECT_EQ(names(t.feed(response_from_tu{180})), (strings{"send_response"}));
  EXPECT_EQ(t.m.current(), state::proceeding);
  EXPECT_EQ(names(t.feed(request_received{})), (strings{"send_response"}));
  EXPECT_TRUE(t.due.empty());
  EXPECT_TRUE(t.feed(ack_received{}).empty());
}

TEST(server_invite, failure_completes_with_g_and_h_udp) {
  h t(udp);
  t.feed(request_received{});
  t.feed(response_from_tu{180});
  // §17.2.1: G = T1 (unreliable), H = 64*T1.
  EXPECT_EQ(names(t.feed(response_from_tu{486})),
            (strings{"send_response", "start_timer(G, 500ms)", "start_timer(H, 32000ms)"}));
  EXPECT_EQ(t.m.current(), state::completed);
  EXPECT_EQ(names(t.feed(request_received{})), (strings{"send_response"}));
  EXPECT_TRUE(t.feed(response_from_tu{200}).empty());
  EXPECT_TRUE(t.feed(response_from_tu{500}).empty());
  // §17.2.1: G doubles up to T2.
  for (int64_t iv : {1000, 2000, 4000, 4000})
    EXPECT_EQ(names(t.fire(timer_id::G)),
              (strings{"send_response", "start_timer(G, " + std::to_string(iv) + "ms)"}));
}

TEST(server_invite, timer_h_without_ack_udp) {
  h t(udp);
  t.feed(request_received{});
  t.feed(response_from_tu{404});
  int before = t.sends;
  t.run_all();
  // Re-sent at 0.5, 1.5, 3.5, 7.5, 11.5, ..., 31.5 s: 10 retransmissions, then H.
  EXPECT_EQ(t.sends - before, 10);
  EXPECT_EQ(t.now, 32000);
  ASSERT_GE(t.all.size(), 3u);
  EXPECT_EQ(to_string(t.all[t.all.size() - 3]), "timeout");
  EXPECT_EQ(to_string(t.all[t.all.size() - 2]), "cancel_timer(G)");
  EXPECT_EQ(t.terminations, 1);
}

TEST(server_invite, timer_h_without_ack_tcp) {
  h t(tcp);
  t.feed(request_received{});
  EXPECT_EQ(names(t.feed(response_from_tu{603})),
            (strings{"send_response", "start_timer(H, 32000ms)"}));
  EXPECT_EQ(names(t.fire(timer_id::H)), (strings{"timeout", "terminated"}));
  EXPECT_EQ(t.now, 32000);
}

TEST(server_invite, ack_confirms_with_timer_i_udp) {
  h t(udp);
  t.feed(request_received{});
  t.feed(response_from_tu{486});
  t.fire(timer_id::G);
  EXPECT_EQ(names(t.feed(ack_received{})),
            (strings{"cancel_timer(G)", "cancel_timer(H)", "start_timer(I, 5000ms)"}));  // I = T4
  EXPECT_EQ(t.m.current(), state::confirmed);
  // §17.2.1: Confirmed absorbs ACKs and INVITE retransmissions.
  EXPECT_TRUE(t.feed(ack_received{}).empty());
  EXPECT_TRUE(t.feed(request_received{}).empty());
  EXPECT_TRUE(t.feed(transport_error{}).empty());
  EXPECT_TRUE(t.feed(response_from_tu{486}).empty());
  int64_t acked = t.now;
  EXPECT_EQ(names(t.fire(timer_id::I)), (strings{"terminated"}));
  EXPECT_EQ(t.now - acked, 5000);
}

TEST(server_invite, ack_on_tcp_terminates_at_once) {
  h t(tcp);
  t.feed(request_received{});
  t.feed(response_from_tu{486});
  // §17.2.1: Timer I = 0 on reliable transports.
  EXPECT_EQ(names(t.feed(ack_received{})), (strings{"cancel_timer(H)", "terminated"}));
}

TEST(server_invite, custom_t4_for_timer_i) {
  timer_config cfg;
  cfg.t4 = 2500ms;
  h t(udp, cfg);
  t.feed(request_received{});
  t.feed(response_from_tu{500});
  EXPECT_EQ(names(t.feed(ack_received{})).back(), "start_timer(I, 2500ms)");
}

TEST(server_invite, success_moves_to_accepted_with_timer_l) {
  for (auto rel : {udp, tcp}) {
    h t(rel);
    t.feed(request_received{});
    t.feed(response_from_tu{180});
    // RFC 6026 §8.5: 2xx sent, Accepted, Timer L = 64*T1 on every transport.
    EXPECT_EQ(names(t.feed(response_from_tu{200})),
              (strings{"send_response", "start_timer(L, 32000ms)"}));
    EXPECT_EQ(t.m.current(), state::accepted);
    // RFC 6026 §8.7: the TU's 2xx retransmissions pass; INVITE retransmissions are
    // absorbed; an ACK goes to the TU; other responses are dropped.
    EXPECT_EQ(names(t.feed(response_from_tu{200})), (strings{"send_response"}));
    EXPECT_TRUE(t.feed(request_received{}).empty());
    EXPECT_EQ(names(t.feed(ack_received{})), (strings{"pass_to_tu(0)"}));
    EXPECT_TRUE(t.feed(response_from_tu{180}).empty());
    EXPECT_TRUE(t.feed(response_from_tu{486}).empty());
    EXPECT_TRUE(t.feed(transport_error{}).empty());
    t.run_all();
    EXPECT_EQ(t.now, 32000);
    EXPECT_EQ(t.m.current(), state::terminated);
    EXPECT_EQ(t.terminations, 1);
  }
}

TEST(server_invite, transport_errors) {
  h p(udp);
  p.feed(request_received{});
  EXPECT_EQ(names(p.feed(transport_error{})), (strings{"transport_failed", "terminated"}));
  h c(udp);
  c.feed(request_received{});
  c.feed(response_from_tu{500});
  EXPECT_EQ(names(c.feed(transport_error{})),
            (strings{"transport_failed", "cancel_timer(G)", "cancel_timer(H)", "terminated"}));
  EXPECT_TRUE(c.feed(request_received{}).empty());
  EXPECT_TRUE(c.feed(ack_received{}).empty());
}

TEST(server_invite, ignores_foreign_events) {
  h t(udp);
  EXPECT_TRUE(t.feed(transport_error{}).empty());
  t.feed(request_received{});
  EXPECT_TRUE(t.feed(response_from_tu{0}).empty());
  EXPECT_TRUE(t.feed(response_from_tu{700}).empty());
  EXPECT_TRUE(t.feed(response_received{200}).empty());
  EXPECT_TRUE(t.feed(request_from_tu{}).empty());
  for (auto id : {timer_id::G, timer_id::H, timer_id::I, timer_id::L, timer_id::A})
    EXPECT_TRUE(t.fire(id).empty());
  EXPECT_EQ(t.m.current(), state::proceeding);
}

TEST(server_invite, is_small) {
  EXPECT_LE(sizeof(server_invite), 32u);
}
