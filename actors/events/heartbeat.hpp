#pragma once

// HEARTBEAT events (docs/events.md): every N seconds, the node's load and
// counts, with the fields FreeSWITCH's HEARTBEAT carries, so a balancer that
// reads FreeSWITCH heartbeats can read ours.

#include "actors/events/event_bus.hpp"
#include "actors/script/script_vm.hpp"
#include "actors/sip/sip_counters.hpp"
#include "actors/system/actor_timers.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace centralita::actors {

struct heartbeat_deps {
  timer_service* timers = nullptr;
  caf::actor events;
  std::chrono::seconds interval{20};
  std::shared_ptr<const sip_counters> sip;
  std::shared_ptr<const event_bus_stats> bus;
  std::shared_ptr<const script_counters> scripts;  ///< may be null (built-in routing)
  unsigned max_sessions = 0;  ///< 0: no limit configured
  std::string version;
};

caf::actor spawn_heartbeat(caf::actor_system& sys, heartbeat_deps deps);

/// Busy and total jiffies of the whole machine from /proc/stat's "cpu" line
/// (idle + iowait count as idle). false when it cannot be read.
bool read_cpu_jiffies(uint64_t& idle, uint64_t& total);

} // namespace centralita::actors
