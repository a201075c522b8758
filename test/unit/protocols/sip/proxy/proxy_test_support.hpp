#pragma once

// Shared material for the proxy tests: RFC 3261 §24.2-style messages and a proxy
// identity (atlanta.example.com's proxy at 192.0.2.10).

#include "protocols/sip/message.hpp"
#include "protocols/sip/proxy/proxy_identity.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace centralita::sip::proxy::test {

inline proxy_identity identity() {
  proxy_identity us;
  us.hosts = {"atlanta.example.com", "192.0.2.10"};
  us.ports = {5060};
  us.record_route_uri = "sip:192.0.2.10:5060;lr";
  us.via_host = "192.0.2.10";
  us.via_port = 5060;
  return us;
}

/// An INVITE from Alice's UA (RFC 3261 §24.2 F1), with extra header lines.
inline std::string invite_text(std::string_view ruri = "sip:bob@biloxi.example.com",
                               std::string_view extra = "") {
  std::string s = "INVITE " + std::string(ruri) + " SIP/2.0\r\n";
  s += "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKnashds8\r\n";
  s += "Max-Forwards: 70\r\n";
  s += "To: Bob <sip:bob@biloxi.example.com>\r\n";
  s += "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n";
  s += "Call-ID: a84b4c76e66710\r\n";
  s += "CSeq: 314159 INVITE\r\n";
  s += "Contact: <sip:alice@pc33.atlanta.example.com>\r\n";
  s += std::string(extra);
  s += "Content-Length: 0\r\n\r\n";
  return s;
}

inline message parse_ok(std::string_view text) {
  auto m = message::parse(text);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.err().reason) << "\n" << text;
  if (!m.ok()) return std::move(message::parse(invite_text())).value();
  return std::move(m).value();
}

/// A response to `request` as a downstream UA would send it, with extra lines.
inline message response_to(const message& request, int status, std::string_view to_tag = "b1",
                           std::string_view extra = "") {
  auto r = make_response(request, status, {}, status > 100 ? to_tag : std::string_view());
  EXPECT_TRUE(r.ok());
  std::string text = r->serialize();
  if (!extra.empty()) text.insert(text.find("\r\n") + 2, std::string(extra));
  return parse_ok(text);
}

} // namespace centralita::sip::proxy::test
