#pragma once

// Who "we" are for RFC 3261 §16: the domains and addresses this proxy is responsible
// for, the URI it records in Record-Route, and the sent-by it writes in Via.

#include "protocols/sip/message.hpp"
#include "protocols/sip/proxy/sip_uri.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::sip::proxy {

/// The proxy's own names; a plain value built once from config (immutable snapshot).
struct proxy_identity {
  /// Our domains and addresses, lower case (IPv6 references with brackets).
  std::vector<std::string> hosts;
  /// The ports we listen on; empty means "any port" when matching a URI with a port.
  std::vector<uint16_t> ports;
  /// RFC 3261 §16.6 step 4: the URI we put in Record-Route, with ;lr
  /// (e.g. "sip:10.0.0.1:5060;lr").
  std::string record_route_uri;
  /// RFC 3261 §16.6 step 8: the sent-by host of our Via.
  std::string via_host;
  /// The sent-by port of our Via.
  uint16_t via_port = 5060;
  /// RFC 3261 §16.3 step 5: the option tags we support in Proxy-Require (lower case).
  std::vector<std::string> supported_options;

  /// True when `uri` names this proxy: a sip/sips URI whose host (and maddr, if any) is
  /// one of ours and whose explicit port, if any, is one we listen on (RFC 3261 §16.4).
  bool is_us(const sip_uri& uri) const;
  /// `is_us` on the text of a URI or name-addr; false when it does not parse.
  bool is_us(std::string_view uri) const;
  /// True when a Via's sent-by is ours (RFC 3261 §16.3 step 4): its host is `via_host`
  /// or one of `hosts`, and its port (5060 when absent) is `via_port` or one of `ports`.
  bool is_our_sent_by(const via& v) const;
  /// True when `host` (any case) is `via_host` or one of `hosts`.
  bool is_our_host(std::string_view host) const;
  /// True when `port` is `via_port` or one of `ports`.
  bool is_our_port(uint16_t port) const;
};

} // namespace centralita::sip::proxy
