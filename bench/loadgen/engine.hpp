#pragma once

// The load generator's engine: one io_uring reactor on its own thread, a few
// UDP sockets on it (one source port each, to spread the load over the
// target's workers), client transactions keyed by the top Via branch we
// generate, and the pacing of attempts. Scenarios (scenario.hpp) write the
// requests and judge the answers; the engine counts everything into a
// run_report.
//
/// Lifetime: create() starts the engine thread, which opens the reactor (the
/// ring's only issuer: reactor::options::single_issuer) and the sockets and
/// waits (errors: the thread is gone and create() returns them); start() lets
/// it start attempts at the paced rate until the count or the duration is
/// reached, and the run ends once every attempt is final or timed out;
/// wait() tells the caller when that happened; report() is read after wait()
/// returned true. The engine owns the thread, which owns the reactor and the
/// sockets; the scenario outlives the engine.

#include "bench/loadgen/rate.hpp"
#include "bench/loadgen/report.hpp"
#include "bench/loadgen/scenario.hpp"
#include "bench/loadgen/uas.hpp"
#include "drivers/net/endpoint.hpp"
#include "protocols/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace centralita::loadgen {

struct engine_config {
  drivers::endpoint target;
  std::string target_name;           ///< for the report ("sip:127.0.0.1:5060")
  drivers::endpoint local;           ///< address the sockets bind (port ignored)
  unsigned sockets = 4;              ///< UDP sockets, or TCP connections with `tcp`
  bool tcp = false;                  ///< RFC 3261 §18 over TCP (no retransmissions)
  pacer pace = pacer::fixed(100);
  double rate_offered = 100;         ///< for the report
  uint64_t count = 1000;             ///< attempts to start; 0: bounded by `duration` only
  std::chrono::nanoseconds duration{0};  ///< 0: bounded by `count` only
  uint64_t max_inflight = 10000;     ///< attempts in progress at most; more wait
  bool retransmit = true;            ///< RFC 3261 §17.1.2.2 Timer E
  std::chrono::milliseconds t1{500};    ///< RFC 3261 §17.1.1.1 T1
  std::chrono::milliseconds t2{4000};   ///< T2
  std::chrono::milliseconds timeout{32000};  ///< Timer F (64·T1)
  bool progress = false;             ///< a live line on stderr once a second
  /// While answers are awaited, handle them once per tick (their kernel
  /// receive timestamps keep latencies exact); 0: wake for every answer.
  std::chrono::microseconds tick{1000};
  /// The built-in UAS (call --uas): its socket on the same reactor.
  std::optional<drivers::endpoint> uas_local;
  uas_config uas;
  /// push-wake: the phones' push gateway, and how a pushed phone registers
  /// again (from the UAS, which then takes the call).
  struct push_wake {
    drivers::endpoint webhook;          ///< where the webhook server listens
    std::string request_uri;            ///< of the phones' REGISTERs
    std::string domain;                 ///< of their AoRs
    std::string password;
    std::string pn_provider = "webhook";
    std::string pn_param = "centralita-bench";
    std::chrono::milliseconds wake_delay{0};  ///< push received -> REGISTER sent
    uint32_t expires = 3600;
  };
  std::optional<push_wake> push;
};

/// Counters the report does not carry (for the final notes of the CLI).
struct engine_extras {
  uint64_t responses = 0;      ///< answers received (any, parseable or not)
  uint64_t stray = 0;          ///< well-formed answers that matched no live transaction
  uint64_t unreachable = 0;    ///< ICMP errors for our datagrams
  uint64_t send_errors = 0;
  uint64_t truncated = 0;      ///< datagrams larger than a receive buffer (dropped)
  uint64_t no_buffers = 0;     ///< the receive buffer ring ran dry (the kernel dropped)
  uint64_t acks_resent = 0;    ///< ACKs sent again for retransmitted INVITE answers
  bool uas_enabled = false;
  uint64_t pushes = 0;          ///< push-wake: pushes received by the webhook
  uint64_t pushes_unmatched = 0;  ///< ... for no call in progress of this run
  uas_counters uas;            ///< the built-in UAS's, when it ran
};

/// push-wake: the phones' registration Call-ID (the same for the first
/// REGISTER and the one after each push: refreshes, RFC 3261 §10.2.4) and
/// their Contact (RFC 8599 parameters; pn-prid is the user's name).
std::string phone_call_id(std::string_view user);
std::string phone_contact(std::string_view user, std::string_view hostport,
                          const engine_config::push_wake& p);

class engine {
public:
  static result<std::unique_ptr<engine>> create(engine_config cfg, scenario& s);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Launches the reactor thread: attempts start at once.
  void start();
  /// Waits up to `limit` for the run to end; true once it has (the thread is joined).
  bool wait(std::chrono::milliseconds limit);
  /// Any thread: start no more attempts; those in progress run to their end.
  void stop_starting();
  /// Any thread: give up at once; attempts in progress fail as "aborted".
  void abort();

  /// After wait() returned true.
  run_report report() const;
  engine_extras extras() const;

  struct impl;

private:
  explicit engine(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace centralita::loadgen
