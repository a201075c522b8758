#pragma once

// Internals of the script VM (actors/script/script_vm.cpp) shared with the Lua
// API it offers scripts (lua_api_sip.cpp: req, sip, location, auth;
// lua_api_services.cpp: events, timer, log, kv, http). Not for other code.

#include "actors/script/script_vm.hpp"

#include "actors/events/event_bus.hpp"
#include "actors/registrar/location_messages.hpp"
#include "actors/script/kv_table.hpp"
#include "actors/script/lua_state.hpp"
#include "actors/script/script_messages.hpp"
#include "actors/sip/messages.hpp"
#include "actors/sip/stateless_core.hpp"
#include "actors/system/actor_timers.hpp"
#include "protocols/events/catalogue.hpp"
#include "protocols/events/filter.hpp"
#include "protocols/sip/id_generator.hpp"
#include "protocols/sip/proxy/request_rules.hpp"
#include "protocols/sip/proxy/sip_uri.hpp"
#include "protocols/sip/registrar/binding.hpp"
#include "drivers/http/http_client.hpp"

#include <chrono>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

namespace centralita::actors {

/// The HTTP client's thread → a VM: the answer for wait `token`.
struct http_done {
  uint64_t token;
  std::shared_ptr<drivers::http_response> response;
};

/// A VM to itself: the call of run `run` ended; end its call-scope handlers
/// (after the handlers' own deliveries of that CALL_END, already queued).
struct end_call_scope {
  uint64_t run;
};

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::http_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::end_call_scope)

namespace centralita::actors::script_detail {

namespace proxy = sip::proxy;

inline constexpr const char* request_meta = "centralita.request";
inline constexpr const char* reply_meta = "centralita.reply";

/// One loaded version of the script and the runs that started on it.
struct script_env {
  std::unique_ptr<lua::state> st;
  std::shared_ptr<const script_code> code;
  bool has_on_reply = false;
  bool has_on_failure = false;
};

enum class wait_kind : uint8_t { event, sleep, lookup, http };

struct pending_wait {
  uint64_t run = 0;
  lua_State* co = nullptr;
  wait_kind kind = wait_kind::event;
  timer_handle timer;
};

struct handler_refs {
  int fn = LUA_NOREF;
  int on_timeout = LUA_NOREF;
  bool transaction_scope = false;  ///< ends when the request is answered
};

/// A run's persistent subscriptions: a flat list (a run has a handful at
/// most; a std::map costs 48 bytes even when empty, in every suspended run).
struct handler_list {
  using item = std::pair<subscription_id, handler_refs>;
  std::vector<item> items;
  using iterator = std::vector<item>::iterator;
  iterator begin() { return items.begin(); }
  iterator end() { return items.end(); }
  bool empty() const { return items.empty(); }
  iterator find(subscription_id id) {
    return std::find_if(items.begin(), items.end(), [id](const item& i) { return i.first == id; });
  }
  void emplace(subscription_id id, const handler_refs& h) { items.emplace_back(id, h); }
  iterator erase(iterator it) { return items.erase(it); }
};

/// One request's routing: the coroutines running for it (on_request, event
/// handlers, on_failure, on_reply), what it waits for, what it decided.
struct run_state {
  uint64_t id = 0;
  std::shared_ptr<script_env> env;
  caf::actor server;
  message_ptr request;  ///< null once handed to the registrar, or while parked
  /// While the run waits long (an event, a sleep, HTTP), its request is kept
  /// as bytes (~400) instead of sofia's parsed form (~3.5 KB): parsed again
  /// when the script or an answer needs it.
  std::string parked;
  uint64_t txn_token = 0;
  /// The id of the transaction asked to hibernate. Not a handle: a strong one
  /// keeps the actor, a weak one (actor_addr) its memory block.
  caf::actor_id asleep = 0;
  /// Resumptions held until the transaction is an actor again: a coroutine
  /// with its arguments pushed (nullptr: run maybe_finish).
  std::vector<std::pair<lua_State*, int>> on_awake;
  peer_info peer;
  std::string cid;
  std::string to_tag;
  std::string_view route_class;  ///< req.routing (a literal)
  caf::actor context;
  lua_State* failure_co = nullptr;  ///< on_failure() running
  int req_ref = LUA_NOREF;
  // The flags together: 100,000 suspended runs feel every byte of padding.
  /// The INVITE server transaction was asked to hibernate (txn_hibernate)
  /// while the run waits: `server` may be stale until it is revived.
  bool hibernated = false;
  bool reviving = false;
  bool initial_invite = false;  ///< an INVITE outside a dialog: a call (CALL_* events)
  bool invite = false;
  bool answered = false;    ///< a final response went (or will go) upstream
  bool relayed = false;
  bool saved = false;       ///< handed to the registrar
  bool cancelled = false;
  bool final_seen = false;  ///< the proxy context sent its final response (or ended)
  bool failure_answered = false;
  bool failure_relayed = false;
  bool decided = false;     ///< answered, relayed or saved: routing latency recorded
  std::chrono::steady_clock::time_point started;  ///< the request reached the VM
  // Flat vectors, not node containers: a run has one coroutine and one wait
  // most of the time.
  std::vector<std::pair<lua_State*, int>> coros;  ///< live coroutines, registry reference
  std::vector<uint64_t> waits;

