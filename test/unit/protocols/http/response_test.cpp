// response: the exact bytes of serialize() for ordinary, HEAD, bodiless and
// closing responses; reason phrases; the JSON error body.

#include "protocols/http/response.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace centralita::http;

TEST(response, serialize_with_body) {
  response r;
  r.content_type = "text/plain";
  r.headers = {{"Cache-Control", "no-store"}};
  r.body = "hello";
  EXPECT_EQ(serialize(r, true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\n"
            "Content-Length: 5\r\n\r\nhello");
  EXPECT_EQ(serialize(r, false),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\n"
            "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
}

TEST(response, head_keeps_the_length_without_the_body) {
  response r;
  r.content_type = "application/json";
  r.body = "{}";
  EXPECT_EQ(serialize(r, true, true),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n");
}

TEST(response, empty_body_still_has_a_length) {
  response r;
  r.status = 404;
  EXPECT_EQ(serialize(r, true), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

TEST(response, no_content_and_not_modified_carry_no_length_or_body) {
  response r;
  r.status = 204;
  r.body = "ignored";
  EXPECT_EQ(serialize(r, true), "HTTP/1.1 204 No Content\r\n\r\n");
  r.status = 304;
  EXPECT_EQ(serialize(r, false), "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n");
}

TEST(response, switching_protocols) {
  response r;
  r.status = 101;
  r.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}};
  EXPECT_EQ(serialize(r, true),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
}

TEST(response, line_breaks_in_fields_cannot_add_headers) {
  response r;
  r.headers = {{"X-A", "1\r\nSet-Cookie: x=y"}};
  EXPECT_EQ(serialize(r, true), "HTTP/1.1 200 OK\r\nX-A: 1  Set-Cookie: x=y\r\nContent-Length: 0\r\n\r\n");
}

TEST(response, reason_phrases) {
  EXPECT_STREQ(reason_phrase(200), "OK");
  EXPECT_STREQ(reason_phrase(400), "Bad Request");
  EXPECT_STREQ(reason_phrase(413), "Content Too Large");
  EXPECT_STREQ(reason_phrase(414), "URI Too Long");
  EXPECT_STREQ(reason_phrase(426), "Upgrade Required");
  EXPECT_STREQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_STREQ(reason_phrase(501), "Not Implemented");
  EXPECT_STREQ(reason_phrase(505), "HTTP Version Not Supported");
  EXPECT_STREQ(reason_phrase(299), "Unknown");
}

TEST(response, json_error) {
  const response r = json_error(404, "no route for \"/x\"");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":{"message":"no route for \"/x\"","status":404}})");
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["status"], 404);
  // Invalid UTF-8 from a client is replaced, not thrown.
  const response bad = json_error(400, "bad byte \xff here");
  EXPECT_TRUE(nlohmann::json::accept(bad.body));
}
