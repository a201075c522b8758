#include "bench/loadgen/events_client.hpp"

#include "bench/loadgen/events_report.hpp"
#include "drivers/uring/reactor.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace centralita::loadgen {

namespace {

using clock_type = drivers::reactor::clock;
using std::chrono::milliseconds;

constexpr std::size_t read_size = 16384;
/// After the run, how long the streams get to answer our close (§7.1.2).
constexpr milliseconds close_wait{1000};
/// ... and after that, how long in-flight ring operations get to complete
/// once their sockets are shut down.
constexpr milliseconds release_wait{2000};
/// A slow subscriber's socket: a 4 KiB receive buffer and a 536-byte MSS
/// (RFC 9293 §3.7.1's default) announced in its SYN. The switch sizes its
/// send buffer from the peer's MSS (Linux: twice the congestion window in
/// segments), so a slow client on loopback no longer soaks up megabytes in
/// kernel buffers: the switch's own per-client queue ([http] ws_queue) is
/// what fills up, as it would behind a slow link.
constexpr int slow_rcvbuf = 4096;
constexpr int slow_mss = 536;

/// Random bytes for keys and masks (RFC 6455 §10.3: a strong source).
void random_bytes(uint8_t* buf, std::size_t len) {
  if (RAND_bytes(buf, static_cast<int>(len)) != 1) {
    // OpenSSL's CSPRNG failing to seed is not something to measure around.
    std::fprintf(stderr, "centralita-bench: RAND_bytes failed (no entropy?)\n");
    std::abort();
  }
}

std::string connect_cause(int err) {
  switch (err) {
    case ECONNREFUSED: return "refused";
    case ETIMEDOUT:
    case ECANCELED: return "timeout";
    case ENETUNREACH:
    case EHOSTUNREACH: return "unreachable";
    case ECONNRESET: return "reset";
    default: return "connect: " + std::string(std::strerror(err));
  }
}

} // namespace

struct events_client::impl final : drivers::timer_target {
  struct conn;

  struct conn_op final : drivers::completion {
    enum kind_t : uint8_t { connect, recv, send } kind = connect;
    conn* c = nullptr;
    void on_completion(drivers::reactor&, const io_uring_cqe& cqe) override {
      c->owner->on_op(*c, kind, cqe.res);
    }
  };

  struct conn {
    impl* owner = nullptr;
    uint32_t index = 0;
    std::unique_ptr<subscriber> sub;
    int fd = -1;
    conn_op connect_op, recv_op, send_op;
    unsigned inflight = 0;
    bool connecting = false;
    bool reading = false;
    bool sending = false;
    bool paused = false;
    bool shut = false;
    bool released = false;
    bool timed_out = false;
    bool decided = false;         // hello or failure counted
    bool settled = false;         // counted out of `unsettled`
    bool close_after_send = false;
    std::string out;              // queued behind the send in flight
    std::string wire;             // the send in flight
    std::size_t wire_offset = 0;
    std::unique_ptr<char[]> rbuf;
    drivers::timer_wheel::handle timer;
  };

  // Timer cookies: index << 2 | kind.
  enum timer_kind : uint64_t { deadline_timer = 0, resume_timer = 1 };

  struct global_timer final : drivers::timer_target {
    enum kind_t { duration, drain, close_wait, release_wait, second } kind;
    impl* owner;
    global_timer(impl* o, kind_t k) : kind(k), owner(o) {}
    void on_timer(uint64_t) override { owner->on_global_timer(kind); }
  };

  events_client_config cfg;
  std::unique_ptr<drivers::reactor> reactor;
  std::vector<std::unique_ptr<conn>> conns;
  delivery_stats stats;
  global_timer duration_t{this, global_timer::duration};
  global_timer drain_t{this, global_timer::drain};
  global_timer close_wait_t{this, global_timer::close_wait};
  global_timer release_wait_t{this, global_timer::release_wait};
  global_timer second_t{this, global_timer::second};
  drivers::timer_wheel::handle drain_handle;

