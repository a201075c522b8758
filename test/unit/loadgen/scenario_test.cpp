// The options and register scenarios as state machines: requests written,
// answers judged, through a fake client_ops (no sockets, no clock).
#include "bench/loadgen/scenario.hpp"
#include "test/unit/loadgen/fake_ops.hpp"

#include "protocols/auth/challenge.hpp"
#include "protocols/auth/credentials.hpp"
#include "protocols/auth/digest.hpp"
#include "protocols/sip/message.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

using namespace centralita;
using namespace centralita::loadgen;

using namespace centralita::loadgen::testing;

namespace {

target_params target() { return {"sip:127.0.0.1:5070", "127.0.0.1"}; }

} // namespace

TEST(options_scenario, request_and_verdicts) {
  auto s = make_options_scenario(target());
  s->resize(4);
  fake_ops ops;
  s->begin(ops, 0, 0);
  s->begin(ops, 1, 1);
  ASSERT_EQ(ops.sends.size(), 2u);
  auto m = parsed(ops.sends[0].bytes);
  EXPECT_EQ(m.request_method(), sip::method::options);
  EXPECT_EQ(m.request_uri(), "sip:127.0.0.1:5070");
  EXPECT_EQ(m.top_via().branch, "z9hG4bK-test1");
  EXPECT_EQ(m.top_via().host + ":" + m.top_via().port, "127.0.0.1:40000");
  EXPECT_TRUE(m.top_via().rport.has_value());
  EXPECT_EQ(m.cseq_method(), sip::method::options);
  EXPECT_EQ(ops.sends[0].method, "OPTIONS");
  auto m2 = parsed(ops.sends[1].bytes);
  EXPECT_NE(m.call_id(), m2.call_id());  // unique per attempt
  EXPECT_NE(m.from().tag, m2.from().tag);

  auto ok = respond(ops.sends[0].bytes, 200);
  s->on_final(ops, 0, ok.scanned);
  EXPECT_EQ(ops.outcome.at(0), "");
  auto nf = respond(ops.sends[1].bytes, 404);
  s->on_final(ops, 1, nf.scanned);
  EXPECT_EQ(ops.outcome.at(1), "404");
  EXPECT_EQ(ops.latencies.size(), 2u);  // every final answer has a latency

  s->begin(ops, 2, 2);
  s->on_timeout(ops, 2);
  EXPECT_EQ(ops.outcome.at(2), "timeout");
  s->begin(ops, 3, 3);
  s->on_transport_error(ops, 3);
  EXPECT_EQ(ops.outcome.at(3), "transport");
}

namespace {

register_params reg_params(bool unregister = false, std::string domain = {}) {
  register_params p;
  p.target = target();
  p.domain = std::move(domain);
  p.users = user_source(user_range::parse("user[1-10]").value(), "secret");
  p.expires = 600;
  p.unregister = unregister;
  return p;
}

/// A 401 with SHA-256 and MD5 challenges (RFC 8760 §2.4 order).
std::vector<std::string> challenges(const std::string& nonce, bool qop = true) {
  std::vector<std::string> out;
  for (auto a : {auth::algorithm::sha256, auth::algorithm::md5}) {
    auto c = auth::make_challenge("127.0.0.1", nonce, a, false, "opq");
    if (!qop)
      c = c.substr(0, c.find(", qop"));
    out.push_back("WWW-Authenticate: " + c);
  }
  return out;
}

/// Checks the request's Authorization against the password, as the switch would.
void expect_valid_credentials(const std::string& request, const std::string& user,
                              uint32_t nc, auth::algorithm alg) {
  auto m = parsed(request);
  auto h = m.header("Authorization");
  ASSERT_TRUE(h) << request;
  auto c = auth::parse_credentials(*h);
  ASSERT_TRUE(c) << c.err().reason << " in " << *h;
  EXPECT_EQ(c->username, user);
  EXPECT_EQ(c->realm, "127.0.0.1");
  EXPECT_EQ(c->uri, m.request_uri());  // RFC 7616 §3.4.6
  EXPECT_EQ(c->alg, alg);
  EXPECT_EQ(c->opaque, "opq");
  EXPECT_EQ(c->nc, nc);
  auto ha1 = auth::ha1(alg, user, "127.0.0.1", "secret");
  EXPECT_TRUE(auth::verify(*c, "REGISTER", ha1)) << *h;
}

} // namespace

