#include "actors/sip/sip_shard.hpp"

#include "actors/sip/call_entry.hpp"

#include "actors/b2bua/b2b_messages.hpp"

#include "actors/system/actor_timers.hpp"
#include "actors/events/event_bus.hpp"
#include "actors/transaction/client_txn.hpp"
#include "actors/transaction/server_txn.hpp"
#include "protocols/sip/dialog/hangup.hpp"
#include "protocols/sip/dtmf_info.hpp"
#include "protocols/sip/id_generator.hpp"
#include "protocols/sip/proxy/forwarding.hpp"
#include "protocols/sip/routing_key.hpp"
#include "protocols/sip/transaction/transaction_key.hpp"

#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include <deque>
#include <unordered_map>
#include <unordered_set>

namespace centralita::actors {

namespace {

namespace txn = sip::txn;

struct sip_shard_state {
  static constexpr const char* name = "sip_shard";

  sip_shard_deps deps;
  caf::event_based_actor* self = nullptr;
  std::unordered_map<txn::server_key, caf::actor, txn::server_key::hasher> servers;
  struct client_entry {
    caf::actor txn;
    drivers::transport_kind transport;
    drivers::endpoint destination;
  };
  std::unordered_map<txn::client_key, client_entry, txn::client_key::hasher> clients;
  /// Completed non-INVITE server transactions over UDP (server_txn_parked):
  /// their last response, resent to retransmissions until Timer J; `parked_order`
  /// lists them by expiry (one Timer J for all: appends are in time order).
  struct parked_entry {
    drivers::outbound_message response;
    std::chrono::steady_clock::time_point expires;
  };
  std::unordered_map<txn::server_key, parked_entry, txn::server_key::hasher> parked;
  /// Hibernated INVITE server transactions (server_txn_hibernated): waiting
  /// for a routing script, kept here as data; revived on CANCEL or revive_txn.
  /// The key lives once, in `hibernated`; `hibernated_tokens` points at it
  /// (node keys do not move), so 100,000 sleeping INVITEs hold one copy each.
  struct hibernated_entry {
    peer_info peer;
    drivers::endpoint reply_to;
    caf::actor tu;
    std::string last_response;
    uint64_t token = 0;  ///< no Call-ID: whoever revives it (CANCEL, revive_txn) brings one
  };
  std::unordered_map<txn::server_key, hibernated_entry, txn::server_key::hasher> hibernated;
  std::unordered_map<uint64_t, const txn::server_key*> hibernated_tokens;
  std::unordered_set<uint64_t> revived_tokens;  ///< revived by a CANCEL before the TU asked
  std::deque<std::pair<std::chrono::steady_clock::time_point, txn::server_key>> parked_order;
  timer_handle parked_sweep;
  static constexpr uint64_t parked_sweep_tag = 1;
  static constexpr uint64_t call_sweep_tag = 2;

  // -- the call table ----------------------------------------------------------
  std::unordered_map<std::string, call_entry> calls;
  /// B2BUA leg dialogs of this shard's Call-IDs: "<call-id> <local tag>" → leg.
  std::unordered_map<std::string, caf::actor> legs;

  static std::string leg_key(std::string_view call_id, std::string_view tag) {
    std::string k;
    k.reserve(call_id.size() + tag.size() + 1);
    k.append(call_id).append(1, ' ').append(tag);
    return k;
  }

  caf::actor find_leg(const sip::message& m) const {
    if (legs.empty())
      return {};
    auto it = legs.find(leg_key(m.call_id(), m.to().tag));
    return it == legs.end() ? caf::actor{} : it->second;
  }
  timer_handle call_sweep;
  std::optional<sip::id_generator> ids;

  void publish(events::event ev) {
    if (deps.events)
      self->send(deps.events, publish_event{std::move(ev)});
  }

  /// Whether anybody subscribed to `name` (building an event costs a dozen strings).
  bool wanted(std::string_view name) const {
    return deps.events && (!deps.event_stats || deps.event_stats->wanted(name));
  }

