#pragma once
// engine::impl, the engine's state on its reactor thread, shared by the files
// that implement it: engine.cpp (create, set-up, the engine thread, the
// public API), engine_transactions.cpp (client_ops and the client
// transactions' timers), engine_io.cpp (answers received, the reactor loop),
// engine_pacing.cpp (starting attempts, the per-second timeline, the end of
// the run) and engine_push.cpp (push-wake). Not for use outside them.

#include "bench/loadgen/engine.hpp"

#include "bench/loadgen/webhook.hpp"
#include "drivers/transport/tcp_engine.hpp"
#include "drivers/transport/udp_socket.hpp"
#include "drivers/uring/reactor.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace centralita::loadgen {

namespace engine_detail {

using clock_type = drivers::reactor::clock;
using std::chrono::milliseconds;

inline double seconds(clock_type::duration d) {
  return std::chrono::duration<double>(d).count();
}

/// One attempt's slot and the client transaction it runs (RFC 3261 §17.1.2).
struct txn_slot {
  uint32_t generation = 0;
  bool busy = false;          // an attempt holds the slot
  bool active = false;        // its transaction waits for a final response
  bool provisional = false;   // a 1xx came (RFC 3261 §17.1.2.2: Proceeding)
  bool answered = false;      // any response came in this attempt
  bool timer_is_deadline = false;  // the armed timer is Timer F, not Timer E
  bool invite = false;        // the transaction is an INVITE's (Timer A: no T2 cap)
  bool waking = false;        // the armed timer is a wake_after() delay
  bool has_invite = false;    // invite_gen names an INVITE of this slot
  bool has_next_hop = false;
  unsigned sock = 0;
  uint32_t invite_gen = 0;    // the generation of the slot's last INVITE
  drivers::endpoint next_hop;
  uint64_t number = 0;
  clock_type::time_point attempt_start;
  // Time the attempt spent in the generator between its transactions (from
  // the final answer of one to the send of the next: the tick it waited,
  // a hold time), left out of its latencies.
  clock_type::duration own_time{};
  clock_type::time_point last_final;
  bool has_last_final = false;
  clock_type::time_point deadline;  // Timer F
  milliseconds interval{0};         // the next Timer E interval
  drivers::timer_wheel::handle timer;
  std::string_view method;
  std::string request;
  std::string ack;            // the ACK of the last INVITE's final answer
  char branch[max_branch_length] = {};
  uint8_t branch_len = 0;
};

} // namespace engine_detail

struct engine::impl final : client_ops, drivers::message_sink, drivers::timer_target {
  using clock_type = engine_detail::clock_type;
  using txn_slot = engine_detail::txn_slot;

  engine_config cfg;
  scenario& scen;
  std::unique_ptr<drivers::reactor> reactor;
  drivers::transport_counters counters;
  std::vector<std::unique_ptr<drivers::udp_socket>> sockets;
  /// --transport tcp: one TCP client per "socket", each with its own
  /// connection to the target (a new source port each: the target's
  /// workers share them as they share UDP source ports).
  std::vector<std::unique_ptr<drivers::tcp_engine>> tcps;
  std::vector<std::string> sent_by_text;
  std::unique_ptr<uas> callee;  // the built-in UAS, when configured
  // push-wake
  std::unique_ptr<webhook_server> webhook;
  std::unordered_map<uint64_t, uint32_t> slot_of_number;  // attempts in progress
  std::unordered_map<std::string, uint32_t> phone_cseq;
  std::unordered_map<uint64_t, wake_register> delayed_wakes;
  uint64_t next_delayed = 0;
  struct wake_target final : drivers::timer_target {
    impl* owner;
    explicit wake_target(impl* o) : owner(o) {}
    void on_timer(uint64_t cookie) override;  // engine_push.cpp
  } wake_later{this};
  uint32_t run_id = 0;
  char run_token_text[8] = {};

  // Reactor thread only, from start() until the run ends.
  std::vector<txn_slot> slots;
  std::vector<uint32_t> free_slots;
  bool starting = true;
  bool finished_run = false;
  clock_type::time_point start_time;
  clock_type::time_point end_time;
  uint64_t started = 0;
  uint64_t inflight = 0;
  uint64_t awaiting = 0;  // transactions waiting for a final answer
  std::vector<uint64_t> awaiting_on;  // ... per socket
  uint64_t sockets_awaiting = 0;      // sockets with such a transaction
  run_report rep;
  latency_histogram* response_hist = nullptr;
  clock_type::time_point rx_time;       // of the answer being handled
  bool in_rx = false;
  int64_t realtime_offset_ns = 0;       // CLOCK_REALTIME - steady clock, at set-up
  std::vector<std::pair<std::string, latency_histogram*>> named_hists;
  engine_extras extra;
  uas_counters uas_final;

