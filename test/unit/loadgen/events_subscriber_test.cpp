// One events subscriber talking to a switch made of the server's own pieces
// (request_parser, accept_websocket, a server ws_session): the upgrade with
// the bearer token, hello and events whole and byte by byte, what it counts
// (delivered, driven, seqs, latency, duplicates, disorder, malformed), a slow
// subscriber's pause, the switch's dropped + 1008, refusals (401) and broken
// handshakes, our own close, and a connection that just ends (1006).
#include "bench/loadgen/events_subscriber.hpp"

#include "protocols/http/request_parser.hpp"
#include "protocols/http/response.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

using namespace centralita;
using namespace centralita::loadgen;

namespace {

constexpr uint64_t stamp_ms = 1795391407418;

http::ws_mask_source test_masks() {
  auto n = std::make_shared<uint8_t>(0);
  return [n](uint8_t* buf, std::size_t len) {
    for (std::size_t i = 0; i < len; ++i) buf[i] = ++*n;
  };
}

subscriber::setup base_setup() {
  subscriber::setup s;
  s.host = "127.0.0.1:8080";
  s.resource = "/events?event=REGISTER";
  s.token = "s3cret";
  s.driven_event = "REGISTER";
  return s;
}

std::array<uint8_t, 16> nonce() {
  std::array<uint8_t, 16> n{};
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<uint8_t>(i * 7 + 1);
  return n;
}

std::string event(uint64_t seq, std::string_view name = "REGISTER", uint64_t ms = stamp_ms) {
  return R"({"type":"event","name":")" + std::string(name) + R"(","seq":)" + std::to_string(seq) +
         R"(,"timestamp":)" + std::to_string(ms) + R"(,"node":"sw1","attributes":{"aor":"u@h"}})";
}

/// The switch's side: reads the upgrade request, answers it, then frames.
struct fake_switch {
  http::request_parser parser;
  http::request req;
  http::ws_session ws;

  /// The 101 for `request_bytes` (checked), and a hello at `hello_seq`.
  std::string accept(std::string_view request_bytes, uint64_t hello_seq) {
    auto o = parser.feed(request_bytes);
    EXPECT_EQ(o.st, http::request_parser::state::complete);
    req = parser.take();
    auto h = http::accept_websocket(req);
    EXPECT_TRUE(h.ok) << h.answer.body;
    std::string out = http::serialize(h.answer, true);
    ws.send_text(R"({"type":"hello","node":"sw1","version":"0.1.0","seq":)" + std::to_string(hello_seq) +
                 R"(,"boot":1795391000000,"replay_size":10000})");
    ws.take_output(out);
    return out;
  }

  std::string text(const std::string& payload) {
    ws.send_text(payload);
    std::string out;
    ws.take_output(out);
    return out;
  }
};

/// Connected and streaming: a subscriber past its hello (seq 10).
struct streaming_pair {
  subscriber sub;
  fake_switch sw;
  delivery_stats stats;
  explicit streaming_pair(subscriber::setup s = base_setup()) : sub(s, nonce(), test_masks()) {
    auto st = sub.on_connected();
    auto up = sw.accept(st.send, 10);
    auto got = sub.on_bytes(up, stamp_ms * 1000, stats);
    EXPECT_TRUE(got.got_hello);
    EXPECT_EQ(sub.state(), subscriber::phase::streaming);
  }
  subscriber::step feed(const std::string& bytes, uint64_t wall_us = stamp_ms * 1000 + 1500) {
    return sub.on_bytes(bytes, wall_us, stats);
  }
};

} // namespace