  events::event call_event(std::string_view name, const std::string& cid, const call_entry& c) {
    events::event ev(name);
    ev.set("call_id", cid);
    ev.set("from", std::string(c.caller_uri()));
    ev.set("to", std::string(c.callee_uri()));
    ev.set("ruri", std::string(c.ruri()));
    // Every attribute of the kind is present (empty when it does not apply yet).
    ev.set("code", "");
    ev.set("reason", "");
    ev.set("duration_ms", "");
    // Proxied: one dialog end to end (both legs are the call's Call-ID).
    // Bridged: the B leg is a dialog of its own with its own Call-ID. At
    // CALL_START the routing has not chosen yet: mode and leg_b are empty.
    const bool start = name == "CALL_START";
    ev.set("mode", c.bridged() ? "bridge" : start ? "" : "proxy");
    ev.set("leg_a", cid);
    ev.set("leg_b", c.bridged() ? std::string(c.leg_b()) : start ? std::string{} : cid);
    return ev;
  }

  void on_call_start(const sip::message& m, const peer_info& peer) {
    std::string cid(m.call_id());
    if (calls.count(cid))
      return;  // a new INVITE transaction for a call we know (e.g. after a 401)
    call_entry c(m, peer, std::chrono::steady_clock::now());
    svc().counters->calls_started.fetch_add(1, std::memory_order_relaxed);
    svc().counters->active_calls.fetch_add(1, std::memory_order_relaxed);
    if (wanted("CALL_START"))
      publish(call_event("CALL_START", cid, c));
    calls.emplace(std::move(cid), std::move(c));
    if (!call_sweep.valid())
      call_sweep = svc().timers->arm(self, std::chrono::seconds{60}, call_sweep_tag);
  }

  void end_call(std::unordered_map<std::string, call_entry>::iterator it, int code,
                std::string_view reason) {
    auto& c = it->second;
    if (wanted("CALL_END")) {
      auto ev = call_event("CALL_END", it->first, c);
      ev.set("code", std::to_string(code));
      ev.set("reason", std::string(reason));
      int64_t ms = 0;
      if (c.answered())
        ms = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - c.answered_at())
               .count();
      ev.set("duration_ms", std::to_string(ms));
      publish(std::move(ev));
    }
    svc().counters->active_calls.fetch_sub(1, std::memory_order_relaxed);
    calls.erase(it);
  }

  void on_call_outcome(call_outcome& o) {
    auto it = calls.find(o.call_id);
    if (it == calls.end())
      return;
    auto& c = it->second;
    if (o.status >= 200 && o.status < 300) {
      if (!c.answer(o, std::chrono::steady_clock::now()))
        return;  // a second 2xx of a forked call: the first one made the call
      if (wanted("CALL_ANSWER")) {
        auto ev = call_event("CALL_ANSWER", it->first, c);
        ev.set("code", std::to_string(o.status));
        ev.set("reason", o.reason);
        publish(std::move(ev));
      }
      return;
    }
    if (o.status >= 300 && !c.answered())
      end_call(it, o.status, o.reason);
  }

  /// An in-dialog request passing through: CSeq bookkeeping, BYE, DTMF.
  void on_in_dialog(const sip::message& m) {
    auto method = m.request_method();
    if (method == sip::method::info)
      publish_dtmf(m);
    auto it = calls.find(std::string(m.call_id()));
    if (it == calls.end())
      return;
    auto& c = it->second;
    bool from_caller = m.from().tag == c.caller_tag();
    if (method != sip::method::ack && method != sip::method::cancel) {
      auto& seen = from_caller ? c.caller_cseq : c.callee_cseq;
      seen = std::max(seen, m.cseq());
    }
    if (method == sip::method::bye)
      end_call(it, 200, from_caller ? "caller hung up" : "callee hung up");
  }

