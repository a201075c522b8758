#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace centralita::actors {

/// Gives freed heap back to the kernel every `interval` (10 s; malloc_trim(0)).
/// main() tells glibc to keep freed memory for reuse instead of trimming arena
/// tops on every free (which cost 15% of a proxied call's CPU in page faults);
/// this is the other half, so that memory a burst used (transactions live 32 s
/// after a flood of REGISTERs) does not stay resident for ever.
///
/// It runs on a thread of its own, not on a worker: with a large heap (100,000
/// suspended routings: 700 MB) one malloc_trim takes tens of milliseconds, and
/// a worker doing it stalls every request it owns that long. malloc_trim locks
/// one arena at a time, so a worker allocating meanwhile waits for that arena
/// only. Trims slower than 20 ms are logged.
class memory_trim {
public:
  memory_trim(std::chrono::milliseconds interval, std::shared_ptr<spdlog::logger> log);
  ~memory_trim();
  memory_trim(const memory_trim&) = delete;
  memory_trim& operator=(const memory_trim&) = delete;

  void start();

private:
  void run();

  std::chrono::milliseconds interval_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace centralita::actors
