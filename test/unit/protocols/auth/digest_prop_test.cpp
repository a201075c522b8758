// Properties of digest auth (rapidcheck):
//  1. a challenge from make_challenge() reads back, as a client parses it, with
//     the same realm, nonce, opaque, algorithm and stale flag;
//  2. parse_credentials() never crashes on arbitrary bytes or on mutations of a
//     valid header, and what it accepts is well-formed;
//  3. a response computed by an independent reference client (EVP one-shot over
//     the joined string) verifies, and any single-character change to the
//     response, method, uri or password does not;
//  4. nonces: issued ones check valid within the lifetime, and any change to one
//     character makes them invalid.

#include "protocols/auth/auth_header.hpp"
#include "protocols/auth/challenge.hpp"
#include "protocols/auth/credentials.hpp"
#include "protocols/auth/digest.hpp"
#include "protocols/auth/nonce_issuer.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstdio>
#include <string>

using namespace centralita;
using namespace centralita::auth;

namespace {

/// Printable ASCII, quotes and backslashes included, plus a few 8-bit bytes.
rc::Gen<std::string> text(size_t min, size_t max) {
  return rc::gen::mapcat(rc::gen::inRange(min, max + 1), [](size_t n) {
    return rc::gen::container<std::string>(
        n, rc::gen::oneOf(rc::gen::inRange<char>(0x20, 0x7f), rc::gen::element('"', '\\', '\t', ':'),
                          rc::gen::element(static_cast<char>(0xc3), static_cast<char>(0xa9))));
  });
}

rc::Gen<std::string> token(size_t min, size_t max) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~";
  return rc::gen::mapcat(rc::gen::inRange(min, max + 1), [](size_t n) {
    return rc::gen::container<std::string>(n, rc::gen::elementOf(alphabet));
  });
}

rc::Gen<algorithm> any_algorithm() {
  return rc::gen::element(algorithm::md5, algorithm::md5_sess, algorithm::sha256, algorithm::sha256_sess);
}

/// The reference: hex(H(s)) with EVP's one-shot API, no code shared with digest.cpp.
std::string ref_hash(algorithm a, const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, is_sha256(a) ? EVP_sha256() : EVP_md5(), nullptr);
  std::string out;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    out += buf;
  }
  return out;
}

struct client_input {
  algorithm alg;
  std::string user, password, realm, nonce, cnonce, method, uri;
  uint32_t nc;
};

/// RFC 7616 §3.4.1 as a client computes it.
std::string ref_response(const client_input& in) {
  std::string h1 = ref_hash(in.alg, in.user + ":" + in.realm + ":" + in.password);
  if (is_session(in.alg)) h1 = ref_hash(in.alg, h1 + ":" + in.nonce + ":" + in.cnonce);
  std::string h2 = ref_hash(in.alg, in.method + ":" + in.uri);
  char nc[9];
  std::snprintf(nc, sizeof nc, "%08x", in.nc);
  return ref_hash(in.alg, h1 + ":" + in.nonce + ":" + nc + ":" + in.cnonce + ":auth:" + h2);
}

std::string ref_header(const client_input& in, const std::string& resp) {
  std::string h = "Digest username=";
  append_quoted(h, in.user);
  h += ", realm=";
  append_quoted(h, in.realm);
  h += ", nonce=";
  append_quoted(h, in.nonce);
  h += ", uri=";
  append_quoted(h, in.uri);
  h += ", response=\"" + resp + "\", algorithm=" + std::string(to_string(in.alg)) + ", cnonce=";
  append_quoted(h, in.cnonce);
  char nc[9];
  std::snprintf(nc, sizeof nc, "%08x", in.nc);
  h += ", nc=" + std::string(nc) + ", qop=auth";
  return h;
}

rc::Gen<client_input> any_input() {
  return rc::gen::build<client_input>(
      rc::gen::set(&client_input::alg, any_algorithm()), rc::gen::set(&client_input::user, text(1, 12)),
      rc::gen::set(&client_input::password, text(1, 16)), rc::gen::set(&client_input::realm, text(1, 16)),
      rc::gen::set(&client_input::nonce, text(1, 48)), rc::gen::set(&client_input::cnonce, text(1, 24)),
      rc::gen::set(&client_input::method, token(1, 10)), rc::gen::set(&client_input::uri, text(1, 30)),
      rc::gen::set(&client_input::nc, rc::gen::inRange<uint32_t>(1, 0xffffffff)));
}

/// `s` with the character at `pos % size` replaced by a different one.
std::string change_one(std::string s, size_t pos, char delta) {
  size_t i = pos % s.size();
  s[i] = static_cast<char>(s[i] + (delta == 0 ? 1 : delta));
  return s;
}

} // namespace

