#pragma once

#include "actors/sip/messages.hpp"
#include "actors/sip/sip_counters.hpp"
#include "actors/sip/stateless_core.hpp"
#include "drivers/transport/transport_hub.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <spdlog/logger.h>

#include <memory>

namespace centralita::actors {

/// A SIP shard: K of them, each owning the messages whose Call-ID hashes to
/// it. Lives as long as the process. Today it answers statelessly through
/// `stateless_core`; transactions and dialogs move in with the SIP core.
struct sip_shard_deps {
  std::shared_ptr<const stateless_core> core;
  std::shared_ptr<sip_counters> counters;
  drivers::transport_hub* hub = nullptr;  ///< outlives the actor system
  std::shared_ptr<spdlog::logger> log;
};

caf::actor spawn_sip_shard(caf::actor_system& sys, sip_shard_deps deps);

} // namespace centralita::actors
