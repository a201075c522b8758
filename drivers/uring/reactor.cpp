#include "drivers/uring/reactor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace centralita::drivers {

namespace {

thread_local reactor* current_reactor = nullptr;

std::string errno_text(int err) {
  return std::string(std::strerror(err));
}

} // namespace

uring_features probe_uring() {
  uring_features f;
  io_uring ring{};
  int rc = io_uring_queue_init(8, &ring, 0);
  if (rc < 0) {
    int err = -rc;
    f.why_unavailable = "io_uring_setup failed: " + errno_text(err) + ".";
    if (err == ENOSYS)
      f.why_unavailable += " This kernel has no io_uring (needs Linux 5.19 or later).";
    else if (err == EPERM || err == EACCES)
      f.why_unavailable += " io_uring is forbidden here: a seccomp profile (Docker's default "
                           "blocks it; run with --security-opt seccomp=unconfined or a profile "
                           "allowing io_uring_setup/io_uring_enter/io_uring_register) or the "
                           "sysctl kernel.io_uring_disabled (set it to 0).";
    else if (err == ENOMEM)
      f.why_unavailable += " Raise RLIMIT_MEMLOCK (ulimit -l) for io_uring rings.";
    return f;
  }
  f.ext_arg = (ring.features & IORING_FEAT_EXT_ARG) != 0;
  if (auto* probe = io_uring_get_probe_ring(&ring)) {
    bool recvmsg = io_uring_opcode_supported(probe, IORING_OP_RECVMSG);
    bool sendmsg = io_uring_opcode_supported(probe, IORING_OP_SENDMSG);
    bool accept = io_uring_opcode_supported(probe, IORING_OP_ACCEPT);
    bool recv = io_uring_opcode_supported(probe, IORING_OP_RECV);
    bool send = io_uring_opcode_supported(probe, IORING_OP_SEND);
    bool read = io_uring_opcode_supported(probe, IORING_OP_READ);
    bool connect = io_uring_opcode_supported(probe, IORING_OP_CONNECT);
    io_uring_free_probe(probe);
    if (!recvmsg) f.missing += "recvmsg,";
    if (!sendmsg) f.missing += "sendmsg,";
    if (!accept) f.missing += "accept,";
    if (!recv) f.missing += "recv,";
    if (!send) f.missing += "send,";
    if (!read) f.missing += "read,";
    if (!connect) f.missing += "connect,";
  } else {
    f.missing += "opcode probe,";
  }
  // Multishot recvmsg, multishot accept and registered buffer rings all came
  // with Linux 6.0; a successful buffer ring registration proves them.
  {
    void* mem = nullptr;
    if (posix_memalign(&mem, 4096, 4096) == 0) {
      io_uring_buf_reg reg{};
      reg.ring_addr = reinterpret_cast<uint64_t>(mem);
      reg.ring_entries = 8;
      reg.bgid = 0;
      if (io_uring_register_buf_ring(&ring, &reg, 0) == 0) {
        f.provided_buffer_ring = true;
        io_uring_unregister_buf_ring(&ring, 0);
      }
      free(mem);
    }
  }
  f.multishot_recvmsg = f.multishot_accept = f.provided_buffer_ring;
  if (!f.provided_buffer_ring) f.missing += "provided buffer rings (Linux 5.19+),";
  if (!f.ext_arg) f.missing += "IORING_FEAT_EXT_ARG (Linux 5.11+),";
  io_uring_queue_exit(&ring);
  if (!f.missing.empty()) {
    f.missing.pop_back();
    f.why_unavailable = "io_uring lacks features centralita needs: " + f.missing
                        + ". Run on Linux 6.0 or later.";
    return f;
  }
  f.available = true;
  return f;
}

reactor::reactor(unsigned index)
  : index_(index), eventfd_completion_(*this) {
}

