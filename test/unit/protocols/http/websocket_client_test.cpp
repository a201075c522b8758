// websocket, client role: the key (RFC 6455 §4.1's example), the upgrade
// request as the server's parser and accept_websocket read it, the server's
// answer read back (whole, byte by byte, refused, invalid in each way §4.1
// lists), and a client ws_session talking to a server ws_session: masked
// frames both ways round (§5.3), pings, closes from either end, and a masked
// frame from the server refused with 1002.

#include "protocols/http/request_parser.hpp"
#include "protocols/http/response.hpp"
#include "protocols/http/websocket.hpp"

#include "ws_frames.hpp"

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::http;
using namespace centralita::http::test;

namespace {

// §4.1's example nonce: "the sample nonce".
constexpr std::array<uint8_t, 16> sample_nonce = {'t', 'h', 'e', ' ', 's', 'a', 'm', 'p',
                                                  'l', 'e', ' ', 'n', 'o', 'n', 'c', 'e'};
constexpr std::string_view sample_key = "dGhlIHNhbXBsZSBub25jZQ==";

/// Masking keys 1, 2, 3...: predictable here, so that tests can see each
/// frame gets its own.
ws_mask_source counting_masks() {
  auto next = std::make_shared<uint32_t>(0);
  return [next](uint8_t* buf, std::size_t len) {
    ++*next;
    for (std::size_t i = 0; i < len; ++i) buf[i] = static_cast<uint8_t>(*next >> (8 * (i % 4)));
  };
}

ws_session client_session(std::size_t max_message = 65536) {
  ws_session::options o;
  o.max_message = max_message;
  o.role = ws_role::client;
  o.mask_source = counting_masks();
  return ws_session(std::move(o));
}

struct client_frame_read {
  bool fin = false;
  uint8_t opcode = 0;
  std::array<uint8_t, 4> key{};
  std::string payload;  // unmasked
};

/// Decodes what a client wrote: every frame masked, lengths in their
/// shortest form; nullopt otherwise.
std::optional<std::vector<client_frame_read>> decode_client_frames(std::string_view bytes) {
  std::vector<client_frame_read> out;
  while (!bytes.empty()) {
    if (bytes.size() < 2) return std::nullopt;
    const auto b0 = static_cast<uint8_t>(bytes[0]);
    const auto b1 = static_cast<uint8_t>(bytes[1]);
    if ((b0 & 0x70) != 0 || (b1 & 0x80) == 0) return std::nullopt;  // RSV set, or not masked
    std::size_t pos = 2;
    uint64_t n = b1 & 0x7F;
    if (n == 126) {
      if (bytes.size() < 4) return std::nullopt;
      n = (uint64_t(uint8_t(bytes[2])) << 8) | uint8_t(bytes[3]);
      if (n < 126) return std::nullopt;
      pos = 4;
    } else if (n == 127) {
      if (bytes.size() < 10) return std::nullopt;
      n = 0;
      for (int i = 0; i < 8; ++i) n = (n << 8) | uint8_t(bytes[2 + i]);
      if (n <= 0xFFFF) return std::nullopt;
      pos = 10;
    }
    if (bytes.size() < pos + 4 + n) return std::nullopt;
    client_frame_read f;
    f.fin = (b0 & 0x80) != 0;
    f.opcode = b0 & 0x0F;
    for (int i = 0; i < 4; ++i) f.key[i] = static_cast<uint8_t>(bytes[pos + i]);
    for (uint64_t i = 0; i < n; ++i) f.payload.push_back(static_cast<char>(bytes[pos + 4 + i] ^ f.key[i % 4]));
    out.push_back(std::move(f));
    bytes.remove_prefix(pos + 4 + n);
  }
  return out;
}

std::string take(ws_session& s) {
  std::string out;
  s.take_output(out);
  return out;
}

std::vector<ws_session::message> feed_ok(ws_session& s, std::string_view bytes) {
  std::vector<ws_session::message> msgs;
  const auto r = s.feed(bytes, msgs);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason);
  return msgs;
}

std::string server_answer(std::string_view key) {
  request req;
  req.method = "GET";
  req.headers = {{"Upgrade", "websocket"},
                 {"Connection", "Upgrade"},
                 {"Sec-WebSocket-Key", std::string(key)},
                 {"Sec-WebSocket-Version", "13"}};
  const handshake h = accept_websocket(req);
  EXPECT_TRUE(h.ok);
  return serialize(h.answer, true);
}

