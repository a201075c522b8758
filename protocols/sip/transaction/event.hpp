#pragma once

// The vocabulary shared by the four RFC 3261 §17 transaction state machines
// (client_invite, client_non_invite, server_invite, server_non_invite): timer
// configuration, states, events in and actions out.
//
// Shape: each machine is a small value; `on(event)` returns the actions its owner
// must carry out (send the request again, start Timer E for 1 s, pass a 180 to
// the TU, free the transaction). The machine never sees bytes, sockets or clocks:
//  - the owner keeps the bytes (request, last response, ACK) and sends them when
//    told to;
//  - timers are relative (`start_timer{E, 1000ms}`); the owner anchors them at its
//    own `now` on its timing wheel and feeds `timer_fired` back. So the functions
//    are (state, event) -> actions and need no `now` at all: virtual time in tests
//    is just the order in which the test fires timers;
//  - a machine tracks which timers it has running and ignores a `timer_fired` for
//    a timer it did not start or has cancelled, so a late firing that raced a
//    cancel is harmless.
// An event a state does not handle is ignored (no action). `terminated` is the last
// action a machine ever emits, exactly once, preceded by `cancel_timer` for every
// timer still running; afterwards every event yields nothing.

#include "protocols/util/result.hpp"

#include <array>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace centralita::sip::txn {

/// RFC 3261 §17.1.1.1 and Table 4: the base timer values, configurable (§17:
/// T1 may be raised on high-latency links). `d` is Timer D on unreliable
/// transports, which §17.1.1.2 wants "at least 32 seconds".
struct timer_config {
  std::chrono::milliseconds t1{500};    ///< RTT estimate (default 500 ms)
  std::chrono::milliseconds t2{4000};   ///< cap of non-INVITE and Timer G retransmission intervals
  std::chrono::milliseconds t4{5000};   ///< how long a message may stay in the network
  std::chrono::milliseconds d{32000};   ///< Timer D on unreliable transports (>= 32 s)
};

/// The timers of RFC 3261 Table 4 plus RFC 6026's L and M. C belongs to the
/// proxy (§16.6 step 11), not to a transaction, so it is not here.
enum class timer_id : uint8_t { A, B, D, E, F, G, H, I, J, K, L, M };
inline constexpr size_t timer_count = 12;

/// Whether the transport retransmits for us (§17.1.1.2: "reliable" is TCP, TLS,
/// SCTP, WebSocket). Retransmission timers A, E, G run only on unreliable ones,
/// and D, I, J, K are zero on reliable ones.
enum class reliability : uint8_t { unreliable, reliable };

/// The states of the four figures (each machine uses a subset, listed in its
/// header). `idle` is the entry arrow of a figure: nothing sent or received yet.
/// `accepted` is RFC 6026's state for INVITE transactions after a 2xx.
enum class state : uint8_t {
  idle, calling, trying, proceeding, completed, confirmed, accepted, terminated
};

// ---- events (into a machine) ----

/// Client: the TU hands over the request to send (starts the transaction).
struct request_from_tu {};
/// Server: the TU passes a response to send (any status 100..699).
struct response_from_tu { int status; };
/// Server: the request that created the transaction, or a retransmission of it.
struct request_received {};
/// Server INVITE: an ACK matched this transaction (§17.2.3).
struct ack_received {};
/// Client: a response matched this transaction (§17.1.3).
struct response_received { int status; };
/// A timer the machine started has fired.
struct timer_fired { timer_id id; };
/// The transport reported a failure sending for this transaction (ICMP
/// unreachable, connection refused or reset), §17.1.4 / §17.2.4.
struct transport_error {};

/// Everything that can happen to a transaction.
using event = std::variant<request_from_tu, response_from_tu, request_received, ack_received,
                           response_received, timer_fired, transport_error>;

// ---- actions (out of a machine) ----

/// Send (or re-send) the request the owner keeps.
struct send_request {};
/// Send the response the TU just passed in, or re-send the last one sent. The owner
/// stores a TU response as "the last response" only when this action answers it:
/// a response the machine ignores (e.g. a final response in Completed) is dropped.
struct send_response {};
/// Client INVITE: send (or re-send) the ACK for the non-2xx final response
/// (§17.1.1.3 says how the owner builds it from the request and the response).
struct send_ack {};
/// Start a timer to fire `after` from now (the owner's now).
struct start_timer { timer_id id; std::chrono::milliseconds after; };
/// Cancel a running timer.
struct cancel_timer { timer_id id; };
/// Client: pass the response with this status to the TU. Server: `status == 0`
/// passes the received request (or the ACK of a 2xx, RFC 6026 §8.7) to the TU.
struct pass_to_tu { int status; };
/// Timer B, F or H fired: the transaction failed by timeout (a client TU treats it
/// as a 408, §8.1.3.1; a server TU learns the ACK never came, §17.2.1).
struct timeout {};
/// The transport failed (§17.1.4, §17.2.4): a client TU treats it as a 503
/// (§8.1.3.1); a server TU is informed.
struct transport_failed {};
/// The transaction is over: the owner frees it. Always the last action.
struct terminated {};

/// Everything a machine can ask its owner to do.
using action = std::variant<send_request, send_response, send_ack, start_timer, cancel_timer,
                            pass_to_tu, timeout, transport_failed, terminated>;

/// The actions of one transition, in the order to carry them out. Fixed capacity,
/// no allocation: no transition of the four figures emits more than 5.
class action_list {
public:
  static constexpr size_t capacity = 8;

  /// Appends an action (the machines never exceed `capacity`).
  void push(const action& a) noexcept {
    assert(size_ < capacity);
    if (size_ < capacity) items_[size_++] = a;
  }
  const action* begin() const noexcept { return items_.data(); }
  const action* end() const noexcept { return items_.data() + size_; }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const action& operator[](size_t i) const noexcept { return items_[i]; }
  /// Appends every action to `out` (for owners that collect into a vector).
  void append_to(std::vector<action>& out) const { out.insert(out.end(), begin(), end()); }

private:
  std::array<action, capacity> items_{};
  uint8_t size_ = 0;
};

/// The timer's letter ("A" ... "M").
const char* to_string(timer_id id) noexcept;
/// The state's name ("calling", ...).
const char* to_string(state s) noexcept;
/// One action for logs and test messages: "start_timer(E, 1000ms)", "pass_to_tu(180)".
std::string to_string(const action& a);
/// One event for logs and test messages: "response_received(200)", "timer_fired(A)".
std::string to_string(const event& e);

/// Checks the values once, when config is loaded: T1 > 0, T2 >= T1, T4 > 0,
/// D >= 32 s (RFC 3261 §17.1.1.2), and every derived timer (64*T1, D) under one
/// hour. Errors are `errc::invalid_argument` naming the offending value.
result<void> validate(const timer_config& cfg);

} // namespace centralita::sip::txn
