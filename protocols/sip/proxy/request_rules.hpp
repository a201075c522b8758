#pragma once

// RFC 3261 §16.3 (request validation), §16.4 (route information preprocessing) and
// the loop-detection hash of §16.6 step 8, as pure functions over a parsed request.
// The proxy context actor calls them in RFC order: validate, preprocess_routes,
// then (per target) prepare_branch (forwarding.hpp).

#include "protocols/sip/message.hpp"
#include "protocols/sip/proxy/proxy_identity.hpp"
#include "protocols/util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace centralita::sip::proxy {

/// Why a request is refused before forwarding: the status to answer and the extra
/// headers the answer carries (e.g. Unsupported for a 420).
struct rejection {
  int status = 0;
  std::string reason;                                        ///< reason phrase
  std::vector<std::pair<std::string, std::string>> headers;  ///< name, value
};

/// RFC 3261 §16.3: the checks a proxy makes before forwarding, in the RFC's order:
///  1. reasonable syntax: the Request-URI and every Route value parse (400);
///  2. URI scheme: sip, sips or tel, else 416;
///  3. Max-Forwards 0: 483 — except an OPTIONS whose Request-URI is us, which the
///     caller answers itself (§16.3 step 3 / §11); such a request must not be forwarded;
///  4. loop detection: one of the Vias is ours and its branch carries the loop hash
///     this request would get now: 482 (a different hash is a spiral, not a loop);
///  5. Proxy-Require: any option tag not in `supported_options` gives 420 with
///     Unsupported listing them.
/// Step 6 (Proxy-Authorization) belongs to the auth layer. nullopt: go on.
std::optional<rejection> validate(const message& request, const proxy_identity& us);

/// The answer to a rejected request: make_response plus the rejection's headers.
result<message> make_rejection(const message& request, const rejection& r,
                               std::string_view to_tag = {});

/// What §16.4 found and did.
struct route_outcome {
  /// The Request-URI was a value we put in Record-Route (a strict router upstream):
  /// it was replaced by the last Route value, which was removed.
  bool strict_route_restored = false;
  /// The Request-URI had a maddr naming us: maddr, port and transport were removed.
  bool maddr_stripped = false;
  /// The first Route value named us and was removed (loose routing).
  bool removed_self = false;
  /// Route values remain: the request goes to the first one (§16.6 step 7) and its
  /// Request-URI is not a target to look up.
  bool has_route = false;
  /// The Request-URI names one of our domains (§16.5: targets come from the location
  /// service); false means the Request-URI itself is the single target.
  bool request_uri_is_us = false;
  /// To carries a tag: an in-dialog request (RFC 3261 §12.2), routed by its Route set.
  bool in_dialog = false;
};

/// RFC 3261 §16.4: strict-router fix-up, maddr handling and removal of our own Route
/// value. Edits `request` in place; call after `validate`.
route_outcome preprocess_routes(message& request, const proxy_identity& us);

/// RFC 3261 §16.6 step 8: the loop-detection part of our branch, a hash (13 base32
/// characters) over the To tag, From tag, Call-ID, Request-URI, the sent-by and
/// branch of the topmost Via, the CSeq number, Proxy-Require, Proxy-Authorization and
/// Route of `request` as it is after §16.4 (the method is left out so that CANCEL and
/// ACK hash like their INVITE). Two requests hash alike only if routing them would be
/// the same: a request that comes back changed is a spiral, not a loop.
std::string loop_hash(const message& request);

/// Whether to Record-Route by default (RFC 3261 §16.6 step 4): dialog-forming
/// requests outside a dialog — INVITE, SUBSCRIBE (RFC 6665 §4.1.2) and REFER
/// (RFC 3515 §2.4.6) — and a NOTIFY that reached us through our own Route value,
/// because it may create the dialog a forked SUBSCRIBE left open (RFC 6665 §4.3:
/// proxies that record-routed the SUBSCRIBE record-route its NOTIFYs).
bool record_route_by_default(const message& request, const route_outcome& routing);

} // namespace centralita::sip::proxy