TEST(register_scenario, plain_200) {
  auto s = make_register_scenario(reg_params());
  s->resize(2);
  fake_ops ops;
  s->begin(ops, 0, 3);  // attempt 3: user4
  ASSERT_EQ(ops.sends.size(), 1u);
  auto m = parsed(ops.sends[0].bytes);
  EXPECT_EQ(m.request_method(), sip::method::register_);
  EXPECT_EQ(m.request_uri(), "sip:127.0.0.1:5070");
  EXPECT_EQ(m.to().uri, "sip:user4@127.0.0.1");
  EXPECT_EQ(m.from().uri, "sip:user4@127.0.0.1");
  ASSERT_TRUE(m.contact());
  EXPECT_EQ(m.contact()->uri, "sip:user4@127.0.0.1:40000");
  EXPECT_EQ(m.header("Expires"), "600");
  EXPECT_FALSE(m.header("Authorization"));
  s->on_final(ops, 0, respond(ops.sends[0].bytes, 200).scanned);
  EXPECT_EQ(ops.outcome.at(0), "");
  EXPECT_EQ(ops.latencies.size(), 1u);
}

TEST(register_scenario, digest_sha256_then_200) {
  auto s = make_register_scenario(reg_params());
  s->resize(1);
  fake_ops ops;
  s->begin(ops, 0, 0);
  s->on_final(ops, 0, respond(ops.sends[0].bytes, 401, challenges("n1")).scanned);
  ASSERT_EQ(ops.sends.size(), 2u);
  EXPECT_TRUE(ops.latencies.empty());  // not final yet
  auto first = parsed(ops.sends[0].bytes);
  auto second = parsed(ops.sends[1].bytes);
  EXPECT_EQ(first.call_id(), second.call_id());
  EXPECT_EQ(second.cseq(), first.cseq() + 1);  // RFC 3261 §22.2: CSeq grows
  EXPECT_NE(first.top_via().branch, second.top_via().branch);  // a new transaction
  expect_valid_credentials(ops.sends[1].bytes, "user1", 1, auth::algorithm::sha256);
  s->on_final(ops, 0, respond(ops.sends[1].bytes, 200).scanned);
  EXPECT_EQ(ops.outcome.at(0), "");
  EXPECT_EQ(ops.latencies.size(), 1u);
}

TEST(register_scenario, md5_without_qop_and_proxy_challenge) {
  auto s = make_register_scenario(reg_params());
  s->resize(2);
  fake_ops ops;
  s->begin(ops, 0, 0);
  auto md5 = auth::make_challenge("127.0.0.1", "n2", auth::algorithm::md5, false, "opq");
  s->on_final(ops, 0, respond(ops.sends[0].bytes, 401, {"WWW-Authenticate: " + md5}).scanned);
  expect_valid_credentials(ops.sends[1].bytes, "user1", 1, auth::algorithm::md5);

  s->begin(ops, 1, 1);
  s->on_final(ops, 1, respond(ops.sends[2].bytes, 407,
                              {"Proxy-Authenticate: " + md5}).scanned);
  ASSERT_EQ(ops.sends.size(), 4u);
  auto m = parsed(ops.sends[3].bytes);
  EXPECT_TRUE(m.header("Proxy-Authorization"));
  EXPECT_FALSE(m.header("Authorization"));
}

TEST(register_scenario, second_challenge_fails_with_its_code) {
  auto s = make_register_scenario(reg_params());
  s->resize(1);
  fake_ops ops;
  s->begin(ops, 0, 0);
  s->on_final(ops, 0, respond(ops.sends[0].bytes, 401, challenges("n1")).scanned);
  s->on_final(ops, 0, respond(ops.sends[1].bytes, 401, challenges("n2")).scanned);
  EXPECT_EQ(ops.outcome.at(0), "401");
  EXPECT_EQ(ops.sends.size(), 2u);
}

