#include "protocols/sip/transaction/server_non_invite.hpp"

namespace centralita::sip::txn {

using detail::is_provisional;

server_non_invite::server_non_invite(reliability rel, const timer_config& cfg) noexcept
    : machine_base(rel, cfg) {}

action_list server_non_invite::on(const event& e) noexcept {
  action_list out;
  if (state_ == state::terminated) return out;  // nothing after `terminated`
  if (std::holds_alternative<request_received>(e)) {
    if (state_ == state::idle) {
      // §17.2.2: the request that creates the transaction goes to the TU; -> Trying.
      out.push(pass_to_tu{0});
      state_ = state::trying;
    } else if (state_ == state::proceeding || state_ == state::completed) {
      // §17.2.2: a retransmission in Proceeding or Completed re-sends the last response.
      out.push(send_response{});
    }
    // §17.2.2: a retransmission in Trying is discarded.
  } else if (auto* r = std::get_if<response_from_tu>(&e)) {
    on_response(r->status, out);
  } else if (auto* t = std::get_if<timer_fired>(&e)) {
    // §17.2.2: Timer J fires in Completed -> Terminated.
    if (timers_.consume(t->id) && t->id == timer_id::J) terminate(out);
  } else if (std::holds_alternative<transport_error>(e)) {
    // §17.2.4 and Figure 8: a failure sending a response in Proceeding or Completed
    // informs the TU and terminates the transaction.
    if (state_ != state::proceeding && state_ != state::completed) return out;
    out.push(transport_failed{});
    terminate(out);
  }
  return out;
}

void server_non_invite::on_response(int status, action_list& out) noexcept {
  // §17.2.2: in Completed, further final responses from the TU are discarded.
  if (state_ != state::trying && state_ != state::proceeding) return;
  if (is_provisional(status)) {
    out.push(send_response{});  // §17.2.2: 1xx from the TU: send, -> Proceeding
    state_ = state::proceeding;
    return;
  }
  if (status < 200 || status > 699) return;
  out.push(send_response{});  // §17.2.2: 200-699 from the TU: send, -> Completed
  state_ = state::completed;
  if (rel_ == reliability::reliable) {
    terminate(out);  // §17.2.2: Timer J is zero on reliable transports
    return;
  }
  timers_.start(out, timer_id::J, cfg_.t1x64());  // §17.2.2: Timer J = 64*T1 on unreliable
}

} // namespace centralita::sip::txn
