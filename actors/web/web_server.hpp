#pragma once

// The HTTP/1.1 listener (docs/api.md): JSON management API, Prometheus
// /metrics, the WebSocket event stream /events and the dashboard (web/).
// The bytes move on the io_uring reactors (drivers/stream); every connection
// is an http_session actor that parses, authorises and answers.

#include "actors/events/event_bus.hpp"
#include "actors/config/config.hpp"
#include "actors/push/push_service.hpp"
#include "actors/script/script_vm.hpp"
#include "actors/sip/sip_counters.hpp"
#include "actors/system/actor_timers.hpp"
#include "actors/system/latency_histogram.hpp"
#include "drivers/net/endpoint.hpp"
#include "drivers/stream/stream_server.hpp"
#include "drivers/uring/reactor.hpp"
#include "protocols/util/result.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace centralita::actors {

class media_hub;

/// Counters of the HTTP side (for /metrics and /api/stats).
struct web_counters {
  std::array<std::atomic<uint64_t>, 6> responses_by_class{};  ///< index 1..5
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> unauthorized{0};      ///< 401 and 403 answers
  std::atomic<uint64_t> bad_requests{0};      ///< the parser refused the request
  std::atomic<int64_t> stream_clients{0};     ///< open WebSocket /events connections
  std::atomic<uint64_t> stream_events{0};     ///< events written to stream clients
  std::atomic<uint64_t> stream_dropped{0};    ///< events dropped for slow stream clients
  std::atomic<uint64_t> stream_overflows{0};  ///< clients closed with 1008 for it
  std::atomic<uint64_t> stream_protocol_errors{0};  ///< bad frames: closed
};

/// What the HTTP side reads and asks (everything the API and /metrics show).
struct web_deps {
  config::http_config cfg;
  std::vector<drivers::reactor*> reactors;
  timer_service* timers = nullptr;
  caf::actor events;
  std::shared_ptr<event_bus_stats> event_stats;
  std::vector<caf::actor> registrars;  ///< location_list / location_remove, by AOR hash
  std::vector<caf::actor> shards;      ///< calls_query
  std::shared_ptr<sip_counters> sip;
  std::shared_ptr<script_counters> scripts;  ///< null: the built-in routing
  std::shared_ptr<push_counters> push;       ///< null: no push providers
  std::shared_ptr<latency_histograms> latency;
  std::shared_ptr<media_hub> media;  ///< bridged calls' RTP relay (null: none)
  /// POST /api/scripts/reload (thread-safe); returns "name (generation N)".
  std::function<result<std::string>()> reload_script;
  std::function<std::size_t()> sip_tcp_connections;
  std::size_t replay_size = 0;  ///< the bus's replay buffer ([events] replay_buffer)
  std::string node;
  std::string version;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  /// Wall clock at start, ms since the epoch: `hello`'s "boot", so a client
  /// sees a restart (the sequence numbers start again).
  int64_t boot_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::shared_ptr<spdlog::logger> log;
};

/// The shared, read-only context of every session.
struct web_context {
  web_deps deps;
  drivers::stream_server* server = nullptr;
  std::shared_ptr<web_counters> counters = std::make_shared<web_counters>();
  bool require_token = false;  ///< deps.cfg.token is set
};
using web_context_ptr = std::shared_ptr<const web_context>;

class web_server {
public:
  /// Binds the listener (the address is parsed here: errors name the key).
  static result<std::unique_ptr<web_server>> create(caf::actor_system& sys, web_deps deps);
  ~web_server();
  /// Arms the accepts on the reactors.
  void start();
  /// Closes every connection and waits (bounded) for their handlers to go:
  /// call while the actor system and the reactors still run.
  void shutdown();
  drivers::endpoint local() const { return local_; }
  std::shared_ptr<web_counters> counters() const { return ctx_->counters; }

private:
  web_server() = default;
  std::shared_ptr<web_context> ctx_;
  std::unique_ptr<drivers::stream_server> server_;
  drivers::endpoint local_;
};

/// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104.
bool is_loopback(const drivers::endpoint& e);

} // namespace centralita::actors
