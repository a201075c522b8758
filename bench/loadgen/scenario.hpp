#pragma once

// A load-generator scenario: what one attempt sends and when it has
// succeeded. The engine (engine.hpp) owns the sockets, the client
// transactions (branches, Timer E retransmissions, timeouts) and the
// counters; a scenario only writes requests and judges final responses,
// through `client_ops`. So a scenario's state machine is unit-tested with a
// fake `client_ops`, without sockets or a clock.
//
// An attempt lives in a slot (0 <= slot < the concurrency cap) from begin()
// until it calls finish(); a slot runs one client transaction at a time.

#include "bench/loadgen/sip_scan.hpp"
#include "bench/loadgen/users.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace centralita::loadgen {

/// What a scenario may do (implemented by the engine; by a fake in tests).
class client_ops {
public:
  /// The Via sent-by of the slot's socket: "127.0.0.1:40312".
  virtual std::string_view sent_by(uint32_t slot) const = 0;
  /// A fresh branch for the slot's next transaction (valid until the next call).
  virtual std::string_view next_branch(uint32_t slot) = 0;
  /// The slot's request buffer, emptied: the scenario writes the request into
  /// it (with the branch from next_branch()) and then calls send().
  virtual std::string& request(uint32_t slot) = 0;
  /// Starts the slot's client transaction with the request just written
  /// (RFC 3261 §17.1.1 for INVITE: Timer A until a provisional answer;
  /// §17.1.2 for the others: Timer E): responses whose CSeq method is not
  /// `method` do not match it.
  virtual void send(uint32_t slot, std::string_view method) = 0;
  /// Records now − the attempt's start in the "response" latency histogram.
  virtual void record_latency(uint32_t slot) = 0;
  /// ... or in a named one ("setup": INVITE to 200, "pdd": INVITE to 18x).
  virtual void record_latency(uint32_t slot, std::string_view histogram) = 0;
  /// Sends the request just written outside any client transaction: the ACK
  /// of an INVITE's final answer (RFC 3261 §17.1.1.3 for non-2xx, §13.2.2.4
  /// for 2xx). The engine keeps it and sends it again whenever a
  /// retransmission of that INVITE's final answer arrives (the answerer
  /// retransmits until it has the ACK: §13.3.1.4, §17.2.1).
  virtual void send_ack(uint32_t slot) = 0;
  /// Where the slot's requests go from now on, until its attempt ends: the
  /// host and port of a SIP URI (the first Route of a dialog's route set, or
  /// its remote target: RFC 3261 §12.2.1.1, §8.1.2). False, and the target
  /// stays the next hop, when the URI names no numeric address.
  virtual bool set_next_hop(uint32_t slot, std::string_view uri) = 0;
  /// Calls scenario::on_wake for the slot after `delay` (a call's hold time).
  virtual void wake_after(uint32_t slot, std::chrono::milliseconds delay) = 0;
  /// Ends the attempt: success when `failure_cause` is empty, else counted
  /// under that cause ("timeout", "transport", "404", ...).
  virtual void finish(uint32_t slot, std::string_view failure_cause) = 0;
  /// A per-run token for Call-IDs and tags (8 hex digits).
  virtual std::string_view run_token() const = 0;
  /// The Via transport ("UDP", "TCP") and what a Contact adds for it
  /// (";transport=tcp", RFC 3261 §19.1.1).
  virtual std::string_view via_transport() const { return "UDP"; }
  virtual std::string_view contact_params() const { return {}; }

protected:
  ~client_ops() = default;
};

