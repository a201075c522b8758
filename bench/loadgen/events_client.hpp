#pragma once

// The `events` scenario's subscribers: N WebSocket connections to the
// switch's /events on one io_uring reactor (TCP connect, recv and send as
// ring operations), each driven by a `subscriber` (events_subscriber.hpp).
//
/// Lifetime: create() starts a thread that opens the reactor (its only
/// issuer: reactor::options::single_issuer), connects every subscriber at
/// once and runs until the run ends: every subscriber has what it waits for
/// (--count events; with a driver, once driver_done() said how many, the
/// driven events), or the drain after driver_done(), or the duration, or
/// stop(); then it closes the streams (close 1000, a bounded wait for the
/// switch's answer) and the sockets. ready() tells the caller when every
/// subscriber has its hello or has failed (the moment to start the driver);
/// wait() when the run is over; take_result() is called once after it. The
/// client owns the thread, the reactor, the sockets and the subscribers.

#include "bench/loadgen/events_subscriber.hpp"
#include "drivers/net/endpoint.hpp"
#include "protocols/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace centralita::loadgen {

struct events_client_config {
  drivers::endpoint server;          ///< the switch's HTTP listener
  subscriber::setup base;            ///< Host, resource, token, driven event (slow is set per subscriber)
  unsigned subscribers = 10;
  unsigned slow = 0;                 ///< the first `slow` subscribers stop reading after one event...
  std::chrono::milliseconds slow_pause{3000};  ///< ... for this long
  std::chrono::milliseconds connect_timeout{5000};  ///< to the hello
  std::chrono::milliseconds duration{10000};   ///< the whole run, at most
  std::chrono::milliseconds drain{5000};       ///< after driver_done(), at most
  std::optional<uint64_t> count;     ///< events each subscriber waits for
  bool driven = false;               ///< a driver runs: wait for driver_done()
  bool progress = false;             ///< a live line on stderr once a second
};

/// One second of the run.
struct events_second {
  double t = 0;              ///< seconds since the start (end of the interval)
  uint64_t delivered = 0;    ///< events received in this second (all subscribers)
  uint64_t connected = 0;    ///< subscribers with their hello so far
  uint64_t failed = 0;       ///< subscribers that failed to connect so far
  uint64_t p99_us = 0;       ///< delivery latency of this second's events
};

struct events_run_result {
  std::vector<subscriber_outcome> subscribers;
  latency_histogram delivery;       ///< to the subscribers that read at once
  latency_histogram delivery_slow;  ///< to the slow ones (their pause included)
  std::vector<events_second> timeline;
  double elapsed_s = 0;            ///< from the first connect to the end of the run
  double streaming_s = 0;          ///< from the moment all were ready to the end (for events/s)
  std::optional<uint64_t> expected;  ///< driven events owed to each subscriber
};

class events_client {
public:
  static result<std::unique_ptr<events_client>> create(events_client_config cfg);
  ~events_client();
  events_client(const events_client&) = delete;
  events_client& operator=(const events_client&) = delete;

  /// Any thread: every subscriber has its hello or has failed.
  bool ready() const;
  /// Any thread: subscribers with their hello.
  uint64_t connected() const;
  /// Any thread: the driver is done; each subscriber is owed `expected`
  /// events of the driven kind. The drain starts.
  void driver_done(uint64_t expected);
  /// Any thread: end the run now.
  void stop();
  /// Waits up to `limit` for the run to end; true once it has (thread joined).
  bool wait(std::chrono::milliseconds limit);
  /// After wait() returned true.
  events_run_result take_result();

  struct impl;

private:
  explicit events_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace centralita::loadgen
