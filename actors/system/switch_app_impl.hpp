#pragma once
// switch_app's state, shared by the files that build it (switch_app.cpp: start
// and stop; switch_scripts.cpp: the script VMs; switch_status.cpp: status lines).
// Not for use outside actors/system.

#include "actors/system/switch_app.hpp"

#include "actors/b2bua/b2bua_deps.hpp"
#include "actors/events/event_bus.hpp"
#include "actors/media/media_setup.hpp"
#include "actors/media/ng_control.hpp"
#include "actors/proxy/proxy_context.hpp"
#include "actors/push/push_service.hpp"
#include "actors/registrar/digest_guard.hpp"
#include "actors/script/kv_table.hpp"
#include "actors/script/script_vm.hpp"
#include "actors/sip/inbound_router.hpp"
#include "actors/store/store_writer.hpp"
#include "actors/system/actor_timers.hpp"
#include "actors/system/memory_trim.hpp"
#include "actors/system/uring_policy.hpp"
#include "actors/web/web_server.hpp"
#include "drivers/http/http_client.hpp"
#include "drivers/rtp/rtp_relay.hpp"
#include "drivers/transport/transport_hub.hpp"
#include "drivers/uring/reactor.hpp"

#include <caf/actor_system.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::actors {

struct switch_app::impl {
  config::snapshot cfg;
  loggers logs;
  std::unique_ptr<memory_trim> trim;  // its own thread
  std::vector<std::unique_ptr<drivers::reactor>> reactors;
  std::shared_ptr<sip_counters> counters = std::make_shared<sip_counters>();
  std::shared_ptr<const stateless_core> core;
  std::unique_ptr<inbound_router> router;
  std::unique_ptr<drivers::transport_hub> hub;
  std::unique_ptr<timer_service> timers;
  services_ptr services;
  std::shared_ptr<sip::proxy::proxy_identity> identity;
  std::vector<std::string> domains;
  std::shared_ptr<binding_store> store;
  std::shared_ptr<const user_directory> users;
  std::string auth_secret;
  std::vector<sip::binding> preload;
  std::unique_ptr<uring_system_config> caf_cfg;
  std::unique_ptr<caf::actor_system> system;
  std::vector<caf::actor> shards;
  std::vector<caf::actor> registrars;
  caf::actor store_writer;
  caf::actor events;
  std::shared_ptr<event_bus_stats> event_stats = std::make_shared<event_bus_stats>();
  std::vector<caf::actor> vms;  ///< script VMs (empty: the built-in routing)
  caf::actor heartbeat;
  std::shared_ptr<kv_table> kv = std::make_shared<kv_table>();
  std::unique_ptr<drivers::http_client> http;  ///< scripts' http.request
  std::vector<push_provider> push_providers;    ///< [push.<name>], keys loaded
  std::unique_ptr<drivers::http_client> push_http;  ///< the push service's (HTTP/2 to APNs)
  caf::actor push;
  std::shared_ptr<push_counters> push_stats = std::make_shared<push_counters>();
  std::shared_ptr<const script_code> script;
  std::shared_ptr<script_counters> script_stats = std::make_shared<script_counters>();
  std::shared_ptr<latency_histograms> latency = std::make_shared<latency_histograms>();
  std::unique_ptr<web_server> web;  ///< [http]: API, /metrics, /events, dashboard
  std::shared_ptr<media_hub> media;            ///< [media]: bridged calls' RTP relay
  std::unique_ptr<drivers::rtp_relay> relay;
  std::unique_ptr<ng_control> ng;  ///< [media] ng_listen: the ng control protocol
  std::mutex reload_mutex;          ///< SIGHUP (main thread) and POST /api/scripts/reload
  bool stopped = false;
};

/// A digest guard with its own nonce salt, for REGISTER (proxy = false) or for
/// INVITEs from local users (proxy = true); nullptr when no users are configured.
using guard_factory = std::function<std::shared_ptr<digest_guard>(uint32_t salt, bool proxy)>;

/// [script]: spawns the script VMs into p.vms, each with the routing policy, the
/// SIP shard of a Call-ID (`shard_of`, valid once the shards exist), the digest
/// guards and what sip.bridge needs (the B2BUA's dependencies, [media]).
void spawn_script_vms(switch_app::impl& p, const routing_ptr& routing,
                      std::function<caf::actor(std::string_view)> shard_of,
                      const guard_factory& make_guard);

} // namespace centralita::actors
