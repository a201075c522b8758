#pragma once

#include "actors/sip/sip_counters.hpp"
#include "actors/sip/stateless_core.hpp"
#include "drivers/transport/transport_hub.hpp"

#include <caf/actor.hpp>

#include <memory>
#include <vector>

namespace centralita::actors {

/// The transports' sink: picks the shard that owns a message by a hash of its
/// Call-ID (the only thing read before the owning actor parses it) and hands
/// the bytes over. Runs on the reactor's thread inside a scheduler worker, so
/// a shard woken here is scheduled on the same worker: no thread hop.
class inbound_router final : public drivers::message_sink {
public:
  explicit inbound_router(std::shared_ptr<sip_counters> counters);

  /// Set once the listening ports are known, before the hub starts.
  void set_core(std::shared_ptr<const stateless_core> core) { core_ = std::move(core); }
  void set_shards(std::vector<caf::actor> shards) { shards_ = std::move(shards); }
  void set_hub(drivers::transport_hub* hub) { hub_ = hub; }

  void on_message(const drivers::inbound_message& msg) override;
  void on_oversized(const drivers::inbound_message& msg) override;
  void on_unreachable(drivers::transport_kind transport, const drivers::endpoint& destination,
                      int err) override;

  /// The shard index for a message (exposed for tests).
  static std::size_t shard_of(std::string_view bytes, const drivers::endpoint& source,
                              std::size_t shards);

private:
  std::shared_ptr<const stateless_core> core_;
  std::shared_ptr<sip_counters> counters_;
  std::vector<caf::actor> shards_;
  drivers::transport_hub* hub_ = nullptr;
};

} // namespace centralita::actors