  void publish_dtmf(const sip::message& m) {
    if (!wanted("DTMF"))
      return;
    auto type = m.header("Content-Type");
    if (!type)
      return;
    auto d = sip::parse_dtmf_info(*type, m.body());
    if (!d) {
      if (d.err().code != errc::unsupported)
        svc().sip_log->debug("[cid={}] INFO with a bad DTMF body: {}", m.call_id(), d.err().reason);
      return;
    }
    events::event ev("DTMF");
    ev.set("call_id", std::string(m.call_id()));
    ev.set("digit", std::string(1, d->digit));
    ev.set("duration_ms", std::to_string(d->duration_ms));
    ev.set("source", "info");
    ev.set("leg", "");  // proxied: one dialog end to end, no legs
    publish(std::move(ev));
  }

  void on_call_bridged(call_bridged& b) {
    auto it = calls.find(b.call_id);
    if (it == calls.end())
      return;
    it->second.set_bridge(std::move(b.call), std::move(b.leg_b));
  }

  void on_call_finished(const call_finished& f) {
    auto it = calls.find(f.call_id);
    if (it != calls.end())
      end_call(it, f.code, f.reason);
  }

  void on_hangup(const hangup_call& h) {
    auto it = calls.find(h.call_id);
    if (it == calls.end()) {
      svc().sip_log->info("[cid={}] hangup: no such call", h.call_id);
      return;
    }
    auto& c = it->second;
    if (c.bridged()) {
      // The call actor owns both dialogs: it BYEs (or CANCELs) each leg and
      // reports call_finished.
      self->send(c.bridge_actor(), h);
      return;
    }
    if (!c.answered()) {
      svc().sip_log->info("[cid={}] hangup: the call is not answered yet (nothing to BYE)",
                          h.call_id);
      return;
    }
    std::string reason_header = "SIP;cause=200;text=\"" + sanitize(h.reason) + "\"";
    // To the callee, as if the caller hung up; to the caller, as if the callee did.
    auto caller = c.caller();
    auto callee = c.callee();
    send_bye(h.call_id, caller, callee, c.caller_cseq + 1, c.callee_transport(),
             c.callee_flow(), c.callee_conn(), reason_header);
    send_bye(h.call_id, callee, caller, c.callee_cseq + 1, c.caller_peer.transport,
             c.caller_peer.source, c.caller_peer.conn, reason_header);
    svc().sip_log->info("[cid={}] hung up ({}): BYE to both parties", h.call_id, h.reason);
    end_call(it, 200, h.reason.empty() ? "hangup" : h.reason);
  }

  static std::string sanitize(std::string_view s) {
    std::string out;
    for (char ch : s)
      if (ch != '"' && ch != '\\' && static_cast<unsigned char>(ch) >= 0x20)
        out += ch;
    return out;
  }

  void send_bye(const std::string& cid, const sip::dialog::party& from,
                const sip::dialog::party& to, uint32_t cseq, drivers::transport_kind transport,
                std::optional<drivers::endpoint> flow, drivers::connection_id conn,
                const std::string& reason) {
    if (!deps.identity)
      return;
    auto branch = ids->branch();
    auto tname = transport == drivers::transport_kind::tcp ? "TCP" : "UDP";
    auto bye = sip::dialog::make_bye(from, to, cid, cseq, tname, branch, *deps.identity, reason);
    if (!bye) {
      svc().sip_log->warn("[cid={}] hangup: cannot build the BYE to {}: {}", cid, to.uri,
                          bye.err().reason);
      return;
    }
    std::optional<drivers::endpoint> dest = flow;
    if (!to.route.empty() || !dest) {
      auto hop = sip::proxy::next_hop_of(*bye);
      if (!hop) {
        svc().sip_log->warn("[cid={}] hangup: no next hop for the BYE to {}", cid, to.uri);
        return;
      }
      std::string host = hop->host;
      if (host.size() >= 2 && host.front() == '[')
        host = host.substr(1, host.size() - 2);
      dest = drivers::endpoint::from(host, hop->port);
      conn = {};
      if (!dest) {
        svc().sip_log->warn("[cid={}] hangup: {} is not an address literal", cid, hop->host);
        return;
      }
    }
    client_txn_init ci;
    ci.services = deps.services;
    ci.request_bytes = bye->serialize();
    ci.request = std::make_shared<sip::message>(std::move(*bye));
    ci.transport = transport;
    ci.destination = *dest;
    ci.conn = conn;
    ci.branch = branch;
    ci.tu = caf::actor_cast<caf::actor>(self);
    ci.shard = caf::actor_cast<caf::actor>(self);
    spawn_client_txn(self->home_system(), std::move(ci));
  }

