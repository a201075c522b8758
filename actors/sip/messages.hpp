#pragma once

#include "drivers/net/endpoint.hpp"
#include "drivers/transport/transport.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

/// How an initial INVITE was answered, for the call table of the SIP shard
/// that owns its Call-ID (CALL_ANSWER / CALL_END events, sip.hangup): from the
/// proxy context that forwarded the final response, or the script VM that
/// answered it.
struct call_outcome {
  std::string call_id;
  int status = 0;
  std::string reason;
  // For a 2xx: the callee's end of the dialog.
  std::string to_tag;
  std::string callee_contact;
  std::vector<std::string> callee_route;  ///< nearest hop first
  drivers::transport_kind callee_transport = drivers::transport_kind::udp;
  std::optional<drivers::endpoint> callee_flow;  ///< where the answering branch went
  drivers::connection_id callee_conn;
};

/// End a call: a BYE to each party (RFC 3261 §15.1.1), CALL_END with `reason`.
struct hangup_call {
  std::string call_id;
  std::string reason;
};

/// A routing script bridged the call `call_id` (B2BUA, actors/b2bua/): the
/// shard's call table hands its hangups to `call` and names its legs in the
/// CALL_* events.
struct call_bridged {
  std::string call_id;
  caf::actor call;
  std::string leg_b;  ///< the B leg's Call-ID
};

/// A bridged call ended (either party hung up, a script did, the media timed
/// out, the B leg failed): the call table publishes CALL_END.
struct call_finished {
  std::string call_id;
  int code = 200;
  std::string reason;
};

/// B2BUA dialogs: a call leg's dialog lives in the shard of its Call-ID, so
/// requests inside it (To tag = the leg's tag) go to the leg actor.
struct leg_dialog_opened {
  std::string call_id;
  std::string local_tag;
  caf::actor leg;
};
struct leg_dialog_closed {
  std::string call_id;
  std::string local_tag;
};

/// List the calls a SIP shard's call table holds (GET /api/calls); replied
/// with `calls_listed`.
struct list_calls {};

struct call_summary {
  std::string call_id;
  std::string from;  ///< URIs without tags
  std::string to;
  std::string ruri;
  bool answered = false;
  int64_t started_ms = 0;   ///< wall clock, ms since the epoch
  int64_t answered_ms = 0;  ///< 0 while ringing
};

struct calls_listed {
  std::vector<call_summary> calls;
};

} // namespace centralita::actors

// Local messages only, never serialized: no inspect() needed.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::sip_received)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::call_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::hangup_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::call_bridged)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::call_finished)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_dialog_opened)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_dialog_closed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::list_calls)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::calls_listed)
