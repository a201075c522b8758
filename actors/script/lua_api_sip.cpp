// The Lua API of routing scripts, part 1: the request (req), sip.*,
// location.* and auth.* (docs/scripting.md).

#include "actors/script/vm_state.hpp"

namespace centralita::actors::script_detail {

namespace {

// -- req ---------------------------------------------------------------------

int req_header(lua_State* L) {
  auto& r = run_of_request(L, 1);
  auto v = request_of(L, r).header(luaL_checkstring(L, 2));
  if (!v)
    return lua_pushnil(L), 1;
  lua_pushlstring(L, v->data(), v->size());
  return 1;
}

int req_headers(lua_State* L) {
  auto& r = run_of_request(L, 1);
  auto values = request_of(L, r).header_values(luaL_checkstring(L, 2));
  lua_createtable(L, static_cast<int>(values.size()), 0);
  int i = 0;
  for (auto& v : values) {
    lua_pushlstring(L, v.data(), v.size());
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

void refuse_after_relay(lua_State* L, const run_state& r, const char* what) {
  if (r.relayed)
    luaL_error(L, "%s: the request was relayed already (change it before sip.relay, or "
                  "use opts.headers)", what);
}

/// req:set_header (replace: every instance goes first) and req:add_header.
/// The value is checked before anything is removed: a refused header leaves
/// the request as it was.
int put_header(lua_State* L, bool replace) {
  const char* what = replace ? "req:set_header" : "req:add_header";
  auto& r = run_of_request(L, 1);
  refuse_after_relay(L, r, what);
  auto& m = request_of(L, r);
  std::string name = luaL_checkstring(L, 2);
  std::size_t len = 0;
  const char* v = luaL_checklstring(L, 3, &len);
  std::string_view value(v, len);
  bool token = !name.empty();
  for (unsigned char c : name)
    token = token && c > 0x20 && c < 0x7f && c != ':';
  if (!token || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
    luaL_error(L, "%s: '%s' is not a valid header name or the value holds CR, LF or NUL", what,
               name.c_str());
  if (replace)
    m.remove_header(name);
  if (!m.add_header(name, value))
    luaL_error(L, "%s: '%s' is not a valid header name or the value holds CR, LF or NUL", what,
               name.c_str());
  return 0;
}

int req_set_header(lua_State* L) {
  return put_header(L, true);
}

int req_add_header(lua_State* L) {
  return put_header(L, false);
}

int req_remove_header(lua_State* L) {
  auto& r = run_of_request(L, 1);
  refuse_after_relay(L, r, "req:remove_header");
  request_of(L, r).remove_header(luaL_checkstring(L, 2));
  return 0;
}

int req_set_ruri(lua_State* L) {
  auto& r = run_of_request(L, 1);
  refuse_after_relay(L, r, "req:set_ruri");
  std::string uri = luaL_checkstring(L, 2);
  if (auto u = proxy::sip_uri::parse(uri); !u || !u->is_sip())
    luaL_error(L, "req:set_ruri: '%s' is not a SIP URI", uri.c_str());
  request_of(L, r).set_request_uri(uri);
  return 0;
}

int req_reply(lua_State* L) {
  auto& r = run_of_request(L, 1);
  auto& vm = vm_of(L);
  lua_Integer code = luaL_checkinteger(L, 2);
  if (code < 100 || code > 699)
    luaL_error(L, "req:reply: status %d is not from 100 to 699", static_cast<int>(code));
  std::size_t len = 0;
  const char* reason = luaL_optlstring(L, 3, "", &len);
  auto headers = header_table(L, 4, "req:reply");
  if (r.relayed && r.failure_co == nullptr && code >= 200)
    luaL_error(L, "req:reply: the request was relayed; its branches answer it (reply from "
                  "on_failure instead)");
  request_of(L, r);
  lua_pushboolean(L, vm.reply(r, static_cast<int>(code), std::string_view(reason, len), headers));
  return 1;
}

int req_index(lua_State* L);

const luaL_Reg request_methods[] = {
  {"header", req_header},
  {"headers", req_headers},
  {"set_header", req_set_header},
  {"add_header", req_add_header},
  {"remove_header", req_remove_header},
  {"set_ruri", req_set_ruri},
  {"reply", req_reply},
  {nullptr, nullptr},
};

int req_index(lua_State* L) {
  // upvalue 1: the methods table
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return 1;
  lua_pop(L, 1);
  auto& r = run_of_request(L, 1);
  std::string_view key = luaL_checkstring(L, 2);
  auto push = [&](std::string_view v) {
    lua_pushlstring(L, v.data(), v.size());
    return 1;
  };
  if (key == "call_id")
    return push(r.cid);
  if (key == "routing")
    return push(r.route_class);
  if (key == "source_ip")
    return push(r.peer.source.address());
  if (key == "source_port")
    return lua_pushinteger(L, r.peer.source.port()), 1;
  if (key == "source")
    return push(r.peer.source.to_string());
  if (key == "transport")
    return push(r.peer.transport == drivers::transport_kind::tcp ? "tcp" : "udp");
  auto& m = request_of(L, r);
  if (key == "method")
    return push(m.method_name());
  if (key == "ruri")
    return push(m.request_uri());
  if (key == "from")
    return push(m.from().uri);
  if (key == "from_tag")
    return push(m.from().tag);
  if (key == "from_display")
    return push(m.from().display);
  if (key == "to")
    return push(m.to().uri);
  if (key == "to_tag")
    return push(m.to().tag);
  if (key == "cseq")
    return lua_pushinteger(L, m.cseq()), 1;
  if (key == "body")
    return push(m.body());
  if (key == "in_dialog")
    return lua_pushboolean(L, !m.to().tag.empty()), 1;
  if (key == "user" || key == "domain") {
    auto u = proxy::sip_uri::parse(m.request_uri());
    if (!u)
      return lua_pushnil(L), 1;
    return push(key == "user" ? std::string_view(u->user) : std::string_view(u->host));
  }
  if (key == "aor") {
    auto a = sip::normalize_aor(m.request_method() == sip::method::register_
                                  ? m.to().uri
                                  : m.request_uri());
    if (!a)
      return lua_pushnil(L), 1;
    return push(*a);
  }
  return lua_pushnil(L), 1;
}

int req_tostring(lua_State* L) {
  auto* r = vm_of(L).find_run(request_arg(L, 1));
  if (r == nullptr || vm_state::request(*r) == nullptr)
    return lua_pushstring(L, "request (finished)"), 1;
  auto b = r->request->brief();
  lua_pushlstring(L, b.data(), b.size());
  return 1;
}

// -- reply (on_reply) -------------------------------------------------------------


int reply_gc(lua_State* L) {
  static_cast<reply_ud*>(luaL_checkudata(L, 1, reply_meta))->~reply_ud();
  return 0;
}

int reply_header(lua_State* L) {
  auto* u = static_cast<reply_ud*>(luaL_checkudata(L, 1, reply_meta));
  auto v = u->msg->header(luaL_checkstring(L, 2));
  if (!v)
    return lua_pushnil(L), 1;
  lua_pushlstring(L, v->data(), v->size());
  return 1;
}

int reply_index(lua_State* L) {
  auto* u = static_cast<reply_ud*>(luaL_checkudata(L, 1, reply_meta));
  std::string_view key = luaL_checkstring(L, 2);
  auto& m = *u->msg;
  auto push = [&](std::string_view v) {
    lua_pushlstring(L, v.data(), v.size());
    return 1;
  };
  if (key == "header")
    return lua_pushcfunction(L, reply_header), 1;
  if (key == "status")
    return lua_pushinteger(L, m.status()), 1;
  if (key == "reason")
    return push(m.reason_phrase());
  if (key == "call_id")
    return push(m.call_id());
  if (key == "to_tag")
    return push(m.to().tag);
  if (key == "body")
    return push(m.body());
  return lua_pushnil(L), 1;
}

} // namespace

// -- targets (sip.relay, sip.bridge) ------------------------------------------

/// One target from a string or a contact table (location.lookup's).
relay_target target_from(lua_State* L, int idx, const char* what) {
  relay_target t;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING) {
    t.uri = lua_tostring(L, idx);
  } else if (lua_type(L, idx) == LUA_TTABLE) {
    if (lua_getfield(L, idx, "uri") != LUA_TSTRING)
      luaL_error(L, "%s: a target table needs a 'uri' string", what);
    t.uri = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "q") == LUA_TNUMBER)
      t.q = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "path") == LUA_TTABLE) {
      for (lua_Integer i = 1;; ++i) {
        if (lua_rawgeti(L, -1, i) != LUA_TSTRING) {
          lua_pop(L, 1);
          break;
        }
        t.path.emplace_back(lua_tostring(L, -1));
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
    bool via_source = false;
    if (lua_getfield(L, idx, "via_source") == LUA_TBOOLEAN)
      via_source = lua_toboolean(L, -1) != 0;
    lua_pop(L, 1);
    if (via_source && t.path.empty()) {
      std::string received, transport;
      if (lua_getfield(L, idx, "received") == LUA_TSTRING)
        received = lua_tostring(L, -1);
      lua_pop(L, 1);
      if (lua_getfield(L, idx, "transport") == LUA_TSTRING)
        transport = lua_tostring(L, -1);
      lua_pop(L, 1);
      uint64_t conn = 0;
      if (lua_getfield(L, idx, "conn") == LUA_TNUMBER)
        conn = static_cast<uint64_t>(lua_tointeger(L, -1));
      lua_pop(L, 1);
      if (auto ep = drivers::endpoint::parse(received))
        t.flow = relay_flow{*ep,
                            transport == "tcp" ? drivers::transport_kind::tcp
                                               : drivers::transport_kind::udp,
                            drivers::connection_id{conn}};
    }
    lua_getfield(L, idx, "headers");
    t.headers = header_table(L, -1, what);
    lua_pop(L, 1);
  } else {
    luaL_error(L, "%s: a target is a SIP URI string or a contact table", what);
  }
  if (auto u = proxy::sip_uri::parse(t.uri); !u || !u->is_sip())
    luaL_error(L, "%s: '%s' is not a SIP URI", what, t.uri.c_str());
  return t;
}

std::vector<relay_target> targets_from(lua_State* L, int idx, const char* what) {
  std::vector<relay_target> out;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE && lua_getfield(L, idx, "uri") == LUA_TNIL) {
    lua_pop(L, 1);
    auto n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, idx, i);
      out.push_back(target_from(L, -1, what));
      lua_pop(L, 1);
    }
    return out;
  }
  if (lua_type(L, idx) == LUA_TTABLE)
    lua_pop(L, 1);
  out.push_back(target_from(L, idx, what));
  return out;
}