  bool has_coroutine(lua_State* co) const {
    for (auto& c : coros)
      if (c.first == co)
        return true;
    return false;
  }
  void forget_wait(uint64_t token) {
    for (auto& w : waits)
      if (w == token) {
        w = waits.back();
        waits.pop_back();
        return;
      }
  }
  handler_list handlers;
  subscription_id call_end_sub = 0;  ///< CALL_END of this call: ends its call-scope handlers
};

struct vm_state;
vm_state& vm_of(lua_State* L);

/// Suspends the running coroutine until the answer to its wait resumes it.
/// The C function's arguments go first: garbage once the wait is filed, they
/// would otherwise live as long as the wait (a filter table is ~100 bytes).
inline int suspend(lua_State* L) {
  lua_settop(L, 0);
  return lua_yield(L, 0);
}

struct vm_state {
  static constexpr const char* name = "script_vm";

  script_vm_deps deps;
  caf::event_based_actor* self = nullptr;
  std::shared_ptr<script_env> env;
  std::unordered_map<uint64_t, run_state> runs;
  // By actor id, not actor_addr: a weak reference keeps a dead actor's
  // memory block (CAF frees it with the last weak reference).
  std::unordered_map<caf::actor_id, uint64_t> by_server;
  std::unordered_map<caf::actor_id, uint64_t> by_context;
  std::unordered_map<uint64_t, pending_wait> waits;     ///< token → suspended coroutine
  std::unordered_map<subscription_id, uint64_t> handler_runs;
  std::unordered_map<subscription_id, uint64_t> call_end_runs;
  std::unordered_map<uint64_t, uint64_t> hibernated_runs;  ///< txn token → run
  run_state* current = nullptr;  ///< the run whose coroutine is running
  uint64_t next_run = 0;
  std::optional<sip::id_generator> ids;
  /// push.send: what went out per (Call-ID, pn-prid, kind), so a call pushes
  /// each device once however often its routing runs (a new INVITE transaction
  /// after a 407, a retry): key "<call-id>\n<prid>\n<kind>" (plus the CSeq for a
  /// mid-dialog request) → push id, kept 10 minutes.
  /// All the runs of a Call-ID are in one VM, so this map sees them all.
  std::unordered_map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> pushed;

  const sip_services& svc() const { return *deps.services; }
  const routing_policy& routing() const { return *deps.routing; }
  spdlog::logger& log() const { return *deps.log; }

  // -- loading -----------------------------------------------------------------

  std::shared_ptr<script_env> load(std::shared_ptr<const script_code> code, std::string& err);

  void reload(const script_reload& r) {
    std::string err;
    auto fresh = load(r.code, err);
    if (!fresh) {
      log().error("script reload failed, keeping generation {}: {}", env->code->generation, err);
      return;
    }
    env = std::move(fresh);
    deps.counters->reloads.fetch_add(1, std::memory_order_relaxed);
  }

  // -- runs ----------------------------------------------------------------------

  run_state* find_run(uint64_t id) {
    auto it = runs.find(id);
    return it == runs.end() ? nullptr : &it->second;
  }

  void start_run(txn_request& tr);
  void resume(run_state& r, lua_State* co, int nargs);
  lua_State* new_coroutine(run_state& r);
  void end_coroutine(run_state& r, lua_State* co);
  void maybe_finish(run_state& r);
  void finish(run_state& r);

