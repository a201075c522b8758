// RFC 3261 §17.1.2 (Figure 6): the non-INVITE client transaction, every transition
// and timer value on both reliabilities, in virtual time.
#include "protocols/sip/transaction/client_non_invite.hpp"

#include "test/unit/protocols/sip/transaction/txn_harness.hpp"

#include <gtest/gtest.h>

using namespace centralita::sip::txn;
using namespace centralita::sip::txn::test;
using namespace std::chrono_literals;

namespace {
using h = harness<client_non_invite>;
constexpr auto udp = reliability::unreliable;
constexpr auto tcp = reliability::reliable;
} // namespace

TEST(client_non_invite, starts_idle) {
  h t(udp);
  EXPECT_EQ(t.m.current(), state::idle);
  EXPECT_TRUE(t.feed(response_received{200}).empty());
  EXPECT_TRUE(t.feed(transport_error{}).empty());
  EXPECT_TRUE(t.fire(timer_id::E).empty());
}

TEST(client_non_invite, request_starts_e_and_f) {
  h u(udp);
  // §17.1.2.2: Timer E = T1 (unreliable only), Timer F = 64*T1.
  EXPECT_EQ(names(u.feed(request_from_tu{})),
            (strings{"send_request", "start_timer(E, 500ms)", "start_timer(F, 32000ms)"}));
  EXPECT_EQ(u.m.current(), state::trying);
  h t(tcp);
  EXPECT_EQ(names(t.feed(request_from_tu{})), (strings{"send_request", "start_timer(F, 32000ms)"}));
}

TEST(client_non_invite, timer_e_doubles_up_to_t2_in_trying) {
  h t(udp);
  t.feed(request_from_tu{});
  for (int64_t iv : {1000, 2000, 4000, 4000, 4000}) {
    EXPECT_EQ(names(t.fire(timer_id::E)),
              (strings{"send_request", "start_timer(E, " + std::to_string(iv) + "ms)"}));
  }
}

TEST(client_non_invite, retransmissions_until_timer_f_udp) {
  h t(udp);
  t.feed(request_from_tu{});
  t.run_all();
  // §17.1.2.2: sends at 0, 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5 s; F at 32 s: 11 in all.
  EXPECT_EQ(t.send_times, (std::vector<int64_t>{0, 500, 1500, 3500, 7500, 11500, 15500, 19500,
                                                23500, 27500, 31500}));
  EXPECT_EQ(t.sends, 11);
  EXPECT_EQ(t.now, 32000);
  EXPECT_EQ(t.terminations, 1);
  // The last transition: timeout (408 for the TU), E cancelled.
  ASSERT_GE(t.all.size(), 3u);
  EXPECT_EQ(to_string(t.all[t.all.size() - 3]), "timeout");
  EXPECT_EQ(to_string(t.all[t.all.size() - 2]), "cancel_timer(E)");
}

TEST(client_non_invite, timer_f_on_tcp) {
  h t(tcp);
  t.feed(request_from_tu{});
  EXPECT_EQ(names(t.fire(timer_id::F)), (strings{"timeout", "terminated"}));
  EXPECT_EQ(t.now, 32000);
  EXPECT_EQ(t.sends, 1);
}

TEST(client_non_invite, custom_timers) {
  timer_config cfg;
  cfg.t1 = 200ms;
  cfg.t2 = 1000ms;
  cfg.t4 = 3000ms;
  h t(udp, cfg);
  EXPECT_EQ(names(t.feed(request_from_tu{})),
            (strings{"send_request", "start_timer(E, 200ms)", "start_timer(F, 12800ms)"}));
  EXPECT_EQ(names(t.fire(timer_id::E)).back(), "start_timer(E, 400ms)");
  EXPECT_EQ(names(t.fire(timer_id::E)).back(), "start_timer(E, 800ms)");
  EXPECT_EQ(names(t.fire(timer_id::E)).back(), "start_timer(E, 1000ms)");
  EXPECT_EQ(names(t.feed(response_received{200})).back(), "start_timer(K, 3000ms)");
}

