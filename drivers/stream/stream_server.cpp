#include "drivers/stream/stream_server.hpp"

#include "drivers/net/tcp_listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace centralita::drivers {

/// The part of the server one reactor owns; only its thread touches it.
class stream_server::engine {
public:
  engine(stream_server& owner, reactor& r) : owner_(owner), reactor_(r) {}

  ~engine() {
    for (auto& l : listeners_)
      if (l->fd >= 0)
        ::close(l->fd);
    for (auto& c : slots_)
      if (c && c->in_use && c->fd >= 0)
        ::close(c->fd);
  }

  reactor& owner_reactor() { return reactor_; }

  result<endpoint> listen(const endpoint& local) {
    auto opened = open_tcp_listener(local);
    if (!opened)
      return opened.err();
    auto l = std::make_unique<listener>();
    l->eng = this;
    l->fd = opened->fd;
    l->local = opened->local;
    listeners_.push_back(std::move(l));
    return opened->local;
  }

  void start() {
    for (auto& l : listeners_)
      l->arm(reactor_);
  }

  void send(connection_id id, std::string bytes, bool close_after) {
    auto* c = lookup(id);
    if (c == nullptr)
      return;
    if (!bytes.empty())
      c->outq.push_back(std::move(bytes));
    if (close_after)
      c->close_after = true;
    pump(*c);
  }

  void close(connection_id id) {
    if (auto* c = lookup(id)) {
      linger l{1, 0};  // an abort: drop what the kernel still holds for a peer that does not read
      ::setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      begin_close(*c, 0);
    }
  }

  void shutdown() {
    for (auto& l : listeners_)
      if (l->fd >= 0)
        ::shutdown(l->fd, SHUT_RDWR);  // the multishot accept ends (EINVAL): not re-armed
    for (auto& c : slots_)
      if (c && c->in_use)
        begin_close(*c, ECONNABORTED);
  }

private:
  struct connection;

  struct op final : completion {
    bool is_recv = true;
    connection* conn = nullptr;
    engine* eng = nullptr;
    void on_completion(reactor&, const io_uring_cqe& cqe) override {
      --conn->inflight;
      if (is_recv)
        eng->on_recv(*conn, cqe.res);
      else
        eng->on_sent(*conn, cqe.res);
    }
  };

  struct connection {
    uint32_t slot = 0;
    uint32_t generation = 1;
    bool in_use = false;
    bool closing = false;
    bool close_after = false;
    bool sending = false;
    int fd = -1;
    int err = 0;
    unsigned inflight = 0;
    std::unique_ptr<char[]> rbuf;
    std::deque<std::string> outq;
    std::size_t offset = 0;
    uint64_t written = 0;
    std::unique_ptr<stream_handler> handler;
    op recv_op;
    op send_op;
  };

  struct listener final : completion {
    engine* eng = nullptr;
    int fd = -1;
    endpoint local;
    void arm(reactor& r) {
      auto* sqe = r.get_sqe();
      io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      io_uring_sqe_set_data(sqe, static_cast<completion*>(this));
    }
    void on_completion(reactor& r, const io_uring_cqe& cqe) override {
      if (cqe.res >= 0)
        eng->on_accept(cqe.res, local);
      if ((cqe.flags & IORING_CQE_F_MORE) == 0 && cqe.res != -ECANCELED && cqe.res != -EBADF
          && cqe.res != -EINVAL)
        arm(r);
    }
  };

  stream_counters& counters() { return owner_.counters_; }

