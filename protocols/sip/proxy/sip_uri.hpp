#pragma once

// A small, allocation-light view of a SIP/SIPS URI (RFC 3261 §19.1) for the proxy's
// routing decisions: host, port, user and parameters. Other schemes (tel:, RFC 3966)
// keep their text opaque. The message layer validated the bytes; this parser only
// splits them, so it never needs sofia.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace centralita::sip::proxy {

/// A URI split into the parts §16 looks at.
struct sip_uri {
  std::string scheme;                ///< lower case: "sip", "sips", "tel", ...
  std::string user;                  ///< userinfo without the password (empty when none)
  std::string password;              ///< rarely used (RFC 3261 §19.1.1 discourages it)
  std::string host;                  ///< lower case; IPv6 references keep their brackets
  std::optional<uint16_t> port;      ///< nullopt when not written
  /// uri-parameters in order: name lower case, value as written ("" when bare, e.g. lr).
  std::vector<std::pair<std::string, std::string>> params;
  std::string headers;               ///< after '?', without it (empty when none)
  std::string opaque;                ///< everything after "scheme:" for non-SIP schemes

  /// Parses a URI, a bracketed "<uri>" or a name-addr ("Bob <sip:b@h;lr>;x=y": header
  /// parameters after '>' are ignored). nullopt when no scheme or (for sip/sips) no host.
  static std::optional<sip_uri> parse(std::string_view text);

  /// True for sip: and sips: URIs.
  bool is_sip() const noexcept { return scheme == "sip" || scheme == "sips"; }
  /// The value of a parameter (case-insensitive name); nullopt when absent.
  std::optional<std::string_view> param(std::string_view name) const;
  /// True when the parameter is present (with or without a value).
  bool has_param(std::string_view name) const { return param(name).has_value(); }
  /// Removes every instance of a parameter.
  void remove_param(std::string_view name);
  /// RFC 3263 §4.2: 5061 for sips, 5060 otherwise.
  uint16_t default_port() const noexcept { return scheme == "sips" ? 5061 : 5060; }
  /// The port, or the scheme's default.
  uint16_t effective_port() const noexcept { return port.value_or(default_port()); }
  /// The URI printed (no angle brackets).
  std::string to_string() const;
};

/// ASCII lower case copy.
std::string to_lower(std::string_view s);
/// ASCII case-insensitive equality.
bool iequal(std::string_view a, std::string_view b) noexcept;

} // namespace centralita::sip::proxy
