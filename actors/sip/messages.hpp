#pragma once

#include "drivers/net/endpoint.hpp"
#include "drivers/transport/transport.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <string>

namespace centralita::actors {

/// Every message type the actors exchange (CAF 0.17 has no type-ID blocks:
/// this header is the list). Events in the past tense, commands in the
/// imperative (STYLE.md §6).

/// A SIP message a transport received (it owns its bytes).
struct sip_received {
  drivers::transport_kind transport;
  drivers::endpoint source;
  drivers::endpoint local;
  drivers::connection_id conn;
  std::string bytes;
};

} // namespace centralita::actors

// Local messages only, never serialized: no inspect() needed.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::sip_received)
