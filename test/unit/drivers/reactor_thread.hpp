#pragma once

// One reactor driven by its own thread, as a scheduler worker would drive it
// (driver tests that need a running event loop).

#include "drivers/uring/reactor.hpp"

#include <atomic>
#include <thread>

namespace centralita::test {

class reactor_thread {
public:
  explicit reactor_thread(drivers::reactor& r) : r_(r) {
    thread_ = std::thread([this] { r_.run(stop_); });
  }
  ~reactor_thread() {
    stop_.store(true);
    r_.post([] {});
    thread_.join();
  }
  reactor_thread(const reactor_thread&) = delete;
  reactor_thread& operator=(const reactor_thread&) = delete;

private:
  drivers::reactor& r_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace centralita::test