  // Reactor thread only.
  clock_type::time_point start_time, ready_time, end_time, last_sample;
  bool driver_finished = false;
  std::optional<uint64_t> expected;
  uint64_t unsettled = 0;
  uint64_t undecided = 0;
  uint64_t live = 0;             // sockets not yet released
  uint64_t failures = 0;
  bool ending = false;
  std::vector<events_second> timeline;

  // Across threads.
  std::atomic<bool> stop_loop{false};
  std::atomic<bool> all_ready{false};
  std::atomic<uint64_t> hellos{0};
  std::thread thread;
  std::mutex mtx;
  std::condition_variable cv;
  enum class phase { setting_up, running, failed, done } state = phase::setting_up;  // under mtx
  std::string setup_error;  // under mtx
  events_run_result result;

  explicit impl(events_client_config c) : cfg(std::move(c)) {}

  void thread_main();
  void start_all();
  void start(conn& c);
  void on_op(conn& c, conn_op::kind_t kind, int res);
  void on_connected(conn& c, int res);
  void on_recv(conn& c, int res);
  void on_sent(conn& c, int res);
  void apply(conn& c, subscriber::step st);
  void queue_send(conn& c, std::string bytes);
  void arm_recv(conn& c);
  void shut(conn& c);
  void maybe_release(conn& c);
  void decide(conn& c);
  void check_settled(conn& c);
  bool is_settled(const conn& c) const;
  void on_timer(uint64_t cookie) override;
  void on_global_timer(global_timer::kind_t kind);
  void on_driver_done(uint64_t n);
  void end_run();
  void finish_loop();
  void sample(clock_type::time_point now);
};

// ---- connections -------------------------------------------------------------

void events_client::impl::start(conn& c) {
  c.fd = ::socket(cfg.server.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    c.sub->fail("connect: " + std::string(std::strerror(errno)));
    decide(c);
    check_settled(c);
    return;
  }
  ++live;
  if (c.sub->outcome().slow) {
    // Before connect(): the window scale and the MSS go out in the SYN.
    ::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &slow_rcvbuf, sizeof slow_rcvbuf);
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_MAXSEG, &slow_mss, sizeof slow_mss);
  }
  c.connecting = true;
  ++c.inflight;
  auto* sqe = reactor->get_sqe();
  io_uring_prep_connect(sqe, c.fd, cfg.server.data(), cfg.server.size());
  io_uring_sqe_set_data(sqe, static_cast<drivers::completion*>(&c.connect_op));
  c.timer = reactor->timers().schedule(reactor->now() + cfg.connect_timeout, this,
                                       uint64_t{c.index} << 2 | deadline_timer);
}

void events_client::impl::on_op(conn& c, conn_op::kind_t kind, int res) {
  --c.inflight;
  switch (kind) {
    case conn_op::connect: on_connected(c, res); break;
    case conn_op::recv: on_recv(c, res); break;
    case conn_op::send: on_sent(c, res); break;
  }
  maybe_release(c);
}

void events_client::impl::on_connected(conn& c, int res) {
  c.connecting = false;
  if (c.shut)
    return;
  if (res < 0) {
    c.sub->fail(c.timed_out ? "timeout" : connect_cause(-res));
    decide(c);
    shut(c);
    return;
  }
  apply(c, c.sub->on_connected());
  arm_recv(c);
}

void events_client::impl::arm_recv(conn& c) {
  if (c.reading || c.paused || c.shut || c.fd < 0)
    return;
  if (!c.rbuf)
    c.rbuf = std::make_unique<char[]>(read_size);
  c.reading = true;
  ++c.inflight;
  auto* sqe = reactor->get_sqe();
  io_uring_prep_recv(sqe, c.fd, c.rbuf.get(), read_size, 0);
  io_uring_sqe_set_data(sqe, static_cast<drivers::completion*>(&c.recv_op));
}

void events_client::impl::on_recv(conn& c, int res) {
  c.reading = false;
  if (c.shut)
    return;
  if (res <= 0) {
    if (!ending)
      c.sub->on_disconnected(res == 0 ? "EOF" : std::strerror(-res));
    decide(c);
    shut(c);
    return;
  }
  if (ending) {  // the run is over: only the switch's end of the close matters
    arm_recv(c);
    return;
  }
  auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  apply(c, c.sub->on_bytes(std::string_view(c.rbuf.get(), static_cast<std::size_t>(res)),
                           static_cast<uint64_t>(wall), stats));
  arm_recv(c);
}