  /// Runs registry function `fn_ref` of `r`'s env in a new coroutine of the run
  /// with the value pushed by `push_arg` (on the coroutine).
  template <class PushArg>
  void call_in_run(run_state& r, int fn_ref, PushArg&& push_arg) {
    auto* co = new_coroutine(r);
    lua_rawgeti(co, LUA_REGISTRYINDEX, fn_ref);
    push_arg(co);
    resume(r, co, 1);
    maybe_finish(r);
  }

  template <class PushArg>
  lua_State* call_global(run_state& r, const char* fn, PushArg&& push_arg, int nargs = 1) {
    auto* co = new_coroutine(r);
    lua_getglobal(co, fn);
    push_arg(co);
    resume(r, co, nargs);
    return co;
  }

  // -- answering -------------------------------------------------------------------

  /// The run's request, parsed again if it was parked; null once handed on.
  static sip::message* request(run_state& r) {
    if (!r.request && !r.parked.empty()) {
      auto m = sip::message::parse(r.parked);
      r.parked.clear();
      r.parked.shrink_to_fit();
      if (m)
        r.request = std::make_shared<sip::message>(std::move(m.value()));
    }
    return r.request.get();
  }

  void park(run_state& r) {
    if (r.request && r.parked.empty()) {
      r.parked = r.request->serialize();
      r.request.reset();
    }
    // An INVITE nobody answers yet: its transaction sleeps in the shard too.
    if (!r.hibernated && r.server && r.invite && !r.relayed && !r.saved && !r.answered) {
      r.hibernated = true;
      r.txn_token = next_subscription_id();
      hibernated_runs.emplace(r.txn_token, r.id);
      self->send(r.server, txn_hibernate{r.txn_token});
      r.asleep = r.server.id();
      r.server = nullptr;
    }
  }

  /// Holds a resumption until the transaction is an actor again.
  void defer_until_awake(run_state& r, lua_State* co, int nargs) {
    r.on_awake.emplace_back(co, nargs);
    if (r.reviving)
      return;
    r.reviving = true;
    auto id = r.id;
    self->request(deps.shard_of(r.cid), caf::infinite, revive_txn{r.txn_token, r.cid})
      .then(
        [this, id](revive_result& res) {
          auto* run = find_run(id);
          if (run == nullptr || !run->hibernated)
            return;
          if (res.txn)
            awake(*run, res.txn);
          // Otherwise a txn_revived is on its way: from the transaction a CANCEL
          // revived, or from one that did not hibernate (not in Proceeding).
          // pending: a CANCEL revived it; its txn_revived is on the way
        },
        [this, id](caf::error& err) {
          if (auto* run = find_run(id); run != nullptr && run->hibernated)
            log().error("[cid={}] cannot revive the INVITE transaction: {}", run->cid,
                        caf::to_string(err));
        });
  }

  void on_revived(const txn_revived& t, caf::actor txn) {
    auto it = hibernated_runs.find(t.token);
    if (it == hibernated_runs.end())
      return;
    if (auto* r = find_run(it->second); r != nullptr && r->hibernated)
      awake(*r, std::move(txn));
  }

  void awake(run_state& r, caf::actor txn) {
    if (r.asleep != 0)
      by_server.erase(r.asleep);
    r.asleep = 0;
    r.server = std::move(txn);
    if (r.server)
      by_server.insert_or_assign(r.server.id(), r.id);
    hibernated_runs.erase(r.txn_token);
    r.hibernated = false;
    r.reviving = false;
    auto held = std::move(r.on_awake);
    r.on_awake.clear();
    auto id = r.id;
    for (auto& [co, nargs] : held) {
      auto* run = find_run(id);
      if (run == nullptr)
        return;
      if (co == nullptr)
        continue;
      if (run->has_coroutine(co))
        resume(*run, co, nargs);
    }
    if (auto* run = find_run(id))
      maybe_finish(*run);
  }

  bool reply(run_state& r, int status, std::string_view reason,
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    if (r.answered || !r.server || request(r) == nullptr)
      return false;
    auto resp = sip::make_response(*r.request, status, reason, status > 100 ? r.to_tag : "");
    if (!resp)
      return false;
    for (auto& [n, v] : headers)
      resp->add_header(n, v);
    send_response(r, status, resp->serialize());
    return true;
  }

