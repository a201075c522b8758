#pragma once

#include "drivers/transport/tcp_engine.hpp"
#include "drivers/transport/transport.hpp"
#include "drivers/transport/udp_socket.hpp"
#include "drivers/uring/reactor.hpp"

#include <memory>
#include <vector>

namespace centralita::drivers {

/// Every SIP transport of the process: for each listening address, one UDP
/// socket and/or one TCP listener per reactor (SO_REUSEPORT), and the TCP
/// connections. send() may be called from any thread without a lock: on a
/// reactor thread it queues an SQE on that thread's own ring; TCP bytes for a
/// connection owned by another reactor travel there through its lock-free
/// post queue.
class transport_hub {
public:
  transport_hub(std::vector<reactor*> reactors, const transport_options& opts,
                message_sink& sink);
  ~transport_hub();
  transport_hub(const transport_hub&) = delete;
  transport_hub& operator=(const transport_hub&) = delete;

  /// Opens `local` on every reactor; port 0 picks a free port (the same for
  /// all). Returns the bound address. Call before start().
  result<endpoint> listen(transport_kind kind, const endpoint& local);
  /// Arms the receives and accepts, each on its reactor's own thread (posted).
  void start();

  /// Any thread.
  void send(outbound_message msg);

  transport_counters& counters() { return counters_; }
  const transport_options& options() const { return opts_; }

  struct listen_point {
    transport_kind kind;
    endpoint local;
  };
  const std::vector<listen_point>& listening() const { return listening_; }
  /// Open TCP connections, summed over reactors (approximate off-thread).
  std::size_t tcp_connections() const;

private:
  struct per_reactor {
    reactor* r = nullptr;
    std::vector<std::unique_ptr<udp_socket>> udp;
    std::unique_ptr<tcp_engine> tcp;
    uint16_t next_group = 0;
  };
  udp_socket* pick_udp(per_reactor& pr, const outbound_message& msg);

  transport_options opts_;
  message_sink& sink_;
  transport_counters counters_;
  std::vector<per_reactor> reactors_;
  std::vector<listen_point> listening_;
};

} // namespace centralita::drivers
