#include "actors/system/switch_app_impl.hpp"

#include <caf/send.hpp>

#include <chrono>

namespace centralita::actors {

void spawn_script_vms(switch_app::impl& p, const routing_ptr& routing,
                      std::function<caf::actor(std::string_view)> shard_of,
                      const guard_factory& make_guard) {
  unsigned nvms = p.cfg->script.vms != 0 ? p.cfg->script.vms : 2 * p.cfg->core.workers;
  auto register_auth = make_guard(2000, false);
  auto proxy_auth = make_guard(2001, true);
  bool invites = p.cfg->auth.invites_from_local_users;
  p.http = std::make_unique<drivers::http_client>();
  auto b2bua = std::make_shared<b2bua_deps>();
  b2bua->services = p.services;
  b2bua->identity = p.identity;
  b2bua->shard_of = shard_of;
  b2bua->seed = routing->seed;
  b2bua->events = p.events;
  b2bua->event_stats = p.event_stats;
  b2bua->media = p.media;
  b2bua->session_expires = std::chrono::seconds{p.cfg->media.session_expires};
  b2bua->min_se = std::chrono::seconds{p.cfg->media.min_se};
  for (unsigned i = 0; i < nvms; ++i) {
    script_vm_deps d;
    d.services = p.services;
    d.routing = routing;
    d.shard_of = shard_of;
    d.events = p.events;
    d.event_stats = p.event_stats;
    d.code = p.script;
    d.sandbox = p.cfg->script.sandbox;
    d.max_instructions = p.cfg->script.max_instructions;
    d.max_wait = std::chrono::seconds{p.cfg->script.max_wait};
    d.memory_limit = std::size_t{p.cfg->script.memory_limit_mb} << 20;
    if (register_auth)
      d.register_auth = [register_auth](const sip::message& m, int64_t now) {
        return register_auth->check(m, now);
      };
    if (proxy_auth)
      d.proxy_auth = [proxy_auth](const sip::message& m, int64_t now) {
        return proxy_auth->check(m, now);
      };
    d.auth_required = [register_auth, proxy_auth, invites](const sip::message& m) {
      if (!register_auth)
        return false;
      if (m.request_method() == sip::method::register_)
        return true;
      return invites && proxy_auth->applies_to(m);
    };
    d.log = p.logs.script ? p.logs.script : p.logs.app;
    d.counters = p.script_stats;
    d.latency = p.latency;
    d.kv = p.kv;
    d.http = p.http.get();
    d.push = p.push;
    d.b2bua = b2bua;
    for (auto& prov : p.push_providers)
      d.push_providers.push_back(prov.cfg.name);
    p.vms.push_back(spawn_script_vm(*p.system, std::move(d)));
  }
  p.logs.app->info("routing script {} on {} script VMs", p.script->name, nvms);
}

result<void> switch_app::reload_script() {
  auto& p = *impl_;
  std::lock_guard lock(p.reload_mutex);
  if (!p.script)
    return error{errc::unsupported, "no routing script (the built-in routing is in use)"};
  if (p.script->name.find("(built in)") != std::string::npos)
    return error{errc::unsupported, "the routing script is the built-in copy of default.lua; "
                                    "start with --script FILE to reload one"};
  auto read = read_script(p.script->name, p.script->generation + 1);
  if (!read)
    return read.err();
  if (auto ok = check_script(**read, p.cfg->script.sandbox); !ok)
    return ok.err();
  p.script = *read;
  for (auto& vm : p.vms)
    caf::anon_send(vm, script_reload{p.script});
  p.logs.app->info("routing script {} reloaded (generation {})", p.script->name,
                   p.script->generation);
  return {};
}

} // namespace centralita::actors
