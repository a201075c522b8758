#pragma once

#include "actors/config/config.hpp"
#include "actors/system/logging.hpp"
#include "protocols/util/result.hpp"

#include <memory>

namespace centralita::actors {

/// The whole switch: reactors (one per worker), transports, the CAF actor
/// system on the io_uring scheduler, and the actors. Built from one config
/// snapshot; start() brings it up, stop() takes it down in reverse order.
class switch_app {
public:
  static result<std::unique_ptr<switch_app>> create(config::snapshot cfg, const loggers& logs);
  ~switch_app();

  /// Starts the workers and arms the sockets. Non-blocking.
  result<void> start();
  /// Stops actors, then workers, then sockets. Idempotent.
  void stop();
  /// Reads the routing script again and, if it compiles, hands it to every
  /// script VM (SIGHUP): new routings use it, running ones finish on theirs.
  result<void> reload_script();
  /// One line of live gauges (calls, registrations, scripts, events).
  std::string status() const;
  /// One line of counters for the shutdown log.
  std::string summary() const;

  struct impl;

private:
  explicit switch_app(std::unique_ptr<impl> p);
  result<void> start_web();
  std::unique_ptr<impl> impl_;
};

/// Blocks SIGINT/SIGTERM/SIGHUP/SIGUSR1 (call before any thread starts) and
/// ignores SIGPIPE.
void block_shutdown_signals();
/// Waits for SIGINT, SIGTERM, SIGHUP (reload) or SIGUSR1 (status line);
/// returns the signal number.
int wait_for_signal();

} // namespace centralita::actors
