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
class client_non_invite {
public:
  /// A transaction in `idle`; `cfg` should pass `validate()`.
  client_non_invite(reliability rel, const timer_config& cfg) noexcept;

  /// The actions for `e` in the current state (none when `e` does not apply).
  action_list on(const event& e) noexcept;
  /// Same, appended to `out`.
  void on(const event& e, std::vector<action>& out) { on(e).append_to(out); }

  /// The current state of Figure 6.
  state current() const noexcept { return state_; }
  /// True once `terminated` has been emitted.
  bool is_terminated() const noexcept { return state_ == state::terminated; }
  /// True when `id` runs (started and neither fired nor cancelled).
  bool timer_running(timer_id id) const noexcept { return timers_.running(id); }

private:
  void on_response(int status, action_list& out) noexcept;
  void on_timer(timer_id id, action_list& out) noexcept;
  void terminate(action_list& out) noexcept;

  detail::compact_timers cfg_;
  uint32_t timer_e_ = 0;          ///< the current Timer E interval (ms)
  detail::timer_set timers_;
  state state_ = state::idle;
  reliability rel_;
};

} // namespace centralita::sip::txn
