#include "actors/transaction/server_txn.hpp"

#include "actors/transaction/txn_timers.hpp"
#include "protocols/sip/transaction/server_invite.hpp"
#include "protocols/sip/transaction/server_non_invite.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <optional>
#include <variant>

namespace centralita::actors {

namespace {

namespace txn = sip::txn;

struct server_txn_state {
  static constexpr const char* name = "server_txn";

  std::optional<server_txn_init> init_;
  std::variant<txn::server_invite, txn::server_non_invite> machine{
    std::in_place_type<txn::server_non_invite>, txn::reliability::unreliable, txn::timer_config{}};
  txn_timers timers{nullptr};
  std::string last_response;
  std::string call_id;
  bool request_passed = false;
  bool done = false;
  bool reviving = false;  ///< rebuilding Proceeding: nothing goes on the wire
  caf::event_based_actor* self = nullptr;

  server_txn_init& init() { return *init_; }

  void start(caf::event_based_actor* s, server_txn_init i) {
    self = s;
    init_.emplace(std::move(i));
    auto& init = *init_;
    timers = txn_timers(init.services->timers);
    auto rel = init.peer.transport == drivers::transport_kind::udp ? txn::reliability::unreliable
                                                                   : txn::reliability::reliable;
    if (init.revive) {
      // Back from hibernation: the machine replays idle → proceeding with the
      // provisional it had sent; nothing goes out, nothing goes to the TU.
      call_id = std::move(init.revive->call_id);
      machine.emplace<txn::server_invite>(rel, init.services->txn_timers);
      reviving = true;
      request_passed = true;
      feed(txn::request_received{});
      last_response = std::move(init.revive->last_response);
      feed(txn::response_from_tu{100});
      reviving = false;
      self->send(init.tu, txn_revived{init.revive->token});
      init.revive.reset();
      return;
    }
    call_id = std::string(init.request->call_id());
    if (init.request->request_method() == sip::method::invite)
      machine.emplace<txn::server_invite>(rel, init.services->txn_timers);
    else
      machine.emplace<txn::server_non_invite>(rel, init.services->txn_timers);
    feed(txn::request_received{});
  }

  void feed(const txn::event& e) {
    auto actions = std::visit([&](auto& m) { return m.on(e); }, machine);
    for (auto& a : actions)
      std::visit([&](const auto& act) { carry_out(act); }, a);
  }

  // -- actions ---------------------------------------------------------------

  void carry_out(const txn::send_request&) {}
  void carry_out(const txn::send_ack&) {}

  void carry_out(const txn::send_response&) {
    if (last_response.empty() || reviving)
      return;
    auto out = init().peer.answer(init().reply_to, last_response);
    auto weak = caf::actor_cast<caf::weak_actor_ptr>(self);
    out.on_error = [weak](int err) {
      if (auto strong = caf::actor_cast<caf::actor>(weak))
        caf::anon_send(strong, txn_transport_error{err});
    };
    init().services->hub->send(std::move(out));
  }

  void carry_out(const txn::start_timer& t) { timers.start(self, t.id, t.after); }
  void carry_out(const txn::cancel_timer& t) { timers.cancel(t.id); }

  void carry_out(const txn::pass_to_tu&) {
    // The request reaches the TU once; later passes (RFC 6026 ACKs of 2xx)
    // are routed end to end by the shard instead.
    if (request_passed || !init().tu)
      return;
    request_passed = true;
    // The TU owns the request from here: a server transaction needs only the
    // bytes of its last response (memory: it lives 64*T1 after it answers).
    self->send(init().tu, txn_request{self, std::move(init().request), init().peer});
  }

  void carry_out(const txn::timeout&) {
    init().services->txn_log->debug("[cid={}] server transaction timed out (no ACK)", call_id);
    if (init().tu)
      self->send(init().tu, server_txn_done{true});
  }

  void carry_out(const txn::transport_failed&) {
    init().services->txn_log->debug("[cid={}] server transaction: transport failed", call_id);
  }

