#include "actors/sip/sip_shard.hpp"

#include "actors/system/actor_timers.hpp"
#include "actors/transaction/server_txn.hpp"
#include "protocols/sip/proxy/forwarding.hpp"
#include "protocols/sip/routing_key.hpp"
#include "protocols/sip/transaction/transaction_key.hpp"

#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include <deque>
#include <unordered_map>

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
  std::deque<std::pair<std::chrono::steady_clock::time_point, txn::server_key>> parked_order;
  timer_handle parked_sweep;
  static constexpr uint64_t parked_sweep_tag = 1;

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
                         self};
    auto st = spawn_server_txn(self->home_system(), std::move(init));
    servers.emplace(std::move(key), st);
    return st;
  }

  void on_parked(server_txn_parked& p) {
    servers.erase(p.key);
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

  void on_cancel(message_ptr msg, const peer_info& peer, txn::server_key key) {
    auto target = txn::cancel_target(*msg);
    caf::actor invite_txn;
    if (target)
      if (auto it = servers.find(*target); it != servers.end())
        invite_txn = it->second;
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
    [&st](server_txn_ended& e) { st.servers.erase(e.key); },
    [&st](server_txn_parked& p) { st.on_parked(p); },
    [&st](timer_expired t) {
      if (t.tag == sip_shard_state::parked_sweep_tag)
        st.sweep_parked();
    },
  };
}

} // namespace

caf::actor spawn_sip_shard(caf::actor_system& sys, sip_shard_deps deps) {
  return sys.spawn(sip_shard, std::move(deps));
}

} // namespace centralita::actors