void events_client::impl::apply(conn& c, subscriber::step st) {
  if (st.got_hello)
    decide(c);
  if (!st.send.empty())
    queue_send(c, std::move(st.send));
  if (st.pause && !c.paused && !ending) {
    c.paused = true;
    if (c.timer.valid())
      reactor->timers().cancel(c.timer);
    c.timer = reactor->timers().schedule(reactor->now() + cfg.slow_pause, this,
                                         uint64_t{c.index} << 2 | resume_timer);
  }
  if (st.close) {
    decide(c);  // a refusal or a broken handshake is a failure
    if (c.sending)
      c.close_after_send = true;
    else
      shut(c);
  }
  if (st.settled_change)
    check_settled(c);
}

void events_client::impl::queue_send(conn& c, std::string bytes) {
  if (c.shut)
    return;
  if (c.sending) {
    c.out += bytes;
    return;
  }
  c.wire = std::move(bytes);
  c.wire_offset = 0;
  c.sending = true;
  ++c.inflight;
  auto* sqe = reactor->get_sqe();
  io_uring_prep_send(sqe, c.fd, c.wire.data(), c.wire.size(), MSG_NOSIGNAL);
  io_uring_sqe_set_data(sqe, static_cast<drivers::completion*>(&c.send_op));
}

void events_client::impl::on_sent(conn& c, int res) {
  c.sending = false;
  if (c.shut)
    return;
  if (res < 0) {
    if (!ending)
      c.sub->on_disconnected(std::strerror(-res));
    decide(c);
    shut(c);
    return;
  }
  c.wire_offset += static_cast<std::size_t>(res);
  if (c.wire_offset < c.wire.size()) {  // a short write: the rest
    c.sending = true;
    ++c.inflight;
    auto* sqe = reactor->get_sqe();
    io_uring_prep_send(sqe, c.fd, c.wire.data() + c.wire_offset, c.wire.size() - c.wire_offset,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, static_cast<drivers::completion*>(&c.send_op));
    return;
  }
  if (!c.out.empty()) {
    queue_send(c, std::exchange(c.out, {}));
    return;
  }
  if (c.close_after_send)
    shut(c);
}

void events_client::impl::shut(conn& c) {
  if (c.shut)
    return;
  c.shut = true;
  if (c.timer.valid()) {
    reactor->timers().cancel(c.timer);
    c.timer = {};
  }
  if (c.fd >= 0) {
    if (c.connecting) {
      // A connect in progress ignores shutdown(): cancel it on the ring.
      auto* sqe = reactor->get_sqe();
      io_uring_prep_cancel(sqe, static_cast<drivers::completion*>(&c.connect_op), 0);
      io_uring_sqe_set_data(sqe, nullptr);
    }
    ::shutdown(c.fd, SHUT_RDWR);  // completes the pending recv and send
  }
  check_settled(c);
}

void events_client::impl::maybe_release(conn& c) {
  if (!c.shut || c.inflight > 0 || c.released)
    return;
  c.released = true;
  if (c.fd >= 0) {
    ::close(c.fd);
    c.fd = -1;
    --live;
  }
  c.rbuf.reset();
  if (ending && live == 0)
    finish_loop();
}

// ---- what the run waits for ---------------------------------------------------

void events_client::impl::decide(conn& c) {
  if (c.decided)
    return;
  const auto& o = c.sub->outcome();
  if (!o.hello && o.failure.empty())
    return;  // still on its way
  c.decided = true;
  if (c.timer.valid() && !c.paused) {
    reactor->timers().cancel(c.timer);  // the connect deadline
    c.timer = {};
  }
  if (o.hello)
    hellos.fetch_add(1, std::memory_order_relaxed);
  else
    ++failures;
  if (--undecided == 0) {
    ready_time = reactor->now();
    all_ready.store(true);
  }
}

