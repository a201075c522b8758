#pragma once
// [media] as the switch starts it: the hub the media sessions share and the
// RTP relay on the workers' reactors (buffer rings registered before the
// workers take the rings).

#include "actors/config/config.hpp"
#include "actors/media/media_hub.hpp"
#include "drivers/rtp/rtp_relay.hpp"

#include <spdlog/logger.h>

#include <memory>
#include <string_view>
#include <vector>

namespace centralita::actors {

struct media_parts {
  std::shared_ptr<media_hub> hub;
  std::unique_ptr<drivers::rtp_relay> relay;
};

/// `first_listen`: the first SIP listening address (the default media
/// address); `via_host`: what to advertise when that address is a wildcard.
/// Errors name the key (media.address) or the failing step.
result<media_parts> start_media(const config::media_config& mc, const drivers::endpoint& first_listen,
                                std::string_view via_host, std::vector<drivers::reactor*> reactors,
                                spdlog::logger& log);

} // namespace centralita::actors
