#pragma once
// What every bridged call's actors share: built once by the switch.

#include "actors/transaction/sip_services.hpp"
#include "protocols/sip/proxy/proxy_identity.hpp"

#include <caf/actor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

namespace centralita::actors {

class media_hub;
struct event_bus_stats;

struct b2bua_deps {
  services_ptr services;
  std::shared_ptr<const sip::proxy::proxy_identity> identity;
  /// The SIP shard of a Call-ID (each leg's dialog lives in its own).
  std::function<caf::actor(std::string_view call_id)> shard_of;
  std::function<uint64_t()> seed;  ///< entropy for tags, branches and Call-IDs
  caf::actor events;               ///< the event bus (may be null)
  std::shared_ptr<const event_bus_stats> event_stats;  ///< who wants what; null: publish all
  std::shared_ptr<media_hub> media;  ///< the RTP relay; null: bridging without media is refused
  /// RFC 4028: the Session-Expires asked for on the B leg (0: no timer), the
  /// smallest accepted (Min-SE).
  std::chrono::seconds session_expires{1800};
  std::chrono::seconds min_se{90};
};

using b2bua_ptr = std::shared_ptr<const b2bua_deps>;

} // namespace centralita::actors
