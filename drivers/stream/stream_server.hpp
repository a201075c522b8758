#pragma once

// A TCP byte-stream server on the io_uring reactors: what the HTTP/WebSocket
// listener runs on. One SO_REUSEPORT listener per reactor (multishot accept),
// one recv and one send in flight per connection, a connection limit shared
// by all reactors. It knows nothing of HTTP: every connection's bytes go to
// its stream_handler (made by the factory at accept), and whoever holds the
// connection's id writes to it or closes it from any thread.

#include "drivers/net/endpoint.hpp"
#include "drivers/transport/transport.hpp"
#include "drivers/uring/reactor.hpp"
#include "protocols/util/result.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::drivers {

/// One connection's upward calls, all on the connection's reactor thread,
/// so they must not block.
class stream_handler {
public:
  virtual ~stream_handler() = default;
  /// Bytes received; valid only during the call.
  virtual void on_data(std::string_view bytes) = 0;
  /// `total` bytes handed to send() so far have been written to the socket.
  virtual void on_written(uint64_t /*total*/) {}
  /// The connection is closed (by the peer, an error, or close()); `err` is
  /// an errno value, 0 for an orderly close. The last call: the handler is
  /// destroyed right after.
  virtual void on_closed(int err) = 0;
};

struct stream_counters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};  ///< over max_connections: closed at once
  std::atomic<uint64_t> closed{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<int64_t> open{0};
};

class stream_server {
public:
  struct options {
    std::size_t max_connections = 1024;  ///< all reactors together
    std::size_t read_size = 16384;
  };
  using factory = std::function<std::unique_ptr<stream_handler>(
    connection_id id, const endpoint& peer, const endpoint& local)>;

  stream_server(std::vector<reactor*> reactors, options opts, factory make);
  ~stream_server();
  stream_server(const stream_server&) = delete;
  stream_server& operator=(const stream_server&) = delete;

  /// Binds and listens on every reactor (before start); port 0 picks one.
  result<endpoint> listen(const endpoint& local);
  /// Arms the accepts, each on its own reactor's thread.
  void start();

  /// Any thread: queue `bytes` on `id` (dropped when it is gone); with
  /// `close_after`, close once everything queued is written.
  void send(connection_id id, std::string bytes, bool close_after = false);
  /// Any thread: close now (queued bytes not yet written are discarded, and
  /// the kernel's too: the peer gets a reset).
  void close(connection_id id);
  /// Any thread but a reactor's: stops accepting, closes every connection
  /// and waits (bounded) until each handler got on_closed and is gone. Call
  /// it while the reactors still run, before what the handlers refer to goes.
  void shutdown(std::chrono::milliseconds limit);

  const stream_counters& counters() const noexcept { return counters_; }

private:
  class engine;
  std::vector<std::unique_ptr<engine>> engines_;
  options opts_;
  factory make_;
  stream_counters counters_;
};

} // namespace centralita::drivers
