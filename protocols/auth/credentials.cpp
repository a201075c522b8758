#include "protocols/auth/credentials.hpp"

#include "protocols/auth/auth_header.hpp"

#include <utility>

namespace centralita::auth {

namespace {

error bad(std::string reason) { return error{errc::bad_header, "auth: " + std::move(reason)}; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Copies a required parameter into `out`; an error when it is absent or empty.
result<void> required(const auth_header& h, std::string_view name, std::string& out) {
  const auth_param* p = h.find(name);
  if (!p) return error{errc::bad_header, "auth: missing '" + std::string(name) + "'"};
  if (p->value.empty()) return bad("empty '" + std::string(name) + "'");
  out = p->value;
  return {};
}

} // namespace

result<credentials> parse_credentials(std::string_view header_value) {
  std::string_view scheme = scheme_of(header_value);
  // RFC 3261 §22.4: SIP uses the Digest scheme only (Basic is forbidden, §22.1).
  if (!scheme.empty() && !iequals(scheme, "Digest"))
    return error{errc::unsupported, "auth: scheme '" + std::string(scheme) + "' is not Digest"};
  auto parsed = parse_auth_header(header_value);
  if (!parsed) return parsed.err();
  const auth_header& h = *parsed;

  // RFC 7616 §3.4.4: username* carries an encoded name we do not decode.
  if (h.find("username*")) return error{errc::unsupported, "auth: username* is not supported"};

  credentials c;
  // RFC 3261 §22.4 / RFC 7616 §3.4: these are always present in a Digest response.
  for (auto [name, dst] : {std::pair{"username", &c.username}, std::pair{"realm", &c.realm},
                           std::pair{"nonce", &c.nonce}, std::pair{"uri", &c.uri},
                           std::pair{"response", &c.response}}) {
    if (auto r = required(h, name, *dst); !r) return r.err();
  }

  if (const auth_param* a = h.find("algorithm")) {
    auto alg = parse_algorithm(a->value);
    if (!alg) return error{errc::unsupported, "auth: unsupported algorithm '" + a->value + "'"};
    c.alg = *alg;
  }

  // RFC 7616 §3.4: userhash=true means the username is H(user:realm); we keep
  // no such index, so the client must send the plain username.
  if (const auth_param* u = h.find("userhash")) {
    if (iequals(u->value, "true")) return error{errc::unsupported, "auth: userhash is not supported"};
    if (!iequals(u->value, "false")) return bad("userhash must be true or false");
  }

  // The response is LHEX of the digest length (RFC 7616 §3.4.1); accept uppercase.
  if (c.response.size() != hex_length(c.alg)) return bad("response has the wrong length for " + std::string(to_string(c.alg)));
  for (char& ch : c.response) {
    if (hex_value(ch) < 0) return bad("response is not hex");
    if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
  }

  if (const auth_param* o = h.find("opaque")) c.opaque = o->value;

  const auth_param* qop = h.find("qop");
  const auth_param* nc = h.find("nc");
  const auth_param* cnonce = h.find("cnonce");
  if (qop) {
    // RFC 7616 §3.4: with qop, cnonce and nc MUST be sent.
    if (!iequals(qop->value, "auth")) {
      if (iequals(qop->value, "auth-int")) return error{errc::unsupported, "auth: qop auth-int is not supported"};
      return bad("unknown qop '" + qop->value + "'");
    }
    c.qop = qop->value;
    if (!cnonce) return bad("qop without 'cnonce'");
    if (cnonce->value.empty()) return bad("empty 'cnonce'");
    if (!nc) return bad("qop without 'nc'");
    c.cnonce = cnonce->value;
    // RFC 7616 §3.4: nc = 8LHEX.
    if (nc->value.size() != 8) return bad("nc must be 8 hex digits");
    uint32_t n = 0;
    for (char ch : nc->value) {
      int v = hex_value(ch);
      if (v < 0) return bad("nc must be 8 hex digits");
      n = (n << 4) | static_cast<uint32_t>(v);
    }
    c.nc = n;
    c.nc_hex = nc->value;
  } else if (is_session(c.alg)) {
    // RFC 7616 §3.4.2: -sess hashes the cnonce, which is only sent with qop.
    return bad(std::string(to_string(c.alg)) + " without qop");
  } else if (nc || cnonce) {
    // RFC 2617 §3.2.2: cnonce and nc MUST NOT be sent without qop.
    return bad(nc ? "'nc' without qop" : "'cnonce' without qop");
  }
  return c;
}

} // namespace centralita::auth
