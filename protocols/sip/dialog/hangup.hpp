#pragma once

// A proxy that record-routed a call can end it (Kamailio's dlg_end_dlg,
// FreeSWITCH's uuid_kill on a proxied leg): a BYE to each party as if the
// other party sent it (RFC 3261 §15.1.1), inside the dialog the two parties
// established (§12.2.1.1). Pure: builds the requests; the caller sends them.

#include "protocols/sip/message.hpp"
#include "protocols/sip/proxy/proxy_identity.hpp"
#include "protocols/util/result.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace centralita::sip::dialog {

/// One end of a dialog, as the proxy in the middle saw it.
struct party {
  std::string uri;      ///< its From (caller) or To (callee) URI, no tag
  std::string display;  ///< display name, may be empty
  std::string tag;      ///< its dialog tag (From tag for the caller, To tag for the callee)
  std::string contact;  ///< its remote target (Contact URI)
  /// The route set from this proxy towards the party, nearest hop first
  /// (name-addr or URI values, as in Route headers).
  std::vector<std::string> route;
};

/// The route set towards the caller: the Record-Route values the INVITE carried
/// when it reached us (RFC 3261 §16.6: each proxy pushes its own on top, so the
/// topmost is the proxy nearest to us).
std::vector<std::string> caller_route(const message& invite);

/// The route set towards the callee: the Record-Route values of the dialog's
/// 2xx that sit above our own entry (callee-side proxies), nearest to us first.
/// Our entry is the first value `us.is_us` recognises; without one, none.
std::vector<std::string> callee_route(const message& ok, const proxy::proxy_identity& us);

/// A BYE to `to`, sent on behalf of `from`: Request-URI `to.contact`, Route
/// `to.route` (loose routing, RFC 3261 §12.2.1.1), From `from` with its tag,
/// To `to` with its tag, `call_id`, CSeq `cseq` BYE, Max-Forwards 70, our Via
/// (`transport`, `us.via_host`:`us.via_port`, `branch`), an optional
/// Reason header (RFC 3326) and no body.
/// Errors: `errc::invalid_argument` when a tag, the contact or the Call-ID is
/// missing, or the contact is not a SIP URI.
result<message> make_bye(const party& from, const party& to, std::string_view call_id,
                         uint32_t cseq, std::string_view transport, std::string_view branch,
                         const proxy::proxy_identity& us, std::string_view reason = {});

} // namespace centralita::sip::dialog
