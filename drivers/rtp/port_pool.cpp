#include "drivers/rtp/port_pool.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace centralita::drivers {

namespace {

int bind_udp(const endpoint& address, uint16_t port, int& err) {
  auto ep = endpoint::from(address.address(), port);
  int fd = ::socket(address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  int one = 1;
  if (address.family() == AF_INET6)
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  // Media is small packets at a steady rate; a larger receive buffer absorbs
  // the moments the reactor spends on signalling.
  int rcvbuf = 256 << 10;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (::bind(fd, ep->data(), ep->size()) < 0) {
    err = errno;
    ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace

rtp_port_pool::rtp_port_pool(endpoint address, uint16_t port_min, uint16_t port_max)
  : address_(std::move(address)) {
  uint32_t lo = port_min + (port_min & 1u);  // RTP ports are even
  uint32_t hi = port_max;
  if (hi < lo + 1)
    hi = lo + 1;
  if (hi > 65535)
    hi = 65535;
  min_ = static_cast<uint16_t>(lo);
  max_ = static_cast<uint16_t>(hi);
  std::size_t pairs = (hi - lo + 1) / 2;
  used_.assign(pairs == 0 ? 1 : pairs, false);
}

rtp_port_pool::~rtp_port_pool() = default;

result<rtp_port_pair> rtp_port_pool::acquire() {
  std::lock_guard lock(mu_);
  const std::size_t n = used_.size();
  int last_err = 0;
  for (std::size_t tried = 0; tried < n; ++tried) {
    std::size_t i = (next_ + tried) % n;
    if (used_[i])
      continue;
    auto port = static_cast<uint16_t>(min_ + 2 * i);
    int err = 0;
    int rtp = bind_udp(address_, port, err);
    if (rtp < 0) {
      last_err = err;
      if (err == EADDRINUSE || err == EACCES)
        continue;  // someone else's port: try the next pair
      return error{errc::io_error, "bind udp:" + address_.address() + ":" + std::to_string(port)
                                       + ": " + std::strerror(err)};
    }
    int rtcp = bind_udp(address_, static_cast<uint16_t>(port + 1), err);
    if (rtcp < 0) {
      ::close(rtp);
      last_err = err;
      if (err == EADDRINUSE || err == EACCES)
        continue;
      return error{errc::io_error, "bind udp:" + address_.address() + ":"
                                       + std::to_string(port + 1) + ": " + std::strerror(err)};
    }
    used_[i] = true;
    next_ = (i + 1) % n;
    in_use_.fetch_add(1, std::memory_order_relaxed);
    rtp_port_pair p;
    p.rtp_fd = rtp;
    p.rtcp_fd = rtcp;
    p.rtp_local = *endpoint::from(address_.address(), port);
    p.rtcp_local = *endpoint::from(address_.address(), static_cast<uint16_t>(port + 1));
    return p;
  }
  std::string why = "no free media port pair in " + std::to_string(min_) + "-" + std::to_string(max_);
  if (last_err != 0)
    why += std::string(" (last bind error: ") + std::strerror(last_err) + ")";
  return error{errc::io_error, why};
}

void rtp_port_pool::release(uint16_t rtp_port) {
  if (rtp_port < min_ || rtp_port > max_)
    return;
  std::lock_guard lock(mu_);
  std::size_t i = (rtp_port - min_) / 2u;
  if (i < used_.size() && used_[i]) {
    used_[i] = false;
    in_use_.fetch_sub(1, std::memory_order_relaxed);
  }
}

} // namespace centralita::drivers