TEST(events_subscriber, upgrade_hello_and_events) {
  subscriber sub(base_setup(), nonce(), test_masks());
  EXPECT_EQ(sub.state(), subscriber::phase::connecting);
  auto st = sub.on_connected();
  EXPECT_EQ(sub.state(), subscriber::phase::handshaking);
  fake_switch sw;
  std::string wire = sw.accept(st.send, 10);
  ASSERT_NE(sw.req.header_value("Authorization"), nullptr);
  EXPECT_EQ(*sw.req.header_value("Authorization"), "Bearer s3cret");
  EXPECT_EQ(sw.req.target, "/events?event=REGISTER");
  wire += sw.text(event(11)) + sw.text(event(12)) + sw.text(event(13, "EXPIRED"));

  delivery_stats stats;
  auto got = sub.on_bytes(wire, stamp_ms * 1000 + 1500, stats);  // head and frames in one read
  EXPECT_TRUE(got.got_hello);
  EXPECT_FALSE(got.close);
  const auto& o = sub.outcome();
  EXPECT_TRUE(o.upgraded);
  EXPECT_TRUE(o.hello);
  EXPECT_EQ(o.hello_seq, 10u);
  EXPECT_EQ(o.delivered, 3u);
  EXPECT_EQ(o.driven_delivered, 2u);  // EXPIRED is not the driver's kind
  EXPECT_EQ(o.seqs.size(), 3u);
  EXPECT_EQ(o.seqs.count_above(10), 3u);
  EXPECT_EQ(stats.delivered, 3u);
  EXPECT_EQ(stats.delivery.count(), 3u);
  EXPECT_EQ(stats.delivery.max(), 1500u);  // now − the event's timestamp
  EXPECT_TRUE(o.failure.empty());
}

TEST(events_subscriber, byte_by_byte) {
  subscriber sub(base_setup(), nonce(), test_masks());
  fake_switch sw;
  std::string wire = sw.accept(sub.on_connected().send, 5);
  for (uint64_t s = 6; s <= 20; ++s) wire += sw.text(event(s));
  delivery_stats stats;
  bool hello = false;
  for (char c : wire) hello = sub.on_bytes(std::string_view(&c, 1), stamp_ms * 1000, stats).got_hello || hello;
  EXPECT_TRUE(hello);
  EXPECT_EQ(sub.outcome().delivered, 15u);
  EXPECT_EQ(sub.outcome().seqs.ranges().size(), 1u);
}

TEST(events_subscriber, counts_duplicates_disorder_and_junk) {
  streaming_pair p;
  p.feed(p.sw.text(event(12)) + p.sw.text(event(11)) + p.sw.text(event(12)) + p.sw.text("not json") +
         p.sw.text(R"({"type":"event","seq":13})") + p.sw.text(R"({"type":"error","message":"nope"})") +
         p.sw.text(R"({"type":"missed","count":4,"first_seq":1,"last_seq":4})"));
  const auto& o = p.sub.outcome();
  EXPECT_EQ(o.delivered, 3u);
  EXPECT_EQ(o.duplicates, 1u);
  EXPECT_EQ(o.out_of_order, 1u);
  EXPECT_EQ(o.malformed, 2u);
  EXPECT_EQ(o.error_notices, 1u);
  EXPECT_EQ(o.first_error, "nope");
  EXPECT_EQ(o.missed_notices, 1u);
  EXPECT_EQ(o.missed_events, 4u);
  // An event stamped in the future (another clock) counts as 0, not as a wrap.
  p.feed(p.sw.text(event(14, "REGISTER", stamp_ms + 10)), stamp_ms * 1000);
  EXPECT_EQ(p.stats.delivery.min(), 0u);
}

TEST(events_subscriber, slow_one_pauses_after_its_first_event_only) {
  auto s = base_setup();
  s.slow = true;
  streaming_pair p(s);
  auto first = p.feed(p.sw.text(event(11)) + p.sw.text(event(12)));
  EXPECT_TRUE(first.pause);
  EXPECT_EQ(p.sub.outcome().delivered, 2u);  // what was read already counts
  EXPECT_FALSE(p.feed(p.sw.text(event(13))).pause);
  EXPECT_TRUE(p.sub.outcome().slow);
  EXPECT_EQ(p.stats.delivery_slow.count(), 3u);  // its latencies are kept apart
  EXPECT_EQ(p.stats.delivery.count(), 0u);
  streaming_pair fast;
  EXPECT_FALSE(fast.feed(fast.sw.text(event(11))).pause);
}

TEST(events_subscriber, dropped_and_1008) {
  streaming_pair p;
  p.feed(p.sw.text(event(11)));
  p.sw.ws.send_text(R"({"type":"dropped","count":312,"first_seq":12,"last_seq":323})");
  p.sw.ws.send_close(http::close_policy, "client too slow: 312 events dropped");
  std::string wire;
  p.sw.ws.take_output(wire);
  auto st = p.feed(wire);
  EXPECT_TRUE(st.close);
  EXPECT_TRUE(st.settled_change);
  const auto& o = p.sub.outcome();
  EXPECT_EQ(o.dropped_notices, 1u);
  EXPECT_EQ(o.dropped_events, 312u);
  ASSERT_TRUE(o.close_code.has_value());
  EXPECT_EQ(*o.close_code, 1008);
  EXPECT_EQ(o.close_reason, "client too slow: 312 events dropped");
  EXPECT_EQ(p.sub.state(), subscriber::phase::finished);
  // Our echo reaches the switch as a close (masked: its session reads it).
  std::vector<http::ws_session::message> msgs;
  ASSERT_TRUE(p.sw.ws.feed(st.send, msgs).ok());
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, http::ws_session::message::kind::close);
  EXPECT_TRUE(p.sw.ws.finished());
}

