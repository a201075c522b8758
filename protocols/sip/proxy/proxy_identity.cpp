#include "protocols/sip/proxy/proxy_identity.hpp"

#include <algorithm>
#include <charconv>

namespace centralita::sip::proxy {

bool proxy_identity::is_our_host(std::string_view host) const {
  if (!via_host.empty() && iequal(host, via_host)) return true;
  return std::any_of(hosts.begin(), hosts.end(), [&](const std::string& h) { return iequal(h, host); });
}

bool proxy_identity::is_our_port(uint16_t port) const {
  return port == via_port || std::find(ports.begin(), ports.end(), port) != ports.end();
}

bool proxy_identity::is_us(const sip_uri& uri) const {
  if (!uri.is_sip() || !is_our_host(uri.host)) return false;
  // RFC 3261 §16.4: a maddr names the element that must process the request.
  if (auto maddr = uri.param("maddr"); maddr && !is_our_host(*maddr)) return false;
  // A domain without a port may resolve (RFC 3263) to any of our ports: only an
  // explicit port has to be one of ours.
  if (uri.port && !ports.empty() && !is_our_port(*uri.port)) return false;
  return true;
}

bool proxy_identity::is_us(std::string_view uri) const {
  auto parsed = sip_uri::parse(uri);
  return parsed && is_us(*parsed);
}

bool proxy_identity::is_our_sent_by(const via& v) const {
  if (!is_our_host(v.host)) return false;
  unsigned port = iequal(v.transport, "TLS") ? 5061 : 5060;  // RFC 3261 §18.2.2 defaults
  if (!v.port.empty()) {
    auto [end, ec] = std::from_chars(v.port.data(), v.port.data() + v.port.size(), port);
    if (ec != std::errc{} || end != v.port.data() + v.port.size() || port > 65535) return false;
  }
  return is_our_port(static_cast<uint16_t>(port));
}

} // namespace centralita::sip::proxy