handshake_reply read_all(std::string_view bytes) { return read_handshake_reply(bytes, sample_key); }

} // namespace

TEST(websocket_client, key_of_rfc6455) { EXPECT_EQ(websocket_key(sample_nonce), sample_key); }

TEST(websocket_client, upgrade_request_is_what_a_server_accepts) {
  client_handshake_request cr;
  cr.host = "127.0.0.1:8080";
  cr.resource = "/events?event=REGISTER&aor=bob%40example.com";
  cr.headers = {{"Authorization", "Bearer s3cret"}};
  auto bytes = websocket_upgrade_request(cr, sample_key);
  ASSERT_TRUE(bytes.ok()) << bytes.err().reason;
  EXPECT_EQ(bytes->rfind("GET /events?event=REGISTER&aor=bob%40example.com HTTP/1.1\r\n", 0), 0u);

  request_parser p;
  const auto o = p.feed(*bytes);
  ASSERT_EQ(o.st, request_parser::state::complete);
  EXPECT_EQ(o.consumed, bytes->size());
  const request req = p.take();
  EXPECT_TRUE(req.upgrade);
  EXPECT_EQ(req.path, "/events");
  ASSERT_NE(req.query_value("aor"), nullptr);
  EXPECT_EQ(*req.query_value("aor"), "bob@example.com");
  ASSERT_NE(req.header_value("Host"), nullptr);
  EXPECT_EQ(*req.header_value("Host"), "127.0.0.1:8080");
  ASSERT_NE(req.header_value("Authorization"), nullptr);
  EXPECT_EQ(*req.header_value("Authorization"), "Bearer s3cret");
  const handshake h = accept_websocket(req);
  ASSERT_TRUE(h.ok) << h.answer.body;
  ASSERT_NE(find_header(h.answer.headers, "Sec-WebSocket-Accept"), nullptr);
  EXPECT_EQ(*find_header(h.answer.headers, "Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(websocket_client, upgrade_request_refuses_what_would_break_it) {
  client_handshake_request cr;
  cr.host = "h:1";
  cr.resource = "/events";
  EXPECT_TRUE(websocket_upgrade_request(cr, sample_key).ok());
  cr.resource = "";
  auto root = websocket_upgrade_request(cr, sample_key);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->rfind("GET / HTTP/1.1\r\n", 0), 0u);  // §3: an empty path is "/"
  auto refused = [](client_handshake_request r) {
    auto b = websocket_upgrade_request(r, sample_key);
    EXPECT_FALSE(b.ok());
    return b.ok() ? std::string() : b.err().reason;
  };
  cr.resource = "events";
  refused(cr);
  cr.resource = "/a b";
  refused(cr);
  cr.resource = "/events";
  cr.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  refused(cr);
  cr.headers = {{"Bad Name", "v"}};
  refused(cr);
  cr.headers = {};
  cr.host = "";
  EXPECT_NE(refused(cr).find("host"), std::string::npos);
}

TEST(websocket_client, accepted_answer_whole_and_byte_by_byte) {
  const std::string answer = server_answer(sample_key);
  const std::string frames = "\x81\x02hi";
  const handshake_reply whole = read_all(answer + frames);
  ASSERT_EQ(whole.st, handshake_reply::state::upgraded) << whole.reason;
  EXPECT_EQ(whole.status, 101);
  EXPECT_EQ(whole.consumed, answer.size());  // the frames are not part of the head

  std::string got;
  for (std::size_t i = 0; i + 1 < answer.size(); ++i) {
    got.push_back(answer[i]);
    ASSERT_EQ(read_all(got).st, handshake_reply::state::need_more) << "at byte " << i;
  }
  got.push_back(answer.back());
  EXPECT_EQ(read_all(got).st, handshake_reply::state::upgraded);
}

TEST(websocket_client, lenient_where_rfc9112_allows) {
  const std::string accept = websocket_accept(sample_key);
  // Bare LFs (§2.2), an obs-fold continuing Connection (§5.2), tokens in any
  // case, a 100 Continue before the answer (RFC 9110 §15.2), no reason phrase.
  const std::string answer = "HTTP/1.1 100 Continue\r\n\r\n"
                             "HTTP/1.1 101\n"
                             "upgrade: WebSocket\n"
                             "Connection: keep-alive,\n"
                             "\tUPGRADE\n"
                             "sec-websocket-accept: " + accept + "\n\n";
  const handshake_reply r = read_all(answer);
  ASSERT_EQ(r.st, handshake_reply::state::upgraded) << r.reason;
  EXPECT_EQ(r.consumed, answer.size());
}

TEST(websocket_client, refusals_carry_their_status) {
  const std::string body = R"({"error":{"status":401,"message":"token required"}})";
  const std::string answer = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"centralita\"\r\n"
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  const handshake_reply r = read_all(answer);
  EXPECT_EQ(r.st, handshake_reply::state::refused);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "Unauthorized");
  EXPECT_EQ(r.consumed, answer.size() - body.size());  // the body follows the head
  ASSERT_NE(find_header(r.headers, "WWW-Authenticate"), nullptr);
  EXPECT_EQ(read_all("HTTP/1.0 403 Forbidden\r\n\r\n").status, 403);
  EXPECT_EQ(read_all("HTTP/1.1 400 Bad Request\r\n\r\n").st, handshake_reply::state::refused);
}

