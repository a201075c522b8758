#include "protocols/sip/transaction/client_non_invite.hpp"

#include <algorithm>

namespace centralita::sip::txn {

using detail::is_provisional;

client_non_invite::client_non_invite(reliability rel, const timer_config& cfg) noexcept
    : machine_base(rel, cfg) {}

action_list client_non_invite::on(const event& e) noexcept {
  action_list out;
  if (state_ == state::terminated) return out;  // nothing after `terminated`
  if (std::holds_alternative<request_from_tu>(e)) {
    if (state_ != state::idle) return out;
    // RFC 3261 §17.1.2.2: the request goes to the transport, the machine enters Trying.
    out.push(send_request{});
    if (rel_ == reliability::unreliable) {
      timer_e_ = cfg_.t1;
      timers_.start(out, timer_id::E, timer_e_);  // §17.1.2.2: Timer E = T1, unreliable only
    }
    timers_.start(out, timer_id::F, cfg_.t1x64());  // §17.1.2.2: Timer F = 64*T1
    state_ = state::trying;
  } else if (auto* r = std::get_if<response_received>(&e)) {
    on_response(r->status, out);
  } else if (auto* t = std::get_if<timer_fired>(&e)) {
    on_timer(t->id, out);
  } else if (std::holds_alternative<transport_error>(e)) {
    // §17.1.4 and Figure 6: a transport error in Trying or Proceeding informs the TU,
    // which treats it as a 503 (§8.1.3.1).
    if (state_ != state::trying && state_ != state::proceeding) return out;
    out.push(transport_failed{});
    terminate(out);
  }
  return out;
}

void client_non_invite::on_response(int status, action_list& out) noexcept {
  if (state_ != state::trying && state_ != state::proceeding) return;  // Completed absorbs
  if (is_provisional(status)) {
    // §17.1.2.2: a provisional response goes to the TU; Trying -> Proceeding. E and F
    // keep running.
    out.push(pass_to_tu{status});
    state_ = state::proceeding;
    return;
  }
  if (status < 200 || status > 699) return;
  // §17.1.2.2: a final response goes to the TU and the machine enters Completed.
  timers_.cancel(out, timer_id::E);
  timers_.cancel(out, timer_id::F);
  out.push(pass_to_tu{status});
  state_ = state::completed;
  if (rel_ == reliability::reliable) {
    terminate(out);  // §17.1.2.2: Timer K is zero on reliable transports
    return;
  }
  timers_.start(out, timer_id::K, cfg_.t4);  // §17.1.2.2: Timer K = T4 on unreliable
}

void client_non_invite::on_timer(timer_id id, action_list& out) noexcept {
  if (!timers_.consume(id)) return;  // stale or never started
  switch (id) {
    case timer_id::E:
      out.push(send_request{});
      if (state_ == state::trying)
        timer_e_ = std::min(2 * timer_e_, cfg_.t2);  // §17.1.2.2: E doubles, capped at T2
      else
        timer_e_ = cfg_.t2;  // §17.1.2.2: in Proceeding, E is reset to T2
      timers_.start(out, timer_id::E, timer_e_);
      return;
    case timer_id::F:
      // §17.1.2.2: Timer F fires: inform the TU of a timeout (408, §8.1.3.1).
      out.push(timeout{});
      terminate(out);
      return;
    case timer_id::K:
      terminate(out);  // §17.1.2.2: Timer K fires in Completed -> Terminated
      return;
    default:
      return;
  }
}

} // namespace centralita::sip::txn
