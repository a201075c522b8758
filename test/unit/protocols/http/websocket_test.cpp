// websocket: the accept key (RFC 6455 §1.3's example), handshake checks and
// refusals, and ws_session: messages whole and in pieces, fragments with a
// ping between, close handshakes both ways, every protocol error's close
// code, and the frames send_text writes (each length form).

#include "protocols/http/websocket.hpp"

#include "ws_frames.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::http;
using namespace centralita::http::test;

namespace {

request upgrade_request() {
  request r;
  r.method = "GET";
  r.target = r.path = "/events";
  r.upgrade = true;
  r.headers = {{"Host", "example.com"},
               {"Upgrade", "websocket"},
               {"Connection", "keep-alive, Upgrade"},
               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
               {"Sec-WebSocket-Version", "13"}};
  return r;
}

void set_header(request& r, std::string_view name, std::string value) {
  for (header& h : r.headers)
    if (h.name == name) h.value = std::move(value);
}

void drop_header(request& r, std::string_view name) {
  std::erase_if(r.headers, [&](const header& h) { return h.name == name; });
}

std::vector<server_frame> output_frames(ws_session& s) {
  std::string out;
  s.take_output(out);
  auto frames = decode_server_frames(out);
  EXPECT_TRUE(frames.has_value()) << "undecodable server output";
  return frames.value_or(std::vector<server_frame>{});
}

std::vector<ws_session::message> feed_ok(ws_session& s, std::string_view bytes) {
  std::vector<ws_session::message> msgs;
  const auto r = s.feed(bytes, msgs);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason);
  return msgs;
}

/// Feeds bytes that break the protocol: an error, and our close with `code`.
void expect_close_with(ws_session& s, std::string_view bytes, uint16_t code) {
  std::vector<ws_session::message> msgs;
  const auto r = s.feed(bytes, msgs);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().reason.find(std::to_string(code)), std::string::npos) << r.err().reason;
  EXPECT_TRUE(s.finished());
  EXPECT_TRUE(s.close_sent());
  const auto frames = output_frames(s);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().opcode, 0x8);
  EXPECT_EQ(frames.back().close_code(), code);
  s.send_text("late");  // no-op once closed
  EXPECT_FALSE(s.has_output());
}

} // namespace

TEST(websocket, accept_key_of_rfc6455) {
  EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(websocket, handshake_accepted) {
  const handshake h = accept_websocket(upgrade_request());
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(serialize(h.answer, true),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  request r = upgrade_request();
  set_header(r, "Upgrade", "WebSocket");
  set_header(r, "Connection", "upgrade");
  EXPECT_TRUE(accept_websocket(r).ok);
}

TEST(websocket, handshake_refusals) {
  auto refused = [](const request& r, int status) {
    const handshake h = accept_websocket(r);
    EXPECT_FALSE(h.ok);
    EXPECT_EQ(h.answer.status, status);
    EXPECT_FALSE(h.answer.body.empty());
    return h;
  };
  request r = upgrade_request();
  drop_header(r, "Sec-WebSocket-Key");
  EXPECT_NE(refused(r, 400).answer.body.find("Sec-WebSocket-Key"), std::string::npos);
  r = upgrade_request();
  set_header(r, "Sec-WebSocket-Key", "c2hvcnQ=");  // base64 of 5 bytes
  refused(r, 400);
  r = upgrade_request();
  set_header(r, "Sec-WebSocket-Version", "8");
  const handshake v = refused(r, 426);
  ASSERT_NE(find_header(v.answer.headers, "Sec-WebSocket-Version"), nullptr);
  EXPECT_EQ(*find_header(v.answer.headers, "Sec-WebSocket-Version"), "13");
  r = upgrade_request();
  drop_header(r, "Sec-WebSocket-Version");
  refused(r, 400);
  r = upgrade_request();
  r.method = "POST";
  refused(r, 400);
  r = upgrade_request();
  r.http_minor = 0;
  refused(r, 400);
  r = upgrade_request();
  drop_header(r, "Upgrade");
  refused(r, 400);
  r = upgrade_request();
  set_header(r, "Connection", "keep-alive");
  refused(r, 400);
}

TEST(websocket, text_message_whole_and_in_pieces) {
  const std::string f = client_frame(0x1, "héllo wörld");
  ws_session whole;
  const auto m = feed_ok(whole, f);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].type, ws_session::message::kind::text);
  EXPECT_EQ(m[0].data, "héllo wörld");
  EXPECT_FALSE(whole.has_output());

  ws_session bytewise;
  std::vector<ws_session::message> got;
  for (char c : f) {
    ASSERT_TRUE(bytewise.feed(std::string_view(&c, 1), got).ok());
    ASSERT_TRUE(bytewise.feed("", got).ok());
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, "héllo wörld");
}

