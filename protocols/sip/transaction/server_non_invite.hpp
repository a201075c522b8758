#pragma once

#include "protocols/sip/transaction/event.hpp"
#include "protocols/sip/transaction/machine_support.hpp"

namespace centralita::sip::txn {

/// The non-INVITE server transaction, RFC 3261 §17.2.2 (Figure 8).
///
/// States: idle -> trying -> proceeding -> completed -> terminated.
///  - idle: `request_received` passes the request to the TU.
///  - trying: retransmissions are absorbed; 1xx from the TU -> proceeding; 200-699 ->
///    completed (J).
///  - proceeding: retransmissions re-send the last 1xx; 1xx are sent; finals as in trying.
///  - completed: retransmissions re-send the final response; other TU responses are
///    discarded; J ends it.
/// A transport error in proceeding or completed informs the TU and terminates (§17.2.4).
class server_non_invite : public detail::machine_base<server_non_invite> {
public:
  /// A transaction in `idle`; `cfg` should pass `validate()`.
  server_non_invite(reliability rel, const timer_config& cfg) noexcept;

  /// The actions for `e` in the current state (none when `e` does not apply).
  action_list on(const event& e) noexcept;
  using machine_base::on;  // on(event, vector&)

private:
  void on_response(int status, action_list& out) noexcept;

};

} // namespace centralita::sip::txn
