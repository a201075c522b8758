#pragma once

#include "protocols/sip/message.hpp"

#include <array>
#include <atomic>
#include <cstdint>

namespace centralita::actors {

/// Every class of SIP message received, sent or dropped (process-wide).
struct sip_counters {
  static constexpr std::size_t method_count = static_cast<std::size_t>(sip::method::unknown) + 1;
  std::array<std::atomic<uint64_t>, method_count> requests_by_method{};
  std::array<std::atomic<uint64_t>, 7> responses_sent_by_class{};      ///< index 1..6
  std::array<std::atomic<uint64_t>, 7> responses_received_by_class{};  ///< index 1..6
  std::atomic<uint64_t> bad_requests{0};          ///< unparseable or missing a mandatory header: 400 sent
  std::atomic<uint64_t> unanswerable_requests{0}; ///< unparseable and no Via to answer to: dropped
  std::atomic<uint64_t> bad_responses{0};         ///< unparseable responses: dropped
  std::atomic<uint64_t> stray_responses{0};       ///< responses matching no transaction: dropped
  std::atomic<uint64_t> acks_absorbed{0};         ///< ACKs for stateless non-2xx answers
  std::atomic<uint64_t> calls_started{0};         ///< initial INVITEs (CALL_START; HEARTBEAT's cps)
  std::atomic<int64_t> active_calls{0};           ///< started and not ended (CALL_END)
  std::atomic<int64_t> server_transactions{0};    ///< live server transaction actors
  std::atomic<int64_t> hibernated_transactions{0};  ///< INVITE transactions asleep in a shard
  std::atomic<int64_t> registrations{0};          ///< live bindings (each registrar adds its change per second)
  std::atomic<uint64_t> oversized{0};             ///< over max_message_size (TCP: 513 sent)

  void count_request(sip::method m) {
    requests_by_method[static_cast<std::size_t>(m)].fetch_add(1, std::memory_order_relaxed);
  }
  void count_response_sent(int status) {
    auto c = static_cast<std::size_t>(status / 100);
    if (c >= 1 && c <= 6)
      responses_sent_by_class[c].fetch_add(1, std::memory_order_relaxed);
  }
  void count_response_received(int status) {
    auto c = static_cast<std::size_t>(status / 100);
    if (c >= 1 && c <= 6)
      responses_received_by_class[c].fetch_add(1, std::memory_order_relaxed);
  }
};

} // namespace centralita::actors
