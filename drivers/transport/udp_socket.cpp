#include "drivers/transport/udp_socket.hpp"

#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <cstring>

namespace centralita::drivers {

namespace {

std::string sys_error(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// Room in each provided buffer for the io_uring_recvmsg_out header and the
// source address ahead of the payload.
constexpr std::size_t recv_headroom = sizeof(io_uring_recvmsg_out) + sizeof(sockaddr_storage);

} // namespace

/// An ICMP error about an earlier datagram (to anywhere) is left on the
/// socket (sk_err, with IP_RECVERR) and the next send fails with it, unsent:
/// Linux reports the pending error instead of sending. Such a send is tried
/// once more (the failed attempt cleared the error).
static bool pending_icmp_error(int err) {
  return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN
         || err == EPROTO || err == EMSGSIZE;
}

struct udp_socket::send_op final : completion {
  udp_socket* owner = nullptr;
  msghdr msg{};
  iovec iov{};
  endpoint to;
  std::string bytes;
  bool retried = false;

  void on_completion(reactor& r, const io_uring_cqe& cqe) override {
    if (cqe.res < 0 && !retried && pending_icmp_error(-cqe.res)) {
      retried = true;
      owner->counters_.udp_send_retried.fetch_add(1, std::memory_order_relaxed);
      auto* sqe = r.get_sqe();
      io_uring_prep_sendmsg(sqe, owner->fd_, &msg, 0);
      io_uring_sqe_set_data(sqe, static_cast<completion*>(this));
      return;
    }
    if (cqe.res < 0)
      owner->counters_.udp_send_errors.fetch_add(1, std::memory_order_relaxed);
    else
      owner->counters_.udp_sent.fetch_add(1, std::memory_order_relaxed);
    bytes.clear();
    owner->free_ops_.push_back(this);
  }
};

udp_socket::udp_socket(reactor& r, message_sink& sink, transport_counters& counters)
  : reactor_(r), sink_(sink), counters_(counters) {
}

result<std::unique_ptr<udp_socket>> udp_socket::open(reactor& r, const endpoint& local,
                                                     const transport_options& opts,
                                                     message_sink& sink,
                                                     transport_counters& counters,
                                                     uint16_t buffer_group) {
  std::unique_ptr<udp_socket> s(new udp_socket(r, sink, counters));
  s->fd_ = ::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd_ < 0)
    return error{errc::io_error, sys_error("socket")};
  int one = 1;
  // SO_REUSEPORT: every reactor binds its own socket to the same address and
  // the kernel spreads datagrams over them by source hash.
  if (::setsockopt(s->fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
    return error{errc::io_error, sys_error("setsockopt(SO_REUSEPORT)")};
  if (local.family() == AF_INET6)
    ::setsockopt(s->fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  // ICMP errors for datagrams we send (port or host unreachable) are queued
  // on the socket's error queue, with the original destination: RFC 3261
  // §8.1.3.1 wants the client transaction to fail at once, not by timeout.
  if (local.family() == AF_INET6)
    ::setsockopt(s->fd_, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
  else
    ::setsockopt(s->fd_, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
  if (opts.rx_timestamps) {
    // RFC-free: the kernel's receive time in a control message per datagram.
    if (::setsockopt(s->fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
      return error{errc::io_error, sys_error("setsockopt(SO_TIMESTAMPNS)")};
    s->control_len_ = CMSG_SPACE(sizeof(timespec));
  }
  int rcvbuf = 4 << 20;
  ::setsockopt(s->fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (::bind(s->fd_, local.data(), local.size()) < 0)
    return error{errc::io_error, sys_error(("bind udp:" + local.to_string()).c_str())};
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(s->fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  s->local_ = endpoint(reinterpret_cast<sockaddr*>(&bound), len);

  // Provided buffer ring (liburing 2.3 has no io_uring_setup_buf_ring: map
  // and register it by hand). Entries must be a power of two.
  unsigned count = 1;
  while (count < opts.udp_buffer_count)
    count <<= 1;
  s->buffer_count_ = count;
  // +1 detects oversize; rounded up so every buffer (and the
  // io_uring_recvmsg_out header at its start) is 64-byte aligned.
  s->buffer_size_ =
      (opts.max_message_size + 1 + recv_headroom + s->control_len_ + 63) & ~std::size_t{63};
  s->buf_ring_bytes_ = count * sizeof(io_uring_buf);
  void* mem = ::mmap(nullptr, s->buf_ring_bytes_, PROT_READ | PROT_WRITE,
                     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED)
    return error{errc::io_error, sys_error("mmap(buffer ring)")};
  s->buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(s->buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = count;
  reg.bgid = buffer_group;
  if (int rc = io_uring_register_buf_ring(r.ring(), &reg, 0); rc < 0)
    return error{errc::io_error, std::string("io_uring_register_buf_ring: ") + std::strerror(-rc)};
  s->group_ = buffer_group;
  s->buffers_.reset(new char[count * s->buffer_size_]);
  for (unsigned i = 0; i < count; ++i)
    io_uring_buf_ring_add(s->buf_ring_, s->buffers_.get() + i * s->buffer_size_,
                          static_cast<unsigned>(s->buffer_size_), static_cast<unsigned short>(i),
                          io_uring_buf_ring_mask(count), static_cast<int>(i));
  io_uring_buf_ring_advance(s->buf_ring_, static_cast<int>(count));
  s->recv_template_.msg_namelen = sizeof(sockaddr_storage);
  s->recv_template_.msg_controllen = s->control_len_;
  return s;
}

udp_socket::~udp_socket() {
  if (fd_ >= 0)
    ::close(fd_);
  if (buf_ring_ != nullptr) {
    io_uring_unregister_buf_ring(reactor_.ring(), group_);
    ::munmap(buf_ring_, buf_ring_bytes_);
  }
}

void udp_socket::start() {
  arm();
}

void udp_socket::arm() {
  auto* sqe = reactor_.get_sqe();
  io_uring_prep_recvmsg_multishot(sqe, fd_, &recv_template_, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = group_;
  io_uring_sqe_set_data(sqe, static_cast<completion*>(this));
  armed_ = true;
}

void udp_socket::recycle(uint16_t buffer_id) {
  io_uring_buf_ring_add(buf_ring_, buffers_.get() + std::size_t{buffer_id} * buffer_size_,
                        static_cast<unsigned>(buffer_size_), buffer_id,
                        io_uring_buf_ring_mask(buffer_count_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

void udp_socket::on_completion(reactor& r, const io_uring_cqe& cqe) {
  bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    char* buf = buffers_.get() + std::size_t{id} * buffer_size_;
    if (cqe.res > 0) {
      auto* out = io_uring_recvmsg_validate(buf, cqe.res, &recv_template_);
      if (out != nullptr) {
        auto len = io_uring_recvmsg_payload_length(out, cqe.res, &recv_template_);
        if ((out->flags & MSG_TRUNC) != 0
            || len > buffer_size_ - recv_headroom - control_len_ - 1) {
          counters_.udp_truncated.fetch_add(1, std::memory_order_relaxed);
        } else {
          counters_.udp_received.fetch_add(1, std::memory_order_relaxed);
          auto namelen = std::min<socklen_t>(out->namelen, sizeof(sockaddr_storage));
          inbound_message m{transport_kind::udp,
                            endpoint(static_cast<const sockaddr*>(io_uring_recvmsg_name(out)), namelen),
                            local_, connection_id{}, r.index(),
                            std::string_view(static_cast<const char*>(
                                               io_uring_recvmsg_payload(out, &recv_template_)),
                                             len)};
          if (control_len_ != 0)
            m.rx_realtime_ns = receive_time(out);
          sink_.on_message(m);
        }
      }
    }
    recycle(id);  // the sink copied what it keeps
  } else if (cqe.res == -ENOBUFS) {
    counters_.udp_no_buffers.fetch_add(1, std::memory_order_relaxed);
  } else if (cqe.res < 0 && cqe.res != -ECANCELED && cqe.res != -EBADF) {
    drain_errors();  // an ICMP error ended the receive: see what it was about
  }
  // The kernel ends a multishot request on errors and when buffers run out;
  // re-arm unless the socket is shutting down.
  if (!more && cqe.res != -ECANCELED && cqe.res != -EBADF)
    arm();
}

int64_t udp_socket::receive_time(io_uring_recvmsg_out* out) {
  for (auto* c = io_uring_recvmsg_cmsg_firsthdr(out, &recv_template_); c != nullptr;
       c = io_uring_recvmsg_cmsg_nexthdr(out, &recv_template_, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS
        && c->cmsg_len >= CMSG_LEN(sizeof(timespec))) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    }
  }
  return 0;
}

void udp_socket::drain_errors() {
  // Non-blocking reads of the error queue: rare, so a plain syscall.
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage dest{};
    char control[512];
    char data[64];
    iovec iov{data, sizeof(data)};
    msghdr msg{};
    msg.msg_name = &dest;
    msg.msg_namelen = sizeof(dest);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (::recvmsg(fd_, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
      return;
    int err = 0;
    for (auto* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR)
          || (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
        sock_extended_err ee{};
        std::memcpy(&ee, CMSG_DATA(c), sizeof(ee));
        if (ee.ee_origin == SO_EE_ORIGIN_ICMP || ee.ee_origin == SO_EE_ORIGIN_ICMP6)
          err = static_cast<int>(ee.ee_errno);
      }
    }
    if (err != 0 && msg.msg_namelen > 0) {
      counters_.udp_unreachable.fetch_add(1, std::memory_order_relaxed);
      sink_.on_unreachable(transport_kind::udp,
                           endpoint(reinterpret_cast<sockaddr*>(&dest), msg.msg_namelen), err);
    }
  }
}

void udp_socket::send(const endpoint& to, std::string bytes) {
  if (reactor::current() != &reactor_) {
    // Not our thread: the kernel serialises sendto on a socket; no lock here.
    auto n = ::sendto(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT, to.data(), to.size());
    if (n < 0 && pending_icmp_error(errno)) {
      counters_.udp_send_retried.fetch_add(1, std::memory_order_relaxed);
      n = ::sendto(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT, to.data(), to.size());
    }
    if (n < 0)
      counters_.udp_send_errors.fetch_add(1, std::memory_order_relaxed);
    else
      counters_.udp_sent.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  send_op* op;
  if (!free_ops_.empty()) {
    op = free_ops_.back();
    free_ops_.pop_back();
  } else {
    all_ops_.push_back(std::make_unique<send_op>());
    op = all_ops_.back().get();
    op->owner = this;
  }
  op->to = to;
  op->retried = false;
  op->bytes = std::move(bytes);
  op->iov.iov_base = op->bytes.data();
  op->iov.iov_len = op->bytes.size();
  op->msg = msghdr{};
  op->msg.msg_name = op->to.data();
  op->msg.msg_namelen = op->to.size();
  op->msg.msg_iov = &op->iov;
  op->msg.msg_iovlen = 1;
  auto* sqe = reactor_.get_sqe();
  io_uring_prep_sendmsg(sqe, fd_, &op->msg, 0);
  io_uring_sqe_set_data(sqe, static_cast<completion*>(op));
}

} // namespace centralita::drivers
