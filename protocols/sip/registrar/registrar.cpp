#include "protocols/sip/registrar/registrar.hpp"
#include "protocols/push/push.hpp"
#include "protocols/util/ascii.hpp"

#include <algorithm>
#include <limits>

namespace centralita::sip {

namespace {

constexpr uint32_t malformed_expires = 3600;  // RFC 3261 §20.10, §20.19

using ascii::iequals;

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Decimal digits only; values over 2^32-1 saturate. nullopt when malformed.
std::optional<uint32_t> parse_uint(std::string_view text) noexcept {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = std::min<uint64_t>(v * 10 + static_cast<uint64_t>(c - '0'),
                           std::numeric_limits<uint32_t>::max());
  }
  return static_cast<uint32_t>(v);
}

/// RFC 3261 §20.10 / §20.19: delta-seconds; malformed → 3600, too big → 2^32-1.
uint32_t parse_delta(std::string_view text) noexcept {
  return parse_uint(text).value_or(malformed_expires);
}

std::string_view unquote(std::string_view s) noexcept {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

/// The SIP URI parameters (RFC 3261 §19.1.1 uri-parameters) of a printed URI.
std::vector<std::pair<std::string_view, std::string_view>> uri_params(std::string_view uri) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  size_t at = uri.find('@');
  size_t semi = uri.find(';', at == std::string_view::npos ? 0 : at);
  if (semi == std::string_view::npos) return out;
  std::string_view params = uri.substr(semi + 1);
  params = params.substr(0, params.find('?'));
  while (!params.empty()) {
    size_t end = params.find(';');
    std::string_view p = params.substr(0, end);
    size_t eq = p.find('=');
    if (eq == std::string_view::npos)
      out.emplace_back(p, std::string_view());
    else
      out.emplace_back(p.substr(0, eq), p.substr(eq + 1));
    if (end == std::string_view::npos) break;
    params.remove_prefix(end + 1);
  }
  return out;
}

bool has_option_tag(const std::vector<std::string>& values, std::string_view tag) {
  for (std::string_view v : values) {
    while (!v.empty()) {
      size_t comma = v.find(',');
      if (iequals(trim(v.substr(0, comma)), tag)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return false;
}

binding make_binding(const register_request& r, const register_contact& c, uint32_t expires,
                     int64_t now) {
  binding b;
  b.expires_at = now + static_cast<int64_t>(expires);
  b.connection = r.connection;
  b.cseq = r.cseq;
  b.reg_id = c.reg_id;
  b.q = c.q.value_or(1000);
  b.q_given = c.q.has_value();
  b.pnsreg = c.pnsreg && !c.pn_provider.empty();
  b.set(binding::field::aor, r.aor);
  b.set(binding::field::contact, c.uri);
  b.set(binding::field::call_id, r.call_id);
  b.set_path(r.path);  // RFC 3327 §5.3: the registrar stores the Path with the binding
  b.set(binding::field::received, r.received);
  b.set(binding::field::transport, r.transport);
  b.set(binding::field::instance, c.instance);
  b.set(binding::field::user_agent, r.user_agent);
  b.set(binding::field::pn_provider, c.pn_provider);
  b.set(binding::field::pn_prid, c.pn_prid);
  b.set(binding::field::pn_param, c.pn_param);
  return b;
}

std::string contact_reply(const binding& b, int64_t now) {
  std::string out;
  out.reserve(b.contact().size() + 48);
  out.append("<").append(b.contact()).append(">;expires=").append(std::to_string(b.remaining(now)));
  if (b.q_given) out.append(";q=").append(format_qvalue(b.q));
  if (!b.instance().empty()) out.append(";+sip.instance=\"").append(b.instance()).append("\"");
  if (b.reg_id != 0) out.append(";reg-id=").append(std::to_string(b.reg_id));
  return out;
}

constexpr size_t npos = static_cast<size_t>(-1);

template <class Pred>
size_t find_index(const std::vector<binding>& v, Pred pred) {
  for (size_t i = 0; i < v.size(); ++i)
    if (pred(v[i])) return i;
  return npos;
}

registrar_outcome fail(registrar_outcome out, int status, std::string reason) {
  out.status = status;
  out.reason = std::move(reason);
  out.added.clear();
  out.refreshed.clear();
  out.removed.clear();
  out.contacts.clear();
  out.path.clear();
  out.feature_caps.clear();
  return out;
}

/// RFC 3261 §10.3 step 7: a binding set by the same Call-ID may only be changed by a
/// higher CSeq; otherwise the request is out of order and fails as a whole.
bool out_of_order(const binding& b, const register_request& r) {
  return b.call_id() == r.call_id && r.cseq <= b.cseq;
}

} // namespace

std::optional<uint16_t> parse_qvalue(std::string_view text) noexcept {
  text = trim(text);
  // RFC 3261 §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  unsigned whole = static_cast<unsigned>(text[0] - '0');
  unsigned frac = 0;
  if (text.size() > 1) {
    if (text[1] != '.' || text.size() > 5) return std::nullopt;
    unsigned scale = 100;
    for (size_t i = 2; i < text.size(); ++i, scale /= 10) {
      char c = text[i];
      if (c < '0' || c > '9') return std::nullopt;
      frac += static_cast<unsigned>(c - '0') * scale;
    }
  }
  if (whole == 1 && frac != 0) return std::nullopt;
  return static_cast<uint16_t>(whole * 1000 + frac);
}

std::string format_qvalue(uint16_t q) {
  if (q >= 1000) return "1";
  std::string out = "0";
  if (q == 0) return out;
  out.push_back('.');
  out.push_back(static_cast<char>('0' + q / 100));
  if (q % 100 != 0) out.push_back(static_cast<char>('0' + q / 10 % 10));
  if (q % 10 != 0) out.push_back(static_cast<char>('0' + q % 10));
  return out;
}

result<register_request> extract_register(const message& request, std::string_view source,
                                          std::string_view transport, uint64_t connection) {
  if (!request.is_request() || request.request_method() != method::register_)
    return error{errc::invalid_argument, "Not a REGISTER request"};
  register_request r;
  // RFC 3261 §10.3 step 5: the To header field holds the address-of-record.
  auto aor = normalize_aor(request.to().uri);
  if (!aor) return error{errc::bad_header, "Bad To URI"};
  r.aor = std::move(aor.value());
  r.call_id.assign(request.call_id());
  r.cseq = request.cseq();
  if (auto e = request.header("Expires")) r.expires = parse_delta(*e);
  for (auto& c : request.contacts()) {
    if (c.star) {
      r.star = true;  // RFC 3261 §10.2.2; checked in process_register (§10.3 step 6)
      continue;
    }
    register_contact rc;
    rc.uri = std::move(c.uri);
    for (const auto& [name, value] : c.params) {
      if (iequals(name, "expires")) {
        rc.expires = parse_delta(value);  // RFC 3261 §20.10
      } else if (iequals(name, "q")) {
        rc.q = parse_qvalue(value);
        if (!rc.q) return error{errc::bad_header, "Bad q-value in Contact"};
      } else if (iequals(name, "+sip.instance")) {
        rc.instance.assign(unquote(value));  // RFC 5626 §4.1
      } else if (iequals(name, "+sip.pnsreg")) {
        rc.pnsreg = true;  // RFC 8599 §4.1.2: a feature tag, no value
      } else if (iequals(name, "reg-id")) {
        // RFC 5626 §4.2: reg-id is 1 .. 2^31-1; anything else is not a flow id.
        uint32_t id = parse_uint(value).value_or(0);
        rc.reg_id = id <= 0x7fffffffu ? id : 0;
      }
    }
    if (rc.instance.empty()) rc.reg_id = 0;  // RFC 5626 §6: reg-id needs +sip.instance
    for (auto [name, value] : uri_params(rc.uri)) {
      // RFC 8599 §4.1.1: push parameters are Contact URI parameters; kept verbatim.
      if (iequals(name, "pn-provider")) rc.pn_provider.assign(value);
      else if (iequals(name, "pn-prid")) rc.pn_prid.assign(value);
      else if (iequals(name, "pn-param")) rc.pn_param.assign(value);
    }
    r.contacts.push_back(std::move(rc));
  }
  r.path = request.header_values("Path");
  r.path_supported = has_option_tag(request.header_values("Supported"), "path");
  r.received.assign(source);
  r.transport.assign(transport);
  r.connection = connection;
  r.user_agent = request.header("User-Agent").value_or(std::string());
  return r;
}

registrar_outcome process_register(std::span<const binding> current,
                                   const register_request& request,
                                   const registrar_config& config, int64_t now) {
  registrar_outcome out;
  out.bindings.reserve(current.size() + request.contacts.size());
  for (const binding& b : current) {
    // Bindings past their expiry are gone whatever the request says.
    if (b.expires_at <= now) out.expired.push_back(b);
    else out.bindings.push_back(b);
  }

  if (request.star) {
    // RFC 3261 §10.3 step 6: "*" must be the only Contact and come with Expires: 0.
    if (!request.contacts.empty() || !request.expires || *request.expires != 0)
      return fail(std::move(out), 400, "Invalid wildcard Contact");
    for (const binding& b : out.bindings)
      if (out_of_order(b, request))  // §10.3 step 6: same Call-ID needs a higher CSeq
        return fail(std::move(out), 500, "Out of order CSeq");
    out.removed = std::move(out.bindings);
    out.bindings.clear();
    return out;
  }

  // RFC 8599 §5.3: a contact asking for pushes through a provider we cannot push
  // to is refused as a whole (555), before anything changes. Removals pass.
  for (const register_contact& c : request.contacts) {
    uint32_t requested = c.expires.value_or(request.expires.value_or(config.default_expires));
    if (c.pn_provider.empty() || requested == 0) continue;
    if (std::find(config.pn_providers.begin(), config.pn_providers.end(), c.pn_provider)
        == config.pn_providers.end())
      return fail(std::move(out), 555, "Push Notification Service Not Supported");
    std::string caps = "*;+sip.pns=\"" + c.pn_provider + "\"";
    if (c.pnsreg && config.pnsreg_interval > 0)
      caps += ";+sip.pnsreg=\"" + std::to_string(config.pnsreg_interval) + "\"";
    if (std::find(out.feature_caps.begin(), out.feature_caps.end(), caps) == out.feature_caps.end())
      out.feature_caps.push_back(std::move(caps));
  }

  if (!request.contacts.empty()) {
    // RFC 3261 §10.3 step 7: changes are tentative until every contact passed; a
    // failure answers with the bindings as they were (rebuilt from `current`).
    auto failed = [&](int status, std::string reason) {
      out.bindings.clear();
      for (const binding& b : current)
        if (b.expires_at > now) out.bindings.push_back(b);
      return fail(std::move(out), status, std::move(reason));
    };
    enum class mark : uint8_t { kept, refreshed, added };
    std::vector<mark> marks(out.bindings.size(), mark::kept);
    std::vector<binding> removed;
    const size_t before = out.bindings.size();
    for (const register_contact& c : request.contacts) {
      // RFC 3261 §10.3 step 7: the contact's expires parameter, else the Expires
      // header, else the local default.
      uint32_t requested = c.expires.value_or(request.expires.value_or(config.default_expires));
      // §10.3 step 7: 423 iff 0 < requested < one hour and below the minimum.
      if (requested > 0 && requested < 3600 && requested < config.min_expires) {
        out = failed(423, "Interval Too Brief");
        out.min_expires = config.min_expires;  // RFC 3261 §20.23 Min-Expires
        return out;
      }
      // §10.3 step 7: the registrar MAY shorten the interval.
      uint32_t expires = std::min(requested, config.max_expires);
      // RFC 3261 §10.3 step 7 matches by contact URI; RFC 5626 §6 also by
      // (+sip.instance, reg-id). When both match different bindings, the flow's old
      // contact goes and the binding with this URI is the one updated.
      size_t by_uri = find_index(out.bindings, [&](const binding& b) {
        return same_contact_uri(b.contact(), c.uri);
      });
      size_t by_flow = c.reg_id == 0 ? npos : find_index(out.bindings, [&](const binding& b) {
        return b.reg_id == c.reg_id && b.instance() == c.instance;
      });
      // RFC 8599: the same push token is the same device, whatever address it
      // registers from now (a phone woken by a push comes back from a new one):
      // like a flow, its old contact goes (OpenSIPS's pn_ct_match_params).
      if (by_flow == npos && !c.pn_provider.empty() && !c.pn_prid.empty())
        by_flow = find_index(out.bindings, [&](const binding& b) {
          return b.pn_provider() == c.pn_provider && b.pn_prid() == c.pn_prid;
        });
      // §10.3 step 7: same Call-ID and a CSeq not higher aborts the whole request.
      // (A contact this request already wrote is simply written again.)
      for (size_t k : {by_uri, by_flow})
        if (k != npos && marks[k] == mark::kept && out_of_order(out.bindings[k], request))
          return failed(500, "Out of order CSeq");
      if (by_uri != npos && by_flow != npos && by_uri != by_flow) {
        if (marks[by_flow] != mark::added) removed.push_back(std::move(out.bindings[by_flow]));
        out.bindings.erase(out.bindings.begin() + static_cast<std::ptrdiff_t>(by_flow));
        marks.erase(marks.begin() + static_cast<std::ptrdiff_t>(by_flow));
        if (by_flow < by_uri) --by_uri;
        by_flow = npos;
      }
      size_t i = by_uri != npos ? by_uri : by_flow;
      if (i == npos) {
        if (expires == 0) continue;  // removing what is not there: nothing to do
        out.bindings.push_back(make_binding(request, c, expires, now));
        marks.push_back(mark::added);
        continue;
      }
      auto it = out.bindings.begin() + static_cast<std::ptrdiff_t>(i);
      if (expires == 0) {
        if (marks[i] != mark::added) removed.push_back(std::move(*it));
        out.bindings.erase(it);
        marks.erase(marks.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      binding next = make_binding(request, c, expires, now);
      // RFC 8599 §4.1.3: the pn-purr the registrar gave a binding stays with it
      // (the UA has put it in the Contact of its dialogs).
      if (!it->pn_purr().empty() && it->pn_prid() == next.pn_prid())
        next.set(binding::field::pn_purr, it->pn_purr());
      if (marks[i] == mark::added || same_contact_uri(it->contact(), c.uri)) {
        if (marks[i] == mark::kept) marks[i] = mark::refreshed;
      } else {
        // RFC 5626 §6: same instance and reg-id, new contact URI: the old binding
        // (another storage key) goes, the new one comes.
        removed.push_back(std::move(*it));
        marks[i] = mark::added;
      }
      *it = std::move(next);
    }
    // Policy, not RFC 3261: like Kamailio's registrar (max_contacts), refuse growth
    // past the limit with 503 "Too Many Registered Contacts" (§21.5.4 lets the UA
    // retry later or elsewhere); a request that does not add bindings still passes.
    if (out.bindings.size() > config.max_contacts && out.bindings.size() > before)
      return failed(503, "Too Many Registered Contacts");
    for (size_t i = 0; i < out.bindings.size(); ++i) {
      if (marks[i] != mark::added) continue;
      // A contact removed and written again within this request (a flow moved away
      // and back) is a refresh: keep the lists disjoint so their order never matters.
      auto back = std::find_if(removed.begin(), removed.end(), [&](const binding& r) {
        return same_contact_uri(r.contact(), out.bindings[i].contact());
      });
      if (back != removed.end()) {
        removed.erase(back);
        marks[i] = mark::refreshed;
      }
    }
    for (size_t i = 0; i < out.bindings.size(); ++i) {
      if (marks[i] == mark::added) out.added.push_back(out.bindings[i]);
      else if (marks[i] == mark::refreshed) out.refreshed.push_back(out.bindings[i]);
    }
    out.removed = std::move(removed);
  }

  // RFC 3261 §10.3 step 8: the 200 lists every current binding with its expires.
  out.contacts.reserve(out.bindings.size());
  for (const binding& b : out.bindings) out.contacts.push_back(contact_reply(b, now));
  // RFC 3327 §5.3: echo the Path when the UA said it supports path.
  if (request.path_supported && !request.contacts.empty()) out.path = request.path;
  return out;
}

std::string make_pn_purr(std::string_view aor, uint64_t random) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = push::base64url(aor);
  out += '.';
  for (int i = 15; i >= 0; --i) out += hex[(random >> (4 * i)) & 0xf];
  return out;
}

std::string pn_purr_aor(std::string_view purr) {
  auto dot = purr.rfind('.');
  if (dot == std::string_view::npos || purr.size() - dot != 17) return {};
  auto aor = push::base64url_decode(purr.substr(0, dot));
  if (!aor || aor->empty()) return {};
  for (char c : *aor)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return {};
  return std::move(aor.value());
}

std::optional<int64_t> refresh_push_due(int64_t expires_at, uint32_t interval, unsigned sent,
                                        int64_t last, int64_t min_gap) {
  if (interval == 0) return std::nullopt;
  int64_t first = expires_at - interval;
  if (sent == 0) return first < expires_at ? std::optional<int64_t>(first) : std::nullopt;
  int64_t next = last + std::max<int64_t>(min_gap, (expires_at - last) / 2);
  if (next >= expires_at) return std::nullopt;
  return next;
}

} // namespace centralita::sip
