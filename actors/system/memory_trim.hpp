#pragma once

#include "drivers/uring/reactor.hpp"

#include <chrono>

namespace centralita::actors {

/// Gives freed heap back to the kernel every `interval` (10 s; malloc_trim(0) on
/// one reactor's thread). main() tells glibc to keep freed memory for reuse
/// instead of trimming arena tops on every free (which cost 15% of a proxied
/// call's CPU in page faults); this is the other half, so that memory a burst
/// used (transactions live 32 s after a flood of REGISTERs) does not stay
/// resident for ever. malloc_trim locks one arena at a time: a worker that
/// allocates meanwhile waits for that arena (around a millisecond per 100 MB
/// of free chunks).
class memory_trim final : public drivers::timer_target {
public:
  memory_trim(drivers::reactor& r, std::chrono::milliseconds interval);
  /// Any thread: arms the first trim on the reactor's thread.
  void start();

  void on_timer(uint64_t) override;

private:
  void arm();

  drivers::reactor& reactor_;
  std::chrono::milliseconds interval_;
};

} // namespace centralita::actors