bool events_client::impl::is_settled(const conn& c) const {
  const auto& o = c.sub->outcome();
  if (c.shut || c.sub->state() == subscriber::phase::finished)
    return true;
  if (!o.hello)
    return false;
  if (cfg.count && o.delivered < *cfg.count)
    return false;
  if (cfg.driven)
    return driver_finished && (cfg.count || o.driven_delivered >= expected.value_or(0));
  return cfg.count.has_value();  // nothing to wait for: the duration ends it
}

void events_client::impl::check_settled(conn& c) {
  if (c.settled || !is_settled(c))
    return;
  c.settled = true;
  if (--unsettled == 0)
    end_run();
}

void events_client::impl::on_timer(uint64_t cookie) {
  auto index = cookie >> 2;
  if (index >= conns.size())
    return;
  auto& c = *conns[index];
  c.timer = {};
  if ((cookie & 3) == resume_timer) {
    c.paused = false;
    arm_recv(c);
    return;
  }
  if (c.sub->outcome().hello || c.shut)
    return;
  c.timed_out = true;  // a connect cancelled from here completes with ECANCELED
  c.sub->fail("timeout", "no hello within " + std::to_string(cfg.connect_timeout.count()) + " ms");
  decide(c);
  shut(c);
}

void events_client::impl::on_driver_done(uint64_t n) {
  if (ending || driver_finished)
    return;
  driver_finished = true;
  expected = n;
  drain_handle = reactor->timers().schedule(reactor->now() + cfg.drain, &drain_t, 0);
  for (auto& c : conns)
    if (!ending)
      check_settled(*c);
}

void events_client::impl::on_global_timer(global_timer::kind_t kind) {
  switch (kind) {
    case global_timer::duration:
    case global_timer::drain: end_run(); break;
    case global_timer::close_wait:
      for (auto& c : conns)
        shut(*c);
      reactor->timers().schedule(reactor->now() + release_wait, &release_wait_t, 0);
      break;
    case global_timer::release_wait: finish_loop(); break;
    case global_timer::second: {
      auto now = reactor->now();
      sample(now);
      if (!ending)
        reactor->timers().schedule(last_sample + std::chrono::seconds{1}, &second_t, 0);
      break;
    }
  }
}

void events_client::impl::sample(clock_type::time_point now) {
  events_second s;
  s.t = std::chrono::duration<double>(now - start_time).count();
  s.delivered = stats.second_delivered;
  s.connected = hellos.load(std::memory_order_relaxed);
  s.failed = failures;
  s.p99_us = stats.second.percentile(99);
  timeline.push_back(s);
  if (cfg.progress) {
    double span = std::chrono::duration<double>(now - last_sample).count();
    auto line = events_progress_line(s, cfg.subscribers, stats.delivered,
                                     span > 0 ? static_cast<double>(s.delivered) / span : 0);
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
    std::fflush(stderr);
  }
  stats.second_delivered = 0;
  stats.second.reset();
  last_sample = now;
}

void events_client::impl::end_run() {
  if (ending)
    return;
  ending = true;
  end_time = reactor->now();
  if (stats.second_delivered > 0 || timeline.empty() || end_time - last_sample > milliseconds{100})
    sample(end_time);
  if (cfg.progress)
    std::fputc('\n', stderr);
  // §7.1.2: close what streams; the switch answers and closes TCP. A slow
  // subscriber reads again to see it.
  for (auto& cp : conns) {
    auto& c = *cp;
    if (c.shut)
      continue;
    if (c.sub->state() != subscriber::phase::streaming) {
      shut(c);
      continue;
    }
    c.paused = false;
    queue_send(c, c.sub->close_stream());
    arm_recv(c);
  }
  if (live == 0) {
    finish_loop();
    return;
  }
  reactor->timers().schedule(end_time + close_wait, &close_wait_t, 0);
}

void events_client::impl::finish_loop() {
  stop_loop.store(true);
}

// ---- the thread ---------------------------------------------------------------

