#pragma once

#include "drivers/transport/transport.hpp"
#include "drivers/uring/reactor.hpp"
#include "protocols/sip/stream_framer.hpp"
#include "protocols/util/result.hpp"

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace centralita::drivers {

/// The TCP side of one reactor: its SO_REUSEPORT listeners (multishot accept)
/// and every connection accepted or opened on it. SIP messages are cut out of
/// each stream by protocols' stream_framer (RFC 3261 §18.3); CRLFCRLF pings
/// get a CRLF (RFC 5626 §3.5.1); idle connections close on the reactor's
/// timing wheel. Only the owning reactor's thread touches it.
class tcp_engine final : public timer_target {
public:
  tcp_engine(reactor& r, const transport_options& opts, message_sink& sink,
             transport_counters& counters);
  ~tcp_engine();

  /// Binds and listens (before the reactor thread runs); returns the bound address.
  result<endpoint> listen(const endpoint& local);
  /// Queues the accepts.
  void start();

  /// Writes `bytes` on `conn`; when `conn` is stale or invalid, on a
  /// connection to `destination` (an existing one, else a new one).
  void send(connection_id conn, const endpoint& destination, std::string bytes,
            bool close_after, std::function<void(int)> on_error = {});
  void close(connection_id conn);
  std::size_t connection_count() const { return live_; }

  void on_timer(uint64_t cookie) override;

private:
  struct connection;
  struct listener;

  struct op final : completion {
    enum kind_t { recv, send, connect } kind;
    connection* conn = nullptr;
    tcp_engine* engine = nullptr;
    void on_completion(reactor& r, const io_uring_cqe& cqe) override;
  };

  struct connection {
    uint32_t slot = 0;
    uint32_t generation = 1;
    bool in_use = false;
    int fd = -1;
    endpoint peer;
    endpoint local;
    std::unique_ptr<sip::stream_framer> framer;
    std::unique_ptr<char[]> rbuf;
    struct pending {
      std::string bytes;
      std::function<void(int)> on_error;
    };
    std::deque<pending> outq;
    int last_error = 0;  ///< why the connection failed, for on_error
    std::size_t out_offset = 0;
    bool connecting = false;
    bool reading = false;
    bool closing = false;
    bool close_after_flush = false;
    bool sending = false;
    bool stop_reading = false;
    unsigned inflight = 0;
    reactor::clock::time_point last_activity;
    timer_wheel::handle idle_timer;
    op recv_op{};
    op send_op{};
    op connect_op{};
    connection_id id(unsigned reactor) const {
      return connection_id::make(reactor, slot, generation);
    }
  };

  struct listener final : completion {
    tcp_engine* engine = nullptr;
    int fd = -1;
    endpoint local;
    void arm(reactor& r);
    void on_completion(reactor& r, const io_uring_cqe& cqe) override;
  };

  connection* lookup(connection_id id);
  connection* add_connection(int fd, const endpoint& peer, const endpoint& local, bool connecting);
  void arm_recv(connection& c);
  void pump_send(connection& c);
  void begin_close(connection& c);
  void maybe_release(connection& c);
  void on_recv(connection& c, int res);
  void on_sent(connection& c, int res);
  void on_connected(connection& c, int res);
  void handle_frames(connection& c);
  void touch(connection& c);
  void queue_bytes(connection& c, std::string bytes, bool close_after,
                   std::function<void(int)> on_error = {});
  void fail_pending(connection& c, int err);

  reactor& reactor_;
  transport_options opts_;
  message_sink& sink_;
  transport_counters& counters_;
  std::vector<std::unique_ptr<listener>> listeners_;
  std::vector<std::unique_ptr<connection>> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<endpoint, uint32_t, endpoint_hash> by_peer_;
  std::size_t live_ = 0;
};

} // namespace centralita::drivers
