// RFC 3261 §17.1.1 (Figure 5) with RFC 6026 §8.4: the INVITE client transaction,
// every transition and timer value on both reliabilities, in virtual time.
#include "protocols/sip/transaction/client_invite.hpp"

#include "test/unit/protocols/sip/transaction/txn_harness.hpp"

#include <gtest/gtest.h>

using namespace centralita::sip::txn;
using namespace centralita::sip::txn::test;
using namespace std::chrono_literals;

namespace {
using h = harness<client_invite>;
constexpr auto udp = reliability::unreliable;
constexpr auto tcp = reliability::reliable;
} // namespace

TEST(client_invite, starts_idle_and_ignores_everything_but_the_request) {
  h t(udp);
  EXPECT_EQ(t.m.current(), state::idle);
  EXPECT_TRUE(t.feed(response_received{200}).empty());
  EXPECT_TRUE(t.fire(timer_id::A).empty());
  EXPECT_TRUE(t.feed(transport_error{}).empty());
  EXPECT_TRUE(t.feed(request_received{}).empty());
  EXPECT_EQ(t.m.current(), state::idle);
}

TEST(client_invite, request_starts_a_and_b_on_udp) {
  h t(udp);
  // §17.1.1.2: Timer A = T1, Timer B = 64*T1.
  EXPECT_EQ(names(t.feed(request_from_tu{})),
            (strings{"send_request", "start_timer(A, 500ms)", "start_timer(B, 32000ms)"}));
  EXPECT_EQ(t.m.current(), state::calling);
  EXPECT_TRUE(t.feed(request_from_tu{}).empty());  // only once
}

TEST(client_invite, request_starts_only_b_on_tcp) {
  h t(tcp);
  EXPECT_EQ(names(t.feed(request_from_tu{})), (strings{"send_request", "start_timer(B, 32000ms)"}));
}

TEST(client_invite, timer_a_doubles_without_cap) {
  h t(udp);
  t.feed(request_from_tu{});
  // §17.1.1.2: A at 500, 1000, 2000, 4000, 8000, 16000 (no T2 cap for INVITE).
  for (int64_t iv : {1000, 2000, 4000, 8000, 16000, 32000}) {
    auto out = t.fire(timer_id::A);
    EXPECT_EQ(names(out), (strings{"send_request",
                                   "start_timer(A, " + std::to_string(iv) + "ms)"}));
  }
}

TEST(client_invite, retransmissions_until_timer_b_udp) {
  h t(udp);
  t.feed(request_from_tu{});
  t.run_all();
  // Sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; Timer B at 32 s: 7 transmissions.
  EXPECT_EQ(t.send_times, (std::vector<int64_t>{0, 500, 1500, 3500, 7500, 15500, 31500}));
  EXPECT_EQ(t.sends, 7);
  EXPECT_EQ(t.now, 32000);
  EXPECT_EQ(t.m.current(), state::terminated);
  EXPECT_EQ(t.terminations, 1);
}

TEST(client_invite, timer_b_times_out_with_custom_t1) {
  timer_config cfg;
  cfg.t1 = 100ms;
  h t(udp, cfg);
  t.feed(request_from_tu{});
  t.run_until(6300);
  EXPECT_EQ(t.sends, 7);
  // §17.1.1.2: B = 64*T1 = 6.4 s; A (next due at 12.7 s) is cancelled.
  EXPECT_EQ(names(t.fire(timer_id::B)),
            (strings{"timeout", "cancel_timer(A)", "terminated"}));
}

TEST(client_invite, timer_b_on_tcp_times_out_after_one_send) {
  h t(tcp);
  t.feed(request_from_tu{});
  t.run_all();
  EXPECT_EQ(t.sends, 1);
  EXPECT_EQ(t.now, 32000);
  EXPECT_EQ(t.m.current(), state::terminated);
}

TEST(client_invite, provisional_moves_to_proceeding_and_stops_timers) {
  for (auto rel : {udp, tcp}) {
    h t(rel);
    t.feed(request_from_tu{});
    auto out = t.feed(response_received{100});
    if (rel == udp)
      EXPECT_EQ(names(out), (strings{"cancel_timer(A)", "cancel_timer(B)", "pass_to_tu(100)"}));
    else
      EXPECT_EQ(names(out), (strings{"cancel_timer(B)", "pass_to_tu(100)"}));
    EXPECT_EQ(t.m.current(), state::proceeding);
    EXPECT_EQ(names(t.feed(response_received{180})), (strings{"pass_to_tu(180)"}));
    EXPECT_EQ(names(t.feed(response_received{183})), (strings{"pass_to_tu(183)"}));
    EXPECT_EQ(t.m.current(), state::proceeding);
    EXPECT_TRUE(t.due.empty());
    // Figure 5: no transport error edge out of Proceeding; stale timers ignored.
    EXPECT_TRUE(t.feed(transport_error{}).empty());
    EXPECT_TRUE(t.feed(timer_fired{timer_id::B}).empty());
  }
}

TEST(client_invite, failure_in_calling_acks_and_completes_with_timer_d_udp) {
  h t(udp);
  t.feed(request_from_tu{});
  EXPECT_EQ(names(t.feed(response_received{486})),
            (strings{"cancel_timer(A)", "cancel_timer(B)", "send_ack", "pass_to_tu(486)",
                     "start_timer(D, 32000ms)"}));
  EXPECT_EQ(t.m.current(), state::completed);
  // §17.1.1.2: retransmitted finals are ACKed again, not passed up.
  EXPECT_EQ(names(t.feed(response_received{486})), (strings{"send_ack"}));
  EXPECT_EQ(names(t.feed(response_received{603})), (strings{"send_ack"}));
  EXPECT_TRUE(t.feed(response_received{180}).empty());
  EXPECT_TRUE(t.feed(response_received{200}).empty());
  t.run_all();
  EXPECT_EQ(t.now, 32000);  // Timer D = 32 s
  EXPECT_EQ(t.m.current(), state::terminated);
}

