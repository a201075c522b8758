#pragma once

#include "actors/events/event_bus.hpp"
#include "actors/registrar/location_messages.hpp"
#include "actors/transaction/sip_services.hpp"
#include "actors/transaction/txn_messages.hpp"
#include "protocols/sip/registrar/registrar.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace centralita::actors {

/// Decides whether a REGISTER (or a proxied request) carries valid
/// credentials; empty when no authentication is configured. Runs on the
/// registrar shard's thread. Returns nullopt to go on, or the error response
/// (a 401/407 challenge, or 403) to send instead.
using register_guard =
  std::function<std::optional<sip::message>(const sip::message& request, int64_t now_ms)>;

/// A registrar shard (RFC 3261 §10.3): K of them, each owning the
/// addresses-of-record whose name hashes to it, for the life of the process.
/// Holds their bindings in memory, answers REGISTER (as the TU of its server
/// transaction) and location lookups, expires bindings on a sweep (a fifth of
/// the table per second),
/// and sends its changes to the store writer (write-behind) in one
/// `binding_changes` per `store_batch_window` (at most 512 changes each), and
/// whatever it holds when it stops.
struct registrar_deps {
  services_ptr services;
  sip::registrar_config rules;
  caf::actor store;  ///< the store writer; may be null (no persistence)
  caf::actor events; ///< the event bus (REGISTER, UNREGISTER, EXPIRED); may be null
  std::shared_ptr<const event_bus_stats> event_stats;  ///< who wants what; null: publish all
  /// How long changes gather before they go to the writer as one message.
  /// The writer waits flush_interval minus this before writing, so kill -9
  /// still loses at most the flush interval.
  std::chrono::milliseconds store_batch_window{100};
  std::function<bool(std::string_view domain)> is_local_domain;
  std::function<bool(std::string_view aor)> is_known_user;  ///< provisioned users
  register_guard guard;  ///< authentication; may be empty
  /// The push service: binding-refresh pushes (RFC 8599 +sip.pnsreg, every
  /// rules.pnsreg_interval before expiry); null: none sent.
  caf::actor push;
};

caf::actor spawn_registrar_shard(caf::actor_system& sys, registrar_deps deps);

/// Which shard owns an AOR.
std::size_t registrar_shard_of(std::string_view aor, std::size_t shards);

} // namespace centralita::actors