  /// Calls whose end never passed through us: a lost BYE, or UAs that talk
  /// directly once the dialog is set up. Bounded by max_call_duration.
  calls_listed on_list_calls() const {
    using namespace std::chrono;
    calls_listed out;
    out.calls.reserve(calls.size());
    auto steady_now = call_entry::clock::now();
    auto wall_now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    auto to_wall = [&](call_entry::clock::time_point t) {
      return wall_now - duration_cast<milliseconds>(steady_now - t).count();
    };
    for (auto& [cid, c] : calls) {
      call_summary s;
      s.call_id = cid;
      s.from = c.caller_uri();
      s.to = c.callee_uri();
      s.ruri = c.ruri();
      s.answered = c.answered();
      s.started_ms = to_wall(c.started);
      if (c.answered())
        s.answered_ms = to_wall(c.answered_at());
      out.calls.push_back(std::move(s));
    }
    return out;
  }

  void sweep_calls() {
    call_sweep = {};
    auto now = std::chrono::steady_clock::now();
    for (auto it = calls.begin(); it != calls.end();) {
      auto next = std::next(it);
      auto& c = it->second;
      if (c.answered() && now - c.answered_at() > deps.max_call_duration)
        end_call(it, 200, "expired");
      else if (!c.answered() && now - c.started > std::chrono::hours{1})
        end_call(it, 408, "no final response");
      it = next;
    }
    if (!calls.empty())
      call_sweep = svc().timers->arm(self, std::chrono::seconds{60}, call_sweep_tag);
  }

  const sip_services& svc() const { return *deps.services; }

  void on_sip_received(sip_received& in) {
    peer_info peer{in.transport, in.source, in.local, in.conn};
    auto parsed = sip::message::parse(in.bytes);
    if (!parsed) {
      // Not a message we can hold a transaction for: the stateless core
      // answers 400 with the reason, or drops and counts (RFC 3261 §21.4.1).
      if (auto reply = deps.core->handle(in.bytes, in.source, in.transport, *svc().counters))
        svc().hub->send(peer.answer(reply->destination, std::move(reply->bytes)));
      return;
    }
    auto msg = std::make_shared<sip::message>(std::move(parsed.value()));
    if (msg->is_response())
      on_response(std::move(msg), peer);
    else
      on_request(std::move(msg), peer);
  }

  void on_response(message_ptr msg, const peer_info& peer) {
    svc().counters->count_response_received(msg->status());
    auto key = txn::client_key::of(*msg);
    if (key) {
      if (auto it = clients.find(*key); it != clients.end()) {
        self->send(it->second.txn, txn_response_in{std::move(msg)});
        return;
      }
    }
    // §16.7: no client transaction: forward statelessly (a 2xx retransmitted
    // after the INVITE transaction ended, RFC 6026) — to the next Via.
    svc().counters->stray_responses.fetch_add(1, std::memory_order_relaxed);
    forward_response_statelessly(std::move(msg), peer);
  }

  void forward_response_statelessly(message_ptr msg, const peer_info& peer) {
    if (msg->via_count() < 2)
      return;  // it was for us, and nobody waits for it
    auto top = msg->top_via();
    if (!deps.core->is_local(top.host, top.port.empty() ? 0 : static_cast<uint16_t>(
                                                           std::atoi(top.port.c_str()))))
      return;  // §16.7 step 3: the top Via must be ours
    if (!sip::proxy::prepare_response(*msg))
      return;
    auto next = msg->top_via();
    auto to = via_destination(next);
    if (!to)
      return;
    drivers::outbound_message out;
    out.transport = iequals_tcp(next.transport) ? drivers::transport_kind::tcp
                                                : drivers::transport_kind::udp;
    out.destination = *to;
    out.bytes = msg->serialize();
    (void)peer;
    svc().hub->send(std::move(out));
  }

