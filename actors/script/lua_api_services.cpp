// The Lua API of routing scripts, part 2: events.*, timer.*, log.*, kv.*,
// http.*, print and config (docs/scripting.md).

#include "actors/script/vm_state.hpp"

namespace centralita::actors::script_detail {

namespace {

// -- events ------------------------------------------------------------------------

events::filter filter_arg(lua_State* L, const char* event_name, int idx, const char* what) {
  if (lua_type(L, idx) == LUA_TSTRING) {
    auto f = events::filter::parse(std::string(event_name) + " " + lua_tostring(L, idx));
    if (!f)
      luaL_error(L, "%s: %s", what, f.err().reason.c_str());
    return std::move(f.value());
  }
  auto conds = string_pairs(L, idx, what, "filter keys (attribute names)");
  auto f = events::filter::make(event_name, conds);
  if (!f)
    luaL_error(L, "%s: %s", what, f.err().reason.c_str());
  return std::move(f.value());
}

int events_wait(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = current_run(L);
  const char* name = luaL_checkstring(L, 1);
  auto f = filter_arg(L, name, 2, "events.wait");
  auto timeout = seconds_arg(L, 3, vm.deps.max_wait, vm.deps.max_wait, "events.wait timeout");
  require_yieldable(L, "events.wait");
  if (r.cancelled) {
    lua_pushnil(L);
    lua_pushstring(L, "cancelled");
    return 2;
  }
  if (timeout.count() == 0)
    timeout = std::chrono::milliseconds{1};
  auto token = vm.add_wait(r, L, wait_kind::event);
  vm.deps.event_stats->want(f.event_name());
  vm.self->send(vm.deps.events, subscribe{token, std::move(f),
                                          caf::actor_cast<caf::actor>(vm.self),
                                          subscription_mode::once, timeout, 1024, true});
  return suspend(L);
}

int events_subscribe(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = current_run(L);
  const char* name = luaL_checkstring(L, 1);
  auto f = filter_arg(L, name, 2, "events.subscribe");
  luaL_checktype(L, 3, LUA_TFUNCTION);
  auto timeout = vm.deps.max_wait;
  std::chrono::milliseconds t = timeout;
  handler_refs h;
  if (lua_istable(L, 4)) {
    lua_getfield(L, 4, "timeout");
    t = seconds_arg(L, -1, timeout, timeout, "events.subscribe opts.timeout");
    lua_pop(L, 1);
    if (lua_getfield(L, 4, "on_timeout") == LUA_TFUNCTION)
      h.on_timeout = luaL_ref(L, LUA_REGISTRYINDEX);
    else
      lua_pop(L, 1);
    if (lua_getfield(L, 4, "scope") == LUA_TSTRING) {
      std::string_view scope = lua_tostring(L, -1);
      if (scope == "transaction")
        h.transaction_scope = true;
      else if (scope != "call")
        luaL_error(L, "events.subscribe: opts.scope is 'transaction' or 'call'");
    }
    lua_pop(L, 1);
  }
  if (r.cancelled || (h.transaction_scope && r.answered)) {
    luaL_unref(L, LUA_REGISTRYINDEX, h.on_timeout);
    return lua_pushnil(L), lua_pushstring(L, r.cancelled ? "cancelled" : "answered"), 2;
  }
  if (t.count() == 0)
    t = std::chrono::milliseconds{1};
  lua_pushvalue(L, 3);
  h.fn = luaL_ref(L, LUA_REGISTRYINDEX);
  auto id = next_subscription_id();
  bool call_scope = !h.transaction_scope;
  r.handlers.emplace(id, h);
  vm.handler_runs.emplace(id, r.id);
  if (call_scope && r.initial_invite && r.call_end_sub == 0) {
    // A call-scope handler of a call ends with the call.
    std::vector<std::pair<std::string, std::string>> cond{{"call_id", r.cid}};
    auto end = events::filter::make("CALL_END", cond);
    if (end) {
      r.call_end_sub = next_subscription_id();
      vm.call_end_runs.emplace(r.call_end_sub, r.id);
      vm.deps.event_stats->want("CALL_END");
      vm.self->send(vm.deps.events,
                    subscribe{r.call_end_sub, std::move(end.value()),
                              caf::actor_cast<caf::actor>(vm.self), subscription_mode::once,
                              vm.deps.max_wait, 16, true});
    }
  }
  vm.deps.event_stats->want(f.event_name());
  vm.self->send(vm.deps.events, subscribe{id, std::move(f), caf::actor_cast<caf::actor>(vm.self),
                                          subscription_mode::persistent, t, 1024, true});
  lua_pushinteger(L, static_cast<lua_Integer>(id));
  return 1;
}

int events_unsubscribe(lua_State* L) {
  auto& vm = vm_of(L);
  auto id = static_cast<subscription_id>(luaL_checkinteger(L, 1));
  auto it = vm.handler_runs.find(id);
  if (it == vm.handler_runs.end())
    return lua_pushboolean(L, 0), 1;
  auto* r = vm.find_run(it->second);
  vm.handler_runs.erase(it);
  vm.self->send(vm.deps.events, unsubscribe{id});
  if (r != nullptr) {
    auto h = r->handlers.find(id);
    if (h != r->handlers.end()) {
      luaL_unref(L, LUA_REGISTRYINDEX, h->second.fn);
      luaL_unref(L, LUA_REGISTRYINDEX, h->second.on_timeout);
      r->handlers.erase(h);
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

int events_publish(lua_State* L) {
  auto& vm = vm_of(L);
  std::string name = events::upper(luaL_checkstring(L, 1));
  events::event ev("CUSTOM");
  auto* kind = events::find_kind(name);
  if (kind != nullptr && name != "CUSTOM")
    luaL_error(L, "events.publish: %s events come from the switch; scripts publish their own "
                  "names (CUSTOM events with that subclass)", name.c_str());
  if (name != "CUSTOM")
    ev.set("subclass", std::string(luaL_checkstring(L, 1)));
  for (auto& [k, v] : string_pairs(L, 2, "events.publish", "attribute names"))
    ev.set(k, std::move(v));
  if (ev.find("subclass") == nullptr)
    luaL_error(L, "events.publish: a CUSTOM event needs a 'subclass' attribute");
  if (vm.current != nullptr && ev.find("call_id") == nullptr)
    ev.set("call_id", vm.current->cid);
  vm.self->send(vm.deps.events, publish_event{std::move(ev)});
  return 0;
}

// -- timer, log -----------------------------------------------------------------------

int timer_sleep(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = current_run(L);
  auto d = seconds_arg(L, 1, std::chrono::seconds{0}, vm.deps.max_wait, "timer.sleep");
  require_yieldable(L, "timer.sleep");
  if (r.cancelled)
    return lua_pushnil(L), lua_pushstring(L, "cancelled"), 2;
  auto token = vm.add_wait(r, L, wait_kind::sleep);
  vm.waits[token].timer = vm.svc().timers->arm(vm.self, d, token);
  return suspend(L);
}

std::string join_args(lua_State* L) {
  int n = lua_gettop(L);
  std::string line;
  for (int i = 1; i <= n; ++i) {
    std::size_t len = 0;
    const char* s = luaL_tolstring(L, i, &len);
    if (i > 1)
      line += ' ';
    line.append(s, len);
    lua_pop(L, 1);
  }
  return line;
}

template <spdlog::level::level_enum Level>
int log_fn(lua_State* L) {
  if (lua::state::of(L).owner == nullptr)
    return 0;  // check_script: no logger
  auto& vm = vm_of(L);
  auto line = join_args(L);
  if (vm.current != nullptr)
    vm.log().log(Level, "[cid={}] {}", vm.current->cid, line);
  else
    vm.log().log(Level, "{}", line);
  return 0;
}

// -- kv ----------------------------------------------------------------------------

kv_table& kv_of(lua_State* L) {
  auto& vm = vm_of(L);
  if (!vm.deps.kv)
    luaL_error(L, "kv: no table configured");
  return *vm.deps.kv;
}

std::chrono::milliseconds ttl_arg(lua_State* L, int idx) {
  if (lua_isnoneornil(L, idx))
    return std::chrono::milliseconds{0};
  double s = luaL_checknumber(L, idx);
  if (!(s >= 0) || !std::isfinite(s))
    luaL_error(L, "kv: ttl must be a number of seconds >= 0 (0: no expiry)");
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

int kv_get(lua_State* L) {
  auto v = kv_of(L).get(luaL_checkstring(L, 1));
  if (!v)
    return lua_pushnil(L), 1;
  std::visit(
    [L](auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, std::string>)
        lua_pushlstring(L, x.data(), x.size());
      else if constexpr (std::is_same_v<T, int64_t>)
        lua_pushinteger(L, x);
      else if constexpr (std::is_same_v<T, double>)
        lua_pushnumber(L, x);
      else
        lua_pushboolean(L, x);
    },
    *v);
  return 1;
}

int kv_set(lua_State* L) {
  std::string key = luaL_checkstring(L, 1);
  kv_table::value v;
  switch (lua_type(L, 2)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L, 2))
        v = static_cast<int64_t>(lua_tointeger(L, 2));
      else
        v = lua_tonumber(L, 2);
      break;
    case LUA_TBOOLEAN:
      v = lua_toboolean(L, 2) != 0;
      break;
    case LUA_TSTRING: {
      std::size_t len = 0;
      const char* t = lua_tolstring(L, 2, &len);
      v = std::string(t, len);
      break;
    }
    case LUA_TNIL:
      kv_of(L).remove(key);
      return lua_pushboolean(L, 1), 1;
    default:
      return luaL_error(L, "kv.set: values are strings, numbers or booleans (got %s)",
                        luaL_typename(L, 2));
  }
  auto r = kv_of(L).set(key, std::move(v), ttl_arg(L, 3));
  if (!r)
    return lua_pushnil(L), lua_pushstring(L, r.err().reason.c_str()), 2;
  lua_pushboolean(L, 1);
  return 1;
}

int kv_incr(lua_State* L) {
  std::string key = luaL_checkstring(L, 1);
  lua_Integer by = luaL_optinteger(L, 2, 1);
  auto r = kv_of(L).incr(key, by, ttl_arg(L, 3));
  if (!r)
    return lua_pushnil(L), lua_pushstring(L, r.err().reason.c_str()), 2;
  lua_pushinteger(L, *r);
  return 1;
}

int kv_delete(lua_State* L) {
  lua_pushboolean(L, kv_of(L).remove(luaL_checkstring(L, 1)));
  return 1;
}

// -- http --------------------------------------------------------------------------

int http_request_fn(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = current_run(L);
  if (vm.deps.http == nullptr)
    luaL_error(L, "http.request: no HTTP client configured");
  drivers::http_request req;
  req.method = luaL_checkstring(L, 1);
  req.url = luaL_checkstring(L, 2);
  if (!lua_isnoneornil(L, 3)) {
    std::size_t len = 0;
    const char* b = luaL_checklstring(L, 3, &len);
    req.body.assign(b, len);
  }
  req.headers = header_table(L, 4, "http.request");
  req.timeout = seconds_arg(L, 5, std::chrono::seconds{10}, vm.deps.max_wait, "http.request timeout");
  if (req.timeout.count() <= 0)
    req.timeout = std::chrono::milliseconds{1};
  require_yieldable(L, "http.request");
  if (r.cancelled)
    return lua_pushnil(L), lua_pushstring(L, "cancelled"), 2;
  auto token = vm.add_wait(r, L, wait_kind::http);
  auto me = caf::actor_cast<caf::actor>(vm.self);
  vm.deps.http->request(std::move(req), [me, token](drivers::http_response resp) {
    caf::anon_send(me, http_done{token, std::make_shared<drivers::http_response>(std::move(resp))});
  });
  return suspend(L);
}

} // namespace

void install_api(lua_State* L, const routing_policy& routing) {
  install_sip_api(L);
  install_push_api(L);
  static const luaL_Reg events_fns[] = {
    {"wait", events_wait},
    {"subscribe", events_subscribe},
    {"unsubscribe", events_unsubscribe},
    {"publish", events_publish},
    {nullptr, nullptr},
  };
  static const luaL_Reg timer_fns[] = {
    {"sleep", timer_sleep},
    {nullptr, nullptr},
  };
  static const luaL_Reg log_fns[] = {
    {"debug", log_fn<spdlog::level::debug>},
    {"info", log_fn<spdlog::level::info>},
    {"warn", log_fn<spdlog::level::warn>},
    {"err", log_fn<spdlog::level::err>},
    {"error", log_fn<spdlog::level::err>},
    {nullptr, nullptr},
  };
  register_lib(L, "events", events_fns);
  register_lib(L, "timer", timer_fns);
  register_lib(L, "log", log_fns);
  static const luaL_Reg kv_fns[] = {
    {"get", kv_get},
    {"set", kv_set},
    {"incr", kv_incr},
    {"delete", kv_delete},
    {nullptr, nullptr},
  };
  static const luaL_Reg http_fns[] = {
    {"request", http_request_fn},
    {nullptr, nullptr},
  };
  register_lib(L, "kv", kv_fns);
  register_lib(L, "http", http_fns);
  lua_pushcfunction(L, log_fn<spdlog::level::info>);
  lua_setglobal(L, "print");
  // config: what scripts may want to know of the configuration (read-only by convention)
  lua_newtable(L);
  lua_pushboolean(L, routing.relay_foreign);
  lua_setfield(L, -2, "relay_foreign");
  lua_pushboolean(L, routing.record_route);
  lua_setfield(L, -2, "record_route");
  lua_pushinteger(L, routing.timer_c.count());
  lua_setfield(L, -2, "timer_c");
  lua_pushinteger(L, routing.push_wait.count());
  lua_setfield(L, -2, "push_wait");
  lua_setglobal(L, "config");
}

} // namespace centralita::actors::script_detail
