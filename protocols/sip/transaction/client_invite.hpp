#pragma once

#include "protocols/sip/transaction/event.hpp"
#include "protocols/sip/transaction/machine_support.hpp"

namespace centralita::sip::txn {

/// The INVITE client transaction, RFC 3261 §17.1.1 (Figure 5) as updated by
/// RFC 6026 §8.4 (Accepted state, Timer M).
///
/// States: idle -> calling -> proceeding -> completed | accepted -> terminated.
///  - idle: `request_from_tu` sends the INVITE, starts A (unreliable) and B.
///  - calling: A re-sends and doubles; B times out; 1xx -> proceeding; 2xx ->
///    accepted (M); 300-699 -> ACK, completed (D); transport error -> 503.
///  - proceeding: 1xx to the TU; finals as in calling. No timer runs (Figure 5:
///    Timer B only guards Calling; a proxy's Timer C guards Proceeding).
///  - completed: retransmitted 300-699 are ACKed again, not passed up; D ends it.
///  - accepted: every further 2xx goes to the TU (forks, retransmissions); M ends it.
class client_invite : public detail::machine_base<client_invite> {
public:
  /// A transaction in `idle`; `cfg` should pass `validate()`.
  client_invite(reliability rel, const timer_config& cfg) noexcept;

  /// The actions for `e` in the current state (none when `e` does not apply).
  action_list on(const event& e) noexcept;
  using machine_base::on;  // on(event, vector&)

private:
  void on_response(int status, action_list& out) noexcept;
  void on_timer(timer_id id, action_list& out) noexcept;
  void on_transport_error(action_list& out) noexcept;
  void to_completed(action_list& out) noexcept;

  uint32_t timer_a_ = 0;          ///< the current Timer A interval (ms)
};

} // namespace centralita::sip::txn