  static bool iequals_tcp(std::string_view t) {
    return t.size() == 3 && (t[0] == 'T' || t[0] == 't') && (t[1] == 'C' || t[1] == 'c')
           && (t[2] == 'P' || t[2] == 'p');
  }

  /// §18.2.2: a response goes to received (or sent-by) and rport (or the
  /// sent-by port, default 5060).
  static std::optional<drivers::endpoint> via_destination(const sip::via& v) {
    std::string host = !v.received.empty() ? v.received : v.host;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    uint16_t port = 5060;
    if (v.rport && !v.rport->empty())
      port = static_cast<uint16_t>(std::atoi(v.rport->c_str()));
    else if (!v.port.empty())
      port = static_cast<uint16_t>(std::atoi(v.port.c_str()));
    return drivers::endpoint::from(host, port);
  }

  void on_request(message_ptr msg, const peer_info& peer) {
    auto m = msg->request_method();
    if (m == sip::method::options) {
      if (auto reply = deps.core->ping(*msg, peer.source, peer.transport, *svc().counters)) {
        svc().hub->send(peer.answer(reply->destination, std::move(reply->bytes)));
        return;
      }
    }
    svc().counters->count_request(m);
    // RFC 3261 §18.2.1 / RFC 3581 §4: note where the request came from in its
    // top Via (answers copy it; the transaction keys ignore it).
    {
      auto top = msg->top_via();
      std::optional<uint16_t> rport;
      if (top.rport.has_value())
        rport = peer.source.port();
      msg->set_top_via_received(peer.source.address(), rport);
    }
    auto key = txn::server_key::of(*msg);
    if (!key) {
      reject_statelessly(*msg, peer, 400, key.err().reason);
      return;
    }
    // §17.2.3: a retransmission, or the ACK of a non-2xx final (it matches the
    // INVITE's key).
    if (auto it = servers.find(*key); it != servers.end()) {
      self->send(it->second, txn_request_again{std::move(msg)});
      return;
    }
    if (auto it = parked.find(*key); it != parked.end()) {
      svc().hub->send(it->second.response);  // Completed: the retransmission gets the final again
      return;
    }
    if (auto it = hibernated.find(*key); it != hibernated.end()) {
      // Proceeding: a retransmitted INVITE gets the last provisional again;
      // an ACK here matches nothing the transaction sent (absorbed).
      if (m != sip::method::ack) {
        auto& h = it->second;
        if (!h.last_response.empty()) {
          svc().hub->send(h.peer.answer(h.reply_to, h.last_response));
        } else if (auto trying = sip::make_response(*msg, 100)) {
          svc().counters->count_response_sent(100);
          svc().hub->send(h.peer.answer(h.reply_to, trying->serialize()));
        }
      }
      return;
    }
    if (!msg->to().tag.empty() && m != sip::method::cancel) {
      if (auto leg = find_leg(*msg)) {
        // Inside a B2BUA leg's dialog: the leg is the TU. The ACK of its 2xx
        // has no transaction of its own (§17.1.1.3).
        if (m == sip::method::ack)
          self->send(leg, txn_request{nullptr, std::move(msg), peer});
        else
          spawn_server(std::move(key.value()), std::move(msg), peer, leg);
        return;
      }
      on_in_dialog(*msg);
    } else if (m == sip::method::invite)
      on_call_start(*msg, peer);
    if (m == sip::method::ack) {
      // The ACK of a 2xx is a transaction of its own, end to end (§17.1.1.3):
      // the TU forwards it statelessly.
      hand_to_tu(nullptr, std::move(msg), peer);
      return;
    }
    if (m == sip::method::cancel) {
      on_cancel(std::move(msg), peer, std::move(key.value()));
      return;
    }
    auto tu = deps.choose_tu(self, *msg);
    spawn_server(std::move(key.value()), std::move(msg), peer, tu);
  }

  caf::actor spawn_server(txn::server_key key, message_ptr msg, const peer_info& peer,
                          caf::actor tu) {
    server_txn_init init{deps.services, key, msg, peer,
                         response_destination(msg->top_via(), peer.source, peer.transport), tu,
                         self, {}};
    auto st = spawn_server_txn(self->home_system(), std::move(init));
    servers.emplace(std::move(key), st);
    svc().counters->server_transactions.fetch_add(1, std::memory_order_relaxed);
    return st;
  }

