#pragma once

#include "drivers/timer/timer_wheel.hpp"
#include "drivers/uring/mpsc_queue.hpp"
#include "protocols/util/result.hpp"

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace centralita::drivers {

class reactor;

/// What an SQE's user_data points at: completions are dispatched through it
/// (rtpengine's and liburing's pattern). user_data 0 means "ignore".
class completion {
public:
  virtual void on_completion(reactor& r, const io_uring_cqe& cqe) = 0;

protected:
  ~completion() = default;
};

/// What the kernel's io_uring offers, probed once at start.
struct uring_features {
  bool available = false;
  std::string why_unavailable;  ///< set when !available: what failed and what to do
  bool multishot_recvmsg = false;
  bool multishot_accept = false;
  bool provided_buffer_ring = false;
  bool ext_arg = false;  ///< timeouts on io_uring_enter (IORING_FEAT_EXT_ARG)
  std::string missing;   ///< comma-separated list of missing features
};

/// Probes io_uring (a throwaway ring). Never throws; ENOSYS/EPERM (seccomp,
/// kernel.io_uring_disabled) give available=false with an explanation.
uring_features probe_uring();

/// One io_uring owned by one thread. Completions are reaped in batches and
/// dispatched through `completion*`; other threads reach it only through
/// post() and wake(). It also owns that thread's timing wheel.
class reactor {
public:
  using clock = timer_wheel::clock;

  struct options {
    unsigned entries = 4096;
    /// The ring is created by, and only ever entered from, the thread that
    /// runs it (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
    /// Linux 6.1): completions are then processed only when that thread asks
    /// for them, so a wait for N completions wakes it once instead of once
    /// per completion. For a thread that owns its reactor from creation on
    /// (the load generator); scheduler workers take over a ring the main
    /// thread set up, so they leave this off. Falls back to the default
    /// flags when the kernel refuses them.
    bool single_issuer = false;
  };

  static result<std::unique_ptr<reactor>> create(unsigned index, const options& opts);
  ~reactor();
  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  unsigned index() const { return index_; }
  io_uring* ring() { return &ring_; }

  /// A free SQE (flushes the submission queue to the kernel when it is full).
  io_uring_sqe* get_sqe();
  /// Hands queued SQEs to the kernel (one syscall for the whole batch).
  void submit();

  /// Reaps and dispatches every ready completion and due timer; no waiting.
  /// Returns how many completions and timers ran.
  unsigned poll();
  /// Sleeps until a completion, a wake() or the next timer; then runs posted
  /// functions (a quiet cancel lands before its timer) and poll().
  /// Call between begin_sleep() and end_sleep().
  unsigned wait();

  /// Sleep handshake (Dekker-style, seq_cst): the owner announces it is about
  /// to sleep, re-checks its queues, then waits; wake() writes the eventfd
  /// only when the owner announced sleep. No syscall while the owner is busy.
  void begin_sleep() { sleeping_.store(true, std::memory_order_seq_cst); }
  void end_sleep() { sleeping_.store(false, std::memory_order_relaxed); }
  /// Any thread.
  void wake();

  /// A whole event loop for a thread that is not a scheduler worker (tests,
  /// benchmarks, the load generator): binds the reactor to the calling thread
  /// and runs posted work, completions and timers until `stop` is true
  /// (set it, then post() anything to wake the loop).
  void run(const std::atomic<bool>& stop);

  /// Any thread: runs `fn` on this reactor's thread soon (lock-free queue).
  void post(std::function<void()> fn);
  /// Any thread: like post() but never wakes the reactor: `fn` runs when the
  /// reactor next wakes for its own reasons. For work that only has to happen
  /// before something the reactor is anyway waiting for — cancelling one of
  /// its timers from another worker (actors move between workers with the
  /// messages they receive) must not cost that worker a wake-up.
  void post_quiet(std::function<void()> fn) {
    stats_.queued.fetch_add(1, std::memory_order_relaxed);
    posted_.push(std::move(fn));
  }
  /// Owner thread: runs posted functions; returns how many ran.
  std::size_t run_posted();
  bool has_posted() const { return !posted_.empty(); }

  timer_wheel& timers() { return timers_; }
  clock::time_point now() const { return clock::now(); }

  /// The reactor of the calling thread, or nullptr on a foreign thread.
  static reactor* current();
  /// Declares the calling thread the owner (a scheduler worker does this once).
  void bind_to_current_thread();
  /// The owning thread's kernel id (for its CPU time in /proc), 0 before binding.
  int thread_id() const { return tid_.load(std::memory_order_relaxed); }

  /// Counters (owner thread writes, anyone may read approximately).
  struct counters {
    std::atomic<uint64_t> completions{0};
    std::atomic<uint64_t> wakeups{0};
    std::atomic<uint64_t> sleeps{0};
    std::atomic<uint64_t> submits{0};
    std::atomic<int64_t> queued{0};  ///< posted functions not yet run (the queue's depth)
  };
  const counters& stats() const { return stats_; }

private:
  explicit reactor(unsigned index);
  void arm_eventfd();

  class eventfd_completion : public completion {
  public:
    explicit eventfd_completion(reactor& r) : owner_(r) {}
    void on_completion(reactor& r, const io_uring_cqe& cqe) override;
    uint64_t value = 0;

  private:
    reactor& owner_;
  };

  unsigned index_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int eventfd_ = -1;
  eventfd_completion eventfd_completion_;
  std::atomic<bool> sleeping_{false};
  mpsc_queue<std::function<void()>> posted_;
  timer_wheel timers_;
  counters stats_;
  std::atomic<int> tid_{0};
};

} // namespace centralita::drivers
