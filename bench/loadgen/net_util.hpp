#pragma once

// Small socket helpers shared by the scenarios' set-up (main.cpp, events_run.cpp).

#include "drivers/net/endpoint.hpp"

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace centralita::loadgen {

/// An address literal as is; a name through the resolver (its first answer).
std::optional<drivers::endpoint> resolve(const std::string& host, uint16_t port,
                                         int socktype = SOCK_DGRAM);

/// The local address the kernel routes to `to` from (connecting a UDP socket
/// sends nothing).
std::optional<drivers::endpoint> route_source(const drivers::endpoint& to);

/// CPU seconds (user + system) this process has used so far.
double self_cpu_seconds();

} // namespace centralita::loadgen
