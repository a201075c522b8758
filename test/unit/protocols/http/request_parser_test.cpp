// request_parser: requests whole, in pieces and pipelined; bodies by length and
// chunked; every limit with its status; malformed input; upgrade framing;
// keep-alive rules. Also find_header, query_value and the percent codecs.

#include "protocols/http/request_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using namespace centralita;
using namespace centralita::http;

namespace {

using state = request_parser::state;
using params = std::vector<std::pair<std::string, std::string>>;

/// Feeds `bytes` and takes every complete request; stops at an error.
struct run_result {
  std::vector<request> requests;
  state last = state::need_more;
  std::size_t consumed = 0;  ///< bytes used in total
};

run_result run(request_parser& p, std::string_view bytes) {
  run_result r;
  for (;;) {
    const auto o = p.feed(bytes);
    r.consumed += o.consumed;
    bytes.remove_prefix(o.consumed);
    r.last = o.st;
    if (o.st != state::complete) return r;
    r.requests.push_back(p.take());
    if (bytes.empty()) return r;
  }
}

run_result run(std::string_view bytes, parser_limits limits = {}) {
  request_parser p(limits);
  return run(p, bytes);
}

/// The status a single malformed request is refused with.
int status_of(std::string_view bytes, parser_limits limits = {}) {
  request_parser p(limits);
  const auto r = run(p, bytes);
  EXPECT_EQ(r.last, state::error) << bytes;
  return p.error_status();
}

} // namespace

TEST(request_parser, simple_get) {
  const auto r = run("GET /metrics HTTP/1.1\r\nHost: example.com\r\nAccept:  text/plain \r\n\r\n");
  ASSERT_EQ(r.last, state::complete);
  ASSERT_EQ(r.requests.size(), 1u);
  const request& q = r.requests[0];
  EXPECT_EQ(q.method, "GET");
  EXPECT_EQ(q.target, "/metrics");
  EXPECT_EQ(q.path, "/metrics");
  EXPECT_TRUE(q.query.empty());
  ASSERT_EQ(q.headers.size(), 2u);
  EXPECT_EQ(q.headers[0].name, "Host");
  EXPECT_EQ(q.headers[1].value, "text/plain");  // surrounding whitespace removed
  ASSERT_NE(q.header_value("accept"), nullptr);  // case-insensitive
  EXPECT_EQ(*q.header_value("ACCEPT"), "text/plain");
  EXPECT_EQ(q.header_value("Cookie"), nullptr);
  EXPECT_EQ(q.http_major, 1u);
  EXPECT_EQ(q.http_minor, 1u);
  EXPECT_TRUE(q.keep_alive);
  EXPECT_FALSE(q.upgrade);
  EXPECT_TRUE(q.body.empty());
}