class scenario {
public:
  virtual ~scenario() = default;
  virtual std::string_view name() const = 0;
  /// The engine will use slots [0, n): size per-slot state once.
  virtual void resize(std::size_t slots) = 0;
  /// Which local socket attempt `number` uses (register: by user, so that a
  /// user's Contact is the same on every refresh). Runs of `socket_run`
  /// consecutive attempts share a socket: the requests of one tick then go
  /// out from one source port, to one worker of a SO_REUSEPORT target, which
  /// wakes one thread per burst instead of all of them (on loopback the
  /// sender pays for those wake-ups); over a second, the sockets take turns.
  virtual unsigned socket_for(uint64_t number, unsigned sockets) const {
    return static_cast<unsigned>((number / socket_run) % sockets);
  }
  static constexpr uint64_t socket_run = 32;
  /// Attempt `number` (0-based) starts in `slot`: write and send its first request.
  virtual void begin(client_ops& ops, uint32_t slot, uint64_t number) = 0;
  /// A provisional response (1xx) matched the slot's current transaction.
  virtual void on_provisional(client_ops&, uint32_t /*slot*/, const scanned_response&) {}
  /// A final response (>= 200) matched the slot's current transaction.
  virtual void on_final(client_ops& ops, uint32_t slot, const scanned_response& r) = 0;
  /// The delay asked for with client_ops::wake_after is over.
  virtual void on_wake(client_ops&, uint32_t /*slot*/) {}
  /// The slot's transaction got no final answer in time (Timer F, RFC 3261 §17.1.2.2).
  virtual void on_timeout(client_ops& ops, uint32_t slot) { ops.finish(slot, "timeout"); }
  /// The network said the target is unreachable (ICMP; RFC 3261 §8.1.3.1).
  virtual void on_transport_error(client_ops& ops, uint32_t slot) { ops.finish(slot, "transport"); }
};

/// A status code as a failure cause ("486").
inline std::string status_text(int status) {
  char buf[12];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), status);
  return std::string(buf, end);
}

/// Appends `v` in lowercase hex without leading zeros (Call-IDs, tags).
inline void append_hex(std::string& out, uint64_t v) {
  static constexpr char hex[] = "0123456789abcdef";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = hex[v & 0xf];
    v >>= 4;
  } while (v != 0);
  while (n > 0)
    out += buf[--n];
}

/// What every scenario knows of the target.
struct target_params {
  std::string uri;     ///< "sip:127.0.0.1:5060": Request-URI of OPTIONS, To of both
  std::string host;    ///< "127.0.0.1" (the domain, unless --domain says otherwise)
};

/// `options`: one OPTIONS per attempt (RFC 3261 §11); success is 2xx.
std::unique_ptr<scenario> make_options_scenario(target_params target);

struct register_params {
  target_params target;
  std::string domain;          ///< AoR domain; empty: target.host
  user_source users;
  uint32_t expires = 3600;     ///< Expires of the REGISTER (RFC 3261 §10.2.1.1)
  bool unregister = false;     ///< afterwards, REGISTER with Expires: 0 (§10.2.2)
};

/// `register`: REGISTER user n % users; on 401/407 one retry with digest
/// credentials (RFC 3261 §22.2, MD5 / SHA-256 per RFC 8760); success is a 200
/// after at most one challenge (latency: first REGISTER to that 200); with
/// `unregister`, then REGISTER Expires: 0 (credentials sent up front with the
/// same nonce, nc=2) which must also end in 200 (else "unregister:<cause>").
std::unique_ptr<scenario> make_register_scenario(register_params params);

struct call_params {
  target_params target;
  std::string domain;          ///< of the callee's and caller's AoR; empty: target host:port
  std::string callee = "uas";  ///< INVITE sip:<callee>@<domain>
  std::string caller = "centralita-bench";
  std::chrono::milliseconds hold{0};  ///< between the ACK and the BYE
  /// push-wake: attempt n calls user n % size() of these instead of `callee`.
  std::optional<user_source> callees;
};

/// `call`: INVITE (Timer A/B) -> 1xx -> 200 -> ACK (sent again for every
/// retransmitted 200) -> hold -> BYE -> 200 (RFC 3261 §13, §15). The dialog's
/// remote target and route set come from the 200 (§12.1.2): in-dialog
/// requests go to the first Route (loose routing) or the Contact. Latencies:
/// "pdd" (INVITE to the first 18x) and "setup" (INVITE to 200). Failures: the
/// INVITE's final status ("486", ...; its ACK sent hop by hop), "timeout",
/// "transport", "no-contact" (a 200 without Contact), "bye:<cause>".
std::unique_ptr<scenario> make_call_scenario(call_params params);

} // namespace centralita::loadgen
