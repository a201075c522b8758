#include "bench/loadgen/engine.hpp"

#include "bench/loadgen/engine_impl.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>

namespace centralita::loadgen {

using engine_detail::seconds;

namespace {

/// A free port on `address` right now: bound without SO_REUSEPORT and let go.
/// udp_socket binds with SO_REUSEPORT, and the kernel may hand port 0 of a
/// reuseport socket to one that another reuseport socket of the same user
/// already holds (the switch under test, or our own previous socket): the
/// responses would then be split between the two.
std::optional<uint16_t> reserve_port(const drivers::endpoint& address) {
  int fd = ::socket(address.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::nullopt;
  auto probe = drivers::endpoint::from(address.address(), 0);
  std::optional<uint16_t> port;
  if (probe && ::bind(fd, probe->data(), probe->size()) == 0) {
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0)
      port = drivers::endpoint(reinterpret_cast<sockaddr*>(&bound), len).port();
  }
  ::close(fd);
  return port;
}

} // namespace

engine::engine(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

engine::~engine() {
  auto* p = impl_.get();
  {
    std::lock_guard<std::mutex> lock(p->mtx);
    p->cancelled = true;  // a thread still waiting for start() gives up
  }
  p->cv.notify_all();
  p->control.store(2);
  if (p->thread.joinable())
    p->thread.join();
}

result<void> engine::impl::setup() {
  auto r = drivers::reactor::create(0, drivers::reactor::options{4096, true});
  if (!r)
    return r.err();
  reactor = std::move(r.value());
  reactor->bind_to_current_thread();
  drivers::transport_options opts;
  opts.rx_timestamps = cfg.tick.count() > 0 && !cfg.tcp;
  {
    timespec rt{};
    ::clock_gettime(CLOCK_REALTIME, &rt);
    auto steady = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      clock_type::now().time_since_epoch()).count();
    realtime_offset_ns = int64_t{rt.tv_sec} * 1'000'000'000 + rt.tv_nsec - steady;
  }
  // Responses are small: 16 KiB datagrams at most (larger ones are counted
  // as truncated), 256 buffers per socket for bursts.
  opts.max_message_size = 16384;
  opts.udp_buffer_count = 256;
  if (cfg.tcp) {
    // The Via names our address without a port: the answers come back on
    // the connection (RFC 3261 §18.2.2), whose port we learn only once it is
    // open.
    opts.tcp_idle_timeout = std::chrono::seconds{3600};
    for (unsigned i = 0; i < cfg.sockets; ++i) {
      tcps.push_back(std::make_unique<drivers::tcp_engine>(*reactor, opts, *this, counters));
      auto host = cfg.local.address();
      sent_by_text.push_back(cfg.local.family() == AF_INET6 ? "[" + host + "]" : host);
      awaiting_on.push_back(0);
    }
  }
  for (unsigned i = 0; i < (cfg.tcp ? 0u : cfg.sockets); ++i) {
    std::unique_ptr<drivers::udp_socket> sock;
    std::string why = "no free port";
    for (int tries = 0; tries < 5 && !sock; ++tries) {
      auto port = reserve_port(cfg.local);
      if (!port) {
        why = "no free UDP port on " + cfg.local.address();
        continue;
      }
      auto local = drivers::endpoint::from(cfg.local.address(), *port);
      bool taken = *port == cfg.target.port() && cfg.local.address() == cfg.target.address();
      for (auto& other : sockets)
        taken = taken || other->local().port() == *port;
      if (!local || taken)
        continue;
      auto opened = drivers::udp_socket::open(*reactor, *local, opts, *this, counters,
                                              static_cast<uint16_t>(i));
      if (opened)
        sock = std::move(opened.value());
      else
        why = opened.err().reason;
    }
    if (!sock)
      return error{errc::io_error, "cannot open UDP socket " + std::to_string(i + 1) + " on "
                                       + cfg.local.address() + ": " + why};
    sent_by_text.push_back(sock->local().to_string());
    awaiting_on.push_back(0);
    sock->start();
    sockets.push_back(std::move(sock));
  }
  if (cfg.uas_local) {
    callee = std::make_unique<uas>(*reactor, cfg.uas);
    auto opened = callee->open(*cfg.uas_local, opts, counters,
                               static_cast<uint16_t>(cfg.sockets));
    if (!opened)
      return error{errc::io_error, "cannot open the UAS socket on "
                                       + cfg.uas_local->to_string() + ": " + opened.err().reason};
  }
  if (cfg.push) {
    if (!callee)
      return error{errc::invalid_argument, "push-wake needs the built-in UAS"};
    callee->set_wake_latency(&rep.latency["wake"], realtime_offset_ns);
    auto* r = reactor.get();
    auto started_hook = webhook_server::start(cfg.push->webhook, [this, r](push_notice n) {
      r->post([this, n = std::move(n)] { on_push(n); });
    });
    if (!started_hook)
      return started_hook.err();
    webhook = std::move(started_hook.value());
  }
  return {};
}

void engine::impl::thread_main() {
  auto ok = setup();
  bool run = false;
  {
    std::unique_lock<std::mutex> lock(mtx);
    if (!ok) {
      setup_error = ok.err().reason;
      state = phase::failed;
    } else {
      state = phase::ready;
    }
    cv.notify_all();
    if (ok) {
      cv.wait(lock, [this] { return go || cancelled; });
      run = go && !cancelled;
      if (run)
        state = phase::running;
    }
  }
  if (run) {
    begin_run();
    loop();
  }
  // The sockets go before the reactor whose ring they registered with, both
  // on the ring's issuer thread.
  // The webhook's thread posts to the reactor: it goes first.
  webhook.reset();
  if (callee) {
    uas_final = callee->counters();
    callee->close();
    callee.reset();
  }
  sockets.clear();
  tcps.clear();
  reactor.reset();
  std::lock_guard<std::mutex> lock(mtx);
  if (state != phase::failed)
    state = phase::done;
  cv.notify_all();
}

result<std::unique_ptr<engine>> engine::create(engine_config cfg, scenario& s) {
  if (cfg.sockets == 0 || cfg.sockets > 256)
    return error{errc::invalid_argument, "sockets must be 1..256"};
  if (cfg.max_inflight == 0 || cfg.max_inflight > 0x7fffffff)
    return error{errc::invalid_argument, "max_inflight must be 1..2^31-1"};
  auto p = std::make_unique<impl>(std::move(cfg), s);
  std::random_device rd;
  p->run_id = static_cast<uint32_t>(rd());
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = 0; i < 8; ++i)
    p->run_token_text[i] = hex[(p->run_id >> (28 - 4 * i)) & 0xf];
  p->rep.transport = p->cfg.tcp ? "tcp" : "udp";
  p->rep.target = p->cfg.target_name;
  p->rep.scenario = std::string(s.name());
  p->rep.rate_offered = p->cfg.rate_offered;

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
  return std::unique_ptr<engine>(new engine(std::move(p)));
}

