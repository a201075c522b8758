#pragma once

#include "actors/transaction/sip_services.hpp"
#include "actors/transaction/txn_messages.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

namespace centralita::actors {

/// A client transaction (RFC 3261 §17.1): one per request the switch sends
/// (a proxy branch, a CANCEL). Lives until its state machine terminates.
/// Registers its key with the shard before the request leaves, so the first
/// response always finds it; retransmits over UDP on Timers A/E; builds and
/// sends the hop-by-hop ACK for a non-2xx final (§17.1.1.3); reports every
/// response, a timeout (408) or a transport failure (503, §8.1.3.1) to the TU
/// tagged with the TU's branch name. An INVITE transaction also owns the
/// CANCEL of its branch (§9.1: only after a provisional response).
struct client_txn_init {
  services_ptr services;
  message_ptr request;        ///< as sent (our Via on top)
  std::string request_bytes;  ///< its serialization
  drivers::transport_kind transport = drivers::transport_kind::udp;
  drivers::endpoint destination;
  drivers::connection_id conn;  ///< reuse this TCP flow when valid (RFC 5626)
  std::string branch;           ///< the TU's name for this branch
  caf::actor tu;
  caf::actor shard;
};

caf::actor spawn_client_txn(caf::actor_system& sys, client_txn_init init);

} // namespace centralita::actors
