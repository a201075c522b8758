#include "protocols/sip/proxy/request_rules.hpp"

#include <algorithm>
#include <cstdint>

namespace centralita::sip::proxy {

namespace {

/// The Request-URI and Route set as §16.4 leaves them, computed without editing
/// the message: validate() hashes this view, preprocess_routes() applies it.
struct route_view {
  std::string request_uri;           ///< printed, canonical
  std::vector<std::string> routes;   ///< canonical URIs, topmost first
  route_outcome outcome;
};

/// A URI printed by our own printer, so the same URI hashes the same whether sofia
/// or a Route value produced its text.
std::string canonical(std::string_view text) {
  auto u = sip_uri::parse(text);
  return u ? u->to_string() : std::string(text);
}

/// RFC 3261 §16.4: is `ruri` a value we placed in a Record-Route? Ours carry no user
/// part and every parameter of `record_route_uri` (at least lr).
bool is_our_record_route(const sip_uri& ruri, const proxy_identity& us) {
  auto rr = sip_uri::parse(us.record_route_uri);
  if (!rr || !ruri.is_sip() || !ruri.user.empty() || ruri.host != rr->host ||
      ruri.effective_port() != rr->effective_port())
    return false;
  return std::all_of(rr->params.begin(), rr->params.end(), [&](const auto& p) {
    auto v = ruri.param(p.first);
    return v && iequal(*v, p.second);
  });
}

route_view view_routes(const message& request, const proxy_identity& us) {
  route_view view;
  view.outcome.in_dialog = !request.to().tag.empty();
  std::vector<std::string> routes = request.routes();
  auto ruri = sip_uri::parse(request.request_uri());
  // RFC 3261 §16.4 ¶1: a strict router upstream put our Record-Route value in the
  // Request-URI; the real one is the last Route value, which is removed.
  if (ruri && !routes.empty() && is_our_record_route(*ruri, us)) {
    ruri = sip_uri::parse(routes.back());
    routes.pop_back();
    view.outcome.strict_route_restored = true;
  }
  // RFC 3261 §16.4 ¶2: a maddr naming us is stripped, with any port or transport.
  if (ruri && ruri->is_sip()) {
    auto maddr = ruri->param("maddr");
    if (maddr && us.is_our_host(*maddr) && (!ruri->port || us.is_our_port(*ruri->port))) {
      ruri->remove_param("maddr");
      ruri->remove_param("transport");
      ruri->port.reset();
      view.outcome.maddr_stripped = true;
    }
  }
  view.request_uri = ruri ? ruri->to_string() : request.request_uri();
  // RFC 3261 §16.4 ¶3: the first Route value naming us is removed (loose routing).
  if (!routes.empty() && us.is_us(routes.front())) {
    routes.erase(routes.begin());
    view.outcome.removed_self = true;
  }
  view.outcome.has_route = !routes.empty();
  view.outcome.request_uri_is_us = ruri && us.is_us(*ruri);
  view.routes.reserve(routes.size());
  for (const auto& r : routes) view.routes.push_back(canonical(r));
  return view;
}

/// FNV-1a, 64 bits: collisions only hide a loop until Max-Forwards ends it.
struct fnv1a {
  uint64_t h = 14695981039346656037ull;
  void add(std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // a separator no header byte equals, so fields cannot run together
    h *= 1099511628211ull;
  }
};

std::string base32(uint64_t v) {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out(13, 'a');
  for (size_t i = 0; i < out.size(); ++i, v >>= 5) out[i] = alphabet[v & 31];
  return out;
}

/// RFC 3261 §16.6 step 8: the fields that affect how this request is processed.
std::string hash_fields(const message& m, std::string_view request_uri,
                        const std::vector<std::string>& routes, const via& top) {
  fnv1a f;
  f.add(m.to().tag);
  f.add(m.from().tag);
  f.add(m.call_id());
  f.add(request_uri);
  f.add(top.protocol);
  f.add(to_lower(top.host));
  f.add(top.port);
  f.add(top.branch);
  f.add(std::to_string(m.cseq()));
  for (const auto& v : m.header_values("Proxy-Require")) f.add(v);
  for (const auto& v : m.header_values("Proxy-Authorization")) f.add(v);
  for (const auto& r : routes) f.add(r);
  return base32(f.h);
}

/// RFC 3261 §16.3 step 4: a Via of ours whose branch carries the hash this request
/// would get now. Our hash covered the Via that was on top when we forwarded, which
/// is the one right below ours.
bool looped(const message& request, const proxy_identity& us) {
  std::vector<via> vias = request.vias();
  std::optional<route_view> view;
  for (size_t i = 0; i + 1 < vias.size(); ++i) {
    if (!us.is_our_sent_by(vias[i])) continue;
    std::string_view branch = vias[i].branch;
    size_t dot = branch.rfind('.');
    if (dot == std::string_view::npos || branch.size() - dot - 1 != 13) continue;
    if (!view) view = view_routes(request, us);
    if (branch.substr(dot + 1) == hash_fields(request, view->request_uri, view->routes, vias[i + 1]))
      return true;
  }
  return false;
}

/// Option tags of every Proxy-Require value ("a, b" lines split).
std::vector<std::string> option_tags(const message& request) {
  std::vector<std::string> tags;
  for (const auto& line : request.header_values("Proxy-Require")) {
    std::string_view rest = line;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view tag = rest.substr(0, comma);
      while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
      while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
      if (!tag.empty()) tags.emplace_back(tag);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return tags;
}

} // namespace

std::optional<rejection> validate(const message& request, const proxy_identity& us) {
  if (!request.is_request()) return rejection{400, "Not a request", {}};
  // RFC 3261 §16.3 step 1: the fields the proxy needs must parse.
  auto ruri = sip_uri::parse(request.request_uri());
  if (!ruri) return rejection{400, "Bad Request-URI", {}};
  for (const auto& r : request.routes()) {
    auto route = sip_uri::parse(r);
    if (!route || !route->is_sip()) return rejection{400, "Bad Route header", {}};
  }
  // RFC 3261 §16.3 step 2: a scheme we cannot route gets 416.
  if (!ruri->is_sip() && ruri->scheme != "tel")
    return rejection{416, "Unsupported URI Scheme", {}};
  // RFC 3261 §16.3 step 3: no hops left. An OPTIONS for us is ours to answer (§11).
  if (auto mf = request.max_forwards(); mf && *mf == 0) {
    if (!(request.request_method() == method::options && us.is_us(*ruri)))
      return rejection{483, "Too Many Hops", {}};
  }
  // RFC 3261 §16.3 step 4: a loop (same hash), not a spiral (different hash).
  if (looped(request, us)) return rejection{482, "Loop Detected", {}};
  // RFC 3261 §16.3 step 5: every Proxy-Require option must be one we support.
  std::string unsupported;
  for (const auto& tag : option_tags(request)) {
    bool known = std::any_of(us.supported_options.begin(), us.supported_options.end(),
                             [&](const std::string& s) { return iequal(s, tag); });
    if (known) continue;
    if (!unsupported.empty()) unsupported.append(", ");
    unsupported.append(tag);
  }
  if (!unsupported.empty()) return rejection{420, "Bad Extension", {{"Unsupported", unsupported}}};
  return std::nullopt;
}

result<message> make_rejection(const message& request, const rejection& r, std::string_view to_tag) {
  auto response = make_response(request, r.status, r.reason, to_tag);
  if (!response) return response;
  for (const auto& [name, value] : r.headers)
    if (!response->add_header(name, value))
      return error{errc::invalid_argument, "Cannot add header " + name};
  return response;
}

route_outcome preprocess_routes(message& request, const proxy_identity& us) {
  route_view view = view_routes(request, us);
  const route_outcome& o = view.outcome;
  if (o.strict_route_restored) {
    // RFC 3261 §16.4 ¶1: the last Route value becomes the Request-URI again.
    std::vector<std::string> routes = request.routes();
    request.remove_header("Route");
    for (size_t i = routes.size() - 1; i-- > 0;) request.push_route(routes[i]);
  }
  if (o.strict_route_restored || o.maddr_stripped) request.set_request_uri(view.request_uri);
  // RFC 3261 §16.4 ¶3: loose routing, our own value leaves the Route set.
  if (o.removed_self) request.pop_route();
  return o;
}

std::string loop_hash(const message& request) {
  std::vector<std::string> routes = request.routes();
  for (auto& r : routes) r = canonical(r);
  return hash_fields(request, canonical(request.request_uri()), routes, request.top_via());
}

bool record_route_by_default(const message& request, const route_outcome& routing) {
  switch (request.request_method()) {
    case method::invite:
    case method::subscribe:
    case method::refer:
      return !routing.in_dialog;  // RFC 3261 §12.1: only a request outside a dialog forms one
    case method::notify:
      return routing.removed_self;  // RFC 6665 §4.3: we were on the SUBSCRIBE's path
    default:
      return false;
  }
}

} // namespace centralita::sip::proxy
