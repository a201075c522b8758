#pragma once

// The push gateway of the `push-wake` scenario: an HTTP/1.1 endpoint that a
// switch's webhook push provider POSTs to (docs/push.md, "Your own push
// gateway"). Each push is answered 200 at once and handed to a callback with
// the token it is for (`prid`) and the Call-ID it wakes the phone for
// (`payload.call_id`). One thread of its own with poll(2): a push per call
// is little traffic, and the pushes must never wait for the generator's
// reactor (which handles them when they are posted to it).

#include "drivers/net/endpoint.hpp"
#include "protocols/util/result.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace centralita::loadgen {

struct push_notice {
  std::string prid;     ///< the pn-prid the push is for
  std::string call_id;  ///< payload.call_id (empty for a refresh push)
  std::string kind;     ///< payload.kind: "call", "message", "refresh", ...
  std::chrono::steady_clock::time_point received;  ///< when its request was read
};

/// What a webhook request body says, or an error naming what is missing
/// (pure: unit-tested). The body is the switch's default webhook JSON:
/// {"provider", "prid", "param", "payload": {"call_id", "kind", ...}}.
result<push_notice> parse_push(std::string_view body);

class webhook_server {
public:
  using handler = std::function<void(push_notice)>;
  struct counters {
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> pushes{0};     ///< parsed and handed over
    std::atomic<uint64_t> rejected{0};   ///< answered 400 (not a push we understand)
  };

  /// Binds and listens on `local` (port 0: any free one); the thread starts.
  static result<std::unique_ptr<webhook_server>> start(const drivers::endpoint& local,
                                                       handler on_push);
  ~webhook_server();  ///< stops the thread, closes every connection
  webhook_server(const webhook_server&) = delete;
  webhook_server& operator=(const webhook_server&) = delete;

  const drivers::endpoint& local() const noexcept { return local_; }
  const counters& stats() const noexcept { return stats_; }

private:
  webhook_server() = default;
  void run();

  int listen_fd_ = -1;
  int wake_fd_ = -1;  ///< eventfd: the destructor stops the loop
  drivers::endpoint local_;
  handler on_push_;
  counters stats_;
  std::thread thread_;
};

} // namespace centralita::loadgen
