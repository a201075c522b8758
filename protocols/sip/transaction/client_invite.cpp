#include "protocols/sip/transaction/client_invite.hpp"

namespace centralita::sip::txn {

using detail::is_failure;
using detail::is_provisional;
using detail::is_success;

client_invite::client_invite(reliability rel, const timer_config& cfg) noexcept
    : machine_base(rel, cfg) {}

action_list client_invite::on(const event& e) noexcept {
  action_list out;
  if (state_ == state::terminated) return out;  // nothing after `terminated`
  if (std::holds_alternative<request_from_tu>(e)) {
    if (state_ != state::idle) return out;
    // RFC 3261 §17.1.1.2: the INVITE goes to the transport, the machine enters Calling.
    out.push(send_request{});
    if (rel_ == reliability::unreliable) {
      timer_a_ = cfg_.t1;
      timers_.start(out, timer_id::A, timer_a_);  // §17.1.1.2: Timer A = T1, unreliable only
    }
    timers_.start(out, timer_id::B, cfg_.t1x64());  // §17.1.1.2: Timer B = 64*T1
    state_ = state::calling;
  } else if (auto* r = std::get_if<response_received>(&e)) {
    on_response(r->status, out);
  } else if (auto* t = std::get_if<timer_fired>(&e)) {
    on_timer(t->id, out);
  } else if (std::holds_alternative<transport_error>(e)) {
    on_transport_error(out);
  }
  return out;
}

void client_invite::on_response(int status, action_list& out) noexcept {
  switch (state_) {
    case state::calling:
    case state::proceeding:
      if (is_provisional(status)) {
        // §17.1.1.2: a provisional response stops retransmissions (Calling -> Proceeding)
        // and goes to the TU; Figure 5 has no Timer B in Proceeding.
        timers_.cancel(out, timer_id::A);
        timers_.cancel(out, timer_id::B);
        out.push(pass_to_tu{status});
        state_ = state::proceeding;
      } else if (is_success(status)) {
        // RFC 6026 §8.4: a 2xx goes to the TU and the machine enters Accepted with Timer M.
        timers_.cancel(out, timer_id::A);
        timers_.cancel(out, timer_id::B);
        out.push(pass_to_tu{status});
        timers_.start(out, timer_id::M, cfg_.t1x64());  // RFC 6026 §8.4: Timer M = 64*T1
        state_ = state::accepted;
      } else if (is_failure(status)) {
        // §17.1.1.2: a 300-699 response is ACKed, passed up, and the machine completes.
        timers_.cancel(out, timer_id::A);
        timers_.cancel(out, timer_id::B);
        out.push(send_ack{});
        out.push(pass_to_tu{status});
        to_completed(out);
      }
      return;
    case state::completed:
      // §17.1.1.2: a retransmitted final response is ACKed again, not passed to the TU.
      if (is_failure(status)) out.push(send_ack{});
      return;
    case state::accepted:
      // RFC 6026 §8.4: further 2xx (retransmissions, other forks) go to the TU.
      if (is_success(status)) out.push(pass_to_tu{status});
      return;
    default:
      return;
  }
}

void client_invite::on_timer(timer_id id, action_list& out) noexcept {
  if (!timers_.consume(id)) return;  // stale or never started
  switch (id) {
    case timer_id::A:
      if (state_ != state::calling) return;
      // §17.1.1.2: Timer A fires: retransmit and double the interval.
      out.push(send_request{});
      timer_a_ *= 2;
      timers_.start(out, timer_id::A, timer_a_);
      return;
    case timer_id::B:
      // §17.1.1.2: Timer B fires in Calling: inform the TU of a timeout (408, §8.1.3.1).
      out.push(timeout{});
      terminate(out);
      return;
    case timer_id::D:
      terminate(out);  // §17.1.1.2: Timer D fires in Completed -> Terminated
      return;
    case timer_id::M:
      terminate(out);  // RFC 6026 §8.4: Timer M fires in Accepted -> Terminated
      return;
    default:
      return;
  }
}

void client_invite::on_transport_error(action_list& out) noexcept {
  // §17.1.4 and Figure 5: a transport error in Calling (the INVITE) or Completed (the
  // ACK) informs the TU, which treats it as a 503 (§8.1.3.1).
  if (state_ != state::calling && state_ != state::completed) return;
  out.push(transport_failed{});
  terminate(out);
}

void client_invite::to_completed(action_list& out) noexcept {
  state_ = state::completed;
  if (rel_ == reliability::reliable) {
    terminate(out);  // §17.1.1.2: Timer D is zero on reliable transports
    return;
  }
  timers_.start(out, timer_id::D, cfg_.d);  // §17.1.1.2: Timer D >= 32 s on unreliable
}

} // namespace centralita::sip::txn
