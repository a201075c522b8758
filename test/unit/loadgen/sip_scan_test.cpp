// The load generator's response scanner: what it finds in well-formed
// responses, and that every malformed input is an error value (the engine
// counts it as `malformed`), never a crash.
#include "bench/loadgen/sip_scan.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

using namespace centralita::loadgen;

namespace {

const std::string ok200 =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:4000;branch=z9hG4bK-lg0000abcd.1f.2;rport=4000;received=127.0.0.1\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKother\r\n"
    "From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=2\r\nCall-ID: x\r\n"
    "CSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n";

} // namespace

TEST(sip_scan, finds_status_branch_and_cseq) {
  auto r = scan_response(ok200);
  ASSERT_TRUE(r) << r.err().reason;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->branch, "z9hG4bK-lg0000abcd.1f.2");
  EXPECT_EQ(r->cseq, 7u);
  EXPECT_EQ(r->cseq_method, "OPTIONS");
  EXPECT_EQ(r->challenge_count, 0);
}

TEST(sip_scan, compact_names_folding_and_bare_lf) {
  std::string m =
      "SIP/2.0 180 Ringing\n"
      "v: SIP/2.0/UDP h:1\n ;branch=z9hG4bKfold ;rport, SIP/2.0/UDP x;branch=z9hG4bKsecond\n"
      "cseq:   12\t  REGISTER  \n"
      "\n";
  auto r = scan_response(m);
  ASSERT_TRUE(r) << r.err().reason;
  EXPECT_EQ(r->status, 180);
  EXPECT_EQ(r->branch, "z9hG4bKfold");
  EXPECT_EQ(r->cseq, 12u);
  EXPECT_EQ(r->cseq_method, "REGISTER");
}

TEST(sip_scan, only_the_top_via_counts) {
  std::string m =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;BRANCH=z9hG4bKtop, SIP/2.0/UDP b;branch=z9hG4bKno\r\n"
      "Via: SIP/2.0/UDP c;branch=z9hG4bKnope\r\nCSeq: 1 OPTIONS\r\n\r\n";
  auto r = scan_response(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->branch, "z9hG4bKtop");  // parameter names are case-insensitive
}

TEST(sip_scan, challenges_in_order) {
  std::string m =
      "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 REGISTER\r\n"
      "WWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", algorithm=SHA-256, qop=\"auth\"\r\n"
      "www-authenticate: Digest realm=\"r\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"\r\n\r\n";
  auto r = scan_response(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  ASSERT_EQ(r->challenge_count, 2);
  EXPECT_FALSE(r->proxy_challenge);
  EXPECT_NE(r->challenges[0].find("SHA-256"), std::string_view::npos);
  EXPECT_NE(r->challenges[1].find("MD5"), std::string_view::npos);

  std::string p =
      "SIP/2.0 407 Proxy Authentication Required\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n"
      "CSeq: 1 REGISTER\r\nProxy-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\n\r\n";
  auto q = scan_response(p);
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->proxy_challenge);
  EXPECT_EQ(q->challenge_count, 1);
}

TEST(sip_scan, malformed_inputs_are_errors) {
  const char* cases[] = {
      "",
      "garbage",
      "OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n\r\n",
      "SIP/2.0 2x0 OK\r\n\r\n",
      "SIP/2.0 099 Low\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n\r\n",
      "SIP/2.0 700 High\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n\r\n",
      "SIP/2.0 2000 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n\r\n",
      "SIP/2.0 200",
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n",  // no blank line
      "SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\n\r\n",                                   // no Via
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;rport\r\nCSeq: 1 OPTIONS\r\n\r\n",       // no branch
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=\r\nCSeq: 1 OPTIONS\r\n\r\n",     // empty branch
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\r\n",                // no CSeq
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: OPTIONS\r\n\r\n",
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1\r\n\r\n",
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 99999999999 OPTIONS\r\n\r\n",
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nno colon here\r\nCSeq: 1 X\r\n\r\n",
      "SIP/2.0 200 OK\r\n continuation first\r\nVia: SIP/2.0/UDP a;branch=b\r\nCSeq: 1 X\r\n\r\n",
      "SIP/1.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n\r\n",
  };
  for (const char* c : cases) {
    auto r = scan_response(c);
    EXPECT_FALSE(r) << "accepted: " << c;
    if (!r) {
      EXPECT_FALSE(r.err().reason.empty());
    }
  }
}

TEST(sip_scan, branch_round_trip) {
  char buf[max_branch_length];
  for (branch_key k : {branch_key{0, 0}, branch_key{1, 1}, branch_key{0xffffffff, 0x7fffffff},
                       branch_key{255, 4096}}) {
    auto n = format_branch(buf, 0x0a0b0c0d, k);
    ASSERT_LE(n, max_branch_length);
    std::string_view b(buf, n);
    EXPECT_EQ(b.substr(0, 7), "z9hG4bK");  // RFC 3261 §8.1.1.7 magic cookie
    auto back = parse_branch(b, 0x0a0b0c0d);
    ASSERT_TRUE(back) << b;
    EXPECT_EQ(*back, k);
    EXPECT_FALSE(parse_branch(b, 0x0a0b0c0e)) << "another run's branch";
  }
}

TEST(sip_scan, foreign_branches_are_not_ours) {
  for (const char* b : {"", "z9hG4bK", "z9hG4bKabc", "z9hG4bK-lg0a0b0c0d", "z9hG4bK-lg0a0b0c0d.",
                        "z9hG4bK-lg0a0b0c0d.1", "z9hG4bK-lg0a0b0c0d.1.", "z9hG4bK-lg0a0b0c0d..1",
                        "z9hG4bK-lg0a0b0c0d.1.2.3", "z9hG4bK-lg0a0b0c0d.1.g",
                        "z9hG4bK-lg0a0b0c0d.123456789.1", "z9hG4bK-LG0a0b0c0d.1.1",
                        "z9hG4bK-lg0A0B0C0D.1.1"})
    EXPECT_FALSE(parse_branch(b, 0x0a0b0c0d)) << b;
}

RC_GTEST_PROP(sip_scan, never_crashes_on_arbitrary_bytes, (const std::string& tail)) {
  // Arbitrary bytes, and arbitrary bytes after a plausible start.
  (void)scan_response(tail);
  (void)scan_response("SIP/2.0 200 OK\r\n" + tail);
  (void)scan_response("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=" + tail + "\r\n\r\n");
  (void)parse_branch(tail, 1);
}

RC_GTEST_PROP(sip_scan, truncations_of_a_valid_response_never_crash, (unsigned cut)) {
  auto r = scan_response(std::string_view(ok200).substr(0, cut % (ok200.size() + 1)));
  if (cut % (ok200.size() + 1) < ok200.size())
    RC_ASSERT(!r);
}
