#pragma once

// One HTTP or WebSocket connection (docs/api.md): an actor fed by the
// reactor that owns the socket. It parses requests (protocols/http), checks
// the token and the origin, answers the API, /metrics and the dashboard's
// files, and after an upgrade on /events streams events to the client.

#include "actors/web/web_server.hpp"
#include "drivers/transport/transport.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include <cstdint>
#include <string>

namespace centralita::actors {

/// From the connection's reactor to its session.
struct conn_bytes {
  std::string bytes;
};
struct conn_written {
  uint64_t total;  ///< bytes written to the socket so far
};
struct conn_closed {
  int err;
};

caf::actor spawn_http_session(caf::actor_system& sys, web_context_ptr ctx,
                              drivers::connection_id id, drivers::endpoint peer);

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::conn_bytes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::conn_written)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::conn_closed)
