// RFC 3261 §17.1.3, §17.2.3 and §9.2: transaction matching keys on real messages.
#include "protocols/sip/transaction/transaction_key.hpp"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

using namespace centralita;
using namespace centralita::sip;
using namespace centralita::sip::txn;

namespace {

message must_parse(const std::string& s) {
  auto r = message::parse(s);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason) << "\n" << s;
  return std::move(r).value();
}

std::string request(const std::string& method, const std::string& cseq_method,
                    const std::string& via, const std::string& to_tag = "",
                    const std::string& ruri = "sip:bob@biloxi.example.com") {
  return method + " " + ruri + " SIP/2.0\r\n"
         "Via: " + via + "\r\n"
         "Max-Forwards: 70\r\n"
         "To: Bob <sip:bob@biloxi.example.com>" + (to_tag.empty() ? "" : ";tag=" + to_tag) + "\r\n"
         "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
         "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
         "CSeq: 314159 " + cseq_method + "\r\n"
         "Content-Length: 0\r\n\r\n";
}

std::string response(int status, const std::string& cseq_method, const std::string& via) {
  return "SIP/2.0 " + std::to_string(status) + " Whatever\r\n"
         "Via: " + via + "\r\n"
         "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
         "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
         "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
         "CSeq: 314159 " + cseq_method + "\r\n"
         "Content-Length: 0\r\n\r\n";
}

const std::string via3261 = "SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds";
const std::string via2543 = "SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=776asdhds";
const std::string via2543_nobranch = "SIP/2.0/UDP pc33.atlanta.example.com:5060";

server_key skey(const std::string& s) {
  auto r = server_key::of(must_parse(s));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason);
  return std::move(r).value();
}
client_key ckey(const std::string& s) {
  auto r = client_key::of(must_parse(s));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason);
  return std::move(r).value();
}

} // namespace

