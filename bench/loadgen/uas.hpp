#pragma once

// The built-in UAS of the `call` scenario (centralita-bench call --uas): a
// SIP UDP endpoint on the engine's reactor that answers every INVITE with
// 180 and 200 (after an optional ring time), retransmits the 200 until its
// ACK (RFC 3261 §13.3.1.4), answers BYE, CANCEL (200 + 487) and OPTIONS.
// It keeps one small record per call (by Call-ID), so it can carry the
// calls of a load test without being the bottleneck; answers are built from
// the request's own header lines (sip_scan.hpp: scan_request).
//
// Before a run, register_binding() makes the callee reachable through a
// registrar-proxy: a REGISTER of the callee's AoR with the UAS as Contact
// (digest auth answered once when challenged).

#include "bench/loadgen/sip_scan.hpp"
#include "drivers/net/endpoint.hpp"
#include "drivers/transport/transport.hpp"
#include "drivers/timer/timer_wheel.hpp"
#include "protocols/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace centralita::drivers {
class reactor;
class udp_socket;
struct transport_counters;
} // namespace centralita::drivers

namespace centralita::loadgen {

class latency_histogram;

/// Appends a response to `req` (RFC 3261 §8.2.6): the status line, the
/// request's Via lines, From, To (with `to_tag` added when the request's To
/// has none), Call-ID and CSeq; for a dialog-creating answer
/// (`record_route`) its Record-Route lines too (§12.1.1); a Contact when
/// `contact` is set; Content-Length: 0.
void build_response(std::string& out, const scanned_request& req, int code,
                    std::string_view reason, std::string_view to_tag, std::string_view contact,
                    bool record_route);

struct uas_config {
  std::string contact;                      ///< "<sip:uas@127.0.0.1:5080>"
  std::chrono::milliseconds ring{0};        ///< 180 at once, the 200 this much later
  std::chrono::milliseconds t1{500};        ///< RFC 3261 T1, T2: the 200's retransmissions
  std::chrono::milliseconds t2{4000};
};

struct uas_counters {
  uint64_t invites = 0;           ///< new calls
  uint64_t answered = 0;          ///< 200 sent
  uint64_t acks = 0;              ///< ACKs of our 200s
  uint64_t byes = 0;              ///< BYEs answered 200
  uint64_t cancels = 0;           ///< CANCELs that stopped a ringing call
  uint64_t retransmissions = 0;   ///< our final answers sent again (timer or request retransmission)
  uint64_t ack_timeouts = 0;      ///< 200s never ACKed (64·T1)
  uint64_t unknown_dialog = 0;    ///< BYE/CANCEL for no call we know: 481
  uint64_t malformed = 0;         ///< datagrams that did not scan as requests
  // push-wake: the phones' REGISTERs after their push
  uint64_t wakes = 0;             ///< REGISTERs sent
  uint64_t woke = 0;              ///< ... answered 2xx
  uint64_t wake_failures = 0;     ///< ... answered otherwise, or timed out
  uint64_t woken_invites = 0;     ///< INVITEs for a phone after its REGISTER
};

/// A phone's REGISTER after its push (push-wake): from the UAS's socket, with
/// the UAS as Contact, so the registrar forks the waiting call to it.
struct wake_register {
  drivers::endpoint registrar;
  std::string request_uri;   ///< "sip:127.0.0.1:5060"
  std::string aor;           ///< "sip:p1@127.0.0.1:5060"
  std::string user;          ///< the phone's user (digest username)
  std::string password;
  std::string contact;       ///< "<sip:p1@ip:port;pn-provider=...;pn-prid=p1;pn-param=...>"
  std::string call_id;       ///< the phone's registration Call-ID (a refresh: RFC 3261 §10.2.4)
  uint32_t cseq = 1;
  uint32_t expires = 3600;
};

class uas final : public drivers::message_sink, public drivers::timer_target {
public:
  uas(drivers::reactor& r, uas_config cfg);
  ~uas();
  uas(const uas&) = delete;
  uas& operator=(const uas&) = delete;

  /// Opens and starts the UAS socket on `local` (on the reactor's thread).
  result<void> open(const drivers::endpoint& local, const drivers::transport_options& opts,
                    drivers::transport_counters& counters, uint16_t tag);
  /// Closes the socket and cancels every timer (on the reactor's thread).
  void close();

