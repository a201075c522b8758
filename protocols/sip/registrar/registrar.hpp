#pragma once

// RFC 3261 §10.3 registrar processing as pure functions: `extract_register` reads
// what matters out of a parsed REGISTER, `process_register` applies it to the
// current bindings of the address-of-record at `now` and says what to answer and
// what changed. No I/O, no clock: the registrar shard actor owns the bindings,
// the timers and the store; this file owns the rules.

#include "protocols/sip/message.hpp"
#include "protocols/sip/registrar/binding.hpp"
#include "protocols/util/result.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::sip {

/// Registrar policy (a config snapshot).
struct registrar_config {
  uint32_t default_expires = 3600;  ///< RFC 3261 §10.3 step 7: neither param nor header
  uint32_t min_expires = 60;        ///< below it (and below 3600): 423 Interval Too Brief
  uint32_t max_expires = 86400;     ///< longer requests are lowered to it
  uint32_t max_contacts = 10;       ///< per AOR; more: 503 Too Many Registered Contacts
  /// RFC 8599: the pn-provider values this switch can push to ([push.<name>]).
  /// A contact registering with another one gets 555 Push Notification Service
  /// Not Supported; one with a served provider gets Feature-Caps +sip.pns in the 200.
  std::vector<std::string> pn_providers;
  /// RFC 8599 §5.3: to a contact with +sip.pnsreg, the 200's Feature-Caps says
  /// +sip.pnsreg="<this>": a push comes this many seconds before the binding
  /// expires (refresh_push_due). 0: no refresh pushes offered.
  uint32_t pnsreg_interval = 0;
};

/// One Contact value of a REGISTER, decoded.
struct register_contact {
  std::string uri;                  ///< printed, no angle brackets
  std::optional<uint32_t> expires;  ///< the "expires" contact parameter (RFC 3261 §20.10)
  std::optional<uint16_t> q;        ///< thousandths
  std::string instance;             ///< +sip.instance, unquoted (RFC 5626 §4.1)
  uint32_t reg_id = 0;              ///< RFC 5626 reg-id (only with an instance); 0 = none
  std::string pn_provider, pn_prid, pn_param;  ///< RFC 8599 §4.1.1 URI parameters
  bool pnsreg = false;  ///< RFC 8599 §4.1.2: the +sip.pnsreg Contact parameter
};

/// What `process_register` needs from a REGISTER (RFC 3261 §10.2).
struct register_request {
  std::string aor;                    ///< normalised To URI (§10.3 step 5)
  std::string call_id;
  uint32_t cseq = 0;
  std::optional<uint32_t> expires;    ///< the Expires header (RFC 3261 §20.19)
  bool star = false;                  ///< a "Contact: *" value is present (§10.2.2)
  std::vector<register_contact> contacts;  ///< the other Contact values
  std::vector<std::string> path;      ///< RFC 3327 Path values, topmost first
  bool path_supported = false;        ///< Supported: path (RFC 3327 §5.3)
  std::string received;               ///< "ip:port" of the request's source
  std::string transport;              ///< "udp" / "tcp"
  uint64_t connection = 0;            ///< transport connection id; 0 = none
  std::string user_agent;
};

/// Reads a REGISTER. Errors (answer 400 with the reason): not a REGISTER
/// (`errc::invalid_argument`), a To URI that is not sip:/sips:, a malformed q-value
/// (`errc::bad_header`). Malformed expires values count as 3600 (RFC 3261 §20.10,
/// §20.19), values over 2^32-1 as 2^32-1.
result<register_request> extract_register(const message& request, std::string_view source,
                                          std::string_view transport, uint64_t connection);

/// The decision for one REGISTER.
struct registrar_outcome {
  int status = 200;          ///< 200, 400, 423, 500, 503 or 555 (RFC 8599 §5.3)
  std::string reason;        ///< reason phrase ("" = the default one)
  uint32_t min_expires = 0;  ///< for 423: the Min-Expires header value (RFC 3261 §10.3 step 7)
  /// The AOR's complete binding list after the request (on an error: the current
  /// list less expired bindings; nothing else changes, RFC 3261 §10.3 step 7).
  std::vector<binding> bindings;
  std::vector<binding> added;      ///< new bindings (also a contact replaced by RFC 5626 §6)
  std::vector<binding> refreshed;  ///< existing bindings updated (same contact URI)
  std::vector<binding> removed;    ///< removed by expires=0, "*", or replaced (RFC 5626 §6)
  // `added`, `refreshed` and `removed` never share a contact URI: apply them in any order.
  std::vector<binding> expired;    ///< pruned because expires_at <= now
  /// RFC 3261 §10.3 step 8: Contact values for the 200, one per current binding,
  /// each "<uri>;expires=N" (plus q, +sip.instance, reg-id when present).
  std::vector<std::string> contacts;
  /// RFC 3327 §5.3: Path values to echo in the 200 (only when the UA supports path).
  std::vector<std::string> path;
  /// RFC 8599 §5.3 / RFC 6809: Feature-Caps values for the 200, one per push
  /// provider the request's contacts registered with ("*;+sip.pns=\"apns\"").
  std::vector<std::string> feature_caps;

  bool ok() const noexcept { return status == 200; }
};

/// RFC 3261 §10.3 steps 6–8 (plus RFC 5626 §6 and RFC 3327 §5.3) for the bindings
/// `current` of `request.aor` at wall-clock time `now` (seconds since the epoch).
registrar_outcome process_register(std::span<const binding> current,
                                   const register_request& request,
                                   const registrar_config& config, int64_t now);

/// RFC 8599 §4.1.3: a pn-purr value for a binding of `aor`: base64url(aor) "."
/// 16 hex digits of `random`. The AOR is in it so a mid-dialog request carrying
/// it finds its registration (pn_purr_aor) without a global index.
std::string make_pn_purr(std::string_view aor, uint64_t random);
/// The AOR a pn-purr value names; empty when it is not one of ours.
std::string pn_purr_aor(std::string_view purr);

/// RFC 8599 §5.3 binding-refresh pushes: when the next one is due for a
/// binding (expiring at `expires_at`) whose UA asked for them, given how many
/// were sent in this binding's current lifetime (`sent`, reset by a refresh) and
/// when the last went (`last`). The first at expires_at - interval; then, if no
/// refresh came, again at half the time left (at least `min_gap` apart), until
/// expiry. std::nullopt: none any more (expired, or too close to expiry).
std::optional<int64_t> refresh_push_due(int64_t expires_at, uint32_t interval, unsigned sent,
                                        int64_t last, int64_t min_gap = 5);

/// Parses a q-value ("0", "0.5", "1.000"; RFC 3261 §25.1 qvalue) into thousandths.
std::optional<uint16_t> parse_qvalue(std::string_view text) noexcept;
/// Prints thousandths as a qvalue ("0.5", "1").
std::string format_qvalue(uint16_t q);

} // namespace centralita::sip