  void on_parked(server_txn_parked& p) {
    if (servers.erase(p.key) > 0)
      svc().counters->server_transactions.fetch_sub(1, std::memory_order_relaxed);
    auto expires = std::chrono::steady_clock::now() + p.linger;
    parked_order.emplace_back(expires, p.key);
    parked.insert_or_assign(std::move(p.key), parked_entry{std::move(p.response), expires});
    if (!parked_sweep.valid())
      parked_sweep = svc().timers->arm(self, std::chrono::seconds{1}, parked_sweep_tag);
  }

  /// Timer J of the parked transactions that reached it: they terminate.
  void sweep_parked() {
    parked_sweep = {};
    auto now = std::chrono::steady_clock::now();
    while (!parked_order.empty() && parked_order.front().first <= now) {
      auto it = parked.find(parked_order.front().second);
      if (it != parked.end() && it->second.expires == parked_order.front().first)
        parked.erase(it);
      parked_order.pop_front();
    }
    if (!parked_order.empty())
      parked_sweep = svc().timers->arm(self, std::chrono::seconds{1}, parked_sweep_tag);
  }

  void on_hibernated(server_txn_hibernated& h) {
    servers.erase(h.key);
    auto [it, fresh] = hibernated.insert_or_assign(
      std::move(h.key), hibernated_entry{std::move(h.peer), h.reply_to, std::move(h.tu),
                                         std::move(h.last_response), h.token});
    hibernated_tokens.insert_or_assign(h.token, &it->first);
    if (fresh)
      svc().counters->hibernated_transactions.fetch_add(1, std::memory_order_relaxed);
  }

  /// An actor again for a hibernated transaction.
  caf::actor revive(const txn::server_key& key, std::string_view call_id) {
    auto it = hibernated.find(key);
    if (it == hibernated.end())
      return {};
    auto h = std::move(it->second);
    hibernated.erase(it);
    svc().counters->hibernated_transactions.fetch_sub(1, std::memory_order_relaxed);
    hibernated_tokens.erase(h.token);
    server_txn_init init{deps.services, key, nullptr, h.peer, h.reply_to, h.tu, self, {}};
    init.revive = server_txn_init::revival{std::move(h.last_response), std::string(call_id),
                                           h.token};
    auto st = spawn_server_txn(self->home_system(), std::move(init));
    servers.insert_or_assign(key, st);
    return st;
  }

  revive_result on_revive(const revive_txn& r) {
    if (auto it = hibernated_tokens.find(r.token); it != hibernated_tokens.end()) {
      auto key = *it->second;  // a copy: revive() erases the node holding it
      return revive_result{revive(key, r.call_id), false};
    }
    if (revived_tokens.erase(r.token) > 0)
      return revive_result{{}, true};
    return revive_result{{}, false};
  }

  void on_cancel(message_ptr msg, const peer_info& peer, txn::server_key key) {
    auto target = txn::cancel_target(*msg);
    caf::actor invite_txn;
    if (target) {
      if (auto h = hibernated.find(*target); h != hibernated.end()) {
        revived_tokens.insert(h->second.token);
        revive(*target, msg->call_id());
      }
      if (auto it = servers.find(*target); it != servers.end())
        invite_txn = it->second;
    }
    if (!invite_txn) {
      // §16.10: no response context: forward the CANCEL statelessly.
      hand_to_tu(nullptr, std::move(msg), peer);
      return;
    }
    // §9.2: answer the CANCEL itself with 200 (its own server transaction,
    // answered right here), and tell the INVITE transaction.
    auto st = spawn_server(std::move(key), msg, peer, nullptr);
    auto ok = sip::make_response(*msg, 200);
    if (ok) {
      svc().counters->count_response_sent(200);
      self->send(st, txn_respond{200, ok->serialize()});
    }
    self->send(invite_txn, txn_cancelled{});
  }