TEST(websocket, fragments_with_a_ping_between) {
  ws_session s;
  const std::string bytes = client_frame(0x1, "frag", false) + client_frame(0x9, "are you there?") +
                            client_frame(0x0, "men", false, true, 0x01020304) +
                            client_frame(0x0, "ted", true, true, 0xdeadbeef);
  const auto m = feed_ok(s, bytes);
  ASSERT_EQ(m.size(), 1u);  // the ping is not a message
  EXPECT_EQ(m[0].data, "fragmented");
  EXPECT_TRUE(s.has_output());
  const auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, 0xA);  // §5.5.3: the pong echoes the ping
  EXPECT_EQ(frames[0].payload, "are you there?");
}

TEST(websocket, binary_and_pong) {
  ws_session s;
  const std::string bin("\x00\x01\xff\xfe", 4);
  const auto m = feed_ok(s, client_frame(0x2, bin) + client_frame(0xA, "p"));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].type, ws_session::message::kind::binary);
  EXPECT_EQ(m[0].data, bin);
  EXPECT_EQ(m[1].type, ws_session::message::kind::pong);
  EXPECT_EQ(m[1].data, "p");
}

TEST(websocket, client_close_is_echoed) {
  ws_session s;
  const auto m = feed_ok(s, client_frame(0x8, close_payload(1000, "bye")) + client_frame(0x1, "ignored"));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].type, ws_session::message::kind::close);
  EXPECT_EQ(m[0].code, 1000);
  EXPECT_EQ(m[0].data, "bye");
  EXPECT_TRUE(s.close_received());
  EXPECT_TRUE(s.close_sent());
  EXPECT_TRUE(s.finished());
  const auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, 0x8);
  EXPECT_EQ(frames[0].close_code(), 1000);
  s.send_text("late");
  s.send_close(1001, "again");
  EXPECT_FALSE(s.has_output());
  EXPECT_TRUE(feed_ok(s, client_frame(0x1, "more")).empty());
}

TEST(websocket, close_without_code_is_1005) {
  ws_session s;
  const auto m = feed_ok(s, client_frame(0x8, ""));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].code, 1005);
  EXPECT_TRUE(s.finished());
}

TEST(websocket, server_close_waits_for_the_peer) {
  ws_session s;
  s.send_close(close_going_away, "restart");
  EXPECT_TRUE(s.close_sent());
  EXPECT_FALSE(s.finished());
  auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].close_code(), 1001);
  EXPECT_EQ(frames[0].payload.substr(2), "restart");
  const auto m = feed_ok(s, client_frame(0x8, close_payload(1001)));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(s.finished());
  EXPECT_FALSE(s.has_output());  // no second close
}

TEST(websocket, close_reason_is_cut_at_a_character) {
  ws_session s;
  std::string reason(122, 'a');
  reason += "é";  // bytes 122 and 123: the second would be the 124th
  s.send_close(close_normal, reason);
  const auto frames = output_frames(s);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload.substr(2), std::string(122, 'a'));
}

TEST(websocket, unmasked_frame_is_1002) {
  ws_session s;
  expect_close_with(s, client_frame(0x1, "hi", true, false), close_protocol_error);
}

