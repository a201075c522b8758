#pragma once

// RFC 3261 §16.6 (request forwarding), §16.7 step 3 (response Via removal), and the
// hop-by-hop requests a proxy builds for one branch: CANCEL (§9.1) and the ACK for a
// non-2xx final response (§17.1.1.3).

#include "protocols/sip/id_generator.hpp"
#include "protocols/sip/message.hpp"
#include "protocols/sip/proxy/proxy_identity.hpp"
#include "protocols/sip/proxy/targets.hpp"
#include "protocols/util/result.hpp"

#include <cstdint>
#include <string>

namespace centralita::sip::proxy {

/// Where to send a forwarded request (RFC 3261 §16.6 step 7, RFC 3263 reduced to its
/// defaults: no NAPTR/SRV here — the caller resolves `host` when `port_explicit` is
/// false and it is a domain name).
struct next_hop {
  std::string host;            ///< maddr if present, else the URI's host (lower case)
  uint16_t port = 5060;        ///< the URI's port, else 5061 for TLS, 5060 otherwise
  std::string transport;       ///< "udp", "tcp", "tls", ... (lower case): ;transport=, else
                               ///< "tls" for sips, else "udp" (RFC 3263 §4.1)
  bool port_explicit = false;  ///< the URI named the port
};

/// A request ready to hand to a new client transaction.
struct prepared_branch {
  message request;   ///< the copy to send
  std::string branch;  ///< our Via's branch: "z9hG4bK" + unique + "." + loop_hash
  next_hop hop;        ///< where to send it
};

/// RFC 3261 §16.6 steps 1–8 for one target. `request` is the received request after
/// `validate` and `preprocess_routes`; it is not changed. The copy gets:
///  step 2: the target as Request-URI; step 3: Max-Forwards decremented (70 - 1 when
///  absent); step 4: our Record-Route on top when `record_route` (sips when the
///  Request-URI or the first Route is sips); step 6 (with RFC 3327 §5.3): the target's
///  Path values as the first Route values, then, when the first Route has no ;lr (a
///  strict router), the Request-URI moves to the end of Route and that Route value
///  becomes the Request-URI; step 7: the next hop from the first Route, else the
///  Request-URI; step 8: our Via, with the next hop's transport, whose branch embeds
///  `loop_hash(request)` so §16.3 step 4 can tell loops from spirals.
/// Errors: `errc::invalid_argument` when the target or a Route does not parse as a SIP
/// URI, or Max-Forwards is already 0 (validate answers 483 first).
result<prepared_branch> prepare_branch(const message& request, const branch_target& target,
                                       const proxy_identity& us, bool record_route,
                                       id_generator& ids);

/// RFC 3261 §16.6 step 7: the next hop of a request as it is (first Route, else the
/// Request-URI). Errors: `errc::invalid_argument` when that URI is not sip/sips.
result<next_hop> next_hop_of(const message& request);

/// RFC 3261 §16.7 step 3: removes our (topmost) Via from a response. Returns false
/// when no Via is left: the response was meant for this proxy and is not forwarded.
bool prepare_response(message& response);

/// RFC 3261 §9.1: the CANCEL for a branch: the Request-URI, Call-ID, From, To, CSeq
/// number and Route of `forwarded_request` (the request as sent on the branch), its
/// single top Via (same branch), CSeq method CANCEL, Max-Forwards 70, no body.
result<message> make_cancel(const message& forwarded_request);

/// RFC 3261 §17.1.1.3: the ACK for a non-2xx final `response` on a branch: the
/// Request-URI, Call-ID, From, CSeq number and Route of `forwarded_request`, its
/// single top Via, To from the response (with its tag), CSeq method ACK.
/// Errors: `errc::invalid_argument` when `response` is not a non-2xx final response.
result<message> make_ack_for(const message& forwarded_request, const message& response);

} // namespace centralita::sip::proxy
