#pragma once

#include "actors/transaction/sip_services.hpp"
#include "actors/transaction/txn_messages.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <optional>

namespace centralita::actors {

/// A server transaction (RFC 3261 §17.2): one per received request that is
/// not a retransmission or an ACK for a non-2xx. Lives until its state
/// machine terminates (Timer J/I/L, or at once for reliable transports).
/// Owns the request, the last response's bytes and its timers; the pure
/// machine (protocols/sip/transaction) decides, the actor carries out:
/// re-sends the last response on retransmissions, hands the request to the
/// TU once, and tells the shard when it is gone.
struct server_txn_init {
  services_ptr services;
  sip::txn::server_key key;
  message_ptr request;
  peer_info peer;
  drivers::endpoint reply_to;  ///< where responses go (RFC 3261 §18.2.2, RFC 3581)
  caf::actor tu;
  caf::actor shard;
  /// Revival of a hibernated INVITE transaction: it starts in Proceeding
  /// with this last response (not sent again), without a request, and
  /// tells the TU `txn_revived{token}`.
  struct revival {
    std::string last_response;
    std::string call_id;
    uint64_t token = 0;
  };
  std::optional<revival> revive;
};

caf::actor spawn_server_txn(caf::actor_system& sys, server_txn_init init);

} // namespace centralita::actors
