#include "protocols/sip/proxy/sip_uri.hpp"
#include "protocols/util/ascii.hpp"

#include <charconv>

namespace centralita::sip::proxy {

std::string to_lower(std::string_view s) { return ascii::to_lower(s); }

bool iequal(std::string_view a, std::string_view b) noexcept { return ascii::iequals(a, b); }

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The addr-spec inside a name-addr (RFC 3261 §20.10: "display <uri>;params").
std::string_view addr_spec(std::string_view text) {
  text = trim(text);
  size_t open = text.find('<');
  if (open == std::string_view::npos) return text;
  size_t close = text.find('>', open + 1);
  if (close == std::string_view::npos) return {};
  return text.substr(open + 1, close - open - 1);
}

} // namespace

std::optional<sip_uri> sip_uri::parse(std::string_view text) {
  std::string_view s = addr_spec(text);
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  sip_uri u;
  u.scheme = to_lower(s.substr(0, colon));
  std::string_view rest = s.substr(colon + 1);
  if (!u.is_sip()) {
    u.opaque.assign(rest);
    return u;
  }
  // RFC 3261 §19.1.1: headers follow the first '?' after the host part.
  size_t at = rest.find('@');
  size_t question = rest.find('?');
  if (at != std::string_view::npos && (question == std::string_view::npos || at < question)) {
    std::string_view userinfo = rest.substr(0, at);
    size_t pw = userinfo.find(':');
    u.user.assign(userinfo.substr(0, pw));
    if (pw != std::string_view::npos) u.password.assign(userinfo.substr(pw + 1));
    rest.remove_prefix(at + 1);
    question = rest.find('?');
  }
  if (question != std::string_view::npos) {
    u.headers.assign(rest.substr(question + 1));
    rest = rest.substr(0, question);
  }
  std::string_view hostport = rest.substr(0, rest.find(';'));
  std::string_view params = rest.substr(hostport.size());
  std::string_view host = hostport;
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = hostport.substr(0, close + 1);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else if (size_t c = hostport.find(':'); c != std::string_view::npos) {
    host = hostport.substr(0, c);
    port = hostport.substr(c + 1);
  }
  if (host.empty()) return std::nullopt;
  u.host = to_lower(host);
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) return std::nullopt;
    u.port = static_cast<uint16_t>(value);
  }
  while (!params.empty()) {
    params.remove_prefix(1);  // the ';'
    std::string_view p = params.substr(0, params.find(';'));
    params.remove_prefix(p.size());
    if (p.empty()) continue;
    size_t eq = p.find('=');
    u.params.emplace_back(to_lower(p.substr(0, eq)),
                          eq == std::string_view::npos ? std::string() : std::string(p.substr(eq + 1)));
  }
  return u;
}

std::optional<std::string_view> sip_uri::param(std::string_view name) const {
  for (const auto& [n, v] : params)
    if (iequal(n, name)) return std::string_view(v);
  return std::nullopt;
}

void sip_uri::remove_param(std::string_view name) {
  std::erase_if(params, [&](const auto& p) { return iequal(p.first, name); });
}

std::string sip_uri::to_string() const {
  std::string out = scheme;
  out.push_back(':');
  if (!is_sip()) return out.append(opaque);
  if (!user.empty()) {
    out.append(user);
    if (!password.empty()) out.append(":").append(password);
    out.push_back('@');
  }
  out.append(host);
  if (port) out.append(":").append(std::to_string(*port));
  for (const auto& [n, v] : params) {
    out.append(";").append(n);
    if (!v.empty()) out.append("=").append(v);
  }
  if (!headers.empty()) out.append("?").append(headers);
  return out;
}

} // namespace centralita::sip::proxy