void engine::start() {
  auto* p = impl_.get();
  {
    std::lock_guard<std::mutex> lock(p->mtx);
    p->go = true;
  }
  p->cv.notify_all();
}

bool engine::wait(std::chrono::milliseconds limit) {
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

void engine::stop_starting() {
  int expected = 0;
  impl_->control.compare_exchange_strong(expected, 1);
}

void engine::abort() {
  impl_->control.store(2);
}

run_report engine::report() const {
  auto* p = impl_.get();
  run_report r = p->rep;
  r.malformed += p->counters.udp_truncated.load();
  r.elapsed_s = p->finished_run ? seconds(p->end_time - p->start_time) : 0;
  r.rate_achieved = r.elapsed_s > 0 ? static_cast<double>(r.succeeded) / r.elapsed_s : 0;
  return r;
}

engine_extras engine::extras() const {
  auto e = impl_->extra;
  e.send_errors = impl_->extra.send_errors + impl_->counters.udp_send_errors.load()
                  + impl_->counters.tcp_send_errors.load();
  e.unreachable += impl_->counters.tcp_connect_errors.load();
  e.truncated = impl_->counters.udp_truncated.load();
  e.no_buffers = impl_->counters.udp_no_buffers.load();
  e.uas_enabled = impl_->cfg.uas_local.has_value();
  e.uas = impl_->uas_final;
  return e;
}

} // namespace centralita::loadgen