TEST(websocket, other_protocol_errors_are_1002) {
  {
    ws_session s;  // reserved opcode
    expect_close_with(s, client_frame(0x3, "x"), close_protocol_error);
  }
  {
    ws_session s;  // RSV1 without an extension
    std::string f = client_frame(0x1, "x");
    f[0] = static_cast<char>(f[0] | 0x40);
    expect_close_with(s, f, close_protocol_error);
  }
  {
    ws_session s;  // continuation without a start
    expect_close_with(s, client_frame(0x0, "x"), close_protocol_error);
  }
  {
    ws_session s;  // control frame over 125 bytes (a frame-header error in wslay)
    expect_close_with(s, client_frame(0x9, std::string(126, 'p')), close_protocol_error);
  }
  {
    ws_session s;  // fragmented control frame
    expect_close_with(s, client_frame(0x9, "p", false), close_protocol_error);
  }
  {
    ws_session s;  // a length not in its shortest form
    expect_close_with(s, client_frame(0x1, "short", true, true, 1, 2), close_protocol_error);
  }
  {
    ws_session s;  // close code 1005 may not be sent
    expect_close_with(s, client_frame(0x8, close_payload(1005)), close_protocol_error);
  }
}

TEST(websocket, oversized_message_is_1009) {
  ws_session s(ws_session::options{.max_message = 16});
  EXPECT_EQ(feed_ok(s, client_frame(0x1, std::string(16, 'x'))).size(), 1u);
  // Over the limit across fragments too, refused at the frame header.
  expect_close_with(s, client_frame(0x1, std::string(10, 'x'), false) + client_frame(0x0, std::string(7, 'x')),
                    close_too_big);
}

TEST(websocket, invalid_utf8_is_1007) {
  ws_session s;
  // A character split across fragments is fine.
  const auto m = feed_ok(s, client_frame(0x1, "\xc3", false) + client_frame(0x0, "\xa9"));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].data, "é");
  expect_close_with(s, client_frame(0x1, "ok \xff\xfe"), close_invalid_payload);
}

TEST(websocket, truncated_utf8_at_the_end_is_1007) {
  ws_session s;
  expect_close_with(s, client_frame(0x1, "caf\xc3"), close_invalid_payload);
}

TEST(websocket, send_text_length_forms) {
  for (std::size_t n : {0u, 1u, 125u, 126u, 65535u, 65536u, 70000u}) {
    ws_session s;
    const std::string payload(n, 'a' + static_cast<char>(n % 26));
    s.send_text(payload);
    EXPECT_TRUE(s.has_output());
    std::string out;
    s.take_output(out);
    const std::size_t header = n < 126 ? 2 : n <= 0xFFFF ? 4 : 10;
    EXPECT_EQ(out.size(), header + n) << n;
    const auto frames = decode_server_frames(out);
    ASSERT_TRUE(frames.has_value()) << n;
    ASSERT_EQ(frames->size(), 1u);
    EXPECT_TRUE((*frames)[0].fin);
    EXPECT_EQ((*frames)[0].opcode, 0x1);
    EXPECT_EQ((*frames)[0].payload, payload);
    EXPECT_FALSE(s.has_output());
  }
}

TEST(websocket, output_keeps_queue_order) {
  ws_session s;
  (void)feed_ok(s, client_frame(0x9, "1"));  // a pong is queued, not yet taken
  s.send_text("after the pong");
  s.send_ping("2");
  s.send_text("after the ping");
  std::string out = "prefix";
  s.take_output(out);  // appends
  ASSERT_EQ(out.substr(0, 6), "prefix");
  const auto frames = decode_server_frames(std::string_view(out).substr(6));
  ASSERT_TRUE(frames.has_value());
  ASSERT_EQ(frames->size(), 4u);
  EXPECT_EQ((*frames)[0].opcode, 0xA);
  EXPECT_EQ((*frames)[1].payload, "after the pong");
  EXPECT_EQ((*frames)[2].opcode, 0x9);
  EXPECT_EQ((*frames)[2].payload, "2");
  EXPECT_EQ((*frames)[3].payload, "after the ping");
}
