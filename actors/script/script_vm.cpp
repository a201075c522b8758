#include "actors/script/script_vm.hpp"

#include "actors/events/event_bus.hpp"
#include "actors/registrar/location_messages.hpp"
#include "actors/script/kv_table.hpp"
#include "actors/script/lua_state.hpp"
#include "drivers/http/http_client.hpp"
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

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

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

/// The HTTP client's thread → a VM: the answer for wait `token`.
struct http_done {
  uint64_t token;
  std::shared_ptr<drivers::http_response> response;
};

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::http_done)

namespace centralita::actors {

namespace {

namespace proxy = sip::proxy;

constexpr const char* request_meta = "centralita.request";
constexpr const char* reply_meta = "centralita.reply";

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
  /// The INVITE server transaction was asked to hibernate (txn_hibernate)
  /// while the run waits: `server` may be stale until it is revived.
  bool hibernated = false;
  bool reviving = false;
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
  std::string route_class;  ///< req.routing
  bool initial_invite = false;  ///< an INVITE outside a dialog: a call (CALL_* events)
  bool invite = false;
  int req_ref = LUA_NOREF;
  bool answered = false;    ///< a final response went (or will go) upstream
  bool relayed = false;
  bool saved = false;       ///< handed to the registrar
  bool cancelled = false;
  bool final_seen = false;  ///< the proxy context sent its final response (or ended)
  caf::actor context;
  lua_State* failure_co = nullptr;  ///< on_failure() running
  bool failure_answered = false;
  bool failure_relayed = false;
  // Flat vectors, not node containers: a run has one coroutine and one wait
  // most of the time, and 100,000 suspended runs feel every byte.
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
  std::map<subscription_id, handler_refs> handlers;
  subscription_id call_end_sub = 0;  ///< CALL_END of this call: ends its call-scope handlers
};

struct vm_state;
vm_state& vm_of(lua_State* L);

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
    self->request(deps.shard_of(r.cid), caf::infinite, revive_txn{r.txn_token})
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

vm_state& vm_of(lua_State* L) {
  auto* vm = static_cast<vm_state*>(lua::state::of(L).owner);
  if (vm == nullptr)
    luaL_error(L, "not available while the script is only being checked");
  return *vm;
}

// -- helpers for the API -----------------------------------------------------

run_state& current_run(lua_State* L) {
  auto& vm = vm_of(L);
  if (vm.current == nullptr)
    luaL_error(L, "this function works only while routing a request (in on_request, "
                  "on_failure, on_reply or an event handler)");
  return *vm.current;
}

void require_yieldable(lua_State* L, const char* what) {
  if (!lua_isyieldable(L))
    luaL_error(L, "%s cannot wait here (inside a metamethod, an iterator or a C callback "
                  "such as string.gsub's)", what);
}

sip::message& request_of(lua_State* L, run_state& r) {
  if (vm_state::request(r) == nullptr)
    luaL_error(L, "the request went to the registrar (location.save); read it before");
  return *r.request;
}

uint64_t request_arg(lua_State* L, int idx) {
  return *static_cast<uint64_t*>(luaL_checkudata(L, idx, request_meta));
}

run_state& run_of_request(lua_State* L, int idx) {
  auto id = request_arg(L, idx);
  auto* r = vm_of(L).find_run(id);
  if (r == nullptr)
    luaL_error(L, "this request's routing has finished");
  return *r;
}

std::chrono::milliseconds seconds_arg(lua_State* L, int idx, std::chrono::seconds fallback,
                                      std::chrono::seconds max, const char* what) {
  if (lua_isnoneornil(L, idx))
    return fallback;
  double s = luaL_checknumber(L, idx);
  if (!(s >= 0) || !std::isfinite(s))
    luaL_error(L, "%s must be a number of seconds >= 0", what);
  auto ms = std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
  return std::min<std::chrono::milliseconds>(ms, max);
}

std::vector<std::pair<std::string, std::string>> header_table(lua_State* L, int idx,
                                                              const char* what) {
  std::vector<std::pair<std::string, std::string>> out;
  if (lua_isnoneornil(L, idx))
    return out;
  idx = lua_absindex(L, idx);
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "%s: header names must be strings", what);
    std::string name = lua_tostring(L, -2);
    std::size_t len = 0;
    const char* v = luaL_tolstring(L, -1, &len);
    out.emplace_back(std::move(name), std::string(v, len));
    lua_pop(L, 2);
  }
  return out;
}

void set_string(lua_State* L, const char* key, std::string_view v) {
  lua_pushlstring(L, v.data(), v.size());
  lua_setfield(L, -2, key);
}

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

int req_set_header(lua_State* L) {
  auto& r = run_of_request(L, 1);
  refuse_after_relay(L, r, "req:set_header");
  auto& m = request_of(L, r);
  std::string name = luaL_checkstring(L, 2);
  std::size_t len = 0;
  const char* v = luaL_checklstring(L, 3, &len);
  m.remove_header(name);
  if (!m.add_header(name, std::string_view(v, len)))
    luaL_error(L, "req:set_header: '%s' is not a valid header name or the value holds CR, LF "
                  "or NUL", name.c_str());
  return 0;
}

