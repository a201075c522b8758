#pragma once
// The switch's media relay as the actors see it: the rtp_relay (drivers/rtp)
// and the routing of its reactor-side reports (inactivity) to the media
// session actor that owns each side.

#include "drivers/rtp/rtp_relay.hpp"

#include <caf/actor.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace centralita::actors {

/// `[media]` as the media sessions use it.
struct media_settings {
  std::string advertised_address;  ///< c= and a=rtcp in the SDP we send
  bool ipv6 = false;
  std::chrono::seconds inactivity_timeout{60};  ///< 0: none
  enum class inband { automatic, always, never } inband_dtmf = inband::automatic;
};

/// Counters of the bridged calls' media (GET /metrics).
struct media_counters {
  std::atomic<uint64_t> sessions{0};         ///< live media sessions
  std::atomic<uint64_t> sessions_total{0};
  std::atomic<uint64_t> transcoded{0};       ///< sessions that started transcoding
  std::atomic<uint64_t> dtmf_rfc4733{0};
  std::atomic<uint64_t> dtmf_inband{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> sdp_errors{0};
};

class media_hub final : public drivers::rtp_relay_events {
public:
  explicit media_hub(media_settings settings) : settings_(std::move(settings)) {}

  /// The relay reports to this hub: create the hub first, then the relay,
  /// then attach it (before any session opens a side).
  void attach(drivers::rtp_relay* relay) { relay_ = relay; }
  drivers::rtp_relay& relay() { return *relay_; }
  bool ready() const { return relay_ != nullptr; }
  const media_settings& settings() const { return settings_; }
  media_counters& counters() { return counters_; }

  /// A cookie for rtp_relay::open_side that routes the side's reports to
  /// `owner`; forget() it when the side is closed.
  uint64_t enlist(caf::actor owner);
  void forget(uint64_t cookie);

  void on_inactive(drivers::rtp_side_id side, uint64_t cookie) override;

private:
  media_settings settings_;
  drivers::rtp_relay* relay_ = nullptr;
  media_counters counters_;
  std::mutex mu_;
  std::unordered_map<uint64_t, caf::actor> owners_;
  uint64_t next_cookie_ = 1;
};

} // namespace centralita::actors
