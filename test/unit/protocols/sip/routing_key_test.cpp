#include "protocols/sip/routing_key.hpp"

#include <gtest/gtest.h>

using namespace centralita::sip;

TEST(scan_call_id, long_and_compact_forms) {
  EXPECT_EQ(scan_call_id("INVITE sip:x SIP/2.0\r\nVia: v\r\nCall-ID: abc@h\r\n\r\n"), "abc@h");
  EXPECT_EQ(scan_call_id("INVITE sip:x SIP/2.0\r\ni: xyz\r\n\r\n"), "xyz");
  EXPECT_EQ(scan_call_id("INVITE sip:x SIP/2.0\r\nI:xyz\r\n\r\n"), "xyz");
  EXPECT_EQ(scan_call_id("INVITE sip:x SIP/2.0\r\ncall-id   :  spaced \t\r\n\r\n"), "spaced");
  EXPECT_EQ(scan_call_id("INVITE sip:x SIP/2.0\r\nCALL-ID\t: up\r\n\r\n"), "up");
  EXPECT_EQ(scan_call_id("SIP/2.0 200 OK\nVia: v\nCall-ID: lf-only\n\n"), "lf-only");
  EXPECT_EQ(scan_call_id("INVITE sip:x SIP/2.0\r\nCall-ID: no-final-crlf"), "no-final-crlf");
}

TEST(scan_call_id, not_fooled) {
  // Not at line start, in the start line, in a continuation, in the body, other names.
  EXPECT_FALSE(scan_call_id("INVITE sip:x SIP/2.0\r\nX-Call-ID: no\r\n\r\n"));
  EXPECT_FALSE(scan_call_id("Call-ID: x\r\nVia: y\r\n\r\n"));
  EXPECT_FALSE(scan_call_id("INVITE sip:x SIP/2.0\r\nSubject: a\r\n Call-ID: no\r\n\r\n"));
  EXPECT_FALSE(scan_call_id("INVITE sip:x SIP/2.0\r\nVia: v\r\n\r\nCall-ID: body\r\n"));
  EXPECT_FALSE(scan_call_id("INVITE sip:x SIP/2.0\r\nid: no\r\nCall-IDs: no\r\n\r\n"));
  EXPECT_FALSE(scan_call_id("INVITE sip:x SIP/2.0\r\nCall-ID:   \r\n\r\n"));
  EXPECT_FALSE(scan_call_id(""));
  EXPECT_FALSE(scan_call_id("no newline at all"));
  EXPECT_EQ(scan_call_id("INVITE sip:x SIP/2.0\r\nTo: a\r\ni: first\r\nCall-ID: second\r\n\r\n"), "first");
}

TEST(looks_like_response, prefix) {
  EXPECT_TRUE(looks_like_response("SIP/2.0 200 OK\r\n"));
  EXPECT_FALSE(looks_like_response("INVITE sip:x SIP/2.0\r\n"));
  EXPECT_FALSE(looks_like_response("SIP"));
  EXPECT_FALSE(looks_like_response(""));
}
