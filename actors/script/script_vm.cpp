#include "actors/script/vm_state.hpp"

#include <fstream>
#include <sstream>

namespace centralita::actors {

result<std::shared_ptr<const script_code>> read_script(const std::string& path,
                                                       uint64_t generation) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return error{errc::invalid_argument, "cannot read script '" + path + "'"};
  std::ostringstream text;
  text << in.rdbuf();
  auto code = std::make_shared<script_code>();
  code->name = path;
  code->text = text.str();
  code->generation = generation;
  return std::shared_ptr<const script_code>(std::move(code));
}

} // namespace centralita::actors

namespace centralita::actors::script_detail {

std::shared_ptr<script_env> vm_state::load(std::shared_ptr<const script_code> code,
                                           std::string& err) {
  auto e = std::make_shared<script_env>();
  e->st = std::make_unique<lua::state>(deps.sandbox, deps.memory_limit, &deps.counters->lua_bytes);
  if (e->st->L() == nullptr) {
    err = "cannot create a Lua state";
    return nullptr;
  }
  e->st->owner = this;
  install_api(e->st->L(), routing());
  if (!e->st->load(code->name, code->text, err))
    return nullptr;
  if (!e->st->has_function("on_request")) {
    err = code->name + ": the script defines no on_request(req) function";
    return nullptr;
  }
  e->has_on_reply = e->st->has_function("on_reply");
  e->has_on_failure = e->st->has_function("on_failure");
  e->code = std::move(code);
  return e;
}

lua_State* vm_state::new_coroutine(run_state& r) {
  auto* L = r.env->st->L();
  auto* co = lua_newthread(L);
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  r.coros.emplace_back(co, ref);
  return co;
}

void vm_state::start_run(txn_request& tr) {
  auto id = ++next_run;
  auto& r = runs[id];
  r.id = id;
  r.env = env;
  r.server = std::move(tr.server_txn);
  r.request = std::move(tr.request);
  r.peer = tr.peer;
  r.cid = std::string(r.request->call_id());
  r.to_tag = ids->tag();
  r.started = std::chrono::steady_clock::now();
  deps.counters->runs.fetch_add(1, std::memory_order_relaxed);
  if (deps.kv && id % 16 == 0)
    deps.kv->sweep();  // one stripe of the shared table: expired entries give their memory back
  deps.counters->live_runs.fetch_add(1, std::memory_order_relaxed);
  if (r.server)
    by_server.emplace(r.server.id(), id);
  auto& m = *r.request;
  auto& us = *routing().identity;
  auto method = m.request_method();
  r.initial_invite = method == sip::method::invite && m.to().tag.empty();
  r.invite = method == sip::method::invite;
  // What every route does first, as the built-in routing does (RFC 3261
  // §16.3): Max-Forwards, validation, 100 Trying, Route preprocessing (§16.4).
  if (method == sip::method::register_) {
    auto ruri = proxy::sip_uri::parse(m.request_uri());
    r.route_class = ruri && routing().is_local_domain(ruri->host, ruri->port.value_or(0))
                      ? "local"
                      : "foreign";
  } else {
    if (m.max_forwards() == 0u) {
      reply(r, 483, {});
      maybe_finish(r);
      return;
    }
    if (auto rej = proxy::validate(m, us)) {
      if (auto resp = proxy::make_rejection(m, *rej, r.to_tag))
        send_response(r, resp->status(), resp->serialize());
      maybe_finish(r);
      return;
    }
    if (method == sip::method::invite)
      reply(r, 100, {});
    auto ro = proxy::preprocess_routes(m, us);
    auto ruri = proxy::sip_uri::parse(m.request_uri());
    bool ours = ruri && (ro.request_uri_is_us
                         || (!ro.in_dialog
                             && routing().is_local_domain(ruri->host, ruri->port.value_or(0))));
    if (ro.has_route)
      r.route_class = "route";
    else if (!ours && ro.in_dialog)
      r.route_class = ro.removed_self || ro.strict_route_restored ? "dialog" : "stray";
    else if (!ours)
      r.route_class = "foreign";
    else if (ruri->user.empty())
      r.route_class = "self";
    else
      r.route_class = "local";
  }
  auto* L = r.env->st->L();
  auto* ud = static_cast<uint64_t*>(lua_newuserdatauv(L, sizeof(uint64_t), 0));
  *ud = id;
  luaL_setmetatable(L, request_meta);
  r.req_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  auto req_ref = r.req_ref;
  call_global(r, "on_request", [req_ref](lua_State* co) {
    lua_rawgeti(co, LUA_REGISTRYINDEX, req_ref);
  });
  if (auto* again = find_run(id))
    maybe_finish(*again);
}

void vm_state::resume(run_state& r, lua_State* co, int nargs) {
  if (r.hibernated) {
    defer_until_awake(r, co, nargs);
    return;
  }
  auto& st = *r.env->st;
  auto* previous = current;
  current = &r;
  st.refill(deps.max_instructions);
  st.clear_exhausted();
  int nres = 0;
  int status = lua_resume(co, nullptr, nargs, &nres);
  current = previous;
  if (!r.decided && (r.answered || r.relayed || r.saved)) {
    r.decided = true;
    if (deps.latency)
      deps.latency->routing.record(std::chrono::steady_clock::now() - r.started);
  }
  if (status == LUA_YIELD) {
    lua_pop(co, nres);
    bool long_wait = false;
    for (auto token : r.waits)
      if (auto it = waits.find(token); it != waits.end() && it->second.kind != wait_kind::lookup)
        long_wait = true;
    if (long_wait)
      park(r);
    return;
  }
  if (status == LUA_OK) {
    lua_pop(co, nres);
    end_coroutine(r, co);
    return;
  }
  const char* msg = lua_tostring(co, -1);
  auto trace = lua::traceback(co, msg != nullptr ? msg : "(error object is not a string)");
  deps.counters->errors.fetch_add(1, std::memory_order_relaxed);
  if (st.budget_exhausted())
    deps.counters->runaway.fetch_add(1, std::memory_order_relaxed);
  log().error("[cid={}] script error: {}", r.cid, trace);
  if (!r.answered && !r.saved && (!r.relayed || r.failure_co != nullptr))
    reply(r, 500, "Script Error");
  end_coroutine(r, co);
}

void vm_state::end_coroutine(run_state& r, lua_State* co) {
  auto it = std::find_if(r.coros.begin(), r.coros.end(),
                         [co](const auto& c) { return c.first == co; });
  if (it == r.coros.end())
    return;
  luaL_unref(r.env->st->L(), LUA_REGISTRYINDEX, it->second);
  *it = r.coros.back();
  r.coros.pop_back();
  // Waits of this coroutine (it died with an error while one was armed: not
  // possible, a yield ends the resume) stay keyed by token; take_wait checks.
  if (co == r.failure_co) {
    r.failure_co = nullptr;
    if (r.context && !r.failure_relayed)
      self->send(r.context, failure_handled{r.failure_answered});
    r.failure_relayed = false;
  }
}

void vm_state::maybe_finish(run_state& r) {
  if (r.handlers.empty() && r.call_end_sub != 0) {
    self->send(deps.events, unsubscribe{r.call_end_sub});
    call_end_runs.erase(r.call_end_sub);
    r.call_end_sub = 0;
  }
  if (!r.coros.empty() || !r.waits.empty() || !r.handlers.empty())
    return;
  if (r.relayed && !r.final_seen)
    return;  // the proxy context may still ask (on_failure) or need the CANCEL
  if (!r.answered && !r.saved && !r.relayed) {
    if (r.hibernated) {
      defer_until_awake(r, nullptr, 0);  // the 500 needs the transaction
      return;
    }
    log().warn("[cid={}] the routing script ended without answering or relaying: 500", r.cid);
    reply(r, 500, "Routing Script Gave No Answer");
  }
  finish(r);
}

void vm_state::finish(run_state& r) {
  for (auto token : r.waits) {
    auto it = waits.find(token);
    if (it != waits.end()) {
      svc().timers->cancel(it->second.timer);
      if (it->second.kind == wait_kind::event)
        self->send(deps.events, unsubscribe{token});
      waits.erase(it);
      deps.counters->suspended.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  unsubscribe_all(r);
  auto* L = r.env->st->L();
  for (auto& [co, ref] : r.coros)
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
  luaL_unref(L, LUA_REGISTRYINDEX, r.req_ref);
  if (r.server)
    by_server.erase(r.server.id());
  if (r.asleep != 0)
    by_server.erase(r.asleep);
  if (r.context)
    by_context.erase(r.context.id());
  if (r.txn_token != 0)
    hibernated_runs.erase(r.txn_token);
  deps.counters->live_runs.fetch_sub(1, std::memory_order_relaxed);
  runs.erase(r.id);
}

void vm_state::on_event(const event_delivery& d) {
  if (auto ce = call_end_runs.find(d.id); ce != call_end_runs.end()) {
    auto* r = find_run(ce->second);
    call_end_runs.erase(ce);
    if (r != nullptr) {
      r->call_end_sub = 0;
      // The call is over: so are its handlers, once they have seen this
      // CALL_END too (the bus queued their deliveries before this message).
      self->send(self, end_call_scope{r->id});
    }
    return;
  }
  if (waits.count(d.id)) {
    auto w = take_wait(d.id);
    if (!w)
      return;
    auto [r, co] = *w;
    if (deps.latency && d.ev->mono_ns != 0)
      deps.latency->wakeup.record(
        std::chrono::steady_clock::now().time_since_epoch() - std::chrono::nanoseconds{d.ev->mono_ns});
    push_event(co, *d.ev);
    resume(*r, co, 1);
    maybe_finish(*r);
    return;
  }
  auto h = handler_runs.find(d.id);
  if (h == handler_runs.end())
    return;  // unsubscribed meanwhile
  auto* r = find_run(h->second);
  if (r == nullptr)
    return;
  auto ref = r->handlers.find(d.id);
  if (ref == r->handlers.end())
    return;
  auto ev = d.ev;
  call_in_run(*r, ref->second.fn, [this, ev](lua_State* co) { push_event(co, *ev); });
}

void vm_state::on_subscription_ended(const subscription_ended& e) {
  if (auto ce = call_end_runs.find(e.id); ce != call_end_runs.end()) {
    if (auto* r = find_run(ce->second))
      r->call_end_sub = 0;
    call_end_runs.erase(ce);
    return;
  }
  if (waits.count(e.id)) {
    auto w = take_wait(e.id);
    if (!w)
      return;
    auto [r, co] = *w;
    lua_pushnil(co);
    lua_pushstring(co, r->cancelled ? "cancelled" : to_string(e.why));
    resume(*r, co, 2);
    maybe_finish(*r);
    return;
  }
  auto h = handler_runs.find(e.id);
  if (h == handler_runs.end())
    return;
  auto* r = find_run(h->second);
  handler_runs.erase(h);
  if (r == nullptr)
    return;
  auto it = r->handlers.find(e.id);
  if (it == r->handlers.end())
    return;
  auto refs = it->second;
  r->handlers.erase(it);
  auto* L = r->env->st->L();
  luaL_unref(L, LUA_REGISTRYINDEX, refs.fn);
  if (e.why == subscription_end::timeout && refs.on_timeout != LUA_NOREF && !r->cancelled) {
    call_in_run(*r, refs.on_timeout, [](lua_State* co) { lua_pushnil(co); });
    luaL_unref(L, LUA_REGISTRYINDEX, refs.on_timeout);
    return;
  }
  luaL_unref(L, LUA_REGISTRYINDEX, refs.on_timeout);
  maybe_finish(*r);
}

void vm_state::on_timer(const timer_expired& t) {
  auto it = waits.find(t.tag);
  if (it == waits.end())
    return;
  it->second.timer = {};
  auto kind = it->second.kind;
  auto w = take_wait(t.tag);
  if (!w)
    return;
  auto [r, co] = *w;
  if (kind == wait_kind::lookup) {
    log().warn("[cid={}] location lookup unanswered after 5 s", r->cid);
    lua_pushnil(co);
    lua_pushstring(co, "location service unavailable");
    resume(*r, co, 2);
  } else {
    lua_pushboolean(co, 1);
    resume(*r, co, 1);
  }
  maybe_finish(*r);
}

void vm_state::on_cancel(caf::actor_id server) {
  auto it = by_server.find(server);
  if (it == by_server.end())
    return;
  auto* r = find_run(it->second);
  if (r == nullptr)
    return;
  if (r->context) {
    self->send(r->context, upstream_cancelled{});
    r->cancelled = true;
    unsubscribe_all(*r);
    return;
  }
  if (r->cancelled)
    return;
  r->cancelled = true;
  // RFC 3261 §16.10 with nothing forwarded: 487 now; what the run waits for
  // ends with "cancelled".
  reply(*r, 487, {});
  unsubscribe_all(*r);
  std::vector<uint64_t> tokens(r->waits.begin(), r->waits.end());
  auto id = r->id;
  for (auto token : tokens) {
    auto wi = waits.find(token);
    if (wi == waits.end())
      continue;
    if (wi->second.kind == wait_kind::event)
      self->send(deps.events, unsubscribe{token});  // subscription_ended resumes it
    else if (wi->second.kind == wait_kind::sleep) {
      auto w = take_wait(token);
      if (!w)
        continue;
      auto [run, co] = *w;
      lua_pushnil(co);
      lua_pushstring(co, "cancelled");
      resume(*run, co, 2);
    }
  }
  if (auto* again = find_run(id))
    maybe_finish(*again);
}

void vm_state::on_relay_failed(const relay_failed& f) {
  auto* r = find_run(f.run);
  if (r == nullptr || !r->context)
    return;
  if (r->cancelled || !r->env->has_on_failure) {
    self->send(r->context, failure_handled{false});
    return;
  }
  r->failure_answered = false;
  r->failure_relayed = false;
  auto* co = new_coroutine(*r);
  r->failure_co = co;
  lua_getglobal(co, "on_failure");
  lua_createtable(co, 0, 3);
  lua_pushinteger(co, f.status);
  lua_setfield(co, -2, "status");
  set_string(co, "reason", f.reason);
  set_string(co, "uri", f.branch_uri);
  lua_rawgeti(co, LUA_REGISTRYINDEX, r->req_ref);
  resume(*r, co, 2);
  maybe_finish(*r);
}

void vm_state::on_relay_reply(relay_reply& rr) {
  auto* r = find_run(rr.run);
  if (r == nullptr || !r->env->has_on_reply)
    return;
  auto parsed = sip::message::parse(rr.bytes);
  if (!parsed)
    return;
  auto msg = std::make_shared<sip::message>(std::move(parsed.value()));
  auto req_ref = r->req_ref;
  call_global(*r, "on_reply", [msg, req_ref](lua_State* co) {
    new (lua_newuserdatauv(co, sizeof(reply_ud), 0)) reply_ud{msg};
    luaL_setmetatable(co, reply_meta);
    lua_rawgeti(co, LUA_REGISTRYINDEX, req_ref);
  }, 2);
  if (auto* again = find_run(rr.run))
    maybe_finish(*again);
}

void vm_state::on_relay_final(const relay_final& f) {
  auto* r = find_run(f.run);
  if (r == nullptr)
    return;
  r->final_seen = true;
  r->answered = true;
  unsubscribe_all(*r, true);
  maybe_finish(*r);
}

void vm_state::on_context_down(const caf::down_msg& m) {
  auto it = by_context.find(m.source.id());
  if (it == by_context.end())
    return;
  auto id = it->second;
  by_context.erase(it);
  auto* r = find_run(id);
  if (r == nullptr)
    return;
  r->final_seen = true;
  r->answered = true;
  r->context = nullptr;
  unsubscribe_all(*r, true);
  maybe_finish(*r);
}

namespace {

caf::behavior script_vm(caf::stateful_actor<vm_state>* self, script_vm_deps deps) {
  auto& st = self->state;
  st.deps = std::move(deps);
  st.self = self;
  st.ids.emplace(st.routing().seed ? st.routing().seed() : 0x5c1u);
  std::string err;
  st.env = st.load(st.deps.code, err);
  if (!st.env) {
    st.log().critical("script VM cannot load {}: {}", st.deps.code->name, err);
    self->quit(caf::exit_reason::user_shutdown);
    return {};
  }
  self->set_down_handler([&st](caf::down_msg& m) { st.on_context_down(m); });
  return {
    [&st](txn_request& r) { st.start_run(r); },
    [&st, self](upstream_cancelled) { st.on_cancel(self->current_sender() ? self->current_sender()->id() : 0); },
    [](server_txn_done) {},
    [&st](const event_delivery& d) { st.on_event(d); },
    [&st](const subscription_ended& e) { st.on_subscription_ended(e); },
    [&st](timer_expired t) { st.on_timer(t); },
    [&st](const relay_failed& f) { st.on_relay_failed(f); },
    [&st](relay_reply& r) { st.on_relay_reply(r); },
    [&st](const relay_final& f) { st.on_relay_final(f); },
    [&st](const script_reload& r) { st.reload(r); },
    [&st](const http_done& h) { st.on_http(h); },
    [&st](const end_call_scope& e) {
      if (auto* r = st.find_run(e.run)) {
        st.unsubscribe_all(*r);
        st.maybe_finish(*r);
      }
    },
    [&st, self](const txn_revived& t) {
      st.on_revived(t, caf::actor_cast<caf::actor>(self->current_sender()));
    },
  };
}

} // namespace

} // namespace centralita::actors::script_detail

namespace centralita::actors {

caf::actor spawn_script_vm(caf::actor_system& sys, script_vm_deps deps) {
  return sys.spawn(script_detail::script_vm, std::move(deps));
}

result<void> check_script(const script_code& code, bool sandbox) {
  std::atomic<int64_t> gauge{0};
  lua::state st(sandbox, std::size_t{256} << 20, &gauge);
  if (st.L() == nullptr)
    return error{errc::invalid_argument, "cannot create a Lua state"};
  routing_policy none;
  script_detail::install_api(st.L(), none);
  std::string err;
  if (!st.load(code.name, code.text, err))
    return error{errc::invalid_argument, err};
  if (!st.has_function("on_request"))
    return error{errc::invalid_argument,
                 code.name + ": the script defines no on_request(req) function"};
  return {};
}

} // namespace centralita::actors