TEST(register_scenario, unusable_challenge) {
  auto s = make_register_scenario(reg_params());
  s->resize(1);
  fake_ops ops;
  s->begin(ops, 0, 0);
  s->on_final(ops, 0, respond(ops.sends[0].bytes, 401,
                              {"WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", "
                               "algorithm=AKAv1-MD5"}).scanned);
  EXPECT_EQ(ops.outcome.at(0), "bad-challenge");
}

TEST(register_scenario, failures_and_timeouts) {
  auto s = make_register_scenario(reg_params());
  s->resize(2);
  fake_ops ops;
  s->begin(ops, 0, 0);
  s->on_final(ops, 0, respond(ops.sends[0].bytes, 403).scanned);
  EXPECT_EQ(ops.outcome.at(0), "403");
  s->begin(ops, 1, 1);
  s->on_timeout(ops, 1);
  EXPECT_EQ(ops.outcome.at(1), "timeout");
}

TEST(register_scenario, unregister_reuses_the_nonce) {
  auto s = make_register_scenario(reg_params(true));
  s->resize(1);
  fake_ops ops;
  s->begin(ops, 0, 0);
  s->on_final(ops, 0, respond(ops.sends[0].bytes, 401, challenges("n1")).scanned);
  s->on_final(ops, 0, respond(ops.sends[1].bytes, 200).scanned);
  EXPECT_EQ(ops.outcome.count(0), 0u);  // not over: the unregister follows
  EXPECT_EQ(ops.latencies.size(), 1u);  // latency: first REGISTER to the 200
  ASSERT_EQ(ops.sends.size(), 3u);
  auto un = parsed(ops.sends[2].bytes);
  EXPECT_EQ(un.header("Expires"), "0");  // RFC 3261 §10.2.2
  EXPECT_EQ(un.cseq(), parsed(ops.sends[1].bytes).cseq() + 1);
  expect_valid_credentials(ops.sends[2].bytes, "user1", 2, auth::algorithm::sha256);
  s->on_final(ops, 0, respond(ops.sends[2].bytes, 200).scanned);
  EXPECT_EQ(ops.outcome.at(0), "");
}

TEST(register_scenario, unregister_failures_are_named) {
  auto s = make_register_scenario(reg_params(true));
  s->resize(2);
  fake_ops ops;
  s->begin(ops, 0, 0);
  s->on_final(ops, 0, respond(ops.sends[0].bytes, 200).scanned);
  ASSERT_EQ(ops.sends.size(), 2u);
  EXPECT_FALSE(parsed(ops.sends[1].bytes).header("Authorization"));  // no challenge seen
  s->on_final(ops, 0, respond(ops.sends[1].bytes, 500).scanned);
  EXPECT_EQ(ops.outcome.at(0), "unregister:500");
  s->begin(ops, 1, 1);
  s->on_final(ops, 1, respond(ops.sends[2].bytes, 200).scanned);
  s->on_timeout(ops, 1);
  EXPECT_EQ(ops.outcome.at(1), "unregister:timeout");
}

TEST(register_scenario, refreshes_keep_call_id_and_raise_cseq) {
  auto s = make_register_scenario(reg_params());
  s->resize(1);
  fake_ops ops;
  s->begin(ops, 0, 2);   // user3, first time
  s->on_final(ops, 0, respond(ops.sends[0].bytes, 200).scanned);
  ops.outcome.clear();
  s->begin(ops, 0, 12);  // user3 again (10 users)
  auto a = parsed(ops.sends[0].bytes);
  auto b = parsed(ops.sends[1].bytes);
  EXPECT_EQ(a.to().uri, b.to().uri);
  EXPECT_EQ(a.call_id(), b.call_id());  // RFC 3261 §10.2.4
  EXPECT_GT(b.cseq(), a.cseq());
  // One socket per user: the same Contact.
  EXPECT_EQ(s->socket_for(2, 4), s->socket_for(12, 4));
}

TEST(register_scenario, domain_option) {
  auto s = make_register_scenario(reg_params(false, "example.org"));
  s->resize(1);
  fake_ops ops;
  s->begin(ops, 0, 0);
  auto m = parsed(ops.sends[0].bytes);
  EXPECT_EQ(m.request_uri(), "sip:example.org");
  EXPECT_EQ(m.to().uri, "sip:user1@example.org");
}
