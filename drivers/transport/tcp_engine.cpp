#include "drivers/transport/tcp_engine.hpp"

#include "drivers/net/tcp_listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace centralita::drivers {

namespace {

// After a 513 or a framing error the sink gets this long to write its
// answer (with close_after) before the connection is closed regardless.
constexpr auto close_grace = std::chrono::seconds{2};

} // namespace

tcp_engine::tcp_engine(reactor& r, const transport_options& opts, message_sink& sink,
                       transport_counters& counters)
  : reactor_(r), opts_(opts), sink_(sink), counters_(counters) {
}

tcp_engine::~tcp_engine() {
  for (auto& l : listeners_)
    if (l->fd >= 0)
      ::close(l->fd);
  for (auto& c : slots_)
    if (c && c->fd >= 0)
      ::close(c->fd);
}

result<endpoint> tcp_engine::listen(const endpoint& local) {
  auto opened = open_tcp_listener(local);
  if (!opened)
    return opened.err();
  auto l = std::make_unique<listener>();
  l->engine = this;
  l->fd = opened->fd;
  l->local = opened->local;
  listeners_.push_back(std::move(l));
  return opened->local;
}

void tcp_engine::start() {
  for (auto& l : listeners_)
    l->arm(reactor_);
}

void tcp_engine::listener::arm(reactor& r) {
  auto* sqe = r.get_sqe();
  io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data(sqe, static_cast<completion*>(this));
}

void tcp_engine::listener::on_completion(reactor& r, const io_uring_cqe& cqe) {
  if (cqe.res >= 0) {
    int cfd = cqe.res;
    if (engine->live_ >= engine->opts_.tcp_max_connections) {
      ::close(cfd);  // over the limit: refuse rather than degrade everyone
    } else {
      auto peer = accepted_peer(cfd);
      engine->counters_.tcp_accepted.fetch_add(1, std::memory_order_relaxed);
      engine->add_connection(cfd, peer, local, false);
    }
  }
  if ((cqe.flags & IORING_CQE_F_MORE) == 0 && cqe.res != -ECANCELED && cqe.res != -EBADF
      && cqe.res != -EINVAL)
    arm(r);
}

tcp_engine::connection* tcp_engine::add_connection(int fd, const endpoint& peer,
                                                   const endpoint& local, bool connecting) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::make_unique<connection>());
    slots_.back()->slot = slot;
  }
  auto& c = *slots_[slot];
  c.in_use = true;
  c.fd = fd;
  c.peer = peer;
  c.local = local;
  c.framer = std::make_unique<sip::stream_framer>(opts_.max_message_size);
  if (!c.rbuf)
    c.rbuf.reset(new char[opts_.tcp_read_size]);
  c.outq.clear();
  c.out_offset = 0;
  c.last_error = 0;
  c.connecting = connecting;
  c.reading = false;
  c.closing = false;
  c.close_after_flush = false;
  c.stop_reading = false;
  c.sending = false;
  c.inflight = 0;
  c.recv_op.kind = op::recv;
  c.send_op.kind = op::send;
  c.connect_op.kind = op::connect;
  c.recv_op.conn = c.send_op.conn = c.connect_op.conn = &c;
  c.recv_op.engine = c.send_op.engine = c.connect_op.engine = this;
  ++live_;
  by_peer_[peer] = slot;
  touch(c);
  if (!connecting)
    arm_recv(c);
  return &c;
}

tcp_engine::connection* tcp_engine::lookup(connection_id id) {
  if (!id.valid() || id.reactor() != reactor_.index() || id.slot() >= slots_.size())
    return nullptr;
  auto& c = *slots_[id.slot()];
  if (!c.in_use || c.generation != id.generation() || c.closing)
    return nullptr;
  return &c;
}

void tcp_engine::touch(connection& c) {
  c.last_activity = reactor_.now();
  if (!c.idle_timer.valid())
    c.idle_timer = reactor_.timers().schedule(c.last_activity + opts_.tcp_idle_timeout, this,
                                              c.id(reactor_.index()).value);
}