  void send_response(run_state& r, int status, std::string bytes) {
    if (status >= 200) {
      r.answered = true;
      if (r.failure_co != nullptr)
        r.failure_answered = true;
      unsubscribe_all(r, true);
    }
    svc().counters->count_response_sent(status);
    self->send(r.server, txn_respond{status, std::move(bytes)});
    if (status >= 200 && r.initial_invite)
      self->send(deps.shard_of(r.cid), call_outcome{r.cid, status, {}, {}, {}, {}, {}, {}, {}});
  }

  // -- waits -------------------------------------------------------------------------

  uint64_t add_wait(run_state& r, lua_State* co, wait_kind kind) {
    auto token = next_subscription_id();
    waits.emplace(token, pending_wait{r.id, co, kind, {}});
    r.waits.push_back(token);
    deps.counters->suspended.fetch_add(1, std::memory_order_relaxed);
    return token;
  }

  /// Takes the wait `token` out; the run and coroutine to resume, if both live.
  std::optional<std::pair<run_state*, lua_State*>> take_wait(uint64_t token) {
    auto it = waits.find(token);
    if (it == waits.end())
      return std::nullopt;
    auto w = it->second;
    waits.erase(it);
    deps.counters->suspended.fetch_sub(1, std::memory_order_relaxed);
    svc().timers->cancel(w.timer);
    auto* r = find_run(w.run);
    if (r == nullptr)
      return std::nullopt;
    r->forget_wait(token);
    if (!r->has_coroutine(w.co))
      return std::nullopt;
    return std::make_pair(r, w.co);
  }

  void on_http(const http_done& h) {
    auto w = take_wait(h.token);
    if (!w)
      return;
    auto [r, co] = *w;
    auto& resp = *h.response;
    if (!resp.error.empty()) {
      lua_pushnil(co);
      lua_pushlstring(co, resp.error.data(), resp.error.size());
      resume(*r, co, 2);
    } else {
      lua_pushinteger(co, resp.status);
      lua_createtable(co, 0, static_cast<int>(resp.headers.size()));
      for (auto& [n, v] : resp.headers) {
        auto key = events::lower(n);  // names are case-insensitive: one spelling
        lua_getfield(co, -1, key.c_str());
        if (lua_isstring(co, -1)) {  // repeated header: comma-joined (RFC 9110 §5.3)
          std::string joined = lua_tostring(co, -1);
          joined += ", " + v;
          lua_pop(co, 1);
          lua_pushlstring(co, joined.data(), joined.size());
        } else {
          lua_pop(co, 1);
          lua_pushlstring(co, v.data(), v.size());
        }
        lua_setfield(co, -2, key.c_str());
      }
      lua_pushlstring(co, resp.body.data(), resp.body.size());
      resume(*r, co, 3);
    }
    maybe_finish(*r);
  }

  void on_event(const event_delivery& d);
  void on_subscription_ended(const subscription_ended& e);
  void on_timer(const timer_expired& t);
  void on_cancel(caf::actor_id server);
  void on_relay_failed(const relay_failed& f);
  void on_relay_reply(relay_reply& r);
  void on_relay_final(const relay_final& f);
  void on_context_down(const caf::down_msg& m);

  void push_event(lua_State* co, const events::event& ev) {
    lua_createtable(co, 0, static_cast<int>(ev.attrs.size()) + 3);
    for (auto& a : ev.attrs) {
      lua_pushlstring(co, a.value.data(), a.value.size());
      lua_setfield(co, -2, a.name.c_str());
    }
    lua_pushlstring(co, ev.name.data(), ev.name.size());
    lua_setfield(co, -2, "name");
    lua_pushinteger(co, static_cast<lua_Integer>(ev.seq));
    lua_setfield(co, -2, "seq");
    lua_pushinteger(co, ev.timestamp_ms);
    lua_setfield(co, -2, "timestamp_ms");
  }

