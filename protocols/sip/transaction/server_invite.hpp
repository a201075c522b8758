#pragma once

#include "protocols/sip/transaction/event.hpp"
#include "protocols/sip/transaction/machine_support.hpp"

namespace centralita::sip::txn {

/// The INVITE server transaction, RFC 3261 §17.2.1 (Figure 7) as updated by
/// RFC 6026 §8.5-§8.7 (Accepted state, Timer L).
///
/// States: idle -> proceeding -> completed -> confirmed -> terminated, and
/// proceeding -> accepted -> terminated.
///  - idle: `request_received` passes the INVITE to the TU. The 100 Trying that
///    §17.2.1 asks for unless the TU answers within 200 ms is the TU's: it passes a
///    100 like any provisional response.
///  - proceeding: 1xx from the TU are sent; retransmitted INVITEs re-send the last
///    response (absorbed before any); 2xx -> accepted (L); 300-699 -> completed
///    (G on unreliable, H).
///  - completed: G re-sends the response, doubling up to T2; H times out; retransmitted
///    INVITEs re-send it; ACK -> confirmed (I).
///  - confirmed: absorbs ACKs until I.
///  - accepted: 2xx from the TU are sent; the ACK of a 2xx goes to the TU;
///    retransmitted INVITEs are absorbed; L ends it.
/// A transport error in proceeding or completed informs the TU and terminates (§17.2.4).
class server_invite : public detail::machine_base<server_invite> {
public:
  /// A transaction in `idle`; `cfg` should pass `validate()`.
  server_invite(reliability rel, const timer_config& cfg) noexcept;

  /// The actions for `e` in the current state (none when `e` does not apply).
  action_list on(const event& e) noexcept;
  using machine_base::on;  // on(event, vector&)

private:
  void on_request(action_list& out) noexcept;
  void on_response(int status, action_list& out) noexcept;
  void on_ack(action_list& out) noexcept;
  void on_timer(timer_id id, action_list& out) noexcept;

  uint32_t timer_g_ = 0;          ///< the current Timer G interval (ms)
  bool responded_ = false;        ///< a response was sent (so one can be re-sent)
};

} // namespace centralita::sip::txn
