#pragma once

#include "actors/events/event_bus.hpp"
#include "actors/registrar/location_messages.hpp"
#include "actors/registrar/registrar_shard.hpp"
#include "actors/script/script_messages.hpp"
#include "actors/transaction/sip_services.hpp"
#include "actors/transaction/txn_messages.hpp"
#include "drivers/net/endpoint.hpp"
#include "protocols/sip/proxy/proxy_identity.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace centralita::actors {

/// What the default routing needs besides the services (built once).
struct routing_policy {
  std::shared_ptr<const sip::proxy::proxy_identity> identity;
  std::function<caf::actor(std::string_view aor)> registrar_of;  ///< AOR → registrar shard
  /// A host (and port, 0 = none written) that names one of our domains.
  std::function<bool(std::string_view host, uint16_t port)> is_local_domain;
  bool record_route = true;
  bool relay_foreign = false;
  std::optional<drivers::endpoint> outbound_proxy;
  drivers::transport_kind outbound_transport = drivers::transport_kind::udp;
  std::chrono::seconds timer_c{180};
  /// [push] wait: how long scripts/push.lua holds a request for sleeping phones
  /// (the script reads it as config.push_wait).
  std::chrono::seconds push_wait{30};
  /// Authentication of requests from local users (RFC 3261 §22.3: 407);
  /// empty when none is configured.
  register_guard proxy_guard;
  std::function<uint64_t()> seed;  ///< entropy for branch ids
  caf::actor events;  ///< the event bus (TRANSACTION_TIMEOUT); may be null
  std::shared_ptr<const event_bus_stats> event_stats;  ///< who wants what; null: publish all
};

using routing_ptr = std::shared_ptr<const routing_policy>;

/// The transaction user for one request that is not a REGISTER (RFC 3261
/// §16: the proxy's "response context"). Lives from the request until its
/// final response is sent and every branch has ended. Runs the default
/// routing (to become the default Lua script): validate (§16.3), route
/// preprocessing (§16.4), then Route set → forward; our domain → location
/// lookup → fork by q-value (parallel within a group, serial between groups);
/// foreign domain → relay or 403. Collects branch responses (§16.7), cancels
/// what must be cancelled (§16.10, 6xx, Timer C §16.8), forwards the best.
/// Without a server transaction (the ACK of a 2xx, an unmatched CANCEL) it
/// forwards the request once, statelessly, and ends.
///
/// With a `plan` (a routing script's sip.relay()) it skips the built-in
/// routing: the script VM validated the request and chose the targets; the
/// context forks to them, takes more (`relay_more`), waits for branches yet
/// to come (plan.wait_for_branches), asks the script before a final failure
/// (on_failure) and tells it the final status (`relay_final`).
struct proxy_context_deps {
  services_ptr services;
  routing_ptr routing;
  caf::actor shard;
  std::shared_ptr<const relay_plan> plan;  ///< null: the built-in routing
};

caf::actor spawn_proxy_context(caf::actor_system& sys, proxy_context_deps deps);

/// Whether a registered contact is reached where its REGISTER came from
/// rather than where its Contact points: a TCP flow (RFC 5626 §5.3), an
/// outbound registration (reg-id), or a Contact address that differs from
/// the source address (a UA behind NAT).
bool reach_through_source(const sip::binding& b);

} // namespace centralita::actors