TEST(events_subscriber, our_close_is_not_the_switchs) {
  streaming_pair p;
  std::string ours = p.sub.close_stream();
  EXPECT_TRUE(p.sub.closing_by_us());
  std::vector<http::ws_session::message> msgs;
  ASSERT_TRUE(p.sw.ws.feed(ours, msgs).ok());
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].code, 1000);
  std::string echo;
  p.sw.ws.take_output(echo);
  auto st = p.feed(echo);
  EXPECT_TRUE(st.close);
  EXPECT_FALSE(p.sub.outcome().close_code.has_value());
  EXPECT_TRUE(p.sub.close_stream().empty());  // once
}

TEST(events_subscriber, connection_ending_without_close_is_1006) {
  streaming_pair p;
  p.sub.on_disconnected("EOF");
  ASSERT_TRUE(p.sub.outcome().close_code.has_value());
  EXPECT_EQ(*p.sub.outcome().close_code, 1006);
  EXPECT_TRUE(p.sub.outcome().failure.empty());  // it streamed: not a connect failure
}

TEST(events_subscriber, refused_with_its_status) {
  subscriber sub(base_setup(), nonce(), test_masks());
  sub.on_connected();
  delivery_stats stats;
  auto st = sub.on_bytes("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"centralita\"\r\n"
                         "Content-Length: 2\r\n\r\n{}",
                         0, stats);
  EXPECT_TRUE(st.close);
  EXPECT_EQ(sub.outcome().failure, "401");
  EXPECT_EQ(sub.outcome().failure_detail, "Unauthorized: {}");
  // The switch's JSON error says what was wrong.
  subscriber bad(base_setup(), nonce(), test_masks());
  bad.on_connected();
  const std::string body = R"({"error":{"status":400,"message":"unknown event 'REGISTR'"}})";
  bad.on_bytes("HTTP/1.1 400 Bad Request\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body, 0,
               stats);
  EXPECT_EQ(bad.outcome().failure, "400");
  EXPECT_EQ(bad.outcome().failure_detail, "Bad Request: unknown event 'REGISTR'");
  EXPECT_FALSE(sub.outcome().hello);
  EXPECT_EQ(sub.state(), subscriber::phase::finished);
}

TEST(events_subscriber, broken_handshakes) {
  {
    subscriber sub(base_setup(), nonce(), test_masks());
    sub.on_connected();
    delivery_stats stats;
    auto st = sub.on_bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
                           0, stats);
    EXPECT_TRUE(st.close);
    EXPECT_EQ(sub.outcome().failure, "handshake");
    EXPECT_NE(sub.outcome().failure_detail.find("Accept"), std::string::npos);
  }
  {
    subscriber sub(base_setup(), nonce(), test_masks());
    sub.on_connected();
    sub.on_disconnected("EOF");
    EXPECT_EQ(sub.outcome().failure, "handshake");
  }
  {
    // Upgraded, then closed before any hello: not connected.
    subscriber sub(base_setup(), nonce(), test_masks());
    fake_switch sw;
    auto o = sw.parser.feed(sub.on_connected().send);
    ASSERT_EQ(o.st, http::request_parser::state::complete);
    auto h = http::accept_websocket(sw.parser.take());
    delivery_stats stats;
    sub.on_bytes(http::serialize(h.answer, true), 0, stats);
    sub.on_disconnected("EOF");
    EXPECT_EQ(sub.outcome().failure, "handshake");
    EXPECT_FALSE(sub.outcome().hello);
  }
  {
    subscriber sub(base_setup(), nonce(), test_masks());
    sub.fail("refused");
    EXPECT_EQ(sub.outcome().failure, "refused");
    sub.fail("timeout");  // the first cause stays
    EXPECT_EQ(sub.outcome().failure, "refused");
  }
}
