#pragma once

#include "actors/events/event_bus.hpp"
#include "actors/sip/messages.hpp"
#include "actors/sip/stateless_core.hpp"
#include "actors/transaction/sip_services.hpp"
#include "actors/transaction/txn_messages.hpp"
#include "protocols/sip/proxy/proxy_identity.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <functional>
#include <memory>

namespace centralita::actors {

/// Picks the transaction user for a new request: the registrar shard for a
/// REGISTER, a proxy context for the rest (later: the script VM). Called on
/// the shard's thread; returns an actor that accepts `txn_request`.
using tu_chooser = std::function<caf::actor(caf::event_based_actor* shard, const sip::message&)>;

/// A SIP shard: K of them, each owning the calls whose Call-ID hashes to it.
/// Lives as long as the process. It is the transaction layer's matcher
/// (RFC 3261 §17.1.3, §17.2.3): parses each message once, hands
/// retransmissions and ACKs to their server transaction, responses to their
/// client transaction, a CANCEL to the INVITE it cancels (§9.2), and spawns a
/// server transaction plus its TU for every new request. Messages that fit no
/// transaction — the ACK of a 2xx, a CANCEL for nothing we hold, a response
/// for no client transaction — are forwarded statelessly (§16.7, §16.10,
/// §16.11) through a TU without a server transaction.
///
/// It also keeps the calls whose Call-ID it owns (a call table, like
/// Kamailio's dialog module): CALL_START when an initial INVITE arrives,
/// CALL_ANSWER / CALL_END from the `call_outcome` of whoever answered it,
/// CALL_END when a BYE passes, DTMF for SIP INFO carrying a digit
/// (application/dtmf-relay, application/dtmf), and `hangup_call` (BYE both ways).
struct sip_shard_deps {
  services_ptr services;
  std::shared_ptr<const stateless_core> core;  ///< answers to what does not parse
  tu_chooser choose_tu;
  caf::actor events;  ///< the event bus; may be null (no events)
  std::shared_ptr<const event_bus_stats> event_stats;  ///< who wants what; null: publish all
  std::shared_ptr<const sip::proxy::proxy_identity> identity;  ///< our Via in BYEs we send
  std::function<uint64_t()> seed;  ///< entropy for the branch ids of BYEs
  std::chrono::seconds max_call_duration{43200};
};

caf::actor spawn_sip_shard(caf::actor_system& sys, sip_shard_deps deps);

} // namespace centralita::actors