TEST(client_non_invite, provisional_moves_to_proceeding_and_e_becomes_t2) {
  h t(udp);
  t.feed(request_from_tu{});
  EXPECT_EQ(names(t.feed(response_received{100})), (strings{"pass_to_tu(100)"}));
  EXPECT_EQ(t.m.current(), state::proceeding);
  EXPECT_TRUE(t.running(timer_id::E));
  EXPECT_TRUE(t.running(timer_id::F));
  // §17.1.2.2: in Proceeding, E fires and is reset to T2.
  EXPECT_EQ(names(t.fire(timer_id::E)), (strings{"send_request", "start_timer(E, 4000ms)"}));
  EXPECT_EQ(t.now, 500);
  EXPECT_EQ(names(t.fire(timer_id::E)), (strings{"send_request", "start_timer(E, 4000ms)"}));
  EXPECT_EQ(names(t.feed(response_received{183})), (strings{"pass_to_tu(183)"}));
  t.run_all();  // F ends it
  EXPECT_EQ(t.now, 32000);
  EXPECT_EQ(t.m.current(), state::terminated);
}

TEST(client_non_invite, final_in_trying_completes_with_k) {
  h t(udp);
  t.feed(request_from_tu{});
  EXPECT_EQ(names(t.feed(response_received{200})),
            (strings{"cancel_timer(E)", "cancel_timer(F)", "pass_to_tu(200)",
                     "start_timer(K, 5000ms)"}));
  EXPECT_EQ(t.m.current(), state::completed);
  // Completed absorbs retransmitted responses and transport errors.
  EXPECT_TRUE(t.feed(response_received{200}).empty());
  EXPECT_TRUE(t.feed(response_received{404}).empty());
  EXPECT_TRUE(t.feed(response_received{100}).empty());
  EXPECT_TRUE(t.feed(transport_error{}).empty());
  EXPECT_EQ(names(t.fire(timer_id::K)), (strings{"terminated"}));
  EXPECT_EQ(t.now, 5000);  // Timer K = T4
}

TEST(client_non_invite, final_in_proceeding_completes) {
  h t(udp);
  t.feed(request_from_tu{});
  t.feed(response_received{180});
  EXPECT_EQ(names(t.feed(response_received{404})),
            (strings{"cancel_timer(E)", "cancel_timer(F)", "pass_to_tu(404)",
                     "start_timer(K, 5000ms)"}));
}

TEST(client_non_invite, final_on_tcp_terminates_at_once) {
  for (int status : {200, 302, 486, 503, 699}) {
    h t(tcp);
    t.feed(request_from_tu{});
    // §17.1.2.2: Timer K = 0 on reliable transports.
    EXPECT_EQ(names(t.feed(response_received{status})),
              (strings{"cancel_timer(F)", "pass_to_tu(" + std::to_string(status) + ")",
                       "terminated"}));
  }
}

TEST(client_non_invite, transport_error_in_trying_and_proceeding) {
  h t(udp);
  t.feed(request_from_tu{});
  EXPECT_EQ(names(t.feed(transport_error{})),
            (strings{"transport_failed", "cancel_timer(E)", "cancel_timer(F)", "terminated"}));
  h p(tcp);
  p.feed(request_from_tu{});
  p.feed(response_received{100});
  EXPECT_EQ(names(p.feed(transport_error{})),
            (strings{"transport_failed", "cancel_timer(F)", "terminated"}));
}

TEST(client_non_invite, ignores_foreign_events) {
  h t(udp);
  t.feed(request_from_tu{});
  EXPECT_TRUE(t.feed(request_from_tu{}).empty());
  EXPECT_TRUE(t.feed(response_received{99}).empty());
  EXPECT_TRUE(t.feed(response_received{700}).empty());
  EXPECT_TRUE(t.feed(ack_received{}).empty());
  EXPECT_TRUE(t.feed(request_received{}).empty());
  EXPECT_TRUE(t.feed(response_from_tu{200}).empty());
  EXPECT_TRUE(t.fire(timer_id::K).empty());
  EXPECT_TRUE(t.fire(timer_id::A).empty());
  EXPECT_EQ(t.m.current(), state::trying);
}

TEST(client_non_invite, nothing_after_terminated) {
  h t(tcp);
  t.feed(request_from_tu{});
  t.feed(response_received{200});
  ASSERT_TRUE(t.m.is_terminated());
  EXPECT_TRUE(t.feed(response_received{200}).empty());
  EXPECT_TRUE(t.feed(transport_error{}).empty());
  EXPECT_TRUE(t.fire(timer_id::F).empty());
  EXPECT_EQ(t.terminations, 1);
}

TEST(client_non_invite, vector_overload_appends) {
  client_non_invite m(udp, {});
  std::vector<action> out;
  m.on(request_from_tu{}, out);
  m.on(response_received{200}, out);
  EXPECT_EQ(out.size(), 7u);
}

TEST(client_non_invite, is_small) {
  EXPECT_LE(sizeof(client_non_invite), 32u);
}
