#pragma once
// The ng control protocol (RTPEngine's, as Kamailio's and OpenSIPS's
// rtpengine modules speak it) for the media relay: `[media] ng_listen`.
// A proxy that keeps its own signalling can anchor media on centralita the
// way it did on RTPEngine: offer / answer / delete / query / ping over UDP,
// bencoded. Each call-id is a media session (actors/media/media_session).

#include "actors/media/media_hub.hpp"
#include "drivers/net/endpoint.hpp"
#include "protocols/util/result.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace centralita::actors {

struct event_bus_stats;

struct ng_control_deps {
  std::shared_ptr<media_hub> hub;
  std::string listen;  ///< "ADDR:PORT" (port 0: any free port)
  caf::actor events;
  std::shared_ptr<const event_bus_stats> event_stats;
  std::shared_ptr<spdlog::logger> log;
};

/// The listener: a receive thread and the actor that runs the commands.
/// Destroying it stops both (bounded) and ends every session it holds.
class ng_control {
public:
  static result<std::unique_ptr<ng_control>> start(caf::actor_system& sys, ng_control_deps deps);
  ~ng_control();
  ng_control(const ng_control&) = delete;
  ng_control& operator=(const ng_control&) = delete;

  drivers::endpoint local() const;

  struct impl;

private:
  explicit ng_control(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace centralita::actors