  // The current second (timeline, progress line).
  struct second_counters {
    uint64_t attempted = 0, succeeded = 0, failed = 0;
    latency_histogram hist;
  } sec;
  clock_type::time_point last_sample;

  // Timer targets other than transactions.
  struct tick_target final : drivers::timer_target {
    impl* owner;
    explicit tick_target(impl* o) : owner(o) {}
    void on_timer(uint64_t) override { owner->pump(); }
  } tick{this};
  struct second_target final : drivers::timer_target {
    impl* owner;
    explicit second_target(impl* o) : owner(o) {}
    void on_timer(uint64_t) override { owner->on_second(); }
  } second{this};
  drivers::timer_wheel::handle second_timer;

  // Threads. The engine thread creates the reactor and the sockets, so it
  // is the ring's only issuer (reactor::options::single_issuer).
  std::atomic<bool> stop{false};       // the loop ends (set on the engine thread)
  std::atomic<int> control{0};         // from the caller: 1 stop starting, 2 abort
  std::thread thread;
  std::mutex mtx;
  std::condition_variable cv;
  enum class phase { setting_up, ready, failed, running, done } state = phase::setting_up;  // under mtx
  bool go = false;                     // under mtx: start (true) or give up (false, cancelled)
  bool cancelled = false;              // under mtx
  std::string setup_error;             // under mtx

  impl(engine_config c, scenario& s) : cfg(std::move(c)), scen(s) {}

  result<void> setup();
  void thread_main();

  // ---- client_ops (engine_transactions.cpp) --------------------------------

  std::string_view sent_by(uint32_t slot) const override;
  std::string_view next_branch(uint32_t slot) override;
  std::string& request(uint32_t slot) override;
  void send(uint32_t slot, std::string_view method) override;

  clock_type::time_point event_time() const;
  uint64_t latency_us(uint32_t slot) const;
  void record_latency(uint32_t slot) override;
  void record_latency(uint32_t slot, std::string_view name) override;
  void send_ack(uint32_t slot) override;
  bool set_next_hop(uint32_t slot, std::string_view uri) override;
  void wake_after(uint32_t slot, std::chrono::milliseconds delay) override;
  void finish(uint32_t slot, std::string_view failure_cause) override;
  std::string_view run_token() const override;

  // ---- transactions (engine_transactions.cpp) ------------------------------

  void transmit(txn_slot& s);
  void put(uint32_t slot, const std::string& bytes);
  void on_tcp_failure(uint32_t slot, uint32_t gen);
  std::string_view via_transport() const override;
  std::string_view contact_params() const override;

  // Small and on every answer's path: defined here, where every file can
  // inline them.
  void set_active(txn_slot& s, bool on) {
    if (s.active == on)
      return;
    s.active = on;
    auto& n = awaiting_on[s.sock];
    if (on) {
      ++awaiting;
      if (n++ == 0)
        ++sockets_awaiting;
    } else {
      --awaiting;
      if (--n == 0)
        --sockets_awaiting;
    }
  }

  void cancel_timer(txn_slot& s) {
    if (s.timer.valid()) {
      reactor->timers().cancel(s.timer);
      s.timer = {};
    }
  }

  void arm(uint32_t slot, clock_type::time_point now);
  void on_timer(uint64_t cookie) override;

  // ---- message_sink and the reactor loop (engine_io.cpp) -------------------

  void on_message(const drivers::inbound_message& msg) override;
  void handle_answer(const drivers::inbound_message& msg);
  void on_oversized(const drivers::inbound_message&) override;
  void on_unreachable(drivers::transport_kind, const drivers::endpoint& destination,
                      int) override;
  void loop();

  // ---- pacing and the run (engine_pacing.cpp) ------------------------------

  uint32_t take_slot();
  void stop_starting_now();
  void pump();
  void on_second();
  void sample(clock_type::time_point now);
  void begin_run();
  void end_run();
  void abort_now();

  // ---- push-wake (engine_push.cpp) -----------------------------------------

  void on_push(const push_notice& n);
};

} // namespace centralita::loadgen