  void hand_to_tu(caf::actor server, message_ptr msg, const peer_info& peer) {
    auto tu = deps.choose_tu(self, *msg);
    if (tu)
      self->send(tu, txn_request{std::move(server), std::move(msg), peer});
  }

  void reject_statelessly(const sip::message& msg, const peer_info& peer, int status,
                          std::string_view reason) {
    if (msg.request_method() == sip::method::ack)
      return;
    auto r = sip::make_response(msg, status, reason);
    if (!r)
      return;
    svc().counters->count_response_sent(status);
    svc().hub->send(
      peer.answer(response_destination(msg.top_via(), peer.source, peer.transport), r->serialize()));
  }
};

caf::behavior sip_shard(caf::stateful_actor<sip_shard_state>* self, sip_shard_deps deps) {
  self->state.deps = std::move(deps);
  self->state.self = self;
  auto& st = self->state;
  st.ids.emplace(st.deps.seed ? st.deps.seed() : 0xb7eu);
  // At shutdown the shard takes its transactions with it (their TUs follow:
  // a proxy context goes when its server transaction is killed), so the
  // actor system does not wait out Timers J/L/M.
  self->set_exit_handler([self](caf::exit_msg& m) {
    for (auto& [k, a] : self->state.servers)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& [k, c] : self->state.clients)
      caf::anon_send_exit(c.txn, caf::exit_reason::user_shutdown);
    self->quit(m.reason);
  });
  return {
    [&st](sip_received& in) { st.on_sip_received(in); },
    [&st](client_txn_started& s) {
      st.clients.insert_or_assign(std::move(s.key),
                                  sip_shard_state::client_entry{s.txn, s.transport, s.destination});
    },
    [&st](const destination_unreachable& u) {
      // §8.1.3.1 / §17.1.4: every client transaction sending there fails now.
      for (auto& [k, c] : st.clients)
        if (c.transport == u.transport && c.destination == u.destination)
          st.self->send(c.txn, txn_transport_error{u.err});
    },
    [&st](client_txn_ended& e) { st.clients.erase(e.key); },
    [&st](server_txn_ended& e) {
      if (st.servers.erase(e.key) > 0)
        st.svc().counters->server_transactions.fetch_sub(1, std::memory_order_relaxed);
    },
    [&st](server_txn_parked& p) { st.on_parked(p); },
    [&st](server_txn_hibernated& h) { st.on_hibernated(h); },
    [&st](const revive_txn& r) { return st.on_revive(r); },
    [&st](timer_expired t) {
      if (t.tag == sip_shard_state::parked_sweep_tag)
        st.sweep_parked();
      else if (t.tag == sip_shard_state::call_sweep_tag)
        st.sweep_calls();
    },
    [&st](call_outcome& o) { st.on_call_outcome(o); },
    [&st](const list_calls&) { return st.on_list_calls(); },
    [&st](const hangup_call& h) { st.on_hangup(h); },
    [&st](call_bridged& b) { st.on_call_bridged(b); },
    [&st](const call_finished& f) { st.on_call_finished(f); },
    [&st](call_media_command& c) {
      auto it = st.calls.find(c.call_id);
      if (it == st.calls.end() || !it->second.bridged()) {
        st.svc().sip_log->info("[cid={}] media command: not a bridged call", c.call_id);
        return;
      }
      std::visit([&](auto& cmd) { st.self->send(it->second.bridge_actor(), std::move(cmd)); }, c.cmd);
    },
    [&st](leg_dialog_opened& o) {
      st.legs.insert_or_assign(sip_shard_state::leg_key(o.call_id, o.local_tag), std::move(o.leg));
    },
    [&st](const leg_dialog_closed& c) {
      st.legs.erase(sip_shard_state::leg_key(c.call_id, c.local_tag));
    },
    [](const txn_response&) {},  // answers to BYEs of a hangup: nothing more to do
  };
}

} // namespace

caf::actor spawn_sip_shard(caf::actor_system& sys, sip_shard_deps deps) {
  return sys.spawn(sip_shard, std::move(deps));
}

} // namespace centralita::actors