  void carry_out(const txn::terminated&) {
    if (done)
      return;
    done = true;
    timers.cancel_all();
    self->send(init().shard, server_txn_ended{init().key});
    self->quit();
  }

  // -- messages --------------------------------------------------------------

  void on_request_again(const txn_request_again& r) {
    if (r.msg && r.msg->request_method() == sip::method::ack)
      feed(txn::ack_received{});
    else
      feed(txn::request_received{});
  }

  void on_respond(txn_respond& r) {
    // The machine decides whether this response is sent (send_response);
    // only then does it become "the last response".
    auto previous = std::move(last_response);
    last_response = std::move(r.bytes);
    auto actions = std::visit([&](auto& m) { return m.on(txn::response_from_tu{r.status}); },
                              machine);
    bool sent = false;
    for (auto& a : actions)
      if (std::holds_alternative<txn::send_response>(a))
        sent = true;
    if (!sent)
      last_response = std::move(previous);
    for (auto& a : actions)
      std::visit([&](const auto& act) { carry_out(act); }, a);
    park_if_completed();
  }

  /// A non-INVITE transaction over UDP that just entered Completed hands its
  /// last response to the shard, which absorbs retransmissions until Timer J
  /// (server_txn_parked): the same behaviour for ~600 bytes instead of an
  /// actor (~3 KB) for 64*T1 — a registrar under 3,000 REGISTER/s holds
  /// 100,000 of these.
  void park_if_completed() {
    auto* m = std::get_if<txn::server_non_invite>(&machine);
    if (done || m == nullptr || m->current() != txn::state::completed
        || !m->timer_running(txn::timer_id::J))
      return;
    done = true;
    timers.cancel_all();
    auto& i = init();
    self->send(i.shard, server_txn_parked{std::move(i.key),
                                          i.peer.answer(i.reply_to, std::move(last_response)),
                                          64 * i.services->txn_timers.t1});
    self->quit();
  }

  void on_timer(const timer_expired& t) {
    if (auto id = timers.fired(t.tag))
      feed(txn::timer_fired{*id});
  }

  void on_hibernate(const txn_hibernate& h) {
    auto* m = std::get_if<txn::server_invite>(&machine);
    bool can = !done && m != nullptr && m->current() == txn::state::proceeding && request_passed
               && !last_response.empty();
    if (can)
      for (auto id : {txn::timer_id::G, txn::timer_id::H, txn::timer_id::I, txn::timer_id::L})
        if (m->timer_running(id))
          can = false;
    if (!can) {
      // Staying awake: the TU learns it is still this actor.
      if (init().tu)
        self->send(init().tu, txn_revived{h.token});
      return;
    }
    done = true;
    timers.cancel_all();
    auto& i = init();
    // A plain 100 Trying is not kept: the shard builds it again from a
    // retransmitted INVITE (~300 bytes less per waiting INVITE).
    if (last_response.rfind("SIP/2.0 100 ", 0) == 0)
      std::string().swap(last_response);  // clear() or `= {}` would keep the buffer
    self->send(i.shard, server_txn_hibernated{std::move(i.key), i.peer, i.reply_to, i.tu,
                                              std::move(last_response), h.token});
    self->quit();
  }

  void on_cancelled() {
    if (init().tu)
      self->send(init().tu, upstream_cancelled{});
  }
};

caf::behavior server_txn(caf::stateful_actor<server_txn_state>* self, server_txn_init init) {
  self->state.start(self, std::move(init));
  return {
    [self](txn_request_again& r) { self->state.on_request_again(r); },
    [self](txn_respond& r) { self->state.on_respond(r); },
    [self](timer_expired t) { self->state.on_timer(t); },
    [self](txn_transport_error) { self->state.feed(txn::transport_error{}); },
    [self](txn_cancelled) { self->state.on_cancelled(); },
    [self](const txn_hibernate& h) { self->state.on_hibernate(h); },
  };
}

} // namespace

caf::actor spawn_server_txn(caf::actor_system& sys, server_txn_init init) {
  return sys.spawn(server_txn, std::move(init));
}

} // namespace centralita::actors