TEST(request_parser, query_decoding_with_repeats) {
  const auto r = run(
      "GET /a%20b/c?event=REGISTER&event=EXPIRED&aor=bob%40example.com&q=x+y&flag&&=v HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.requests.size(), 1u);
  const request& q = r.requests[0];
  EXPECT_EQ(q.target, "/a%20b/c?event=REGISTER&event=EXPIRED&aor=bob%40example.com&q=x+y&flag&&=v");
  EXPECT_EQ(q.path, "/a b/c");
  EXPECT_EQ(q.query, (params{{"event", "REGISTER"}, {"event", "EXPIRED"}, {"aor", "bob@example.com"},
                             {"q", "x y"}, {"flag", ""}, {"", "v"}}));
  ASSERT_NE(q.query_value("event"), nullptr);
  EXPECT_EQ(*q.query_value("event"), "REGISTER");  // the first of the repeats
  EXPECT_EQ(q.query_value("Event"), nullptr);      // names are case-sensitive
}

TEST(request_parser, absolute_form_and_asterisk) {
  auto r = run("GET http://example.com:8080/x?y=1 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].path, "/x");
  EXPECT_EQ(r.requests[0].query, (params{{"y", "1"}}));
  r = run("OPTIONS * HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].path, "*");
}

TEST(request_parser, bad_percent_encoding_is_400) {
  EXPECT_EQ(status_of("GET /a%2 HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET /a%00b HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET /a?x=%zz HTTP/1.1\r\n\r\n"), 400);
}

TEST(request_parser, headers_split_across_feeds) {
  request_parser p;
  const std::vector<std::string> pieces = {"GE", "T /x HT", "TP/1.1\r\nX-Lo", "ng-Na", "me: va",
                                           "lue one", "  \r", "\nB:", " 2\r\n\r", "\n"};
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const auto o = p.feed(pieces[i]);
    EXPECT_EQ(o.consumed, pieces[i].size());
    EXPECT_EQ(o.st, i + 1 == pieces.size() ? state::complete : state::need_more) << i;
    EXPECT_TRUE(i + 1 == pieces.size() || p.mid_request());
  }
  EXPECT_FALSE(p.mid_request());
  const request q = p.take();
  ASSERT_EQ(q.headers.size(), 2u);
  EXPECT_EQ(q.headers[0].name, "X-Long-Name");
  EXPECT_EQ(q.headers[0].value, "value one");
  EXPECT_EQ(q.headers[1].value, "2");
}

TEST(request_parser, empty_feed_changes_nothing) {
  request_parser p;
  EXPECT_EQ(p.feed("").st, state::need_more);
  EXPECT_FALSE(p.mid_request());
  EXPECT_EQ(p.feed("G").st, state::need_more);
  EXPECT_TRUE(p.mid_request());
  EXPECT_EQ(p.feed("").st, state::need_more);
  const auto o = p.feed("ET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(o.st, state::complete);
  EXPECT_EQ(p.feed("").st, state::complete);  // until take()
  EXPECT_EQ(p.take().method, "GET");
}

TEST(request_parser, pipelined_requests) {
  const std::string a = "GET /one HTTP/1.1\r\n\r\n";
  const std::string b = "POST /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  const std::string c = "DELETE /three HTTP/1.1\r\n\r\n";
  request_parser p;
  const std::string all = a + b + c;
  std::string_view in = all;
  auto o = p.feed(in);
  EXPECT_EQ(o.st, state::complete);
  EXPECT_EQ(o.consumed, a.size());  // stops right after the first
  EXPECT_EQ(p.take().path, "/one");
  in.remove_prefix(o.consumed);
  o = p.feed(in);
  EXPECT_EQ(o.consumed, b.size());
  const request two = p.take();
  EXPECT_EQ(two.body, "abc");
  in.remove_prefix(o.consumed);
  o = p.feed(in);
  EXPECT_EQ(o.consumed, c.size());
  EXPECT_EQ(p.take().method, "DELETE");
}

TEST(request_parser, post_with_content_length) {
  request_parser p;
  auto o = p.feed("POST /reload HTTP/1.1\r\nContent-Length: 10\r\nContent-Type: application/json\r\n\r\n{\"a\":");
  EXPECT_EQ(o.st, state::need_more);
  EXPECT_TRUE(p.mid_request());  // a half-sent body is still mid-request
  o = p.feed("true}GET");
  EXPECT_EQ(o.st, state::complete);
  EXPECT_EQ(o.consumed, 5u);
  EXPECT_EQ(p.take().body, "{\"a\":true}");
}

TEST(request_parser, chunked_body) {
  const auto r = run(
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"
      "GET /next HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.requests.size(), 2u);
  EXPECT_EQ(r.requests[0].body, "hello, world");
  EXPECT_EQ(r.requests[0].header_value("X-Trailer"), nullptr);  // trailers are dropped
  EXPECT_EQ(r.requests[1].path, "/next");
}

TEST(request_parser, target_limit_is_414) {
  parser_limits l;
  l.max_target = 16;
  EXPECT_EQ(status_of("GET /0123456789abcdefg HTTP/1.1\r\n\r\n", l), 414);
  EXPECT_EQ(run("GET /0123456789abcde HTTP/1.1\r\n\r\n", l).requests.size(), 1u);  // exactly 16
}

TEST(request_parser, header_bytes_limit_is_431) {
  parser_limits l;
  l.max_header_bytes = 64;
  const std::string ok = "GET / HTTP/1.1\r\nA: " + std::string(64 - 23, 'x') + "\r\n\r\n";
  ASSERT_EQ(ok.size(), 64u);
  EXPECT_EQ(run(ok, l).requests.size(), 1u);
  const std::string over = "GET / HTTP/1.1\r\nA: " + std::string(64 - 22, 'x') + "\r\n\r\n";
  EXPECT_EQ(status_of(over, l), 431);
  // A head that never ends is refused once it passes the limit.
  request_parser p(l);
  const auto o = p.feed("GET / HTTP/1.1\r\nA: " + std::string(1000, 'x'));
  EXPECT_EQ(o.st, state::error);
  EXPECT_EQ(p.error_status(), 431);
  EXPECT_FALSE(p.error_reason().empty());
  EXPECT_EQ(p.feed("more").st, state::error);  // and stays failed
}

TEST(request_parser, header_count_limit_is_431) {
  parser_limits l;
  l.max_headers = 3;
  EXPECT_EQ(run("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", l).requests.size(), 1u);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", l), 431);
}

TEST(request_parser, body_limit_is_413) {
  parser_limits l;
  l.max_body = 4;
  EXPECT_EQ(run("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd", l).requests.size(), 1u);
  // Refused from the header, before the body arrives.
  request_parser p(l);
  EXPECT_EQ(p.feed("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n").st, state::error);
  EXPECT_EQ(p.error_status(), 413);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", l), 413);
  EXPECT_EQ(run("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n", l)
                .requests.at(0).body, "abcd");
}

TEST(request_parser, bad_syntax_is_400) {
  EXPECT_EQ(status_of("GET /a b HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nNo colon\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400);
  // Request smuggling: both framings at once.
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
  EXPECT_EQ(status_of("\x16\x03\x01\x02\x00\x01\x00"), 400);  // a TLS ClientHello
  // A token that never reaches a space is not a request line (RFC 9112 §2.2).
  EXPECT_EQ(status_of("HELLO\r\n\r\n"), 400);
  EXPECT_EQ(status_of(std::string(100, 'Z')), 400);
}

TEST(request_parser, the_unknown_method_verdict_does_not_depend_on_the_split) {
  for (std::string text : {"HELLO\r\n\r\n", "BREW /pot HTTP/1.1\r\n\r\n"}) {
    http::request_parser p;
    http::request_parser::outcome o;
    for (char c : text) {
      o = p.feed(std::string_view(&c, 1));
      if (o.st != http::request_parser::state::need_more)
        break;
    }
    ASSERT_EQ(o.st, http::request_parser::state::error) << text;
    EXPECT_EQ(p.error_status(), status_of(text)) << text;
  }
}

TEST(request_parser, bad_version_is_505) {
  EXPECT_EQ(status_of("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(status_of("GET / HTTP/1.12\r\n\r\n"), 505);
  EXPECT_EQ(status_of("GET /\r\n\r\n"), 505);  // HTTP/0.9
}

TEST(request_parser, unknown_method_or_coding_is_501) {
  EXPECT_EQ(status_of("BREW /pot HTTP/1.1\r\n\r\n"), 501);
  EXPECT_EQ(status_of("GETS / HTTP/1.1\r\n\r\n"), 501);
  EXPECT_EQ(status_of("CONNECT example.com:443 HTTP/1.1\r\n\r\n"), 501);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
}

TEST(request_parser, upgrade_leaves_the_frames) {
  const std::string head =
      "GET /events HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const std::string frames("\x81\x85\x01\x02\x03\x04iiiii", 11);
  request_parser p;
  const auto o = p.feed(head + frames);
  EXPECT_EQ(o.st, state::complete);
  EXPECT_EQ(o.consumed, head.size());
  const request q = p.take();
  EXPECT_TRUE(q.upgrade);
  EXPECT_EQ(q.path, "/events");
  // Upgrade without "Connection: upgrade" is not an upgrade.
  const auto r = run("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n");
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_FALSE(r.requests[0].upgrade);
}

TEST(request_parser, keep_alive_rules) {
  auto ka = [](std::string_view head) {
    const auto r = run(head);
    EXPECT_EQ(r.requests.size(), 1u) << head;
    return r.requests.empty() ? false : r.requests[0].keep_alive;
  };
  EXPECT_TRUE(ka("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  const auto r = run("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.requests.at(0).http_minor, 0u);
}

TEST(request_parser, a_request_after_connection_close_still_parses) {
  // Closing is the caller's call; the parser does not refuse what follows.
  const auto r = run("GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.requests.size(), 2u);
  EXPECT_EQ(r.requests[1].path, "/b");
}

TEST(request_parser, leading_empty_lines_are_skipped) {
  request_parser p;
  EXPECT_EQ(p.feed("\r\n").st, state::need_more);
  EXPECT_FALSE(p.mid_request());
  const auto r = run(p, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.requests.size(), 1u);
}

TEST(percent, decode) {
  EXPECT_EQ(*percent_decode("a%20b%2fc%2F", false), "a b/c/");
  EXPECT_EQ(*percent_decode("a+b", false), "a+b");
  EXPECT_EQ(*percent_decode("a+b", true), "a b");
  EXPECT_EQ(*percent_decode("%e2%82%AC", false), "\xe2\x82\xac");
  EXPECT_FALSE(percent_decode("%", false).ok());
  EXPECT_FALSE(percent_decode("%4", false).ok());
  EXPECT_FALSE(percent_decode("%4g", false).ok());
  EXPECT_FALSE(percent_decode("%00", false).ok());
  EXPECT_FALSE(percent_decode(std::string_view("a\0b", 3), false).ok());
}

TEST(percent, encode) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("a b/c?d=e&f+g%"), "a%20b%2Fc%3Fd%3De%26f%2Bg%25");
  EXPECT_EQ(percent_encode("\xe2\x82\xac"), "%E2%82%AC");
}

TEST(percent, parse_query) {
  EXPECT_EQ(*parse_query(""), params{});
  EXPECT_EQ(*parse_query("&&"), params{});
  EXPECT_EQ(*parse_query("a=1&b=x%20y&flag&c=d=e"),
            (params{{"a", "1"}, {"b", "x y"}, {"flag", ""}, {"c", "d=e"}}));
  EXPECT_FALSE(parse_query("a=%").ok());
}
