#include "actors/sip/inbound_router.hpp"

#include "actors/sip/messages.hpp"
#include "actors/transaction/txn_messages.hpp"
#include "protocols/sip/routing_key.hpp"

#include <caf/send.hpp>

#include <functional>

namespace centralita::actors {

inbound_router::inbound_router(std::shared_ptr<sip_counters> counters)
  : counters_(std::move(counters)) {
}

std::size_t inbound_router::shard_of(std::string_view bytes, const drivers::endpoint& source,
                                     std::size_t shards) {
  if (auto cid = sip::scan_call_id(bytes))
    return std::hash<std::string_view>{}(*cid) % shards;
  // No Call-ID: the shard will answer 400; spread by source meanwhile.
  return source.hash() % shards;
}

void inbound_router::on_message(const drivers::inbound_message& msg) {
  if (shards_.empty() || msg.bytes.empty())
    return;  // a zero-length datagram carries nothing to answer
  auto& shard = shards_[shard_of(msg.bytes, msg.source, shards_.size())];
  caf::anon_send(shard, sip_received{msg.transport, msg.source, msg.local, msg.conn,
                                     std::string(msg.bytes)});
}

void inbound_router::on_unreachable(drivers::transport_kind transport,
                                    const drivers::endpoint& destination, int err) {
  // Rare: every shard checks its client transactions for that destination.
  for (auto& shard : shards_)
    caf::anon_send(shard, destination_unreachable{transport, destination, err});
}

void inbound_router::on_oversized(const drivers::inbound_message& msg) {
  counters_->oversized.fetch_add(1, std::memory_order_relaxed);
  if (hub_ == nullptr || core_ == nullptr || msg.bytes.empty())
    return;  // no header block to answer from: the transport closes
  if (auto answer = core_->too_large(msg.bytes, msg.source)) {
    counters_->count_response_sent(513);
    drivers::outbound_message out;
    out.transport = msg.transport;
    out.destination = msg.source;
    out.local = msg.local;
    out.conn = msg.conn;
    out.bytes = std::move(*answer);
    out.close_after = true;  // RFC 3261 §18.3: framing is lost past this point
    hub_->send(std::move(out));
  }
}

} // namespace centralita::actors
