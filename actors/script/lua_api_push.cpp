// The script API's push library (docs/push.md, docs/scripting.md):
// push.send(binding, payload) wakes a device registered with RFC 8599
// parameters. It never waits: the push service sends it, and how it ended is an
// event (PUSH_SENT / PUSH_FAILED, then PUSH_WOKE when the device registers).

#include "actors/push/push_service.hpp"
#include "actors/script/vm_state.hpp"


namespace centralita::actors::script_detail {

namespace {

std::string field(lua_State* L, int idx, const char* key) {
  lua_getfield(L, idx, key);
  std::string out;
  if (lua_type(L, -1) == LUA_TSTRING)
    out = lua_tostring(L, -1);
  lua_pop(L, 1);
  return out;
}

/// push.send(binding, payload) → push_id, sent (true: a push went out now;
/// false: this call already pushed this device, the earlier push's id) or nil,
/// reason.
int push_send_fn(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = current_run(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  push::push_message m;
  m.provider = field(L, 1, "pn_provider");
  m.prid = field(L, 1, "pn_prid");
  m.param = field(L, 1, "pn_param");
  m.aor = field(L, 1, "aor");
  if (m.provider.empty() || m.prid.empty()) {
    lua_pushnil(L);
    lua_pushstring(L, "the binding has no push parameters (pn-provider, pn-prid)");
    return 2;
  }
  if (!vm.deps.push || std::find(vm.deps.push_providers.begin(), vm.deps.push_providers.end(),
                                 m.provider) == vm.deps.push_providers.end()) {
    lua_pushnil(L);
    lua_pushfstring(L, "no [push.%s] provider configured", m.provider.c_str());
    return 2;
  }
  for (auto& [k, v] : string_pairs(L, 2, "push.send payload", "keys")) {
    if (k == "kind") {
      if (v == "call") m.kind = push::push_kind::call;
      else if (v == "message") m.kind = push::push_kind::message;
      else if (v == "refresh") m.kind = push::push_kind::refresh;
      else if (v == "purr") m.kind = push::push_kind::purr;
      else luaL_error(L, "push.send: payload.kind is call, message, refresh or purr");
    } else if (k == "ttl") {
      m.ttl_s = std::max<int64_t>(1, std::atoll(v.c_str()));
    } else {
      m.extra.emplace_back(k, v);
    }
  }
  m.call_id = r.cid;
  if (auto* req = vm_state::request(r))
    m.caller = req->from().uri;
  if (m.aor.empty())
    m.aor = field(L, 1, "uri");
  // Once per call and device (a mid-dialog request: once per request, by CSeq;
  // the phone may have gone back to sleep since the last one).
  auto now = std::chrono::steady_clock::now();
  auto key = r.cid + "\n" + m.prid + "\n" + std::string(push::to_string(m.kind));
  if (m.kind == push::push_kind::purr)
    if (auto* req = vm_state::request(r))
      key += "\n" + std::to_string(req->cseq());
  if (auto it = vm.pushed.find(key); it != vm.pushed.end() && it->second.second > now) {
    lua_pushlstring(L, it->second.first.data(), it->second.first.size());
    lua_pushboolean(L, 0);
    return 2;
  }
  if (vm.pushed.size() >= 4096)
    std::erase_if(vm.pushed, [now](const auto& e) { return e.second.second <= now; });
  m.push_id = push::uuid_v4(vm.ids->next(), vm.ids->next());
  vm.pushed[key] = {m.push_id, now + std::chrono::minutes{10}};
  vm.log().info("[cid={}] push {} to {} ({} pn-prid {})", r.cid, m.push_id, m.aor, m.provider,
                m.prid);
  lua_pushstring(L, m.push_id.c_str());
  vm.self->send(vm.deps.push, push_send{std::move(m)});
  lua_pushboolean(L, 1);
  return 2;
}

} // namespace

void install_push_api(lua_State* L) {
  static const luaL_Reg push_fns[] = {
    {"send", push_send_fn},
    {nullptr, nullptr},
  };
  register_lib(L, "push", push_fns);
}

} // namespace centralita::actors::script_detail
