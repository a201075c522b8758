#pragma once
// The push service (docs/push.md): one actor that sends RFC 8599 push
// notifications through the providers of `[push.<name>]` (APNs, FCM HTTP v1, a
// webhook) and reports how each ended on the event bus.
//
// - Requests go out on the push HTTP client (libcurl multi on its own thread,
//   HTTP/2 to APNs): the actor never waits; answers come back as messages.
// - Credentials are made and cached here: the APNs provider token (ES256 JWT,
//   renewed every 50 minutes) and the FCM access token (a RS256 assertion
//   exchanged at the token endpoint, kept until a minute before it expires;
//   pushes that arrive while it is being fetched wait for it).
// - Each push ends exactly once: PUSH_SENT (delivered), or PUSH_FAILED with the
//   reason once retries are spent (transient: no answer, 429, 5xx, retried with
//   doubling backoff, Retry-After honoured), at once for a permanent error, and
//   with gone=true when the provider says the token is dead, in which case the
//   binding is removed from the registrar (location_drop_push).
// - From the push's first attempt it watches for the device (a phone can
//   wake before the provider's answer is back): the first REGISTER of that AOR
//   with that pn-prid within `wake_window` publishes PUSH_WOKE with the delay.
//   A push that fails drops its watch.

#include "actors/config/config.hpp"
#include "actors/events/event_bus.hpp"
#include "actors/system/actor_timers.hpp"
#include "protocols/push/push.hpp"
#include "protocols/util/result.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <spdlog/logger.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace centralita::drivers {
class http_client;
}

namespace centralita::actors {

/// Send one push (fire and forget: the outcome is an event, PUSH_SENT or
/// PUSH_FAILED, carrying msg.push_id).
struct push_send {
  push::push_message msg;
};

struct push_counters {
  std::atomic<uint64_t> sent{0};     ///< delivered to a provider
  std::atomic<uint64_t> failed{0};   ///< ended in PUSH_FAILED
  std::atomic<uint64_t> retried{0};  ///< attempts after the first
  std::atomic<uint64_t> woke{0};     ///< devices that re-registered after a push
};

/// A provider ready to use: its settings and its loaded key material.
struct push_provider {
  config::push_provider_config cfg;
  std::shared_ptr<const push::signing_key> key;  ///< apns: the .p8; fcm: the account's key
  push::service_account account;                 ///< fcm
};

/// Loads the key files of every configured provider. Errors name the key and
/// the file ("push.apns.key_file: /etc/k.p8: not a private key ...").
result<std::vector<push_provider>> load_push_providers(const config::push_config& cfg);

struct push_service_deps {
  std::vector<push_provider> providers;
  unsigned retries = 3;
  std::chrono::milliseconds retry_backoff{500};
  std::chrono::milliseconds wake_window{std::chrono::minutes{5}};
  drivers::http_client* http = nullptr;  ///< outlives the actor
  timer_service* timers = nullptr;
  caf::actor events;
  std::shared_ptr<event_bus_stats> event_stats;
  /// The registrar shard of an AOR (dead tokens: location_drop_push).
  std::function<caf::actor(std::string_view aor)> registrar_of;
  std::shared_ptr<push_counters> counters;
  std::shared_ptr<spdlog::logger> log;
};

caf::actor spawn_push_service(caf::actor_system& sys, push_service_deps deps);

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::push_send)