  void on_accept(int fd, const endpoint& local) {
    auto& n = counters();
    if (static_cast<std::size_t>(n.open.load(std::memory_order_relaxed))
        >= owner_.opts_.max_connections) {
      n.refused.fetch_add(1, std::memory_order_relaxed);
      ::close(fd);  // refuse rather than degrade everyone
      return;
    }
    auto peer = accepted_peer(fd);
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.push_back(std::make_unique<connection>());
      slots_.back()->slot = slot;
    }
    auto& c = *slots_[slot];
    c.in_use = true;
    c.closing = false;
    c.close_after = false;
    c.sending = false;
    c.fd = fd;
    c.err = 0;
    c.inflight = 0;
    c.offset = 0;
    c.written = 0;
    c.outq.clear();
    if (!c.rbuf)
      c.rbuf.reset(new char[owner_.opts_.read_size]);
    c.recv_op.is_recv = true;
    c.send_op.is_recv = false;
    c.recv_op.conn = c.send_op.conn = &c;
    c.recv_op.eng = c.send_op.eng = this;
    n.accepted.fetch_add(1, std::memory_order_relaxed);
    n.open.fetch_add(1, std::memory_order_relaxed);
    auto id = connection_id::make(reactor_.index(), c.slot, c.generation);
    c.handler = owner_.make_(id, peer, local);
    if (!c.handler) {
      begin_close(c, 0);
      return;
    }
    arm_recv(c);
  }

  connection* lookup(connection_id id) {
    if (!id.valid() || id.reactor() != reactor_.index() || id.slot() >= slots_.size())
      return nullptr;
    auto& c = *slots_[id.slot()];
    if (!c.in_use || c.generation != id.generation() || c.closing)
      return nullptr;
    return &c;
  }

  void arm_recv(connection& c) {
    ++c.inflight;
    auto* sqe = reactor_.get_sqe();
    io_uring_prep_recv(sqe, c.fd, c.rbuf.get(), owner_.opts_.read_size, 0);
    io_uring_sqe_set_data(sqe, static_cast<completion*>(&c.recv_op));
  }

  void on_recv(connection& c, int res) {
    if (c.closing) {
      release(c);
      return;
    }
    if (res <= 0) {  // 0: the peer closed; <0: reset or error
      begin_close(c, res < 0 ? -res : 0);
      return;
    }
    counters().bytes_in.fetch_add(static_cast<uint64_t>(res), std::memory_order_relaxed);
    c.handler->on_data(std::string_view(c.rbuf.get(), static_cast<std::size_t>(res)));
    if (!c.closing)
      arm_recv(c);
    else
      release(c);
  }

  void pump(connection& c) {
    if (c.closing || c.sending)
      return;
    if (c.outq.empty()) {
      if (c.close_after)
        begin_close(c, 0);
      return;
    }
    auto& front = c.outq.front();
    c.sending = true;
    ++c.inflight;
    auto* sqe = reactor_.get_sqe();
    io_uring_prep_send(sqe, c.fd, front.data() + c.offset, front.size() - c.offset,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, static_cast<completion*>(&c.send_op));
  }

  void on_sent(connection& c, int res) {
    c.sending = false;
    if (c.closing) {
      release(c);
      return;
    }
    if (res < 0) {
      begin_close(c, -res);
      return;
    }
    counters().bytes_out.fetch_add(static_cast<uint64_t>(res), std::memory_order_relaxed);
    c.offset += static_cast<std::size_t>(res);
    c.written += static_cast<uint64_t>(res);
    if (!c.outq.empty() && c.offset >= c.outq.front().size()) {  // else a short write: go on
      c.outq.pop_front();
      c.offset = 0;
    }
    c.handler->on_written(c.written);
    if (!c.closing)
      pump(c);
  }

  void begin_close(connection& c, int err) {
    if (!c.in_use)
      return;
    if (!c.closing) {
      c.closing = true;
      c.err = err;
      if (c.fd >= 0)
        ::shutdown(c.fd, SHUT_RDWR);  // completes the pending recv (and send)
    }
    release(c);
  }

  void release(connection& c) {
    if (!c.in_use || !c.closing || c.inflight > 0)
      return;
    if (c.fd >= 0)
      ::close(c.fd);
    c.fd = -1;
    c.outq.clear();
    c.in_use = false;
    auto handler = std::move(c.handler);
    if (++c.generation == 0)
      c.generation = 1;
    free_.push_back(c.slot);
    counters().open.fetch_sub(1, std::memory_order_relaxed);
    counters().closed.fetch_add(1, std::memory_order_relaxed);
    if (handler)
      handler->on_closed(c.err);
  }

  stream_server& owner_;
  reactor& reactor_;
  std::vector<std::unique_ptr<listener>> listeners_;
  std::vector<std::unique_ptr<connection>> slots_;
  std::vector<uint32_t> free_;
};

stream_server::stream_server(std::vector<reactor*> reactors, options opts, factory make)
  : opts_(opts), make_(std::move(make)) {
  for (auto* r : reactors)
    engines_.push_back(std::make_unique<engine>(*this, *r));
}

stream_server::~stream_server() = default;

result<endpoint> stream_server::listen(const endpoint& local) {
  // SO_REUSEPORT lets every reactor listen on the address, but it would also
  // let a second process of the same user share it and take half the
  // connections. A plain bind first tells whether someone holds it already.
  if (local.port() != 0) {
    int probe = ::socket(local.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
      int one = 1;
      ::setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      if (local.family() == AF_INET6)
        ::setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
      int rc = ::bind(probe, local.data(), local.size());
      int err = errno;
      ::close(probe);
      if (rc != 0 && err == EADDRINUSE) {
        errno = EADDRINUSE;
        return error{errc::io_error, "bind tcp:" + local.to_string() + ": " + std::strerror(err)};
      }
    }
  }
  endpoint bound = local;
  for (auto& e : engines_) {
    auto b = e->listen(bound);
    if (!b)
      return b.err();
    bound = *b;  // port 0 resolved by the first bind
  }
  return bound;
}

void stream_server::start() {
  for (auto& e : engines_) {
    auto* p = e.get();
    p->owner_reactor().post([p] { p->start(); });
  }
}

void stream_server::send(connection_id id, std::string bytes, bool close_after) {
  if (id.reactor() >= engines_.size())
    return;
  auto* e = engines_[id.reactor()].get();
  if (reactor::current() == &e->owner_reactor()) {
    e->send(id, std::move(bytes), close_after);
    return;
  }
  e->owner_reactor().post(
    [e, id, b = std::move(bytes), close_after]() mutable { e->send(id, std::move(b), close_after); });
}

void stream_server::shutdown(std::chrono::milliseconds limit) {
  for (auto& e : engines_) {
    auto* p = e.get();
    p->owner_reactor().post([p] { p->shutdown(); });
  }
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (counters_.open.load(std::memory_order_acquire) > 0
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
}

void stream_server::close(connection_id id) {
  if (id.reactor() >= engines_.size())
    return;
  auto* e = engines_[id.reactor()].get();
  if (reactor::current() == &e->owner_reactor()) {
    e->close(id);
    return;
  }
  e->owner_reactor().post([e, id] { e->close(id); });
}

} // namespace centralita::drivers