TEST(client_invite, timer_d_is_configurable) {
  timer_config cfg;
  cfg.d = 40s;
  h t(udp, cfg);
  t.feed(request_from_tu{});
  auto out = t.feed(response_received{500});
  EXPECT_EQ(names(out).back(), "start_timer(D, 40000ms)");
}

TEST(client_invite, failure_on_tcp_terminates_at_once) {
  h t(tcp);
  t.feed(request_from_tu{});
  t.feed(response_received{180});
  // §17.1.1.2: Timer D = 0 on reliable transports.
  EXPECT_EQ(names(t.feed(response_received{404})),
            (strings{"send_ack", "pass_to_tu(404)", "terminated"}));
  EXPECT_EQ(t.m.current(), state::terminated);
  EXPECT_TRUE(t.feed(response_received{404}).empty());
}

TEST(client_invite, failure_in_proceeding_udp) {
  h t(udp);
  t.feed(request_from_tu{});
  t.feed(response_received{180});
  EXPECT_EQ(names(t.feed(response_received{300})),
            (strings{"send_ack", "pass_to_tu(300)", "start_timer(D, 32000ms)"}));
}

TEST(client_invite, success_moves_to_accepted_with_timer_m) {
  for (auto rel : {udp, tcp}) {
    h t(rel);
    t.feed(request_from_tu{});
    auto out = t.feed(response_received{200});
    // RFC 6026 §8.4: 2xx to the TU, Accepted, Timer M = 64*T1 on every transport.
    strings want = rel == udp ? strings{"cancel_timer(A)", "cancel_timer(B)"}
                              : strings{"cancel_timer(B)"};
    want.push_back("pass_to_tu(200)");
    want.push_back("start_timer(M, 32000ms)");
    EXPECT_EQ(names(out), want);
    EXPECT_EQ(t.m.current(), state::accepted);
    // Further 2xx (retransmissions, other forks) go to the TU; others are absorbed.
    EXPECT_EQ(names(t.feed(response_received{200})), (strings{"pass_to_tu(200)"}));
    EXPECT_EQ(names(t.feed(response_received{202})), (strings{"pass_to_tu(202)"}));
    EXPECT_TRUE(t.feed(response_received{180}).empty());
    EXPECT_TRUE(t.feed(response_received{486}).empty());
    EXPECT_TRUE(t.feed(transport_error{}).empty());
    t.run_all();
    EXPECT_EQ(t.now, 32000);
    EXPECT_EQ(t.m.current(), state::terminated);
    EXPECT_EQ(t.terminations, 1);
  }
}

TEST(client_invite, success_in_proceeding) {
  h t(udp);
  t.feed(request_from_tu{});
  t.feed(response_received{183});
  EXPECT_EQ(names(t.feed(response_received{299})),
            (strings{"pass_to_tu(299)", "start_timer(M, 32000ms)"}));
}

TEST(client_invite, transport_error_in_calling_is_a_503) {
  for (auto rel : {udp, tcp}) {
    h t(rel);
    t.feed(request_from_tu{});
    auto out = t.feed(transport_error{});
    // §17.1.4: inform the TU (503, §8.1.3.1) and terminate.
    strings want{"transport_failed"};
    if (rel == udp) want.push_back("cancel_timer(A)");
    want.push_back("cancel_timer(B)");
    want.push_back("terminated");
    EXPECT_EQ(names(out), want);
    EXPECT_TRUE(t.feed(transport_error{}).empty());
  }
}

TEST(client_invite, transport_error_sending_the_ack_in_completed) {
  h t(udp);
  t.feed(request_from_tu{});
  t.feed(response_received{486});
  EXPECT_EQ(names(t.feed(transport_error{})),
            (strings{"transport_failed", "cancel_timer(D)", "terminated"}));
}

TEST(client_invite, ignores_out_of_range_statuses_and_stale_timers) {
  h t(udp);
  t.feed(request_from_tu{});
  EXPECT_TRUE(t.feed(response_received{0}).empty());
  EXPECT_TRUE(t.feed(response_received{99}).empty());
  EXPECT_TRUE(t.feed(response_received{700}).empty());
  EXPECT_TRUE(t.feed(response_received{-1}).empty());
  EXPECT_TRUE(t.feed(timer_fired{timer_id::D}).empty());
  EXPECT_TRUE(t.feed(timer_fired{timer_id::M}).empty());
  EXPECT_TRUE(t.feed(timer_fired{timer_id::E}).empty());
  EXPECT_TRUE(t.feed(ack_received{}).empty());
  EXPECT_TRUE(t.feed(response_from_tu{200}).empty());
  EXPECT_EQ(t.m.current(), state::calling);
}

TEST(client_invite, nothing_after_terminated) {
  h t(tcp);
  t.feed(request_from_tu{});
  t.feed(response_received{500});
  ASSERT_TRUE(t.m.is_terminated());
  for (event e : {event{request_from_tu{}}, event{response_received{200}},
                  event{timer_fired{timer_id::B}}, event{transport_error{}}})
    EXPECT_TRUE(t.feed(e).empty());
}

TEST(client_invite, is_small) {
  EXPECT_LE(sizeof(client_invite), 32u);
}
