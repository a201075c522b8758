// libFuzzer target: digest auth parsing. The input is read as an Authorization
// value, a WWW-Authenticate value, a users file and a nonce; on top of "no crash,
// no leak, no UB" it checks invariants that must hold for any bytes:
//  - accepted credentials are well-formed and verify() runs on them;
//  - a challenge built from the input as realm reads back with the same realm
//    (minus CR/LF, which cannot be carried);
//  - an input nonce is never accepted by an issuer unless it issued it.

#include "protocols/auth/auth_header.hpp"
#include "protocols/auth/challenge.hpp"
#include "protocols/auth/credentials.hpp"
#include "protocols/auth/digest.hpp"
#include "protocols/auth/nonce_issuer.hpp"
#include "protocols/auth/users_file.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace centralita::auth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto c = parse_credentials(in)) {
    if (c->response.size() != hex_length(c->alg)) std::abort();
    if (c->username.empty() || c->realm.empty() || c->nonce.empty() || c->uri.empty()) std::abort();
    if (c->has_qop() != !c->cnonce.empty() || c->has_qop() != (c->nc_hex.size() == 8)) std::abort();
    std::string h1 = ha1(c->alg, c->username, c->realm, "password");
    bool ok = verify(*c, "REGISTER", h1);
    // The reference client's own answer must verify.
    credentials mine = *c;
    mine.response = client_response(*c, "REGISTER", "password");
    if (!verify(mine, "REGISTER", h1)) std::abort();
    (void)ok;
  }

  if (auto ch = parse_challenge(in)) {
    std::string again = make_challenge(ch->realm, ch->nonce, ch->alg, ch->stale, ch->opaque);
    auto back = parse_challenge(again);
    if (!back || back->realm != ch->realm || back->nonce != ch->nonce || back->opaque != ch->opaque ||
        back->alg != ch->alg || back->stale != ch->stale || !back->qop_auth)
      std::abort();
  }

  std::string expected;
  for (char c : in)
    if (c != '\r' && c != '\n') expected.push_back(c);
  auto rt = parse_challenge(make_challenge(in, "n", algorithm::sha256, false, in));
  if (!rt || rt->realm != expected || rt->opaque != expected) std::abort();

  if (auto users = parse_users(in)) {
    for (const auto& u : *users) {
      if (u.user.empty() || u.domain.empty() || u.secret.empty()) std::abort();
      (void)ha1_for(u, algorithm::sha256_sess, u.domain);
    }
  }

  static const auto issuer = nonce_issuer::create("fuzz-secret-0123456789abcdef");
  if (!issuer) std::abort();
  if (issuer->check(in, "realm", 1000, 1000) != nonce_state::invalid) std::abort();
  return 0;
}
