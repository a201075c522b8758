#include "actors/media/media_setup.hpp"

namespace centralita::actors {

result<media_parts> start_media(const config::media_config& mc, const drivers::endpoint& first_listen,
                                std::string_view via_host, std::vector<drivers::reactor*> reactors,
                                spdlog::logger& log) {
  std::string address = mc.address.empty() ? first_listen.address() : mc.address;
  auto bind = drivers::endpoint::from(address, 0);
  if (!bind)
    return error{errc::invalid_argument, "media.address: '" + address + "' is not an IP address"};
  media_settings ms;
  ms.advertised_address = !mc.advertised_address.empty()              ? mc.advertised_address
                          : (address == "0.0.0.0" || address == "::") ? std::string(via_host)
                                                                      : address;
  if (ms.advertised_address.size() > 2 && ms.advertised_address.front() == '[')
    ms.advertised_address = ms.advertised_address.substr(1, ms.advertised_address.size() - 2);
  ms.ipv6 = ms.advertised_address.find(':') != std::string::npos;
  ms.inactivity_timeout = std::chrono::seconds{mc.inactivity_timeout};
  ms.inband_dtmf = mc.inband_dtmf == "always"  ? media_settings::inband::always
                   : mc.inband_dtmf == "never" ? media_settings::inband::never
                                               : media_settings::inband::automatic;
  media_parts parts;
  parts.hub = std::make_shared<media_hub>(ms);
  drivers::rtp_relay_options ro;
  ro.address = *bind;
  ro.port_min = mc.port_min;
  ro.port_max = mc.port_max;
  ro.buffers_per_reactor = mc.buffers;
  parts.relay = std::make_unique<drivers::rtp_relay>(std::move(reactors), ro, *parts.hub);
  if (auto ok = parts.relay->start(); !ok)
    return error{ok.err().code, "media relay: " + ok.err().reason};
  parts.hub->attach(parts.relay.get());
  log.info("media relay on {} ports {}-{} (SDP address {})", address, mc.port_min, mc.port_max,
           ms.advertised_address);
  return parts;
}

} // namespace centralita::actors
