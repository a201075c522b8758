#include "actors/transaction/client_txn.hpp"

#include "actors/transaction/txn_timers.hpp"
#include "protocols/sip/proxy/forwarding.hpp"
#include "protocols/sip/transaction/client_invite.hpp"
#include "protocols/sip/transaction/client_non_invite.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <optional>
#include <variant>

namespace centralita::actors {

namespace {

namespace txn = sip::txn;

struct client_txn_state {
  static constexpr const char* name = "client_txn";

  std::optional<client_txn_init> init_;
  std::optional<txn::client_key> key;
  std::variant<txn::client_invite, txn::client_non_invite> machine{
    std::in_place_type<txn::client_non_invite>, txn::reliability::unreliable, txn::timer_config{}};
  txn_timers timers{nullptr};
  message_ptr last_final;  ///< the non-2xx final the ACK answers
  std::string ack_bytes;
  std::string call_id;
  bool provisional_seen = false;
  bool final_seen = false;
  bool cancel_wanted = false;
  bool cancel_sent = false;
  bool done = false;
  caf::event_based_actor* self = nullptr;

  client_txn_init& init() { return *init_; }

  void start(caf::event_based_actor* s, client_txn_init i) {
    self = s;
    init_.emplace(std::move(i));
    timers = txn_timers(init().services->timers);
    call_id = std::string(init().request->call_id());
    auto k = txn::client_key::of(*init().request);
    if (!k) {
      report(503);  // cannot match responses to a request without a branch
      done = true;
      self->quit();
      return;
    }
    key = std::move(k.value());
    auto rel = init().transport == drivers::transport_kind::udp ? txn::reliability::unreliable
                                                                : txn::reliability::reliable;
    if (init().request->request_method() == sip::method::invite)
      machine.emplace<txn::client_invite>(rel, init().services->txn_timers);
    else
      machine.emplace<txn::client_non_invite>(rel, init().services->txn_timers);
    // §17.1.3: the shard must know the key before any response can come back.
    self->send(init().shard, client_txn_started{*key, self, init().transport, init().destination});
    feed(txn::request_from_tu{});
  }

  bool is_invite() const { return std::holds_alternative<txn::client_invite>(machine); }

  void feed(const txn::event& e) {
    auto actions = std::visit([&](auto& m) { return m.on(e); }, machine);
    for (auto& a : actions)
      std::visit([&](const auto& act) { carry_out(act); }, a);
  }

  void send_bytes(const std::string& bytes) {
    drivers::outbound_message out;
    out.transport = init().transport;
    out.destination = init().destination;
    out.conn = init().conn;
    out.bytes = bytes;
    auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
    out.on_error = [weak](int err) {
      if (auto strong = caf::actor_cast<caf::actor>(weak))
        caf::anon_send(strong, txn_transport_error{err});
    };
    init().services->hub->send(std::move(out));
  }

  void report(int status, message_ptr msg = nullptr) {
    if (init().tu)
      self->send(init().tu, txn_response{init().branch, status, std::move(msg)});
  }

  // -- actions ---------------------------------------------------------------

  void carry_out(const txn::send_request&) { send_bytes(init().request_bytes); }
  void carry_out(const txn::send_response&) {}

  void carry_out(const txn::send_ack&) {
    // §17.1.1.3: built once from the request and the final response.
    if (ack_bytes.empty() && last_final) {
      auto ack = sip::proxy::make_ack_for(*init().request, *last_final);
      if (!ack) {
        init().services->txn_log->warn("[cid={}] cannot build ACK: {}", call_id,
                                       ack.err().reason);
        return;
      }
      ack_bytes = ack->serialize();
    }
    if (!ack_bytes.empty())
      send_bytes(ack_bytes);
  }

  void carry_out(const txn::start_timer& t) { timers.start(self, t.id, t.after); }
  void carry_out(const txn::cancel_timer& t) { timers.cancel(t.id); }

  void carry_out(const txn::pass_to_tu& p) { report(p.status, pending_response); }

  void carry_out(const txn::timeout&) {
    report(408);  // §8.1.3.1: Timer B/F is a 408 for the TU
  }

  void carry_out(const txn::transport_failed&) {
    report(503);  // §8.1.3.1: a transport error is a 503 for the TU
  }

  void carry_out(const txn::terminated&) {
    if (done)
      return;
    done = true;
    timers.cancel_all();
    if (key)
      self->send(init().shard, client_txn_ended{*key});
    self->quit();
  }

  // -- messages --------------------------------------------------------------

  message_ptr pending_response;  ///< the response being fed, for pass_to_tu

  void on_response(txn_response_in& r) {
    if (!r.msg)
      return;
    int status = r.msg->status();
    if (status >= 300)
      last_final = r.msg;
    if (status < 200)
      provisional_seen = true;
    else
      final_seen = true;
    pending_response = r.msg;
    feed(txn::response_received{status});
    pending_response.reset();
    if (cancel_wanted && provisional_seen && !final_seen)
      send_cancel();
  }

  void on_cancel() {
    if (!is_invite() || cancel_sent || final_seen)
      return;
    cancel_wanted = true;
    if (provisional_seen)
      send_cancel();
    // else: §9.1, wait for a provisional response before cancelling
  }

  void send_cancel() {
    cancel_sent = true;
    cancel_wanted = false;
    auto cancel = sip::proxy::make_cancel(*init().request);
    if (!cancel) {
      init().services->txn_log->warn("[cid={}] cannot build CANCEL: {}", call_id,
                                     cancel.err().reason);
      return;
    }
    // The CANCEL is a transaction of its own (§9.1), with the same branch.
    client_txn_init c;
    c.services = init().services;
    c.request_bytes = cancel->serialize();
    c.request = std::make_shared<sip::message>(std::move(cancel.value()));
    c.transport = init().transport;
    c.destination = init().destination;
    c.conn = init().conn;
    c.branch = init().branch + ";cancel";
    c.tu = nullptr;  // its 200 concerns nobody; the INVITE's 487 does
    c.shard = init().shard;
    spawn_client_txn(self->home_system(), std::move(c));
  }

  void on_timer(const timer_expired& t) {
    if (auto id = timers.fired(t.tag))
      feed(txn::timer_fired{*id});
  }
};

caf::behavior client_txn(caf::stateful_actor<client_txn_state>* self, client_txn_init init) {
  self->state.start(self, std::move(init));
  return {
    [self](txn_response_in& r) { self->state.on_response(r); },
    [self](timer_expired t) { self->state.on_timer(t); },
    [self](txn_transport_error) { self->state.feed(txn::transport_error{}); },
    [self](cancel_branch) { self->state.on_cancel(); },
  };
}

} // namespace

caf::actor spawn_client_txn(caf::actor_system& sys, client_txn_init init) {
  return sys.spawn(client_txn, std::move(init));
}

} // namespace centralita::actors
