#include "protocols/auth/challenge.hpp"

#include "protocols/auth/auth_header.hpp"

#include <algorithm>

namespace centralita::auth {

std::string make_challenge(std::string_view realm, std::string_view nonce, algorithm a, bool stale,
                           std::string_view opaque) {
  std::string out;
  out.reserve(64 + realm.size() + nonce.size() + opaque.size());
  out += "Digest realm=";
  append_quoted(out, realm);
  out += ", nonce=";
  append_quoted(out, nonce);
  if (!opaque.empty()) {
    out += ", opaque=";
    append_quoted(out, opaque);  // RFC 7616 §3.3: returned unchanged by the client
  }
  out += ", algorithm=";
  out += to_string(a);
  out += ", qop=\"auth\"";  // RFC 7616 §3.3: qop is a quoted list; we offer auth only
  if (stale) out += ", stale=true";  // RFC 7616 §3.3: nonce expired, credentials fine
  return out;
}

std::vector<std::string> make_challenges(std::string_view realm, std::string_view nonce,
                                         std::span<const algorithm> offered, bool stale,
                                         std::string_view opaque) {
  std::vector<algorithm> algs(offered.begin(), offered.end());
  // RFC 8760 §2.4 / RFC 7616 §3.7: most preferred first, SHA-256 ahead of MD5.
  std::stable_sort(algs.begin(), algs.end(),
                   [](algorithm x, algorithm y) { return is_sha256(x) && !is_sha256(y); });
  std::vector<algorithm> seen;
  std::vector<std::string> out;
  for (algorithm a : algs) {
    if (std::find(seen.begin(), seen.end(), a) != seen.end()) continue;
    seen.push_back(a);
    out.push_back(make_challenge(realm, nonce, a, stale, opaque));
  }
  return out;
}

result<challenge> parse_challenge(std::string_view header_value) {
  std::string_view scheme = scheme_of(header_value);
  // RFC 3261 §22.4: SIP uses the Digest scheme only (Basic is forbidden, §22.1).
  if (!scheme.empty() && !iequals(scheme, "Digest"))
    return error{errc::unsupported, "auth: scheme '" + std::string(scheme) + "' is not Digest"};
  auto parsed = parse_auth_header(header_value);
  if (!parsed) return parsed.err();
  const auth_header& h = *parsed;
  challenge c;
  const auth_param* realm = h.find("realm");
  const auth_param* nonce = h.find("nonce");
  if (!realm) return error{errc::bad_header, "auth: missing 'realm'"};
  if (!nonce) return error{errc::bad_header, "auth: missing 'nonce'"};
  c.realm = realm->value;
  c.nonce = nonce->value;
  if (const auth_param* o = h.find("opaque")) c.opaque = o->value;
  if (const auth_param* a = h.find("algorithm")) {
    auto alg = parse_algorithm(a->value);
    if (!alg) return error{errc::unsupported, "auth: unsupported algorithm '" + a->value + "'"};
    c.alg = *alg;
  }
  if (const auth_param* s = h.find("stale")) {
    if (iequals(s->value, "true")) c.stale = true;
    else if (!iequals(s->value, "false")) return error{errc::bad_header, "auth: stale must be true or false"};
  }
  if (const auth_param* q = h.find("qop")) {
    // RFC 7616 §3.3: qop-options = "qop" "=" DQUOTE qop-value *("," qop-value) DQUOTE
    std::string_view list = q->value;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (iequals(item, "auth")) c.qop_auth = true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return c;
}

} // namespace centralita::auth