namespace {

// -- sip ---------------------------------------------------------------------

int sip_relay(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = current_run(L);
  auto& m = request_of(L, r);
  if (r.answered)
    return lua_pushnil(L), lua_pushstring(L, "the request has been answered"), 2;
  std::vector<relay_target> targets;
  if (lua_isnoneornil(L, 1)) {
    relay_target t;
    t.uri = m.request_uri();
    if (r.route_class == "foreign" && vm.routing().outbound_proxy)
      t.flow = relay_flow{*vm.routing().outbound_proxy, vm.routing().outbound_transport, {}};
    targets.push_back(std::move(t));
  } else {
    targets = targets_from(L, 1, "sip.relay");
  }
  if (r.failure_co != nullptr && r.context) {
    if (targets.empty())
      return lua_pushnil(L), lua_pushstring(L, "no targets"), 2;
    // on_failure: a new set of branches in the same transaction.
    r.failure_relayed = true;
    vm.self->send(r.context, relay_more{std::move(targets), true});
    lua_pushboolean(L, 1);
    return 1;
  }
  if (r.relayed)
    luaL_error(L, "sip.relay: already relayed (sip.append_branch adds branches to it)");
  auto plan = std::make_shared<relay_plan>();
  plan->targets = std::move(targets);
  plan->mode = fork_mode::by_q;
  if (lua_istable(L, 2)) {
    if (lua_getfield(L, 2, "mode") == LUA_TSTRING) {
      std::string_view mode = lua_tostring(L, -1);
      if (mode == "parallel")
        plan->mode = fork_mode::parallel;
      else if (mode == "serial")
        plan->mode = fork_mode::serial;
      else if (mode != "q")
        luaL_error(L, "sip.relay: opts.mode is 'parallel', 'serial' or 'q'");
    }
    lua_pop(L, 1);
    lua_getfield(L, 2, "wait_for_branches");
    plan->wait_for_branches =
      seconds_arg(L, -1, std::chrono::seconds{0}, vm.deps.max_wait, "opts.wait_for_branches");
    lua_pop(L, 1);
    lua_getfield(L, 2, "branch_timeout");
    plan->branch_timeout = std::chrono::duration_cast<std::chrono::seconds>(
      seconds_arg(L, -1, std::chrono::seconds{0}, std::chrono::seconds{86400},
                  "opts.branch_timeout"));
    lua_pop(L, 1);
    lua_getfield(L, 2, "headers");
    plan->headers = header_table(L, -1, "sip.relay opts.headers");
    lua_pop(L, 1);
  }
  if (plan->targets.empty() && plan->wait_for_branches.count() == 0)
    return lua_pushnil(L), lua_pushstring(L, "no targets (an empty list needs opts.wait_for_branches)"), 2;
  plan->ask_on_failure = r.env->has_on_failure;
  plan->tell_replies = r.env->has_on_reply;
  plan->vm = caf::actor_cast<caf::actor>(vm.self);
  plan->run = r.id;
  proxy_context_deps d{vm.deps.services, vm.deps.routing, vm.deps.shard_of(r.cid), plan};
  auto ctx = spawn_proxy_context(vm.self->home_system(), std::move(d));
  vm.self->monitor(ctx);
  vm.by_context.emplace(ctx.id(), r.id);
  r.context = ctx;
  r.relayed = true;
  // The context gets its own copy: the script may still read the request.
  auto copy = std::make_shared<sip::message>(m.clone());
  vm.self->send(ctx, txn_request{r.server, std::move(copy), r.peer});
  lua_pushboolean(L, 1);
  return 1;
}

int sip_append_branch(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = current_run(L);
  auto targets = targets_from(L, 1, "sip.append_branch");
  if (!r.context)
    return lua_pushnil(L), lua_pushstring(L, "nothing relayed yet (use sip.relay)"), 2;
  if (r.final_seen || r.cancelled)
    return lua_pushnil(L), lua_pushstring(L, "the transaction has been answered"), 2;
  vm.self->send(r.context, relay_more{std::move(targets), false});
  lua_pushboolean(L, 1);
  return 1;
}

int sip_hangup(lua_State* L) {
  auto& vm = vm_of(L);
  std::string cid;
  if (lua_isnoneornil(L, 1))
    cid = current_run(L).cid;
  else
    cid = luaL_checkstring(L, 1);
  std::string reason = luaL_optstring(L, 2, "hangup by script");
  vm.self->send(vm.deps.shard_of(cid), hangup_call{cid, reason});
  lua_pushboolean(L, 1);
  return 1;
}

int sip_answer_locally(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = run_of_request(L, 1);
  auto& m = request_of(L, r);
  auto method = m.request_method();
  bool sent = false;
  if (method == sip::method::options)
    sent = vm.reply(r, 200, {},
                    {{"Allow", stateless_core::allow},
                     {"Accept", "application/sdp"},
                     {"Accept-Encoding", "identity"},
                     {"Accept-Language", "en"},
                     {"Supported", "path"}});
  else if (method == sip::method::unknown || method == sip::method::publish)
    sent = vm.reply(r, 501, {}, {{"Allow", stateless_core::allow}});
  else if (method == sip::method::bye || method == sip::method::info
           || method == sip::method::update || method == sip::method::prack
           || method == sip::method::notify)
    sent = vm.reply(r, 481, {});
  else
    sent = vm.reply(r, 404, {});
  lua_pushboolean(L, sent);
  return 1;
}

// -- location -----------------------------------------------------------------

std::string aor_arg(lua_State* L, int idx) {
  std::string text = luaL_checkstring(L, idx);
  if (text.rfind("sip:", 0) != 0 && text.rfind("sips:", 0) != 0)
    text = "sip:" + text;
  auto a = sip::normalize_aor(text);
  if (!a)
    luaL_error(L, "location.lookup: '%s' is not an address of record (user@domain)",
               luaL_checkstring(L, idx));
  return *a;
}

void push_contacts(lua_State* co, const location_result& res) {
  lua_createtable(co, static_cast<int>(res.bindings.size()), 0);
  int i = 0;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  for (auto& b : res.bindings) {
    lua_createtable(co, 0, 14);
    set_string(co, "uri", b.contact());
    set_string(co, "aor", b.aor());
    lua_pushnumber(co, b.q / 1000.0);
    lua_setfield(co, -2, "q");
    lua_pushinteger(co, b.remaining(now));
    lua_setfield(co, -2, "expires");
    set_string(co, "received", b.received());
    set_string(co, "transport", b.transport());
    lua_pushinteger(co, static_cast<lua_Integer>(b.connection));
    lua_setfield(co, -2, "conn");
    lua_pushboolean(co, !b.received().empty() && reach_through_source(b));
    lua_setfield(co, -2, "via_source");
    set_string(co, "instance", b.instance());
    lua_pushinteger(co, b.reg_id);
    lua_setfield(co, -2, "reg_id");
    set_string(co, "user_agent", b.user_agent());
    set_string(co, "pn_provider", b.pn_provider());
    set_string(co, "pn_prid", b.pn_prid());
    set_string(co, "pn_param", b.pn_param());
    set_string(co, "pn_purr", b.pn_purr());
    auto path = b.path();
    lua_createtable(co, static_cast<int>(path.size()), 0);
    int j = 0;
    for (auto p : path) {
      lua_pushlstring(co, p.data(), p.size());
      lua_rawseti(co, -2, ++j);
    }
    lua_setfield(co, -2, "path");
    lua_rawseti(co, -2, ++i);
  }
}

/// location.lookup(aor) → contacts, known_user; location.lookup_purr(pn_purr)
/// → the contact table registered with that pn-purr, or nil (RFC 8599 §4.1.3).
int lookup(lua_State* L, std::string aor, std::string purr) {
  auto& vm = vm_of(L);
  auto& r = current_run(L);
  auto token = vm.add_wait(r, L, wait_kind::lookup);
  vm.waits[token].timer = vm.svc().timers->arm(vm.self, std::chrono::seconds{5}, token);
  auto* self = vm.self;
  self->request(vm.routing().registrar_of(aor), caf::infinite, location_lookup{aor})
    .then(
      [&vm, token, purr](location_result& res) {
        auto w = vm.take_wait(token);
        if (!w)
          return;
        auto [r, co] = *w;
        if (!purr.empty()) {
          std::erase_if(res.bindings, [&](const sip::binding& b) { return b.pn_purr() != purr; });
          push_contacts(co, res);
          lua_rawgeti(co, -1, 1);  // the binding, or nil
          lua_remove(co, -2);
          vm.resume(*r, co, 1);
          vm.maybe_finish(*r);
          return;
        }
        push_contacts(co, res);
        lua_pushboolean(co, res.known_user);
        vm.resume(*r, co, 2);
        vm.maybe_finish(*r);
      },
      [&vm, token](caf::error&) {
        auto w = vm.take_wait(token);
        if (!w)
          return;
        auto [r, co] = *w;
        lua_pushnil(co);
        lua_pushstring(co, "location service unavailable");
        vm.resume(*r, co, 2);
        vm.maybe_finish(*r);
      });
  return suspend(L);
}

int location_lookup_fn(lua_State* L) {
  auto aor = aor_arg(L, 1);
  require_yieldable(L, "location.lookup");
  return lookup(L, std::move(aor), {});
}

int location_lookup_purr(lua_State* L) {
  std::string purr = luaL_checkstring(L, 1);
  require_yieldable(L, "location.lookup_purr");
  auto aor = sip::pn_purr_aor(purr);
  if (aor.empty())
    return lua_pushnil(L), 1;  // not a pn-purr of ours
  return lookup(L, std::move(aor), std::move(purr));
}

int location_save(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = run_of_request(L, 1);
  auto& m = request_of(L, r);
  if (m.request_method() != sip::method::register_)
    luaL_error(L, "location.save: the request is a %s, not a REGISTER",
               std::string(m.method_name()).c_str());
  if (r.answered)
    return lua_pushnil(L), lua_pushstring(L, "the request has been answered"), 2;
  auto aor = sip::normalize_aor(m.to().uri);
  if (!aor) {
    vm.reply(r, 400, "Bad To Header");
    return lua_pushnil(L), lua_pushstring(L, "the To header holds no address of record"), 2;
  }
  txn_request handoff{r.server, std::move(r.request), r.peer, true};
  vm.self->send(vm.routing().registrar_of(*aor), std::move(handoff));
  r.saved = true;
  r.answered = true;  // the registrar answers
  lua_pushboolean(L, 1);
  return 1;
}

// -- auth ------------------------------------------------------------------------

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int auth_check(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = run_of_request(L, 1);
  auto& m = request_of(L, r);
  auto& guard = m.request_method() == sip::method::register_ ? vm.deps.register_auth
                                                             : vm.deps.proxy_auth;
  if (!guard)
    return lua_pushboolean(L, 1), 1;  // no users configured: nothing to check
  if (auto refusal = guard(m, wall_ms())) {
    if (!r.answered)
      vm.send_response(r, refusal->status(), refusal->serialize());
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int auth_required(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = run_of_request(L, 1);
  auto& m = request_of(L, r);
  lua_pushboolean(L, vm.deps.auth_required && vm.deps.auth_required(m));
  return 1;
}

} // namespace

void install_sip_api(lua_State* L) {
  // request metatable
  luaL_newmetatable(L, request_meta);
  lua_newtable(L);
  luaL_setfuncs(L, request_methods, 0);
  lua_pushcclosure(L, req_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, req_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "request");
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
  luaL_newmetatable(L, reply_meta);
  lua_pushcfunction(L, reply_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, reply_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushliteral(L, "reply");
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  static const luaL_Reg sip_fns[] = {
    {"relay", sip_relay},
    {"append_branch", sip_append_branch},
    {"answer_locally", sip_answer_locally},
    {"hangup", sip_hangup},
    {nullptr, nullptr},
  };
  static const luaL_Reg location_fns[] = {
    {"lookup", location_lookup_fn},
    {"lookup_purr", location_lookup_purr},
    {"save", location_save},
    {nullptr, nullptr},
  };
  static const luaL_Reg auth_fns[] = {
    {"check", auth_check},
    {"required", auth_required},
    {nullptr, nullptr},
  };
  register_lib(L, "sip", sip_fns);
  install_bridge_api(L);
  register_lib(L, "location", location_fns);
  register_lib(L, "auth", auth_fns);
}

} // namespace centralita::actors::script_detail
