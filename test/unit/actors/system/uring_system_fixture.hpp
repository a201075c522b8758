#pragma once

// Shared by the actor tests that run on the real io_uring scheduler: two
// reactors, our coordinator, CAF's logger quiet; exits 77 (ctest skip) when
// the kernel has no usable io_uring.

#include "actors/system/uring_policy.hpp"

#include <gtest/gtest.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <vector>

namespace centralita::test {

struct uring_system_fixture : ::testing::Test {
  void SetUp() override {
    auto f = drivers::probe_uring();
    if (!f.available) {
      std::fprintf(stderr, "skipping: %s\n", f.why_unavailable.c_str());
      std::exit(77);
    }
    for (unsigned i = 0; i < 2; ++i)
      reactors.push_back(std::move(drivers::reactor::create(i, {}).value()));
    for (auto& r : reactors) {
      cfg.reactors.push_back(r.get());
      raw.push_back(r.get());
    }
    cfg.set("scheduler.max-threads", size_t{2});
    cfg.set("scheduler.max-throughput", size_t{64});
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.load<actors::uring_coordinator>();
  }

  /// Waits (bounded: 5 s in 10 ms steps) until `done` holds.
  static void wait_until(caf::actor_system& sys, const std::function<bool()>& done) {
    caf::scoped_actor self{sys};
    for (int i = 0; i < 500 && !done(); ++i)
      self->receive(caf::after(std::chrono::milliseconds(10)) >> [] {});
  }

  std::vector<std::unique_ptr<drivers::reactor>> reactors;
  std::vector<drivers::reactor*> raw;
  actors::uring_system_config cfg;
};

} // namespace centralita::test
