#include "drivers/net/tcp_listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace centralita::drivers {

result<tcp_listener> open_tcp_listener(const endpoint& local, int backlog) {
  int fd = ::socket(local.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return error{errc::io_error, std::string("socket: ") + std::strerror(errno)};
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // One listener per reactor on the same address: the kernel balances accepts.
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
    auto e = error{errc::io_error, std::string("setsockopt(SO_REUSEPORT): ") + std::strerror(errno)};
    ::close(fd);
    return e;
  }
  if (local.family() == AF_INET6)
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (::bind(fd, local.data(), local.size()) < 0 || ::listen(fd, backlog) < 0) {
    int err = errno;
    auto e = error{errc::io_error, "bind/listen tcp:" + local.to_string() + ": " + std::strerror(err)};
    ::close(fd);
    errno = err;
    return e;
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  return tcp_listener{fd, endpoint(reinterpret_cast<sockaddr*>(&bound), len)};
}

endpoint accepted_peer(int fd) {
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return endpoint(reinterpret_cast<sockaddr*>(&peer), len);
}

} // namespace centralita::drivers
