#include "drivers/rtp/rtp_relay.hpp"

#include "drivers/rtp/rtp_engine.hpp"

#include <vector>

namespace centralita::drivers {

rtp_relay::rtp_relay(std::vector<reactor*> reactors, const rtp_relay_options& opts,
                     rtp_relay_events& events)
  : opts_(opts), events_(events), pool_(opts.address, opts.port_min, opts.port_max) {
  for (auto* r : reactors)
    engines_.push_back(std::make_shared<rtp_engine>(*r, opts_, events_, pool_, counters_));
}

rtp_relay::~rtp_relay() = default;

result<void> rtp_relay::start() {
  for (auto& e : engines_)
    if (auto ok = e->start(); !ok)
      return ok;
  return {};
}

std::shared_ptr<rtp_engine> rtp_relay::engine_of(rtp_side_id side) const {
  if (!side.valid() || side.reactor() >= engines_.size())
    return nullptr;
  return engines_[side.reactor()];
}

result<rtp_relay::opened> rtp_relay::open_side(unsigned reactor_index, uint64_t cookie) {
  if (engines_.empty())
    return error{errc::io_error, "the media relay has no reactor"};
  return engines_[reactor_index % engines_.size()]->open(cookie);
}

void rtp_relay::configure(rtp_side_id side, rtp_side_config config) {
  if (auto e = engine_of(side))
    e->owner().post([w = std::weak_ptr<rtp_engine>(e), side, cfg = std::move(config)]() mutable {
      if (auto e = w.lock())
        e->configure(side, std::move(cfg));
    });
}

void rtp_relay::send(rtp_side_id side, std::span<const uint8_t> bytes, bool rtcp) {
  auto e = engine_of(side);
  if (e == nullptr)
    return;
  // Originated packets (DTMF, transcoded audio) come from actors on any
  // worker; the socket and the latched address belong to the reactor.
  e->owner().post([w = std::weak_ptr<rtp_engine>(e), side, rtcp,
                   data = std::vector<uint8_t>(bytes.begin(), bytes.end())] {
    if (auto e = w.lock())
      e->send(side, data, rtcp);
  });
}

void rtp_relay::close(rtp_side_id side) {
  if (auto e = engine_of(side))
    e->owner().post([w = std::weak_ptr<rtp_engine>(e), side] {
      if (auto e = w.lock())
        e->close(side);
    });
}

void rtp_relay::query(rtp_side_id side, std::function<void(const rtp_side_stats*)> fn) {
  auto e = engine_of(side);
  if (e == nullptr) {
    fn(nullptr);
    return;
  }
  e->owner().post([w = std::weak_ptr<rtp_engine>(e), side, fn = std::move(fn)] {
    if (auto e = w.lock())
      e->query(side, fn);
    else
      fn(nullptr);
  });
}

std::size_t rtp_relay::sides_open() const {
  std::size_t n = 0;
  for (auto& e : engines_)
    n += e->open_count();
  return n;
}

} // namespace centralita::drivers