  const uas_counters& counters() const noexcept { return counters_; }
  std::size_t calls() const noexcept { return calls_.size(); }

  /// Sends the REGISTER (Timer E; one digest retry when challenged); its
  /// INVITE's arrival is recorded in `wake_latency` when set.
  void wake(wake_register w);
  /// `realtime_offset_ns`: CLOCK_REALTIME - the reactor's clock, to read the
  /// INVITE's kernel receive time (inbound_message::rx_realtime_ns).
  void set_wake_latency(latency_histogram* h, int64_t realtime_offset_ns) noexcept {
    wake_latency_ = h;
    realtime_offset_ns_ = realtime_offset_ns;
  }

  void on_message(const drivers::inbound_message& msg) override;
  void on_oversized(const drivers::inbound_message&) override { ++counters_.malformed; }
  void on_timer(uint64_t cookie) override;

private:
  enum class state : uint8_t { ringing, answered, confirmed, terminated, closed };
  struct call {
    state at = state::ringing;
    bool answered = false;     ///< a 200 went out
    bool acked = false;
    drivers::endpoint peer;
    std::string to_tag;
    std::string last;          ///< the last answer to the INVITE (sent again on retransmission)
    std::string pending;       ///< the 200 while ringing
    std::string terminated;    ///< the 487 while ringing (for a CANCEL)
    std::chrono::milliseconds interval{0};
    drivers::timer_wheel::clock::time_point deadline;
    drivers::timer_wheel::handle timer;
  };

  void on_invite(const scanned_request& req, const drivers::endpoint& peer);
  void on_ack(const scanned_request& req);
  void on_bye(const scanned_request& req, const drivers::endpoint& peer);
  void on_cancel(const scanned_request& req, const drivers::endpoint& peer);
  void reply(const scanned_request& req, const drivers::endpoint& peer, int code,
             std::string_view reason, std::string_view to_tag);
  void send_final(uint64_t id, call& c, std::string response);
  void arm(uint64_t id, call& c, drivers::timer_wheel::clock::time_point at);
  void forget_later(uint64_t id, call& c);
  void erase(uint64_t id);
  void on_response(std::string_view bytes);
  void send_wake(uint64_t id);
  void on_wake_timer(uint64_t id);

  struct pending_wake {
    wake_register w;
    std::string branch;
    std::string request;
    bool challenged = false;
    std::chrono::milliseconds interval{0};
    drivers::timer_wheel::clock::time_point deadline;
    drivers::timer_wheel::handle timer;
  };
  std::unordered_map<uint64_t, pending_wake> wakes_;     ///< by id (the cookie's low bits)
  std::unordered_map<std::string, drivers::timer_wheel::clock::time_point> woken_at_;  ///< user -> REGISTER sent
  latency_histogram* wake_latency_ = nullptr;
  std::string challenge_answer_;
  int64_t realtime_offset_ns_ = 0;
  drivers::timer_wheel::clock::time_point arrived_;  ///< of the INVITE being handled  ///< scratch: the Authorization line of a retried REGISTER
  uint64_t next_wake_ = 1;

  drivers::reactor& reactor_;
  uas_config cfg_;
  std::unique_ptr<drivers::udp_socket> socket_;
  std::unordered_map<std::string, uint64_t> by_call_id_;
  std::unordered_map<uint64_t, call> calls_;
  std::unordered_map<uint64_t, std::string> call_ids_;
  uint64_t next_id_ = 1;
  uas_counters counters_;
  std::string scratch_;
};

/// REGISTERs `aor` ("sip:uas@host") at `target` with `contact` ("<sip:uas@ip:port>"),
/// Expires `expires` (0: removes it), from a plain UDP socket, retransmitting
/// (Timer E) within `timeout`; a 401/407 is answered once with digest
/// credentials (`user`, `password`). Errors say what the registrar answered.
result<void> register_binding(const drivers::endpoint& target, std::string_view request_uri,
                              std::string_view aor, std::string_view user,
                              std::string_view password, std::string_view contact,
                              uint32_t expires, std::chrono::milliseconds timeout,
                              std::string_view call_id = {}, uint32_t first_cseq = 1);

} // namespace centralita::loadgen