void events_client::impl::start_all() {
  start_time = last_sample = reactor->now();
  unsettled = undecided = cfg.subscribers;
  std::array<uint8_t, 16> nonce{};
  for (uint32_t i = 0; i < cfg.subscribers; ++i) {
    auto c = std::make_unique<conn>();
    c->owner = this;
    c->index = i;
    c->connect_op.kind = conn_op::connect;
    c->recv_op.kind = conn_op::recv;
    c->send_op.kind = conn_op::send;
    c->connect_op.c = c->recv_op.c = c->send_op.c = c.get();
    subscriber::setup s = cfg.base;
    s.slow = i < cfg.slow;
    random_bytes(nonce.data(), nonce.size());  // RFC 6455 §4.1: a new nonce per connection
    c->sub = std::make_unique<subscriber>(s, nonce, random_bytes);
    conns.push_back(std::move(c));
  }
  reactor->timers().schedule(start_time + cfg.duration, &duration_t, 0);
  reactor->timers().schedule(start_time + std::chrono::seconds{1}, &second_t, 0);
  for (auto& c : conns)
    start(*c);
}

void events_client::impl::thread_main() {
  auto created = drivers::reactor::create(0, drivers::reactor::options{4096, true});
  {
    std::lock_guard<std::mutex> lock(mtx);
    if (!created) {
      setup_error = created.err().reason;
      state = phase::failed;
    } else {
      reactor = std::move(created.value());  // other threads post to it once running
      state = phase::running;
    }
  }
  cv.notify_all();
  if (!created)
    return;
  reactor->bind_to_current_thread();
  start_all();
  reactor->run(stop_loop);

  // The outcome, then the sockets, then the ring (its issuer thread).
  if (!ending)
    end_time = reactor->now();
  for (auto& c : conns) {
    if (c->fd >= 0)
      ::close(c->fd);
    c->fd = -1;
    result.subscribers.push_back(std::move(c->sub->outcome()));
  }
  result.delivery = stats.delivery;
  result.delivery_slow = stats.delivery_slow;
  result.timeline = std::move(timeline);
  result.elapsed_s = std::chrono::duration<double>(end_time - start_time).count();
  auto from = all_ready.load() ? ready_time : start_time;
  result.streaming_s = std::chrono::duration<double>(end_time - from).count();
  result.expected = expected;
  std::lock_guard<std::mutex> lock(mtx);
  state = phase::done;  // nobody posts any more...
  reactor.reset();      // ... so the ring can go
  cv.notify_all();
}

// ---- the public face ------------------------------------------------------------

events_client::events_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

events_client::~events_client() {
  stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

result<std::unique_ptr<events_client>> events_client::create(events_client_config cfg) {
  if (cfg.subscribers == 0 || cfg.slow > cfg.subscribers)
    return error{errc::invalid_argument, "events: 1 subscriber or more, and no more slow ones than that"};
  auto p = std::make_unique<impl>(std::move(cfg));
  auto* raw = p.get();
  raw->thread = std::thread([raw] { raw->thread_main(); });
  std::unique_lock<std::mutex> lock(raw->mtx);
  raw->cv.wait(lock, [raw] { return raw->state != impl::phase::setting_up; });
  if (raw->state == impl::phase::failed) {
    auto why = raw->setup_error;
    lock.unlock();
    raw->thread.join();
    return error{errc::io_error, why};
  }
  lock.unlock();
  return std::unique_ptr<events_client>(new events_client(std::move(p)));
}

bool events_client::ready() const { return impl_->all_ready.load(); }

uint64_t events_client::connected() const { return impl_->hellos.load(std::memory_order_relaxed); }

void events_client::driver_done(uint64_t expected) {
  auto* p = impl_.get();
  std::lock_guard<std::mutex> lock(p->mtx);
  if (p->state == impl::phase::running && p->reactor)
    p->reactor->post([p, expected] { p->on_driver_done(expected); });
}

void events_client::stop() {
  auto* p = impl_.get();
  std::lock_guard<std::mutex> lock(p->mtx);
  if (p->state == impl::phase::running && p->reactor)
    p->reactor->post([p] { p->end_run(); });
}

bool events_client::wait(std::chrono::milliseconds limit) {
  auto* p = impl_.get();
  {
    std::unique_lock<std::mutex> lock(p->mtx);
    if (!p->cv.wait_for(lock, limit, [p] { return p->state == impl::phase::done; }))
      return false;
  }
  if (p->thread.joinable())
    p->thread.join();
  return true;
}

events_run_result events_client::take_result() { return std::move(impl_->result); }

} // namespace centralita::loadgen
