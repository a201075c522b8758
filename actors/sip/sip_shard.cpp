#include "actors/sip/sip_shard.hpp"

#include "protocols/sip/routing_key.hpp"

#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

namespace centralita::actors {

namespace {

struct sip_shard_state {
  static constexpr const char* name = "sip_shard";
  sip_shard_deps deps;

  void on_sip_received(sip_received& in) {
    auto& log = *deps.log;
    if (log.should_log(spdlog::level::debug)) {
      auto cid = sip::scan_call_id(in.bytes).value_or("-");
      log.debug("[cid={}] {} from {} ({} bytes)", cid, drivers::to_string(in.transport),
                in.source.to_string(), in.bytes.size());
    }
    auto reply = deps.core->handle(in.bytes, in.source, in.transport, *deps.counters);
    if (!reply)
      return;
    if (log.should_log(spdlog::level::debug)) {
      auto cid = sip::scan_call_id(in.bytes).value_or("-");
      log.debug("[cid={}] answered {} to {}", cid, reply->status,
                reply->destination.to_string());
    }
    drivers::outbound_message out;
    out.transport = in.transport;
    out.destination = reply->destination;
    out.local = in.local;
    out.conn = in.conn;
    out.bytes = std::move(reply->bytes);
    deps.hub->send(std::move(out));
  }
};

caf::behavior sip_shard(caf::stateful_actor<sip_shard_state>* self, sip_shard_deps deps) {
  self->state.deps = std::move(deps);
  return {
    [self](sip_received& in) { self->state.on_sip_received(in); },
  };
}

} // namespace

caf::actor spawn_sip_shard(caf::actor_system& sys, sip_shard_deps deps) {
  return sys.spawn(sip_shard, std::move(deps));
}

} // namespace centralita::actors