TEST(client_key, response_matches_its_request) {
  // §17.1.3: same top Via branch and same CSeq method.
  auto invite = ckey(request("INVITE", "INVITE", via3261));
  EXPECT_EQ(ckey(response(180, "INVITE", via3261)), invite);
  EXPECT_EQ(ckey(response(486, "INVITE", via3261 + ";received=192.0.2.1")), invite);
  EXPECT_EQ(client_key::hasher{}(ckey(response(200, "INVITE", via3261))), client_key::hasher{}(invite));
  // A CANCEL shares the INVITE's branch but is its own transaction.
  EXPECT_NE(ckey(response(200, "CANCEL", via3261)), invite);
  EXPECT_EQ(ckey(response(200, "CANCEL", via3261)), ckey(request("CANCEL", "CANCEL", via3261)));
  // Another branch is another transaction.
  EXPECT_NE(ckey(response(200, "INVITE", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKx")),
            invite);
  EXPECT_EQ(invite.brief(), "z9hG4bK776asdhds INVITE");
}

TEST(client_key, response_without_branch_is_an_error) {
  auto r = client_key::of(must_parse(response(200, "OPTIONS", via2543_nobranch)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::bad_header);
}

TEST(server_key, rfc3261_branch_sent_by_and_method) {
  auto invite = skey(request("INVITE", "INVITE", via3261));
  EXPECT_TRUE(invite.rfc3261());
  // A retransmission matches (host compared case-insensitively).
  EXPECT_EQ(skey(request("INVITE", "INVITE",
                         "SIP/2.0/UDP PC33.Atlanta.example.com:5060;branch=z9hG4bK776asdhds")),
            invite);
  // §17.2.3: the ACK for a non-2xx (same branch, To tag of the response) matches.
  EXPECT_EQ(skey(request("ACK", "ACK", via3261, "a6c85cf")), invite);
  // Same branch from another sent-by, or another method, does not.
  EXPECT_NE(skey(request("INVITE", "INVITE",
                         "SIP/2.0/UDP pc34.atlanta.example.com:5060;branch=z9hG4bK776asdhds")),
            invite);
  EXPECT_NE(skey(request("INVITE", "INVITE",
                         "SIP/2.0/UDP pc33.atlanta.example.com:5070;branch=z9hG4bK776asdhds")),
            invite);
  EXPECT_NE(skey(request("CANCEL", "CANCEL", via3261)), invite);
  EXPECT_NE(skey(request("BYE", "BYE", via3261)), invite);
}

TEST(server_key, rfc2543_fallback_without_cookie) {
  auto invite = skey(request("INVITE", "INVITE", via2543));
  EXPECT_FALSE(invite.rfc3261());
  EXPECT_EQ(skey(request("INVITE", "INVITE", via2543)), invite);  // retransmission
  // §17.2.3: the ACK matches on Request-URI, From tag, Call-ID, CSeq number and top
  // Via; its To tag is the response's.
  EXPECT_EQ(skey(request("ACK", "ACK", via2543, "a6c85cf")), invite);
  // Another Request-URI, Call-ID or top Via is another transaction.
  EXPECT_NE(skey(request("INVITE", "INVITE", via2543, "", "sip:carol@chicago.example.com")),
            invite);
  EXPECT_NE(skey(request("INVITE", "INVITE", "SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=x")),
            invite);
  EXPECT_NE(skey(request("INVITE", "INVITE", "SIP/2.0/TCP pc33.atlanta.example.com:5060;branch=776asdhds")),
            invite);
  // An RFC 2543 request with no branch at all.
  auto bare = skey(request("OPTIONS", "OPTIONS", via2543_nobranch));
  EXPECT_FALSE(bare.rfc3261());
  EXPECT_EQ(skey(request("OPTIONS", "OPTIONS", via2543_nobranch)), bare);
  // For non-INVITE methods the To tag counts (§17.2.3).
  EXPECT_NE(skey(request("OPTIONS", "OPTIONS", via2543_nobranch, "t1")), bare);
  // And a cookie key never equals a fallback key.
  EXPECT_NE(skey(request("INVITE", "INVITE", via3261)), invite);
}

TEST(server_key, rfc2543_call_id_and_cseq_count) {
  auto base = request("BYE", "BYE", via2543, "a6c85cf");
  auto k = skey(base);
  auto other_cid = base;
  other_cid.replace(other_cid.find("a84b4c76e66710"), 14, "zzzzzzzzzzzzzz");
  EXPECT_NE(skey(other_cid), k);
  auto other_cseq = base;
  other_cseq.replace(other_cseq.find("314159"), 6, "314160");
  EXPECT_NE(skey(other_cseq), k);
}

TEST(server_key, response_is_an_error) {
  auto r = server_key::of(must_parse(response(200, "INVITE", via3261)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
}

TEST(cancel_target, cancel_matches_its_invite) {
  // §9.2: matched as if the CANCEL's method were INVITE (§9.1: same branch, URI, ...).
  for (const auto& via : {via3261, via2543, via2543_nobranch}) {
    auto invite = skey(request("INVITE", "INVITE", via));
    auto cancel = must_parse(request("CANCEL", "CANCEL", via));
    auto target = cancel_target(cancel);
    ASSERT_TRUE(target.ok());
    EXPECT_EQ(*target, invite) << via;
    // The CANCEL's own transaction is a different one.
    EXPECT_NE(skey(request("CANCEL", "CANCEL", via)), invite);
  }
  // A CANCEL for another branch does not match.
  auto other = cancel_target(must_parse(request(
      "CANCEL", "CANCEL", "SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKother")));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, skey(request("INVITE", "INVITE", via3261)));
}

TEST(cancel_target, only_for_cancel) {
  auto r = cancel_target(must_parse(request("INVITE", "INVITE", via3261)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
}

TEST(server_key, usable_in_unordered_set) {
  std::unordered_set<server_key> keys;
  keys.insert(skey(request("INVITE", "INVITE", via3261)));
  keys.insert(skey(request("INVITE", "INVITE", via2543)));
  keys.insert(skey(request("INVITE", "INVITE", via3261)));
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys.count(skey(request("ACK", "ACK", via3261, "a6c85cf"))));
  std::unordered_set<client_key> ck{ckey(response(200, "INVITE", via3261))};
  EXPECT_TRUE(ck.count(ckey(request("INVITE", "INVITE", via3261))));
}
