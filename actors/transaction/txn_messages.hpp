#pragma once

#include "drivers/net/endpoint.hpp"
#include "drivers/transport/transport.hpp"
#include "protocols/sip/message.hpp"
#include "protocols/sip/transaction/transaction_key.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include <memory>
#include <string>

namespace centralita::actors {

/// A parsed SIP message crossing an actor boundary. sofia's message is not
/// thread-safe: whoever sends one gives it away and never touches it again.
using message_ptr = std::shared_ptr<sip::message>;

/// Where a message came from, and therefore where answers go back.
struct peer_info {
  drivers::transport_kind transport = drivers::transport_kind::udp;
  drivers::endpoint source;   ///< the packet's source
  drivers::endpoint local;    ///< the listening address it arrived on
  drivers::connection_id conn;

  /// An answer to what arrived from this peer: over the same transport, from
  /// the listener it arrived on, on its connection (TCP), to `destination`
  /// (RFC 3261 §18.2.2 / RFC 3581 decide that one).
  drivers::outbound_message answer(const drivers::endpoint& destination, std::string bytes) const {
    drivers::outbound_message out;
    out.transport = transport;
    out.destination = destination;
    out.local = local;
    out.conn = conn;
    out.bytes = std::move(bytes);
    return out;
  }
};

// -- shard -> server transaction -------------------------------------------

/// A retransmission of the transaction's request, or an ACK matching it.
struct txn_request_again {
  message_ptr msg;
};
/// A CANCEL matched this INVITE server transaction (RFC 3261 §9.2).
struct txn_cancelled {};

// -- server transaction <-> TU ---------------------------------------------

/// The server transaction hands its request to the TU (pass_to_tu).
struct txn_request {
  caf::actor server_txn;
  message_ptr request;
  peer_info peer;
  /// A routing script decided about authentication already (`location.save`
  /// after its own `auth.check`, or none): the registrar does not challenge.
  bool script_routed = false;
};
/// The TU answers through the server transaction: the response's bytes.
struct txn_respond {
  int status;
  std::string bytes;
};
/// Server transaction → TU: upstream CANCELled the request (§9.2, §16.10).
struct upstream_cancelled {};
/// Server transaction → TU: the transaction ended (for bookkeeping).
struct server_txn_done {
  bool timed_out;  ///< Timer H: no ACK for a non-2xx final (§17.2.1)
};

// -- client transaction <-> TU ---------------------------------------------

/// A response (or a synthetic 408 for Timer B/F, 503 for a transport error,
/// RFC 3261 §8.1.3.1, with `msg` null) for the TU's branch `branch`.
struct txn_response {
  std::string branch;
  int status;
  message_ptr msg;
};
/// TU → INVITE client transaction: cancel this branch (§9.1: the CANCEL goes
/// out once a provisional response arrived, never before).
struct cancel_branch {};

// -- transactions <-> shard -------------------------------------------------

struct client_txn_started {
  sip::txn::client_key key;
  caf::actor txn;
  drivers::transport_kind transport;
  drivers::endpoint destination;
};
/// The network reported `destination` unreachable (ICMP, §8.1.3.1).
struct destination_unreachable {
  drivers::transport_kind transport;
  drivers::endpoint destination;
  int err;
};
struct client_txn_ended {
  sip::txn::client_key key;
};
struct server_txn_ended {
  sip::txn::server_key key;
};
/// A non-INVITE server transaction over UDP that sent its final response and
/// entered Completed (§17.2.2): from here on all it does is resend that
/// response to retransmissions until Timer J, which the shard does for it
/// from a compact table, so the actor ends now instead of living 64*T1.
struct server_txn_parked {
  sip::txn::server_key key;
  drivers::outbound_message response;  ///< the final response, addressed as sent
  std::chrono::milliseconds linger;    ///< Timer J
};
/// TU → INVITE server transaction: the TU will not answer for a while (a
/// routing script waits for an event): if the transaction is in Proceeding
/// with no timer running, it hands its state to the shard (~300 bytes instead
/// of an actor) and ends; `token` names it for `revive_txn`.
struct txn_hibernate {
  uint64_t token;
};
/// Server transaction → shard: what a hibernated INVITE transaction is.
struct server_txn_hibernated {
  sip::txn::server_key key;
  peer_info peer;
  drivers::endpoint reply_to;
  caf::actor tu;
  std::string last_response;  ///< the provisional re-sent to retransmissions; empty: a 100 Trying
  uint64_t token;
};
/// TU → shard: bring the hibernated transaction `token` back (an actor again).
/// Answered with `revive_result`.
struct revive_txn {
  uint64_t token;
  std::string call_id;  ///< for the revived transaction's logs (the shard keeps no copy)
};
struct revive_result {
  caf::actor txn;        ///< the revived transaction (invalid: see `pending`)
  bool pending = false;  ///< revived already (a CANCEL came): its txn_revived is on its way
};
/// A revived server transaction → its TU: I am transaction `token` now.
struct txn_revived {
  uint64_t token;
};

/// A response the shard matched to a client transaction (§17.1.3).
struct txn_response_in {
  message_ptr msg;
};
/// The transport could not deliver what a transaction sent (errno).
struct txn_transport_error {
  int err;
};

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::message_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::peer_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::txn_request_again)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::txn_cancelled)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::txn_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::txn_respond)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::upstream_cancelled)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::server_txn_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::txn_response)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::cancel_branch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::client_txn_started)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::client_txn_ended)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::destination_unreachable)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::server_txn_ended)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::server_txn_parked)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::txn_response_in)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::txn_hibernate)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::server_txn_hibernated)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::revive_txn)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::revive_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::txn_revived)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::txn_transport_error)
