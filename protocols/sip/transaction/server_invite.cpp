#include "protocols/sip/transaction/server_invite.hpp"

#include <algorithm>

namespace centralita::sip::txn {

using detail::is_failure;
using detail::is_provisional;
using detail::is_success;

server_invite::server_invite(reliability rel, const timer_config& cfg) noexcept
    : machine_base(rel, cfg) {}

action_list server_invite::on(const event& e) noexcept {
  action_list out;
  if (state_ == state::terminated) return out;  // nothing after `terminated`
  if (std::holds_alternative<request_received>(e)) {
    on_request(out);
  } else if (auto* r = std::get_if<response_from_tu>(&e)) {
    on_response(r->status, out);
  } else if (std::holds_alternative<ack_received>(e)) {
    on_ack(out);
  } else if (auto* t = std::get_if<timer_fired>(&e)) {
    on_timer(t->id, out);
  } else if (std::holds_alternative<transport_error>(e)) {
    // §17.2.4 and Figure 7: a failure sending a response in Proceeding or Completed
    // informs the TU and terminates the transaction.
    if (state_ != state::proceeding && state_ != state::completed) return out;
    out.push(transport_failed{});
    terminate(out);
  }
  return out;
}

void server_invite::on_request(action_list& out) noexcept {
  switch (state_) {
    case state::idle:
      // §17.2.1: the INVITE that creates the transaction goes to the TU; -> Proceeding.
      out.push(pass_to_tu{0});
      state_ = state::proceeding;
      return;
    case state::proceeding:
      // §17.2.1: a retransmitted INVITE in Proceeding re-sends the most recent
      // provisional response (absorbed when none was sent yet).
      if (responded_) out.push(send_response{});
      return;
    case state::completed:
      out.push(send_response{});  // §17.2.1: a retransmission in Completed re-sends the final
      return;
    default:
      // Confirmed (§17.2.1) and Accepted (RFC 6026 §8.7) absorb retransmissions.
      return;
  }
}

void server_invite::on_response(int status, action_list& out) noexcept {
  if (state_ == state::accepted) {
    // RFC 6026 §8.7: 2xx retransmissions from the TU are sent through Accepted.
    if (is_success(status)) out.push(send_response{});
    return;
  }
  if (state_ != state::proceeding) return;  // §17.2.1: nothing else after a final response
  if (is_provisional(status)) {
    out.push(send_response{});  // §17.2.1: 1xx from the TU are sent, Proceeding stays
    responded_ = true;
  } else if (is_success(status)) {
    // RFC 6026 §8.5: a 2xx is sent and the machine enters Accepted with Timer L.
    out.push(send_response{});
    responded_ = true;
    timers_.start(out, timer_id::L, cfg_.t1x64());  // RFC 6026 §8.5: Timer L = 64*T1
    state_ = state::accepted;
  } else if (is_failure(status)) {
    // §17.2.1: a 300-699 is sent and the machine enters Completed.
    out.push(send_response{});
    responded_ = true;
    if (rel_ == reliability::unreliable) {
      timer_g_ = cfg_.t1;
      timers_.start(out, timer_id::G, timer_g_);  // §17.2.1: Timer G = T1, unreliable only
    }
    timers_.start(out, timer_id::H, cfg_.t1x64());  // §17.2.1: Timer H = 64*T1
    state_ = state::completed;
  }
}

void server_invite::on_ack(action_list& out) noexcept {
  if (state_ == state::accepted) {
    out.push(pass_to_tu{0});  // RFC 6026 §8.7: an ACK matched in Accepted goes to the TU
    return;
  }
  if (state_ != state::completed) return;  // §17.2.1: Confirmed absorbs further ACKs
  // §17.2.1: the ACK stops G and H; the machine enters Confirmed.
  timers_.cancel(out, timer_id::G);
  timers_.cancel(out, timer_id::H);
  state_ = state::confirmed;
  if (rel_ == reliability::reliable) {
    terminate(out);  // §17.2.1: Timer I is zero on reliable transports
    return;
  }
  timers_.start(out, timer_id::I, cfg_.t4);  // §17.2.1: Timer I = T4 on unreliable
}

void server_invite::on_timer(timer_id id, action_list& out) noexcept {
  if (!timers_.consume(id)) return;  // stale or never started
  switch (id) {
    case timer_id::G:
      // §17.2.1: Timer G fires: re-send the response, double G up to T2.
      out.push(send_response{});
      timer_g_ = std::min(2 * timer_g_, cfg_.t2);
      timers_.start(out, timer_id::G, timer_g_);
      return;
    case timer_id::H:
      // §17.2.1: Timer H fires in Completed: the ACK never came; inform the TU.
      out.push(timeout{});
      terminate(out);
      return;
    case timer_id::I:
      terminate(out);  // §17.2.1: Timer I fires in Confirmed -> Terminated
      return;
    case timer_id::L:
      terminate(out);  // RFC 6026 §8.7: Timer L fires in Accepted -> Terminated
      return;
    default:
      return;
  }
}

} // namespace centralita::sip::txn
