#pragma once

#include "protocols/sip/transaction/event.hpp"
#include "protocols/sip/transaction/machine_support.hpp"

namespace centralita::sip::txn {

/// The non-INVITE client transaction, RFC 3261 §17.1.2 (Figure 6).
///
/// States: idle -> trying -> proceeding -> completed -> terminated.
///  - idle: `request_from_tu` sends the request, starts E (unreliable) and F.
///  - trying: E re-sends, doubling up to T2; F times out (408); 1xx -> proceeding;
///    200-699 -> completed (K); transport error -> 503.
///  - proceeding: E re-sends every T2; F times out; 1xx to the TU; finals as in trying.
///  - completed: absorbs retransmitted responses until K.
class client_non_invite : public detail::machine_base<client_non_invite> {
public:
  /// A transaction in `idle`; `cfg` should pass `validate()`.
  client_non_invite(reliability rel, const timer_config& cfg) noexcept;

  /// The actions for `e` in the current state (none when `e` does not apply).
  action_list on(const event& e) noexcept;
  using machine_base::on;  // on(event, vector&)

private:
  void on_response(int status, action_list& out) noexcept;
  void on_timer(timer_id id, action_list& out) noexcept;

  uint32_t timer_e_ = 0;          ///< the current Timer E interval (ms)
};

} // namespace centralita::sip::txn
