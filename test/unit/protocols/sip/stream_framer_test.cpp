#include "protocols/sip/stream_framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace centralita::sip;

namespace {

const std::string msg1 =
    "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
    "Call-ID: one\r\nContent-Length: 5\r\n\r\nhello";
const std::string msg2 =
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 0\r\n\r\n";
const std::string msg3 =
    "MESSAGE sip:a@b SIP/2.0\r\ncontent-length :  3 \r\nCall-ID: three\r\n\r\nxyz";

std::vector<frame> drain(stream_framer& f) {
  std::vector<frame> out;
  while (auto fr = f.next()) out.push_back(std::move(*fr));
  return out;
}

} // namespace

TEST(stream_framer, one_message) {
  stream_framer f(4096);
  f.feed(msg1);
  auto out = drain(f);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, frame_kind::message);
  EXPECT_EQ(out[0].bytes, msg1);
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(stream_framer, pipelined_in_one_chunk_with_keepalives) {
  stream_framer f(4096);
  // A stray CRLF is skipped; a double CRLF is a keep-alive ping (RFC 5626 §3.5.1).
  f.feed(msg1 + "\r\n" + msg2 + "\r\n\r\n" + msg3);
  auto out = drain(f);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].bytes, msg1);
  EXPECT_EQ(out[1].bytes, msg2);
  EXPECT_EQ(out[2].kind, frame_kind::keepalive);
  EXPECT_EQ(out[3].bytes, msg3);
}

TEST(stream_framer, every_split_position) {
  const std::string stream = "\r\n\r\n" + msg1 + msg2 + "\r\n" + msg3 + "\r\n\r\n";
  for (size_t a = 0; a <= stream.size(); ++a) {
    for (size_t b = a; b <= stream.size(); b += 7) {
      stream_framer f(4096);
      std::vector<frame> out;
      for (auto piece : {stream.substr(0, a), stream.substr(a, b - a), stream.substr(b)}) {
        f.feed(piece);
        for (auto& fr : drain(f)) out.push_back(std::move(fr));
      }
      ASSERT_EQ(out.size(), 5u) << "split " << a << "," << b;
      EXPECT_EQ(out[0].kind, frame_kind::keepalive);
      EXPECT_EQ(out[1].bytes, msg1);
      EXPECT_EQ(out[2].bytes, msg2);
      EXPECT_EQ(out[3].bytes, msg3);
      EXPECT_EQ(out[4].kind, frame_kind::keepalive);
    }
  }
}

TEST(stream_framer, byte_at_a_time) {
  const std::string stream = msg1 + msg2 + msg3;
  stream_framer f(4096);
  std::vector<frame> out;
  for (char c : stream) {
    f.feed(std::string_view(&c, 1));
    for (auto& fr : drain(f)) out.push_back(std::move(fr));
  }
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].bytes, msg3);
}

TEST(stream_framer, oversized_body_gives_header_and_resyncs) {
  stream_framer f(100);
  const std::string big_header = "INVITE sip:a@b SIP/2.0\r\nContent-Length: 500\r\n\r\n";
  f.feed(big_header + std::string(200, 'x'));
  auto out = drain(f);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, frame_kind::oversized);
  EXPECT_EQ(out[0].bytes, big_header);
  f.feed(std::string(300, 'y'));  // rest of the skipped body
  f.feed(msg2);
  out = drain(f);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, msg2);
  EXPECT_FALSE(f.failed());
}

TEST(stream_framer, oversized_header_block_fails) {
  stream_framer f(64);
  f.feed("INVITE sip:a@b SIP/2.0\r\nSubject: " + std::string(100, 'a'));
  auto out = drain(f);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, frame_kind::oversized);
  EXPECT_TRUE(out[0].bytes.empty());
  EXPECT_TRUE(f.failed());
  f.feed(msg2);
  EXPECT_FALSE(f.next().has_value());
}

TEST(stream_framer, bad_content_length) {
  for (std::string cl : {"Content-Length: -1", "Content-Length: abc", "Content-Length: 1 2",
                         "Content-Length:", "Content-Length: 99999999999",
                         "Content-Length: 1\r\nl: 2"}) {
    stream_framer f(4096);
    f.feed("INVITE sip:a@b SIP/2.0\r\n" + cl + "\r\n\r\nx");
    auto out = drain(f);
    ASSERT_EQ(out.size(), 1u) << cl;
    EXPECT_EQ(out[0].kind, frame_kind::error) << cl;
    EXPECT_EQ(out[0].reason, "Bad Content-Length") << cl;
    EXPECT_TRUE(f.failed());
  }
}

TEST(stream_framer, missing_content_length_and_garbage) {
  stream_framer f(4096);
  f.feed("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n");
  auto out = drain(f);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, frame_kind::error);
  EXPECT_EQ(out[0].reason, "Missing Content-Length");

  stream_framer g(4096);
  g.feed("GET / HTTP/1.1\r\n");
  out = drain(g);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, frame_kind::error);

  stream_framer h(32);
  h.feed(std::string(100, 'z'));  // no line end within the limit
  out = drain(h);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, frame_kind::error);
}

TEST(stream_framer, waits_for_body_and_partial_ping) {
  stream_framer f(4096);
  f.feed(msg1.substr(0, msg1.size() - 2));
  EXPECT_FALSE(f.next().has_value());
  f.feed(msg1.substr(msg1.size() - 2));
  auto fr = f.next();
  ASSERT_TRUE(fr);
  EXPECT_EQ(fr->bytes, msg1);
  f.feed("\r\n\r");
  EXPECT_FALSE(f.next().has_value());
  f.feed("\n");
  fr = f.next();
  ASSERT_TRUE(fr);
  EXPECT_EQ(fr->kind, frame_kind::keepalive);
}