  void unsubscribe_all(run_state& r, bool only_transaction_scope = false) {
    auto* L = r.env->st->L();
    for (auto it = r.handlers.begin(); it != r.handlers.end();) {
      if (only_transaction_scope && !it->second.transaction_scope) {
        ++it;
        continue;
      }
      self->send(deps.events, unsubscribe{it->first});
      handler_runs.erase(it->first);
      luaL_unref(L, LUA_REGISTRYINDEX, it->second.fn);
      luaL_unref(L, LUA_REGISTRYINDEX, it->second.on_timeout);
      it = r.handlers.erase(it);
    }
  }
};

/// A response passed to on_reply: owns its parsed message.
struct reply_ud {
  std::shared_ptr<sip::message> msg;
};

inline vm_state& vm_of(lua_State* L) {
  auto* vm = static_cast<vm_state*>(lua::state::of(L).owner);
  if (vm == nullptr)
    luaL_error(L, "not available while the script is only being checked");
  return *vm;
}

// -- helpers for the API -----------------------------------------------------

inline run_state& current_run(lua_State* L) {
  auto& vm = vm_of(L);
  if (vm.current == nullptr)
    luaL_error(L, "this function works only while routing a request (in on_request, "
                  "on_failure, on_reply or an event handler)");
  return *vm.current;
}

inline void require_yieldable(lua_State* L, const char* what) {
  if (!lua_isyieldable(L))
    luaL_error(L, "%s cannot wait here (inside a metamethod, an iterator or a C callback "
                  "such as string.gsub's)", what);
}

inline sip::message& request_of(lua_State* L, run_state& r) {
  if (vm_state::request(r) == nullptr)
    luaL_error(L, "the request went to the registrar (location.save); read it before");
  return *r.request;
}

inline uint64_t request_arg(lua_State* L, int idx) {
  return *static_cast<uint64_t*>(luaL_checkudata(L, idx, request_meta));
}

inline run_state& run_of_request(lua_State* L, int idx) {
  auto id = request_arg(L, idx);
  auto* r = vm_of(L).find_run(id);
  if (r == nullptr)
    luaL_error(L, "this request's routing has finished");
  return *r;
}

inline std::chrono::milliseconds seconds_arg(lua_State* L, int idx, std::chrono::seconds fallback,
                                      std::chrono::seconds max, const char* what) {
  if (lua_isnoneornil(L, idx))
    return fallback;
  double s = luaL_checknumber(L, idx);
  if (!(s >= 0) || !std::isfinite(s))
    luaL_error(L, "%s must be a number of seconds >= 0", what);
  auto ms = std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
  return std::min<std::chrono::milliseconds>(ms, max);
}

/// A Lua table of string keys to values (converted with tostring) at `idx`, in
/// table order; none or nil gives none. `what` and `keys` name them in errors
/// ("sip.relay opts.headers: header names must be strings").
inline std::vector<std::pair<std::string, std::string>> string_pairs(lua_State* L, int idx,
                                                                     const char* what,
                                                                     const char* keys) {
  std::vector<std::pair<std::string, std::string>> out;
  if (lua_isnoneornil(L, idx))
    return out;
  idx = lua_absindex(L, idx);
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "%s: %s must be strings", what, keys);
    std::string name = lua_tostring(L, -2);
    std::size_t len = 0;
    const char* v = luaL_tolstring(L, -1, &len);
    out.emplace_back(std::move(name), std::string(v, len));
    lua_pop(L, 2);
  }
  return out;
}

inline std::vector<std::pair<std::string, std::string>> header_table(lua_State* L, int idx,
                                                                     const char* what) {
  return string_pairs(L, idx, what, "header names");
}

inline void set_string(lua_State* L, const char* key, std::string_view v) {
  lua_pushlstring(L, v.data(), v.size());
  lua_setfield(L, -2, key);
}

inline void register_lib(lua_State* L, const char* name, const luaL_Reg* fns) {
  lua_newtable(L);
  luaL_setfuncs(L, fns, 0);
  lua_setglobal(L, name);
}

/// Every library a routing script sees (in a fresh lua_State).
void install_api(lua_State* L, const routing_policy& routing);
/// The request and reply metatables and the sip, location and auth libraries.
void install_sip_api(lua_State* L);
/// push.send (RFC 8599 wake-ups, docs/push.md).
void install_push_api(lua_State* L);
/// sip.bridge and the media library (B2BUA calls, docs/media.md); after the
/// sip library exists.
void install_bridge_api(lua_State* L);
/// One relay/bridge target from a string or a contact table (location.lookup's).
relay_target target_from(lua_State* L, int idx, const char* what);
/// A target, a contact table or a list of them.
std::vector<relay_target> targets_from(lua_State* L, int idx, const char* what);

} // namespace centralita::actors::script_detail