void tcp_engine::on_timer(uint64_t cookie) {
  auto id = connection_id{cookie};
  if (id.slot() >= slots_.size())
    return;
  auto& c = *slots_[id.slot()];
  if (!c.in_use || c.generation != id.generation())
    return;
  c.idle_timer = {};
  if (c.stop_reading) {  // the grace period after an oversized message ran out
    begin_close(c);
    return;
  }
  auto deadline = c.last_activity + opts_.tcp_idle_timeout;
  if (reactor_.now() >= deadline) {
    counters_.tcp_idle_closed.fetch_add(1, std::memory_order_relaxed);
    begin_close(c);
  } else {
    c.idle_timer = reactor_.timers().schedule(deadline, this, cookie);
  }
}

void tcp_engine::arm_recv(connection& c) {
  c.reading = true;
  ++c.inflight;
  auto* sqe = reactor_.get_sqe();
  io_uring_prep_recv(sqe, c.fd, c.rbuf.get(), opts_.tcp_read_size, 0);
  io_uring_sqe_set_data(sqe, static_cast<completion*>(&c.recv_op));
}

void tcp_engine::op::on_completion(reactor&, const io_uring_cqe& cqe) {
  auto& c = *conn;
  --c.inflight;
  switch (kind) {
    case recv: engine->on_recv(c, cqe.res); break;
    case send: engine->on_sent(c, cqe.res); break;
    case connect: engine->on_connected(c, cqe.res); break;
  }
}


void tcp_engine::on_recv(connection& c, int res) {
  c.reading = false;
  if (c.closing) {
    maybe_release(c);
    return;
  }
  if (res <= 0) {  // 0: the peer closed; <0: reset or error
    c.last_error = res < 0 ? -res : ECONNRESET;
    begin_close(c);
    return;
  }
  touch(c);
  c.framer->feed(std::string_view(c.rbuf.get(), static_cast<std::size_t>(res)));
  handle_frames(c);
  if (!c.closing && !c.stop_reading)
    arm_recv(c);
}

void tcp_engine::handle_frames(connection& c) {
  while (!c.closing) {
    auto f = c.framer->next();
    if (!f)
      break;
    inbound_message m{transport_kind::tcp, c.peer, c.local, c.id(reactor_.index()),
                      reactor_.index(), std::string_view{}};
    switch (f->kind) {
      case sip::frame_kind::message:
        counters_.tcp_received.fetch_add(1, std::memory_order_relaxed);
        m.bytes = f->bytes;
        sink_.on_message(m);
        break;
      case sip::frame_kind::keepalive:
        // RFC 5626 §3.5.1: answer a double-CRLF ping with a single CRLF.
        counters_.tcp_keepalives.fetch_add(1, std::memory_order_relaxed);
        queue_bytes(c, "\r\n", false);
        break;
      case sip::frame_kind::oversized:
        counters_.tcp_oversized.fetch_add(1, std::memory_order_relaxed);
        m.bytes = f->bytes;
        // Stop reading; whatever the sink writes (a 513, RFC 3261 §21.5.14)
        // ends the connection, and a grace timer ends it if nothing comes.
        c.stop_reading = true;
        c.close_after_flush = true;
        if (c.idle_timer.valid())
          reactor_.timers().cancel(c.idle_timer);
        c.idle_timer = reactor_.timers().schedule(reactor_.now() + close_grace, this,
                                                  c.id(reactor_.index()).value);
        sink_.on_oversized(m);
        return;
      case sip::frame_kind::error:
        // A stream we cannot frame cannot be resynchronised: close it.
        counters_.tcp_framing_errors.fetch_add(1, std::memory_order_relaxed);
        begin_close(c);
        return;
    }
  }
}

void tcp_engine::queue_bytes(connection& c, std::string bytes, bool close_after,
                             std::function<void(int)> on_error) {
  if (!bytes.empty())
    c.outq.push_back({std::move(bytes), std::move(on_error)});
  if (close_after)
    c.close_after_flush = true;
  pump_send(c);
}

void tcp_engine::pump_send(connection& c) {
  if (c.closing || c.connecting || c.sending || c.fd < 0)
    return;
  if (c.outq.empty()) {
    if (c.close_after_flush)
      begin_close(c);
    return;
  }
  auto& front = c.outq.front().bytes;
  ++c.inflight;
  c.sending = true;
  auto* sqe = reactor_.get_sqe();
  io_uring_prep_send(sqe, c.fd, front.data() + c.out_offset, front.size() - c.out_offset,
                     MSG_NOSIGNAL);
  io_uring_sqe_set_data(sqe, static_cast<completion*>(&c.send_op));
}

