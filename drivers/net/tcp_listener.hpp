#pragma once

// A listening TCP socket as every reactor opens one on the same address:
// non-blocking, SO_REUSEPORT (the kernel spreads accepts over the reactors),
// IPv6 sockets v6-only. Used by the SIP transports and the HTTP listener.

#include "drivers/net/endpoint.hpp"
#include "protocols/util/result.hpp"

namespace centralita::drivers {

struct tcp_listener {
  int fd = -1;
  endpoint local;  ///< as bound (port 0 resolved)
};

/// Opens, binds and listens. Errors name the address and the system's reason.
result<tcp_listener> open_tcp_listener(const endpoint& local, int backlog = 1024);

/// The peer of an accepted socket, with TCP_NODELAY set on it (SIP and HTTP
/// answers are small and must not wait for Nagle).
endpoint accepted_peer(int fd);

} // namespace centralita::drivers
