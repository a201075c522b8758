#pragma once

// What a script VM and the proxy contexts it drives say to each other
// (docs/scripting.md, "How a routing run works"). The VM decides; the proxy
// context is the forwarding engine: it owns the client transactions, the
// RFC 3261 §16.7 response context and the CANCEL fan-out.

#include "drivers/net/endpoint.hpp"
#include "drivers/transport/transport.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace centralita::actors {

/// Where a branch really goes when that is not where its URI points: a
/// registered contact's flow (NAT, TCP connection reuse, RFC 5626), or the
/// outbound proxy for a foreign domain.
struct relay_flow {
  drivers::endpoint destination;
  drivers::transport_kind transport = drivers::transport_kind::udp;
  drivers::connection_id conn;
};

/// One branch to start.
struct relay_target {
  std::string uri;                 ///< the branch's Request-URI
  std::vector<std::string> path;   ///< RFC 3327 Path values, first is the next hop
  std::optional<relay_flow> flow;  ///< nullopt: resolve the URI (literal addresses only)
  std::vector<std::pair<std::string, std::string>> headers;  ///< added to this branch only
  double q = 1.0;                  ///< serial forking by q (highest first) when asked
};

enum class fork_mode : uint8_t {
  parallel,  ///< every target at once
  serial,    ///< one after another, the next when the previous failed
  by_q,      ///< RFC 3261 §16.6: groups of equal q, highest first (registered contacts)
};

/// A script's sip.relay(): what the proxy context starts with.
struct relay_plan {
  std::vector<relay_target> targets;  ///< never empty
  fork_mode mode = fork_mode::by_q;
  /// opts.wait_for_branches: after the current branches all failed, keep the
  /// transaction for this long waiting for sip.append_branch (0 = do not).
  std::chrono::milliseconds wait_for_branches{0};
  /// opts.branch_timeout: Timer C for this relay (0 = the configured one).
  std::chrono::seconds branch_timeout{0};
  std::vector<std::pair<std::string, std::string>> headers;  ///< added to every branch
  bool ask_on_failure = false;  ///< the script has on_failure(): ask before a final failure
  bool tell_replies = false;    ///< the script has on_reply(): pass every response
  caf::actor vm;                ///< who to ask and tell
  uint64_t run = 0;             ///< the routing run there
};

// -- VM -> proxy context -----------------------------------------------------

/// sip.append_branch() or a new sip.relay() from on_failure: more branches.
struct relay_more {
  std::vector<relay_target> targets;
  bool from_failure = false;  ///< on_failure relayed: these replace the failure
};
/// on_failure() finished: when it started no branch, the best failure goes
/// upstream (unless the script answered itself: `answered`).
struct failure_handled {
  bool answered = false;
};

// -- proxy context -> VM -----------------------------------------------------

/// Every branch failed and nothing else is to be tried: run on_failure().
struct relay_failed {
  uint64_t run;
  int status;          ///< the best final response so far (408 when none)
  std::string reason;
  std::string branch_uri;  ///< the target of the branch that gave it
};
/// A response arrived on a branch (only when the script has on_reply()).
struct relay_reply {
  uint64_t run;
  int status;
  std::string reason;
  std::string bytes;  ///< the whole response, as received
};
/// The proxy context's final response went upstream (status), or it ended.
struct relay_final {
  uint64_t run;
  int status;
};

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::relay_plan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::relay_more)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::failure_handled)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::relay_failed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::relay_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::relay_final)