result<std::unique_ptr<reactor>> reactor::create(unsigned index, const options& opts) {
  std::unique_ptr<reactor> r(new reactor(index));
  io_uring_params params{};
  // Completions are only needed when this thread looks for them, so no IPI to
  // interrupt it (COOP_TASKRUN); TASKRUN_FLAG lets io_uring_peek_batch_cqe see
  // pending task work and flush it. Not SINGLE_ISSUER: the main thread sets
  // the ring up before the worker thread takes it over.
  params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  int rc = -EINVAL;
  if (opts.single_issuer) {
    io_uring_params single{};
    single.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
                   | IORING_SETUP_TASKRUN_FLAG;
    rc = io_uring_queue_init_params(opts.entries, &r->ring_, &single);
  }
  if (rc == -EINVAL)
    rc = io_uring_queue_init_params(opts.entries, &r->ring_, &params);
  if (rc == -EINVAL) {  // older kernels: retry without the optional flags
    params = {};
    rc = io_uring_queue_init_params(opts.entries, &r->ring_, &params);
  }
  if (rc < 0)
    return error{errc::io_error, "io_uring_queue_init: " + errno_text(-rc)};
  r->ring_ready_ = true;
  r->eventfd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->eventfd_ < 0)
    return error{errc::io_error, "eventfd: " + errno_text(errno)};
  r->arm_eventfd();
  return r;
}

reactor::~reactor() {
  if (ring_ready_)
    io_uring_queue_exit(&ring_);
  if (eventfd_ >= 0)
    ::close(eventfd_);
  run_posted();  // frees queued closures (they may own buffers)
}

reactor* reactor::current() {
  return current_reactor;
}

void reactor::bind_to_current_thread() {
  current_reactor = this;
  tid_.store(static_cast<int>(::gettid()), std::memory_order_relaxed);
}

io_uring_sqe* reactor::get_sqe() {
  auto* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    stats_.submits.fetch_add(1, std::memory_order_relaxed);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void reactor::submit() {
  if (io_uring_sq_ready(&ring_) > 0) {
    io_uring_submit(&ring_);
    stats_.submits.fetch_add(1, std::memory_order_relaxed);
  }
}

void reactor::arm_eventfd() {
  auto* sqe = get_sqe();
  io_uring_prep_read(sqe, eventfd_, &eventfd_completion_.value, sizeof(uint64_t), 0);
  io_uring_sqe_set_data(sqe, static_cast<completion*>(&eventfd_completion_));
}

void reactor::eventfd_completion::on_completion(reactor&, const io_uring_cqe&) {
  owner_.stats_.wakeups.fetch_add(1, std::memory_order_relaxed);
  owner_.arm_eventfd();
}

void reactor::wake() {
  if (sleeping_.load(std::memory_order_seq_cst)
      && sleeping_.exchange(false, std::memory_order_seq_cst)) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(eventfd_, &one, sizeof(one));
  }
}

void reactor::post(std::function<void()> fn) {
  stats_.queued.fetch_add(1, std::memory_order_relaxed);
  posted_.push(std::move(fn));
  if (current_reactor != this)
    wake();
}

std::size_t reactor::run_posted() {
  auto n = posted_.drain([](std::function<void()>&& fn) { fn(); });
  stats_.queued.fetch_sub(static_cast<int64_t>(n), std::memory_order_relaxed);
  return n;
}

void reactor::run(const std::atomic<bool>& stop) {
  bind_to_current_thread();
  while (!stop.load()) {
    run_posted();
    poll();
    submit();
    begin_sleep();
    if (has_posted() || stop.load()) {
      end_sleep();
      continue;
    }
    wait();
    end_sleep();
  }
}

unsigned reactor::poll() {
  unsigned handled = 0;
  io_uring_cqe* cqes[256];
  for (;;) {
    unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 256);
    if (n == 0)
      break;
    for (unsigned i = 0; i < n; ++i) {
      auto* c = reinterpret_cast<completion*>(io_uring_cqe_get_data(cqes[i]));
      if (c != nullptr)
        c->on_completion(*this, *cqes[i]);
    }
    io_uring_cq_advance(&ring_, n);  // one advance per batch
    handled += n;
    if (n < 256)
      break;
  }
  stats_.completions.fetch_add(handled, std::memory_order_relaxed);
  if (timers_.size() > 0)
    handled += static_cast<unsigned>(timers_.advance(clock::now()));
  return handled;
}

unsigned reactor::wait() {
  stats_.sleeps.fetch_add(1, std::memory_order_relaxed);
  io_uring_cqe* cqe = nullptr;
  if (auto next = timers_.next_wakeup()) {
    auto delta = *next - clock::now();
    if (delta.count() < 0)
      delta = clock::duration::zero();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delta).count();
    __kernel_timespec ts{};
    ts.tv_sec = ns / 1'000'000'000;
    ts.tv_nsec = ns % 1'000'000'000;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  } else {
    io_uring_submit_and_wait(&ring_, 1);
  }
  stats_.submits.fetch_add(1, std::memory_order_relaxed);
  run_posted();
  return poll();
}

} // namespace centralita::drivers
