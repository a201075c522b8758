#pragma once

#include "drivers/uring/mpsc_queue.hpp"
#include "drivers/uring/reactor.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>
#include "actors/system/quiet_clock.hpp"

#include <caf/scheduler/coordinator.hpp>

#include <atomic>
#include <deque>
#include <stdexcept>
#include <vector>

namespace centralita::actors {

/// An actor_system_config that carries the reactors our scheduler runs on
/// (one per worker thread). The reactors outlive the actor system.
class uring_system_config : public caf::actor_system_config {
public:
  std::vector<drivers::reactor*> reactors;
};

namespace detail {
/// The scheduler worker running on this thread (nullptr elsewhere).
inline thread_local void* current_worker = nullptr;
} // namespace detail

/// CAF scheduler policy whose worker threads each own an io_uring reactor and
/// sleep on it, so one wait covers I/O completions, posted work, timers and
/// "an actor became runnable" (DESIGN.md, Threads).
///
/// Each worker keeps a local run queue that only it touches (actors woken by
/// code running on the worker, including I/O completions, stay on it: no
/// thread hop from datagram to shard actor), plus a lock-free inbox for jobs
/// from other threads, which also wakes it through the reactor's eventfd when
/// (and only when) it sleeps. I/O is polled at least every `poll_interval`
/// jobs so a busy worker never starves its sockets; SQEs queued by the jobs
/// (sends) are submitted in one batch when the run queue drains.
class uring_policy : public caf::policy::unprofiled {
public:
  static constexpr unsigned poll_interval = 64;

  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator* self) {
      auto* cfg = dynamic_cast<const uring_system_config*>(&self->system().config());
      if (cfg == nullptr || cfg->reactors.empty())
        throw std::logic_error("uring_policy needs a uring_system_config with reactors");
      reactors = cfg->reactors;
    }
    std::vector<drivers::reactor*> reactors;
    std::atomic<std::size_t> next{0};
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}
    // CAF copies one prototype into every worker: each gets fresh queues.
    worker_data(const worker_data&) {}
    std::deque<caf::resumable*> local;
    drivers::mpsc_queue<caf::resumable*> inbox;
    drivers::reactor* reactor = nullptr;
    unsigned since_poll = 0;
  };

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    using worker_type = typename Coordinator::worker_type;
    auto* w = static_cast<worker_type*>(detail::current_worker);
    if (w != nullptr && w->parent() == self) {
      d(w).local.push_back(job);
      return;
    }
    auto n = self->data().reactors.size();
    auto i = self->data().next.fetch_add(1, std::memory_order_relaxed) % n;
    external_enqueue(self->worker_by_id(i), job);
  }

  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    if (detail::current_worker == self) {
      d(self).local.push_back(job);
      return;
    }
    d(self).inbox.push(job);
    reactor_of(self)->wake();
  }

  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    d(self).local.push_back(job);
  }

  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    d(self).local.push_back(job);
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& wd = d(self);
    if (wd.reactor == nullptr) {
      wd.reactor = reactor_of(self);
      wd.reactor->bind_to_current_thread();
      detail::current_worker = self;
    }
    auto& r = *wd.reactor;
    for (;;) {
      if (!wd.local.empty() && wd.since_poll < poll_interval) {
        ++wd.since_poll;
        auto* job = wd.local.front();
        wd.local.pop_front();
        return job;
      }
      wd.since_poll = 0;
      wd.inbox.drain([&](caf::resumable*&& job) { wd.local.push_back(job); });
      r.run_posted();
      r.poll();
      r.submit();  // one syscall for every send the last jobs queued
      if (!wd.local.empty())
        continue;
      r.begin_sleep();
      if (!wd.inbox.empty() || r.has_posted()) {
        r.end_sleep();
        continue;
      }
      r.wait();
      r.end_sleep();
    }
  }

  template <class Worker>
  void before_shutdown(Worker* self) {
    if (detail::current_worker == self)
      detail::current_worker = nullptr;
  }

  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker* self, UnaryFunction f) {
    auto& wd = d(self);
    wd.inbox.drain([&](caf::resumable*&& job) { wd.local.push_back(job); });
    while (!wd.local.empty()) {
      auto* job = wd.local.front();
      wd.local.pop_front();
      f(job);
    }
  }

  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator*, UnaryFunction) {
    // no central queue
  }

private:
  template <class Worker>
  static drivers::reactor* reactor_of(Worker* self) {
    return self->parent()->data().reactors[self->id()];
  }
};

/// The scheduler module to load: `cfg.load<uring_coordinator>()`. CAF's
/// coordinator with our policy, whose clock() is a quiet_clock in front of
/// the coordinator's own (which its caf.clock thread still drives).
class uring_coordinator : public caf::scheduler::coordinator<uring_policy> {
public:
  using super = caf::scheduler::coordinator<uring_policy>;

  explicit uring_coordinator(caf::actor_system& sys) : super(sys), quiet_(super::clock()) {}

  static caf::actor_system::module* make(caf::actor_system& sys, caf::detail::type_list<>) {
    return new uring_coordinator(sys);
  }

  quiet_clock& clock() noexcept override { return quiet_; }

private:
  quiet_clock quiet_;
};

} // namespace centralita::actors
