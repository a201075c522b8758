#include "protocols/sip/proxy/forwarding.hpp"

#include "protocols/sip/proxy/request_rules.hpp"
#include "protocols/sip/proxy/sip_uri.hpp"

#include <string_view>
#include <vector>

namespace centralita::sip::proxy {

namespace {

error invalid(std::string reason) { return error{errc::invalid_argument, std::move(reason)}; }

/// Replaces the whole Route set, keeping the order of `routes` (topmost first).
void set_routes(message& m, const std::vector<std::string>& routes) {
  m.remove_header("Route");
  for (size_t i = routes.size(); i-- > 0;) m.push_route(routes[i]);
}

next_hop hop_of(const sip_uri& uri) {
  next_hop hop;
  // RFC 3263 §4.2 / RFC 3261 §19.1.1: maddr overrides the host.
  auto maddr = uri.param("maddr");
  hop.host = maddr && !maddr->empty() ? to_lower(*maddr) : uri.host;
  // RFC 3263 §4.1: an explicit transport parameter, else TLS for sips, else UDP.
  auto transport = uri.param("transport");
  if (uri.scheme == "sips") hop.transport = "tls";
  else if (transport && !transport->empty()) hop.transport = to_lower(*transport);
  else hop.transport = "udp";
  hop.port_explicit = uri.port.has_value();
  hop.port = uri.port.value_or(hop.transport == "tls" ? 5061 : 5060);
  return hop;
}

/// The header lines shared by CANCEL and ACK (RFC 3261 §9.1, §17.1.1.3).
result<message> hop_by_hop_request(const message& sent, std::string_view name, std::string_view to) {
  if (!sent.is_request()) return invalid("Not a request");
  auto top_via = sent.header("Via");
  auto from = sent.header("From");
  if (!top_via || !from) return invalid("Request without Via or From");
  std::string text;
  text.reserve(512);
  text.append(name).append(" ").append(sent.request_uri()).append(" SIP/2.0\r\n");
  text.append("Via: ").append(*top_via).append("\r\n");
  text.append("Max-Forwards: 70\r\n");
  std::vector<std::string> routes = sent.routes();
  if (!routes.empty()) {
    text.append("Route: ");
    for (size_t i = 0; i < routes.size(); ++i) text.append(i == 0 ? "" : ", ").append(routes[i]);
    text.append("\r\n");
  }
  text.append("From: ").append(*from).append("\r\n");
  text.append("To: ").append(to).append("\r\n");
  text.append("Call-ID: ").append(sent.call_id()).append("\r\n");
  text.append("CSeq: ").append(std::to_string(sent.cseq())).append(" ").append(name).append("\r\n");
  text.append("Content-Length: 0\r\n\r\n");
  return message::parse(text);
}

} // namespace

result<next_hop> next_hop_of(const message& request) {
  std::vector<std::string> routes = request.routes();
  auto uri = sip_uri::parse(routes.empty() ? request.request_uri() : routes.front());
  if (!uri || !uri->is_sip()) return invalid("Next hop is not a SIP URI");
  return hop_of(*uri);
}

result<prepared_branch> prepare_branch(const message& request, const branch_target& target,
                                       const proxy_identity& us, bool record_route,
                                       id_generator& ids) {
  if (!request.is_request()) return invalid("Not a request");
  auto target_uri = sip_uri::parse(target.uri);
  if (!target_uri || !target_uri->is_sip()) return invalid("Target is not a SIP URI");
  // The loop hash covers the request as received (after §16.4), not our edits.
  std::string hash = loop_hash(request);
  // RFC 3261 §16.6 step 1: each branch works on its own copy.
  message copy = request.clone();
  // RFC 3261 §16.6 step 2: the Request-URI becomes the target.
  std::string ruri = target_uri->to_string();
  copy.set_request_uri(ruri);
  // RFC 3261 §16.6 step 3: Max-Forwards.
  if (!copy.decrement_max_forwards()) return invalid("Max-Forwards is 0");
  // RFC 3261 §16.6 step 6 with RFC 3327 §5.3: the binding's Path comes first in Route.
  std::vector<std::string> routes = copy.routes();
  if (!target.path.empty()) routes.insert(routes.begin(), target.path.begin(), target.path.end());
  bool strict = false;
  std::optional<sip_uri> first_route;
  if (!routes.empty()) {
    first_route = sip_uri::parse(routes.front());
    if (!first_route || !first_route->is_sip()) return invalid("Route is not a SIP URI");
    // RFC 3261 §16.6 step 6: a first Route without lr is a strict router: the
    // Request-URI goes last in Route and that Route value becomes the Request-URI.
    if (!first_route->has_param("lr")) {
      strict = true;
      routes.erase(routes.begin());
      routes.push_back("<" + ruri + ">");
      ruri = first_route->to_string();
      copy.set_request_uri(ruri);
    }
  }
  if (!target.path.empty() || strict) set_routes(copy, routes);
  // RFC 3261 §16.6 step 4: Record-Route, sips when the Request-URI or the topmost
  // Route (after step 6) is sips.
  if (record_route && !us.record_route_uri.empty()) {
    std::string rr = us.record_route_uri;
    bool secure = target_uri->scheme == "sips" || (first_route && first_route->scheme == "sips");
    if (secure && rr.rfind("sip:", 0) == 0) rr.insert(3, "s");
    copy.add_record_route(rr);
  }
  // RFC 3261 §16.6 step 7: the first Route, else the Request-URI (strict: the new one).
  // After a strict-router rewrite the first Route is the new Request-URI: same host.
  next_hop hop = first_route ? hop_of(*first_route) : hop_of(*target_uri);
  // RFC 3261 §16.6 step 8: our Via; the branch is unique and carries the loop hash.
  std::string branch = ids.branch();
  branch.append(".").append(hash);
  if (!copy.push_via_with_branch(hop.transport, us.via_host, us.via_port, branch))
    return invalid("Cannot add our Via (via_host or transport invalid)");
  return prepared_branch{std::move(copy), std::move(branch), std::move(hop)};
}

bool prepare_response(message& response) {
  if (!response.is_response() || response.via_count() == 0) return false;
  // RFC 3261 §16.7 step 3: our Via goes; none left means the response is for us.
  response.pop_via();
  return response.via_count() > 0;
}

result<message> make_cancel(const message& forwarded_request) {
  auto to = forwarded_request.header("To");
  if (!to) return invalid("Request without To");
  // RFC 3261 §9.1: the CANCEL matches the request it cancels hop by hop.
  return hop_by_hop_request(forwarded_request, "CANCEL", *to);
}

result<message> make_ack_for(const message& forwarded_request, const message& response) {
  if (!response.is_response() || response.status() < 300)
    return invalid("ACK is built here only for non-2xx final responses");
  auto to = response.header("To");
  if (!to) return invalid("Response without To");
  // RFC 3261 §17.1.1.3: To comes from the response (its tag), the rest from the request.
  return hop_by_hop_request(forwarded_request, "ACK", *to);
}

} // namespace centralita::sip::proxy