TEST(websocket_client, invalid_answers) {
  const std::string accept = websocket_accept(sample_key);
  auto invalid = [](const std::string& bytes, std::string_view why) {
    const handshake_reply r = read_all(bytes);
    EXPECT_EQ(r.st, handshake_reply::state::invalid) << bytes;
    EXPECT_NE(r.reason.find(why), std::string::npos) << r.reason;
  };
  const std::string upgrade = "Upgrade: websocket\r\n";
  const std::string connection = "Connection: Upgrade\r\n";
  const std::string good_accept = "Sec-WebSocket-Accept: " + accept + "\r\n";
  const std::string line = "HTTP/1.1 101 Switching Protocols\r\n";
  invalid(line + connection + good_accept + "\r\n", "Upgrade");
  invalid(line + upgrade + good_accept + "\r\n", "Connection");
  invalid(line + upgrade + connection + "\r\n", "Sec-WebSocket-Accept");
  invalid(line + upgrade + connection + "Sec-WebSocket-Accept: x3JJHMbDL1EzLkh9GBhXDw==\r\n\r\n", "match");
  invalid(line + upgrade + connection + good_accept + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
          "extension");
  invalid(line + upgrade + connection + good_accept + "Sec-WebSocket-Protocol: chat\r\n\r\n", "subprotocol");
  invalid("HTTP/1.0 101 Switching Protocols\r\n" + upgrade + connection + good_accept + "\r\n", "HTTP/1.0");
  invalid("HTTP/2 101\r\n\r\n", "status line");
  invalid("HTTP/2.0 101 Switching Protocols\r\n\r\n", "HTTP/1.x");
  invalid("SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP response");
  invalid("HTTP/1.1 1O1 Switching\r\n\r\n", "status line");
  invalid(line + "Bad Header: x\r\n\r\n", "header field");
  invalid(line + " folded first\r\n\r\n", "continuation");
  invalid(line + "X: a\rb\r\n\r\n", "bare CR");
  invalid("\r\n", "not an HTTP response");
  // Over the limit, complete or not.
  invalid("HTTP/1.1 101 OK\r\nX: " + std::string(20000, 'a'), "over");
  EXPECT_EQ(read_handshake_reply("HTTP/1.1 200 OK\r\nX: 12345\r\n\r\n", sample_key, 16).st,
            handshake_reply::state::invalid);
  // Short but promising: wait.
  EXPECT_EQ(read_all("HTT").st, handshake_reply::state::need_more);
  EXPECT_EQ(read_all("").st, handshake_reply::state::need_more);
}

TEST(websocket_client, the_client_role_needs_masks) {
  ws_session::options o;
  o.role = ws_role::client;
  EXPECT_THROW(ws_session{std::move(o)}, std::invalid_argument);
}