RC_GTEST_PROP(digest_prop, challenge_reads_back, ()) {
  const auto realm = *text(0, 30);
  const auto nonce = *text(1, 50);
  const auto opaque = *text(0, 20);
  const auto a = *any_algorithm();
  const bool stale = *rc::gen::arbitrary<bool>();
  auto c = parse_challenge(make_challenge(realm, nonce, a, stale, opaque));
  RC_ASSERT(c.ok());
  RC_ASSERT(c->realm == realm);
  RC_ASSERT(c->nonce == nonce);
  RC_ASSERT(c->opaque == opaque);
  RC_ASSERT(c->alg == a);
  RC_ASSERT(c->stale == stale);
  RC_ASSERT(c->qop_auth);
}

RC_GTEST_PROP(digest_prop, parse_never_crashes_on_bytes, (const std::string& bytes)) {
  auto c = parse_credentials(bytes);
  if (c) RC_ASSERT(c->response.size() == hex_length(c->alg));
  (void)parse_challenge(bytes);
}

RC_GTEST_PROP(digest_prop, parse_never_crashes_on_mutations, ()) {
  const auto in = *any_input();
  std::string h = ref_header(in, ref_response(in));
  const auto edits = *rc::gen::container<std::vector<std::pair<size_t, char>>>(
      rc::gen::pair(rc::gen::arbitrary<size_t>(), rc::gen::element('"', '\\', ',', '=', ' ', '\r', '\n', '\0', 'x')));
  for (auto [pos, ch] : edits) {
    size_t i = pos % (h.size() + 1);
    if (pos & 1) h.insert(h.begin() + static_cast<std::ptrdiff_t>(i), ch);
    else if (i < h.size()) h.erase(i, 1);
  }
  auto c = parse_credentials(h);
  if (c) {
    RC_ASSERT(c->response.size() == hex_length(c->alg));
    RC_ASSERT(!c->username.empty() && !c->nonce.empty() && !c->uri.empty());
    RC_ASSERT(c->has_qop() == !c->cnonce.empty());
  }
}

RC_GTEST_PROP(digest_prop, reference_client_verifies, ()) {
  const auto in = *any_input();
  const std::string resp = ref_response(in);
  auto c = parse_credentials(ref_header(in, resp));
  RC_ASSERT(c.ok());
  RC_ASSERT(c->username == in.user);
  RC_ASSERT(c->uri == in.uri);
  RC_ASSERT(c->nc == in.nc);
  const std::string stored = ha1(in.alg, in.user, in.realm, in.password);
  RC_ASSERT(verify(*c, in.method, stored));
  RC_ASSERT(client_response(*c, in.method, in.password) == resp);

  const size_t pos = *rc::gen::arbitrary<size_t>();
  const char delta = *rc::gen::inRange<char>(1, 15);
  // One character of the response (kept hex so it still parses).
  {
    std::string r = resp;
    size_t i = pos % r.size();
    r[i] = "0123456789abcdef"[(std::string_view("0123456789abcdef").find(r[i]) + 1 + pos % 15) % 16];
    auto bad = parse_credentials(ref_header(in, r));
    RC_ASSERT(bad.ok());
    RC_ASSERT(!verify(*bad, in.method, stored));
  }
  RC_ASSERT(!verify(*c, change_one(in.method, pos, delta), stored));
  {
    credentials other = *c;
    other.uri = change_one(in.uri, pos, delta);
    RC_ASSERT(!verify(other, in.method, stored));
  }
  RC_ASSERT(!verify(*c, in.method, ha1(in.alg, in.user, in.realm, change_one(in.password, pos, delta))));
}

RC_GTEST_PROP(digest_prop, nonces_check_and_resist_changes, ()) {
  const auto secret = *rc::gen::container<std::string>(32, rc::gen::arbitrary<char>());
  const auto realm = *text(0, 20);
  const auto now = *rc::gen::inRange<uint64_t>(0, uint64_t{1} << 50);
  const auto age = *rc::gen::inRange<uint64_t>(0, 120'000);
  auto iss = nonce_issuer::create(secret, *rc::gen::arbitrary<uint32_t>());
  RC_ASSERT(iss.ok());
  std::string n = iss->issue(realm, now);
  RC_ASSERT(iss->check(n, realm, now + age, 60'000) == (age <= 60'000 ? nonce_state::valid : nonce_state::stale));
  const size_t pos = *rc::gen::arbitrary<size_t>() % n.size();
  std::string t = n;
  t[pos] = t[pos] == 'A' ? 'z' : 'A';
  RC_ASSERT(iss->check(t, realm, now, 60'000) == nonce_state::invalid);
}
