#pragma once

#include "actors/sip/sip_counters.hpp"
#include "actors/system/actor_timers.hpp"
#include "drivers/transport/transport_hub.hpp"
#include "protocols/sip/transaction/event.hpp"

#include <spdlog/logger.h>

#include <memory>

namespace centralita::actors {

/// What every SIP actor (shards, transactions, proxy contexts, registrar
/// shards) shares: transports, timers, the transaction timer values, the
/// `sip`/`txn` loggers and the counters. Built once by the switch; outlives
/// the actor system.
struct sip_services {
  drivers::transport_hub* hub = nullptr;
  timer_service* timers = nullptr;
  sip::txn::timer_config txn_timers;
  std::shared_ptr<spdlog::logger> sip_log;
  std::shared_ptr<spdlog::logger> txn_log;
  std::shared_ptr<sip_counters> counters;
};

using services_ptr = std::shared_ptr<const sip_services>;

} // namespace centralita::actors
