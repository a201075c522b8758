#include "drivers/transport/transport_hub.hpp"

namespace centralita::drivers {

transport_hub::transport_hub(std::vector<reactor*> reactors, const transport_options& opts,
                             message_sink& sink)
  : opts_(opts), sink_(sink) {
  for (auto* r : reactors) {
    per_reactor pr;
    pr.r = r;
    pr.tcp = std::make_unique<tcp_engine>(*r, opts_, sink_, counters_);
    reactors_.push_back(std::move(pr));
  }
}

transport_hub::~transport_hub() = default;

result<endpoint> transport_hub::listen(transport_kind kind, const endpoint& local) {
  endpoint bound = local;
  for (auto& pr : reactors_) {
    if (kind == transport_kind::udp) {
      auto s = udp_socket::open(*pr.r, bound, opts_, sink_, counters_, pr.next_group++);
      if (!s)
        return s.err();
      bound = (*s)->local();  // port 0 resolved by the first bind
      pr.udp.push_back(std::move(s.value()));
    } else {
      auto b = pr.tcp->listen(bound);
      if (!b)
        return b.err();
      bound = *b;
    }
  }
  listening_.push_back({kind, bound});
  return bound;
}

void transport_hub::start() {
  // Each ring is touched only by its own thread: the receives are armed there.
  for (auto& pr : reactors_) {
    auto* p = &pr;
    pr.r->post([p] {
      for (auto& s : p->udp)
        s->start();
      p->tcp->start();
    });
  }
}

udp_socket* transport_hub::pick_udp(per_reactor& pr, const outbound_message& msg) {
  udp_socket* same_family = nullptr;
  for (auto& s : pr.udp) {
    if (msg.local.valid() && s->local() == msg.local)
      return s.get();
    if (same_family == nullptr && s->local().family() == msg.destination.family())
      same_family = s.get();
  }
  return same_family;
}

void transport_hub::send(outbound_message msg) {
  auto* current = reactor::current();
  if (msg.transport == transport_kind::udp) {
    // Any reactor's socket for that address sends from the same address:port;
    // ours keeps the send on this thread's ring.
    per_reactor* pr = &reactors_.front();
    if (current != nullptr && current->index() < reactors_.size())
      pr = &reactors_[current->index()];
    if (auto* s = pick_udp(*pr, msg))
      s->send(msg.destination, std::move(msg.bytes));
    else
      counters_.udp_send_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  unsigned target = msg.conn.valid() ? msg.conn.reactor()
                    : current != nullptr ? current->index()
                                         : 0;
  if (target >= reactors_.size())
    target = 0;
  auto& pr = reactors_[target];
  if (current == pr.r) {
    pr.tcp->send(msg.conn, msg.destination, std::move(msg.bytes), msg.close_after,
                 std::move(msg.on_error));
    return;
  }
  auto* engine = pr.tcp.get();
  pr.r->post([engine, m = std::move(msg)]() mutable {
    engine->send(m.conn, m.destination, std::move(m.bytes), m.close_after,
                 std::move(m.on_error));
  });
}

std::size_t transport_hub::tcp_connections() const {
  std::size_t n = 0;
  for (auto& pr : reactors_)
    n += pr.tcp->connection_count();
  return n;
}

} // namespace centralita::drivers
