#include "actors/system/memory_trim.hpp"

#include <malloc.h>
#include <pthread.h>

namespace centralita::actors {

memory_trim::memory_trim(std::chrono::milliseconds interval, std::shared_ptr<spdlog::logger> log)
  : interval_(interval), log_(std::move(log)) {}

memory_trim::~memory_trim() {
  {
    std::lock_guard lock(mtx_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void memory_trim::start() {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "malloc_trim");
}

void memory_trim::run() {
  std::unique_lock lock(mtx_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    auto t0 = std::chrono::steady_clock::now();
    malloc_trim(0);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
    if (ms > 20 && log_)
      log_->info("malloc_trim took {} ms", ms);
    lock.lock();
  }
}

} // namespace centralita::actors