int req_add_header(lua_State* L) {
  auto& r = run_of_request(L, 1);
  refuse_after_relay(L, r, "req:add_header");
  auto& m = request_of(L, r);
  std::string name = luaL_checkstring(L, 2);
  std::size_t len = 0;
  const char* v = luaL_checklstring(L, 3, &len);
  if (!m.add_header(name, std::string_view(v, len)))
    luaL_error(L, "req:add_header: '%s' is not a valid header name or the value holds CR, LF "
                  "or NUL", name.c_str());
  return 0;
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

struct reply_ud {
  std::shared_ptr<sip::message> msg;
};

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

// -- sip ---------------------------------------------------------------------

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

int location_lookup_fn(lua_State* L) {
  auto& vm = vm_of(L);
  auto& r = current_run(L);
  auto aor = aor_arg(L, 1);
  require_yieldable(L, "location.lookup");
  auto token = vm.add_wait(r, L, wait_kind::lookup);
  vm.waits[token].timer = vm.svc().timers->arm(vm.self, std::chrono::seconds{5}, token);
  auto* self = vm.self;
  self->request(vm.routing().registrar_of(aor), caf::infinite, location_lookup{aor})
    .then(
      [&vm, token](location_result& res) {
        auto w = vm.take_wait(token);
        if (!w)
          return;
        auto [r, co] = *w;
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
  return lua_yield(L, 0);
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

// -- events ------------------------------------------------------------------------

events::filter filter_arg(lua_State* L, const char* event_name, int idx, const char* what) {
  std::vector<std::pair<std::string, std::string>> conds;
  if (lua_type(L, idx) == LUA_TSTRING) {
    auto f = events::filter::parse(std::string(event_name) + " " + lua_tostring(L, idx));
    if (!f)
      luaL_error(L, "%s: %s", what, f.err().reason.c_str());
    return std::move(f.value());
  }
  if (!lua_isnoneornil(L, idx)) {
    luaL_checktype(L, idx, LUA_TTABLE);
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "%s: filter keys are attribute names", what);
      std::string k = lua_tostring(L, -2);
      std::size_t len = 0;
      const char* v = luaL_tolstring(L, -1, &len);
      conds.emplace_back(std::move(k), std::string(v, len));
      lua_pop(L, 2);
    }
  }
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
  return lua_yield(L, 0);
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
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "events.publish: attribute names must be strings");
      std::string k = lua_tostring(L, -2);
      std::size_t len = 0;
      const char* v = luaL_tolstring(L, -1, &len);
      ev.set(k, std::string(v, len));
      lua_pop(L, 2);
    }
  }
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
  return lua_yield(L, 0);
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
  return lua_yield(L, 0);
}

void register_lib(lua_State* L, const char* name, const luaL_Reg* fns) {
  lua_newtable(L);
  luaL_setfuncs(L, fns, 0);
  lua_setglobal(L, name);
}

} // namespace

// -- vm_state ------------------------------------------------------------------------

namespace {

void install_api(lua_State* L, const routing_policy& routing) {
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
    {"save", location_save},
    {nullptr, nullptr},
  };
  static const luaL_Reg auth_fns[] = {
    {"check", auth_check},
    {"required", auth_required},
    {nullptr, nullptr},
  };
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
  register_lib(L, "sip", sip_fns);
  register_lib(L, "location", location_fns);
  register_lib(L, "auth", auth_fns);
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
  lua_setglobal(L, "config");
}

} // namespace

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
      unsubscribe_all(*r);  // the call is over: so are its handlers
      maybe_finish(*r);
    }
    return;
  }
  if (waits.count(d.id)) {
    auto w = take_wait(d.id);
    if (!w)
      return;
    auto [r, co] = *w;
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
    [&st, self](const txn_revived& t) {
      st.on_revived(t, caf::actor_cast<caf::actor>(self->current_sender()));
    },
  };
}

} // namespace

caf::actor spawn_script_vm(caf::actor_system& sys, script_vm_deps deps) {
  return sys.spawn(script_vm, std::move(deps));
}

result<void> check_script(const script_code& code, bool sandbox) {
  std::atomic<int64_t> gauge{0};
  lua::state st(sandbox, std::size_t{256} << 20, &gauge);
  if (st.L() == nullptr)
    return error{errc::invalid_argument, "cannot create a Lua state"};
  routing_policy none;
  install_api(st.L(), none);
  std::string err;
  if (!st.load(code.name, code.text, err))
    return error{errc::invalid_argument, err};
  if (!st.has_function("on_request"))
    return error{errc::invalid_argument,
                 code.name + ": the script defines no on_request(req) function"};
  return {};
}

} // namespace centralita::actors