void tcp_engine::on_sent(connection& c, int res) {
  c.sending = false;
  if (c.closing) {
    maybe_release(c);
    return;
  }
  if (res < 0) {
    counters_.tcp_send_errors.fetch_add(1, std::memory_order_relaxed);
    c.last_error = -res;
    begin_close(c);
    return;
  }
  if (!c.outq.empty()) {
    c.out_offset += static_cast<std::size_t>(res);
    if (c.out_offset >= c.outq.front().bytes.size()) {  // else a short write: go on
      c.outq.pop_front();
      c.out_offset = 0;
      counters_.tcp_sent.fetch_add(1, std::memory_order_relaxed);
    }
  }
  pump_send(c);
}

void tcp_engine::on_connected(connection& c, int res) {
  c.connecting = false;
  if (res < 0 || c.closing) {
    if (res < 0) {
      counters_.tcp_connect_errors.fetch_add(1, std::memory_order_relaxed);
      c.last_error = -res;
    }
    begin_close(c);
    maybe_release(c);
    return;
  }
  counters_.tcp_connected.fetch_add(1, std::memory_order_relaxed);
  int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  arm_recv(c);
  pump_send(c);
}

void tcp_engine::send(connection_id id, const endpoint& destination, std::string bytes,
                      bool close_after, std::function<void(int)> on_error) {
  auto* c = lookup(id);
  if (c == nullptr) {
    if (id.valid())
      counters_.tcp_stale_sends.fetch_add(1, std::memory_order_relaxed);
    // RFC 3261 §18.2.2: the request's connection is gone; use one to the
    // same address, or open one.
    if (auto it = by_peer_.find(destination); it != by_peer_.end()) {
      auto& other = *slots_[it->second];
      if (other.in_use && !other.closing)
        c = &other;
    }
  }
  if (c == nullptr) {
    if (!destination.valid())
      return;
    int fd = ::socket(destination.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      counters_.tcp_connect_errors.fetch_add(1, std::memory_order_relaxed);
      if (on_error)
        on_error(errno);
      return;
    }
    c = add_connection(fd, destination, endpoint{}, true);
    ++c->inflight;
    auto* sqe = reactor_.get_sqe();
    io_uring_prep_connect(sqe, fd, c->peer.data(), c->peer.size());
    io_uring_sqe_set_data(sqe, static_cast<completion*>(&c->connect_op));
  }
  queue_bytes(*c, std::move(bytes), close_after, std::move(on_error));
}

void tcp_engine::close(connection_id id) {
  if (auto* c = lookup(id))
    begin_close(*c);
}

void tcp_engine::begin_close(connection& c) {
  if (!c.in_use)
    return;
  if (!c.closing) {
    c.closing = true;
    if (c.fd >= 0)
      ::shutdown(c.fd, SHUT_RDWR);  // completes the pending recv (and send)
  }
  maybe_release(c);
}

void tcp_engine::fail_pending(connection& c, int err) {
  // Bytes that never made it onto the wire: tell whoever sent them.
  auto pending = std::move(c.outq);
  c.outq.clear();
  for (auto& p : pending)
    if (p.on_error)
      p.on_error(err != 0 ? err : ECONNRESET);
}

void tcp_engine::maybe_release(connection& c) {
  if (!c.in_use || !c.closing || c.inflight > 0)
    return;
  fail_pending(c, c.last_error);
  if (c.fd >= 0)
    ::close(c.fd);
  c.fd = -1;
  if (c.idle_timer.valid())
    reactor_.timers().cancel(c.idle_timer);
  c.idle_timer = {};
  if (auto it = by_peer_.find(c.peer); it != by_peer_.end() && it->second == c.slot)
    by_peer_.erase(it);
  c.framer.reset();
  c.in_use = false;
  ++c.generation;
  if (c.generation == 0)
    c.generation = 1;
  free_slots_.push_back(c.slot);
  --live_;
  counters_.tcp_closed.fetch_add(1, std::memory_order_relaxed);
}

} // namespace centralita::drivers
