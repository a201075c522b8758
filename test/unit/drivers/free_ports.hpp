#pragma once

// A block of consecutive UDP ports on 127.0.0.1 that bind right now, below the
// kernel's ephemeral range (sockets bound to port 0 never take them), picked
// at random: tests that give the relay a port range run concurrently (ctest
// -j, the sanitized twin of each test), and a fixed or pid-derived range
// collides. The relay's pool skips a port someone takes afterwards.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <vector>

namespace centralita::test {

inline uint16_t free_udp_block(unsigned width, unsigned low = 20000, unsigned high = 32000) {
  std::random_device rd;
  std::mt19937 gen(rd());
  std::uniform_int_distribution<unsigned> pick(low / 2, (high - width) / 2);
  for (int attempt = 0; attempt < 200; ++attempt) {
    unsigned base = pick(gen) * 2;
    std::vector<int> fds;
    bool ok = true;
    for (unsigned p = base; p < base + width && ok; ++p) {
      int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(p));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
      fds.push_back(fd);
    }
    for (int fd : fds)
      ::close(fd);
    if (ok)
      return static_cast<uint16_t>(base);
  }
  return static_cast<uint16_t>(low);
}

} // namespace centralita::test