TEST(websocket_client, round_trip_with_a_server_session) {
  ws_session server;
  ws_session client = client_session(1 << 20);

  // Server to client: unmasked text, read whole by the client.
  server.send_text(R"({"type":"hello","seq":41})");
  server.send_text(std::string(70000, 'x'));  // the 8-byte length form
  auto msgs = feed_ok(client, take(server));
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].type, ws_session::message::kind::text);
  EXPECT_EQ(msgs[0].data, R"({"type":"hello","seq":41})");
  EXPECT_EQ(msgs[1].data.size(), 70000u);

  // Client to server: masked (§5.3), a fresh key per frame, read by the server.
  client.send_text(R"({"subscribe":"REGISTER"})");
  client.send_text(std::string(300, 'y'));
  const std::string wire = take(client);
  const auto frames = decode_client_frames(wire);
  ASSERT_TRUE(frames.has_value());
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_EQ((*frames)[0].opcode, 0x1);
  EXPECT_EQ((*frames)[0].payload, R"({"subscribe":"REGISTER"})");
  EXPECT_NE((*frames)[0].key, (*frames)[1].key);
  msgs = feed_ok(server, wire);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].data, R"({"subscribe":"REGISTER"})");
  EXPECT_EQ(msgs[1].data, std::string(300, 'y'));

  // A server ping gets a masked pong the server reads as a pong.
  server.send_ping("centralita");
  EXPECT_TRUE(feed_ok(client, take(server)).empty());
  const std::string pong = take(client);
  const auto pongs = decode_client_frames(pong);
  ASSERT_TRUE(pongs && pongs->size() == 1u);
  EXPECT_EQ((*pongs)[0].opcode, 0xA);
  EXPECT_EQ((*pongs)[0].payload, "centralita");
  msgs = feed_ok(server, pong);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, ws_session::message::kind::pong);
}

TEST(websocket_client, server_close_is_echoed_masked) {
  ws_session server;
  ws_session client = client_session();
  server.send_text(R"({"type":"dropped","count":3,"first_seq":5,"last_seq":7})");
  server.send_close(close_policy, "client too slow: 3 events dropped");
  const auto msgs = feed_ok(client, take(server));
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].type, ws_session::message::kind::close);
  EXPECT_EQ(msgs[1].code, 1008);
  EXPECT_EQ(msgs[1].data, "client too slow: 3 events dropped");
  EXPECT_TRUE(client.close_received());
  EXPECT_TRUE(client.finished());
  const std::string echo = take(client);
  const auto frames = decode_client_frames(echo);
  ASSERT_TRUE(frames && frames->size() == 1u);
  EXPECT_EQ((*frames)[0].opcode, 0x8);
  const auto back = feed_ok(server, echo);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].code, 1008);
  EXPECT_TRUE(server.finished());
}

TEST(websocket_client, client_close_handshake) {
  ws_session server;
  ws_session client = client_session();
  client.send_close(close_normal, "run over");
  EXPECT_TRUE(client.close_sent());
  EXPECT_FALSE(client.finished());
  const auto msgs = feed_ok(server, take(client));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].code, 1000);
  EXPECT_EQ(msgs[0].data, "run over");
  const auto echo = feed_ok(client, take(server));  // the server's echo (§5.5.1)
  ASSERT_EQ(echo.size(), 1u);
  EXPECT_EQ(echo[0].code, 1000);
  EXPECT_TRUE(client.finished());
  EXPECT_FALSE(client.has_output());
}

TEST(websocket_client, masked_frame_from_a_server_is_1002) {
  ws_session client = client_session();
  std::vector<ws_session::message> msgs;
  const auto r = client.feed(client_frame(0x1, "masked by a server"), msgs);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().reason.find("1002"), std::string::npos) << r.err().reason;
  EXPECT_TRUE(client.finished());
  EXPECT_TRUE(msgs.empty());
  const auto frames = decode_client_frames(take(client));
  ASSERT_TRUE(frames.has_value());
  ASSERT_FALSE(frames->empty());
  EXPECT_EQ(frames->back().opcode, 0x8);
  ASSERT_GE(frames->back().payload.size(), 2u);
  EXPECT_EQ((uint8_t(frames->back().payload[0]) << 8) | uint8_t(frames->back().payload[1]), 1002);
}

TEST(websocket_client, malformed_header_from_a_server_gets_a_coded_masked_close) {
  ws_session client = client_session();
  std::vector<ws_session::message> msgs;
  // A ping of 126 bytes: a control frame over 125 (§5.5).
  std::string bad = "\x89\x7e";
  bad.push_back(0);
  bad.push_back(126);
  bad += std::string(126, 'p');
  const auto r = client.feed(bad, msgs);
  ASSERT_FALSE(r.ok());
  const auto frames = decode_client_frames(take(client));
  ASSERT_TRUE(frames.has_value());
  ASSERT_FALSE(frames->empty());
  EXPECT_EQ(frames->back().opcode, 0x8);
  ASSERT_EQ(frames->back().payload.size(), 2u);
  EXPECT_EQ((uint8_t(frames->back().payload[0]) << 8) | uint8_t(frames->back().payload[1]), 1002);
}
