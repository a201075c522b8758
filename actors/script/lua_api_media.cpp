// The Lua API of routing scripts, part 4: sip.bridge (B2BUA calls with
// anchored media) and the media library (docs/scripting.md, docs/media.md).

#include "actors/b2bua/b2b_call.hpp"
#include "actors/b2bua/b2b_messages.hpp"
#include "actors/media/media_hub.hpp"
#include "actors/script/vm_state.hpp"
#include "protocols/util/ascii.hpp"

namespace centralita::actors::script_detail {

namespace {

/// opts.block_dtmf: true / "both", "a" (the caller's keys), "b" (the callee's).
void block_flags(lua_State* L, int idx, bridge_plan& plan) {
  if (lua_isnoneornil(L, idx))
    return;
  if (lua_type(L, idx) == LUA_TBOOLEAN) {
    plan.block_dtmf_a = plan.block_dtmf_b = lua_toboolean(L, idx) != 0;
    return;
  }
  std::string_view v = luaL_checkstring(L, idx);
  if (v == "both")
    plan.block_dtmf_a = plan.block_dtmf_b = true;
  else if (v == "a")
    plan.block_dtmf_a = true;
  else if (v == "b")
    plan.block_dtmf_b = true;
  else
    luaL_error(L, "sip.bridge: opts.block_dtmf is true, \"a\", \"b\" or \"both\"");
}

/// sip.bridge([targets], [opts]): the call goes on as two dialogs with the
/// switch in the middle (B2BUA) and its media relayed through our ports.
int sip_bridge(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = current_run(L);
  auto& m = request_of(L, r);
  if (!vm.deps.b2bua || !vm.deps.b2bua->media || !vm.deps.b2bua->media->ready())
    return lua_pushnil(L), lua_pushstring(L, "no media relay (see [media])"), 2;
  if (m.request_method() != sip::method::invite || !m.to().tag.empty())
    luaL_error(L, "sip.bridge: only an INVITE that starts a call can be bridged (use sip.relay)");
  if (r.answered)
    return lua_pushnil(L), lua_pushstring(L, "the request has been answered"), 2;
  if (r.relayed)
    luaL_error(L, "sip.bridge: the request was relayed or bridged already");
  auto plan = std::make_shared<bridge_plan>();
  if (lua_isnoneornil(L, 1)) {
    relay_target t;
    t.uri = m.request_uri();
    plan->targets.push_back(std::move(t));
  } else {
    plan->targets = targets_from(L, 1, "sip.bridge");
  }
  if (plan->targets.empty())
    return lua_pushnil(L), lua_pushstring(L, "no targets"), 2;
  // Contacts from location.lookup come best first (q); a bridge rings one.
  if (lua_istable(L, 2)) {
    if (lua_getfield(L, 2, "media") == LUA_TSTRING) {
      std::string_view mode = lua_tostring(L, -1);
      if (mode == "relay")
        plan->media = bridge_media::relay;
      else if (mode == "transcode")
        plan->media = bridge_media::transcode;
      else
        luaL_error(L, "sip.bridge: opts.media is \"relay\" or \"transcode\"");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "codecs") == LUA_TTABLE) {
      plan->codecs.clear();
      for (lua_Integer i = 1;; ++i) {
        if (lua_rawgeti(L, -1, i) != LUA_TSTRING) {
          lua_pop(L, 1);
          break;
        }
        std::string name = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (!ascii::iequals(name, "PCMA") && !ascii::iequals(name, "PCMU") && !ascii::iequals(name, "opus"))
          luaL_error(L, "sip.bridge: opts.codecs holds \"%s\" (PCMA, PCMU and opus can be transcoded)",
                     name.c_str());
        plan->codecs.push_back(std::move(name));
      }
      if (plan->codecs.empty())
        luaL_error(L, "sip.bridge: opts.codecs is empty");
    }
    lua_pop(L, 1);
    lua_getfield(L, 2, "block_dtmf");
    block_flags(L, -1, *plan);
    lua_pop(L, 1);
  }
  plan->vm = caf::actor_cast<caf::actor>(vm.self);
  plan->run = r.id;
  b2b_call_init ci;
  ci.deps = vm.deps.b2bua;
  ci.server = r.server;
  ci.invite = std::make_shared<sip::message>(m.clone());
  ci.peer = r.peer;
  ci.plan = plan;
  auto call = spawn_b2b_call(vm.self->home_system(), std::move(ci));
  vm.self->monitor(call);
  vm.by_context.emplace(call.id(), r.id);
  r.context = call;
  r.relayed = true;
  lua_pushboolean(L, 1);
  return 1;
}

/// media.block_dtmf(call_id, leg, on): stop (or pass again) the key presses
/// of one party of a bridged call ("a" the caller, "b" the callee).
int media_block_dtmf_fn(lua_State* L) {
  auto& vm = vm_of(L);
  std::string cid = luaL_checkstring(L, 1);
  std::string_view leg = luaL_checkstring(L, 2);
  bool on = lua_isnoneornil(L, 3) || lua_toboolean(L, 3) != 0;
  if (leg != "a" && leg != "b")
    luaL_error(L, "media.block_dtmf: the leg is \"a\" or \"b\"");
  vm.self->send(vm.deps.shard_of(cid), call_media_command{cid, media_block_dtmf{leg == "a" ? 0 : 1, on}});
  lua_pushboolean(L, 1);
  return 1;
}

/// media.send_dtmf(call_id, digits, [opts]): plays key presses to one party
/// of a bridged call (opts.leg "b" (default) or "a"; opts.duration ms per
/// key, default 100; opts.inband: tones even when the party negotiated
/// telephone-event).
int media_send_dtmf_fn(lua_State* L) {
  auto& vm = vm_of(L);
  std::string cid = luaL_checkstring(L, 1);
  std::string digits = luaL_checkstring(L, 2);
  for (char c : digits)
    if (std::string_view("0123456789*#ABCDabcd").find(c) == std::string_view::npos)
      luaL_error(L, "media.send_dtmf: '%c' is not a DTMF key (0-9 * # A-D)", c);
  if (digits.empty() || digits.size() > 64)
    luaL_error(L, "media.send_dtmf: from 1 to 64 keys");
  media_send_dtmf cmd;
  cmd.side = 1;
  cmd.digits = std::move(digits);
  if (lua_istable(L, 3)) {
    if (lua_getfield(L, 3, "leg") == LUA_TSTRING) {
      std::string_view leg = lua_tostring(L, -1);
      if (leg != "a" && leg != "b")
        luaL_error(L, "media.send_dtmf: opts.leg is \"a\" or \"b\"");
      cmd.side = leg == "a" ? 0 : 1;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 3, "duration") == LUA_TNUMBER) {
      auto ms = lua_tointeger(L, -1);
      if (ms < 40 || ms > 5000)
        luaL_error(L, "media.send_dtmf: opts.duration is from 40 to 5000 ms");
      cmd.duration_ms = static_cast<uint32_t>(ms);
    }
    lua_pop(L, 1);
    lua_getfield(L, 3, "inband");
    cmd.inband = lua_toboolean(L, -1) != 0;
    lua_pop(L, 1);
  }
  vm.self->send(vm.deps.shard_of(cid), call_media_command{cid, std::move(cmd)});
  lua_pushboolean(L, 1);
  return 1;
}

} // namespace

void install_bridge_api(lua_State* L) {
  lua_getglobal(L, "sip");
  lua_pushcfunction(L, sip_bridge);
  lua_setfield(L, -2, "bridge");
  lua_pop(L, 1);
  static const luaL_Reg media_fns[] = {
    {"block_dtmf", media_block_dtmf_fn},
    {"send_dtmf", media_send_dtmf_fn},
    {nullptr, nullptr},
  };
  register_lib(L, "media", media_fns);
}

} // namespace centralita::actors::script_detail
