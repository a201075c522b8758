#pragma once

// Script VM actors (docs/scripting.md): K of them, by Call-ID hash, each
// owning a lua_State. Every request (but the ACK of a 2xx and a CANCEL) is a
// routing run: a coroutine running the script's on_request(req). Calls that
// wait — events.wait, location.lookup, timer.sleep, http.request — yield the
// coroutine and the VM handles other messages; the answer message resumes it.
// A suspended run costs memory only. sip.relay() hands the request to a proxy
// context (the forwarding engine), which asks the VM before a final failure
// (on_failure) and takes more branches (sip.append_branch).

#include "actors/system/latency_histogram.hpp"
#include "actors/events/event_bus.hpp"
#include "actors/proxy/proxy_context.hpp"
#include "actors/registrar/registrar_shard.hpp"
#include "actors/transaction/sip_services.hpp"
#include "protocols/util/result.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace centralita::drivers {
class http_client;
}

namespace centralita::actors {

struct b2bua_deps;

class kv_table;

/// One version of the routing script: loading it again (SIGHUP) makes a new one.
struct script_code {
  std::string name;  ///< the file, for error messages and tracebacks
  std::string text;
  uint64_t generation = 1;
};

/// Reads a script file. Errors name the file and the reason.
result<std::shared_ptr<const script_code>> read_script(const std::string& path,
                                                       uint64_t generation);

/// Compiles and runs the script's top level in a scratch lua_State with the
/// same libraries a VM gets, and checks it defines on_request. The error is
/// what Lua said ("file:line: message").
result<void> check_script(const script_code& code, bool sandbox);

/// Load a new version of the script: runs started from now on use it; runs in
/// progress (and suspended) finish on the version they started with.
struct script_reload {
  std::shared_ptr<const script_code> code;
};

/// Process-wide script counters (HEARTBEAT's suspended_routings, /metrics).
struct script_counters {
  std::atomic<uint64_t> runs{0};         ///< routing runs started
  std::atomic<uint64_t> errors{0};       ///< runs that raised a Lua error
  std::atomic<uint64_t> runaway{0};      ///< of those, stopped by the instruction limit
  std::atomic<int64_t> live_runs{0};     ///< runs not finished
  std::atomic<int64_t> suspended{0};     ///< coroutines waiting (event, sleep, lookup, HTTP)
  std::atomic<int64_t> lua_bytes{0};     ///< memory held by every VM's lua_State
  std::atomic<uint64_t> reloads{0};
};

struct script_vm_deps {
  services_ptr services;
  routing_ptr routing;  ///< identity, registrar_of, domains, outbound proxy, seeds
  std::function<caf::actor(std::string_view call_id)> shard_of;  ///< SIP shard of a Call-ID
  caf::actor events;    ///< the event bus
  std::shared_ptr<event_bus_stats> event_stats;  ///< its interest counts (required)
  std::shared_ptr<const script_code> code;
  bool sandbox = true;
  uint32_t max_instructions = 1000000;
  std::chrono::seconds max_wait{3600};
  std::size_t memory_limit = std::size_t{256} << 20;
  /// auth.check(): the registrar's guard (401) for REGISTER, the proxy's
  /// (407) for the rest; empty when no users are configured.
  register_guard register_auth;
  register_guard proxy_auth;
  /// auth.required(): whether the configuration asks this request to authenticate.
  std::function<bool(const sip::message&)> auth_required;
  std::shared_ptr<kv_table> kv;           ///< kv.*
  drivers::http_client* http = nullptr;   ///< http.request (outlives the VMs)
  caf::actor push;                        ///< the push service (push.send); null: none configured
  std::vector<std::string> push_providers;  ///< the pn-provider values it serves
  std::shared_ptr<spdlog::logger> log;    ///< the "script" logger
  std::shared_ptr<script_counters> counters;
  std::shared_ptr<latency_histograms> latency;  ///< routing and wake-up latency (/metrics)
  std::shared_ptr<const b2bua_deps> b2bua;      ///< sip.bridge (null: refused)
};

caf::actor spawn_script_vm(caf::actor_system& sys, script_vm_deps deps);

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::script_reload)
