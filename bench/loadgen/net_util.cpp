#include "bench/loadgen/net_util.hpp"

#include <netdb.h>
#include <sys/resource.h>
#include <unistd.h>

namespace centralita::loadgen {

std::optional<drivers::endpoint> resolve(const std::string& host, uint16_t port, int socktype) {
  if (auto e = drivers::endpoint::from(host, port))
    return e;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr)
    return std::nullopt;
  drivers::endpoint e(res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  return drivers::endpoint::from(e.address(), port);
}

std::optional<drivers::endpoint> route_source(const drivers::endpoint& to) {
  int fd = ::socket(to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::nullopt;
  std::optional<drivers::endpoint> out;
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (::connect(fd, to.data(), to.size()) == 0
      && ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0)
    out = drivers::endpoint(reinterpret_cast<sockaddr*>(&local), len);
  ::close(fd);
  return out;
}

double self_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

} // namespace centralita::loadgen
