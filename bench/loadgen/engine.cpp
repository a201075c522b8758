#include "bench/loadgen/engine.hpp"

#include "bench/loadgen/webhook.hpp"
#include "drivers/transport/tcp_engine.hpp"
#include "drivers/transport/udp_socket.hpp"
#include "drivers/uring/reactor.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <unordered_map>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace centralita::loadgen {

namespace {

using clock_type = drivers::reactor::clock;
using std::chrono::milliseconds;

/// At most this many completions per wake-up (the reactor reaps 256 at a time).
constexpr uint64_t batch_limit = 256;

uint64_t micros(clock_type::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us < 0 ? 0 : static_cast<uint64_t>(us);
}

double seconds(clock_type::duration d) {
  return std::chrono::duration<double>(d).count();
}

/// A free port on `address` right now: bound without SO_REUSEPORT and let go.
/// udp_socket binds with SO_REUSEPORT, and the kernel may hand port 0 of a
/// reuseport socket to one that another reuseport socket of the same user
/// already holds (the switch under test, or our own previous socket): the
/// responses would then be split between the two.
std::optional<uint16_t> reserve_port(const drivers::endpoint& address) {
  int fd = ::socket(address.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::nullopt;
  auto probe = drivers::endpoint::from(address.address(), 0);
  std::optional<uint16_t> port;
  if (probe && ::bind(fd, probe->data(), probe->size()) == 0) {
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0)
      port = drivers::endpoint(reinterpret_cast<sockaddr*>(&bound), len).port();
  }
  ::close(fd);
  return port;
}

} // namespace

std::string phone_call_id(std::string_view user) {
  return "pw-" + std::string(user) + "@centralita-bench";
}

std::string phone_contact(std::string_view user, std::string_view hostport,
                          const engine_config::push_wake& p) {
  // RFC 8599 §4.1.2: the push parameters ride in the Contact URI.
  return "<sip:" + std::string(user) + "@" + std::string(hostport) + ";pn-provider="
         + p.pn_provider + ";pn-prid=" + std::string(user) + ";pn-param=" + p.pn_param + ">";
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

struct engine::impl final : client_ops, drivers::message_sink, drivers::timer_target {
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
    void on_timer(uint64_t cookie) override {
      auto it = owner->delayed_wakes.find(cookie);
      if (it == owner->delayed_wakes.end())
        return;
      owner->callee->wake(std::move(it->second));
      owner->delayed_wakes.erase(it);
    }
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

  // ---- client_ops ----------------------------------------------------------

  std::string_view sent_by(uint32_t slot) const override {
    return sent_by_text[slots[slot].sock];
  }

  std::string_view next_branch(uint32_t slot) override {
    auto& s = slots[slot];
    // The generation stays below 2^31 so a cookie (slot | generation << 32) fits.
    s.generation = (s.generation + 1) & 0x7fffffff;
    s.branch_len = static_cast<uint8_t>(format_branch(s.branch, run_id, {slot, s.generation}));
    return {s.branch, s.branch_len};
  }

  std::string& request(uint32_t slot) override {
    auto& r = slots[slot].request;
    r.clear();  // keeps its capacity: no allocation per attempt once warm
    return r;
  }

  void send(uint32_t slot, std::string_view method) override {
    auto& s = slots[slot];
    auto now = reactor->now();
    if (s.has_last_final) {
      s.own_time += now - s.last_final;
      s.has_last_final = false;
    }
    cancel_timer(s);
    s.method = method;
    s.waking = false;
    s.invite = method == "INVITE";
    if (s.invite) {
      s.invite_gen = s.generation;
      s.has_invite = true;
    }
    set_active(s, true);
    s.provisional = false;
    s.deadline = now + cfg.timeout;
    s.interval = cfg.t1;  // RFC 3261 §17.1.2.2: Timer E starts at T1
    arm(slot, now);
    transmit(s);
  }

  /// When the answer being handled arrived (its kernel timestamp), else now.
  clock_type::time_point event_time() const { return in_rx ? rx_time : reactor->now(); }

  uint64_t latency_us(uint32_t slot) const {
    const auto& s = slots[slot];
    return micros(event_time() - s.attempt_start - s.own_time);
  }

  void record_latency(uint32_t slot) override {
    auto us = latency_us(slot);
    if (response_hist == nullptr)  // created on first use: a call run has none
      response_hist = &rep.latency["response"];
    response_hist->record(us);
    sec.hist.record(us);
  }

  void record_latency(uint32_t slot, std::string_view name) override {
    latency_histogram* h = nullptr;
    for (auto& [n, p] : named_hists)
      if (n == name)
        h = p;
    if (h == nullptr) {
      h = &rep.latency[std::string(name)];
      named_hists.emplace_back(std::string(name), h);
    }
    auto us = latency_us(slot);
    h->record(us);
    if (name == "setup")  // the per-second p99 of a call run is its setup time
      sec.hist.record(us);
  }

  void send_ack(uint32_t slot) override {
    auto& s = slots[slot];
    s.ack = s.request;
    put(slot, s.ack);
  }

  bool set_next_hop(uint32_t slot, std::string_view uri) override {
    auto& s = slots[slot];
    std::string_view host;
    uint16_t port = 0;
    if (!uri_host_port(uri, host, port))
      return false;
    auto e = drivers::endpoint::from(std::string(host), port);
    if (!e || e->family() != cfg.target.family())
      return false;
    s.next_hop = *e;
    s.has_next_hop = true;
    return true;
  }

  void wake_after(uint32_t slot, std::chrono::milliseconds delay) override {
    auto& s = slots[slot];
    cancel_timer(s);
    set_active(s, false);
    s.waking = true;
    s.timer = reactor->timers().schedule(reactor->now() + delay, this,
                                         uint64_t{slot} | uint64_t{s.generation} << 32);
  }

  void finish(uint32_t slot, std::string_view failure_cause) override {
    auto& s = slots[slot];
    if (!s.busy)
      return;
    cancel_timer(s);
    s.busy = false;
    set_active(s, false);
    free_slots.push_back(slot);
    --inflight;
    if (cfg.push)
      slot_of_number.erase(s.number);
    if (failure_cause.empty()) {
      ++rep.succeeded;
      ++sec.succeeded;
    } else {
      ++rep.failed;
      ++sec.failed;
      ++rep.failures_by_cause[std::string(failure_cause)];
    }
    if (!starting && inflight == 0)
      end_run();
  }

  std::string_view run_token() const override { return {run_token_text, 8}; }

  // ---- transactions --------------------------------------------------------

  void transmit(txn_slot& s) {
    // The sockets take the bytes by value (they must live until the send
    // completes); the slot keeps its own copy for retransmissions.
    put(static_cast<uint32_t>(&s - slots.data()), s.request);
  }

  /// Sends bytes on the slot's socket (or TCP client) to its next hop.
  void put(uint32_t slot, const std::string& bytes) {
    auto& s = slots[slot];
    const auto& to = s.has_next_hop ? s.next_hop : cfg.target;
    if (tcps.empty()) {
      sockets[s.sock]->send(to, bytes);
      return;
    }
    // RFC 3261 §18.1.1: over TCP a request goes on the connection to its
    // next hop (opened on first use); a failed connection fails the
    // transaction at once (§8.1.3.1), after this call returned.
    tcps[s.sock]->send(drivers::connection_id{}, to, bytes, false,
                       [this, slot, gen = s.generation](int) {
                         reactor->post([this, slot, gen] { on_tcp_failure(slot, gen); });
                       });
  }

  void on_tcp_failure(uint32_t slot, uint32_t gen) {
    ++extra.send_errors;
    auto& s = slots[slot];
    if (!s.busy || !s.active || s.generation != gen)
      return;
    set_active(s, false);
    cancel_timer(s);
    scen.on_transport_error(*this, slot);
  }

  std::string_view via_transport() const override { return tcps.empty() ? "UDP" : "TCP"; }
  std::string_view contact_params() const override {
    return tcps.empty() ? std::string_view{} : std::string_view(";transport=tcp");
  }

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

  void arm(uint32_t slot, clock_type::time_point now) {
    auto& s = slots[slot];
    auto at = s.deadline;
    s.timer_is_deadline = true;
    if (cfg.retransmit && now + s.interval < at) {
      at = now + s.interval;
      s.timer_is_deadline = false;
    }
    s.timer = reactor->timers().schedule(at, this, uint64_t{slot} | uint64_t{s.generation} << 32);
  }

  void on_timer(uint64_t cookie) override {
    auto slot = static_cast<uint32_t>(cookie);
    auto gen = static_cast<uint32_t>(cookie >> 32);
    if (slot >= slots.size())
      return;
    auto& s = slots[slot];
    if (s.busy && s.waking && s.generation == gen) {
      s.timer = {};
      s.waking = false;
      scen.on_wake(*this, slot);
      return;
    }
    if (!s.busy || !s.active || s.generation != gen)
      return;
    s.timer = {};
    auto now = reactor->now();
    // Which timer this was, not `now >= deadline`: the wheel works in whole
    // milliseconds and may fire up to one before the exact deadline.
    if (s.timer_is_deadline || now >= s.deadline) {
      // RFC 3261 §17.1.2.2: Timer F fires → the transaction times out.
      set_active(s, false);
      scen.on_timeout(*this, slot);
      return;
    }
    // RFC 3261 §17.1.2.2: Timer E: retransmit, the interval doubling up to
    // T2 (Trying), or T2 once a provisional came (Proceeding). §17.1.1.2:
    // Timer A doubles without a cap, and a provisional stops it.
    ++rep.retransmissions;
    transmit(s);
    s.interval = s.invite ? s.interval * 2
                          : (s.provisional ? cfg.t2 : std::min(s.interval * 2, cfg.t2));
    arm(slot, now);
  }

  // ---- message_sink ----------------------------------------------------------

  void on_message(const drivers::inbound_message& msg) override {
    // Answers are handled in batches, once per tick: latencies run to the
    // kernel's receive time, moved from CLOCK_REALTIME to our steady clock.
    rx_time = msg.rx_realtime_ns != 0
                  ? clock_type::time_point(std::chrono::nanoseconds(msg.rx_realtime_ns
                                                                    - realtime_offset_ns))
                  : reactor->now();
    in_rx = true;
    handle_answer(msg);
    in_rx = false;
  }

  void handle_answer(const drivers::inbound_message& msg) {
    ++extra.responses;
    auto r = scan_response(msg.bytes);
    if (!r) {
      ++rep.malformed;
      return;
    }
    auto key = parse_branch(r->branch, run_id);
    if (!key || key->slot >= slots.size()) {
      ++extra.stray;
      return;
    }
    auto& s = slots[key->slot];
    // RFC 3261 §17.1.3: the branch and the CSeq method match the transaction.
    if (!s.busy || !s.active || s.generation != key->generation || r->cseq_method != s.method) {
      // A final answer of the slot's last INVITE, again: its ACK was lost or
      // is late (§13.2.2.4: every retransmitted 2xx is ACKed; §17.1.1.2: so
      // is a retransmitted non-2xx while the transaction would be in Completed).
      if (s.has_invite && key->generation == s.invite_gen && r->status >= 200
          && r->cseq_method == "INVITE" && !s.ack.empty()) {
        ++extra.acks_resent;
        put(key->slot, s.ack);
        return;
      }
      ++extra.stray;  // a late or retransmitted answer of a finished transaction
      return;
    }
    s.answered = true;
    if (r->status < 200) {
      s.provisional = true;  // Proceeding: Timer E continues at T2
      if (s.invite) {
        // §17.1.1.2: a provisional answer stops Timer A; Timer B (our
        // deadline) still bounds the wait for the final answer.
        if (!s.timer_is_deadline) {
          cancel_timer(s);
          s.timer_is_deadline = true;
          s.timer = reactor->timers().schedule(
              s.deadline, this, uint64_t{key->slot} | uint64_t{s.generation} << 32);
        }
      } else if (s.interval < cfg.t2) {
        s.interval = cfg.t2;
      }
      scen.on_provisional(*this, key->slot, *r);
      return;
    }
    set_active(s, false);
    cancel_timer(s);
    s.last_final = rx_time;
    s.has_last_final = true;
    scen.on_final(*this, key->slot, *r);
  }

  void on_oversized(const drivers::inbound_message&) override { ++rep.malformed; }

  void on_unreachable(drivers::transport_kind, const drivers::endpoint& destination,
                      int) override {
    ++extra.unreachable;
    if (!(destination == cfg.target))
      return;
    // RFC 3261 §8.1.3.1 / §17.1.4: the transport failed. An ICMP error comes
    // only when nothing listens there, so every request still unanswered
    // went the same way.
    for (uint32_t i = 0; i < slots.size(); ++i) {
      auto& s = slots[i];
      if (s.busy && s.active && !s.answered) {
        set_active(s, false);
        cancel_timer(s);
        scen.on_transport_error(*this, i);
      }
    }
  }

  // ---- pacing ----------------------------------------------------------------

  uint32_t take_slot() {
    if (free_slots.empty()) {
      auto old = slots.size();
      auto grown = std::min<std::size_t>(std::max<std::size_t>(old * 2, 256), cfg.max_inflight);
      slots.resize(grown);
      scen.resize(grown);
      for (auto i = grown; i > old; --i)
        free_slots.push_back(static_cast<uint32_t>(i - 1));
    }
    auto slot = free_slots.back();
    free_slots.pop_back();
    return slot;
  }

  void stop_starting_now() {
    if (!starting)
      return;
    starting = false;
    if (inflight == 0)
      end_run();
  }

  /// Starts every attempt that is due (RFC-free: the pacer's arithmetic),
  /// then sleeps until the next one is due. Sends queue SQEs that the reactor
  /// submits in one go at the end of its loop.
  void pump() {
    if (!starting)
      return;
    auto now = reactor->now();
    auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start_time);
    if (cfg.duration.count() > 0 && elapsed >= cfg.duration)
      return stop_starting_now();
    uint64_t due = cfg.pace.due(elapsed);
    if (cfg.count > 0)
      due = std::min(due, cfg.count);
    while (started < due && inflight < cfg.max_inflight) {
      auto slot = take_slot();
      auto& s = slots[slot];
      s.busy = true;
      s.active = false;
      s.answered = false;
      s.waking = false;
      s.has_next_hop = false;
      s.own_time = {};
      s.has_last_final = false;
      s.number = started;
      s.sock = scen.socket_for(started, static_cast<unsigned>(sent_by_text.size()));
      s.attempt_start = now;
      if (cfg.push)
        slot_of_number[started] = slot;
      ++started;
      ++inflight;
      ++rep.attempted;
      ++sec.attempted;
      scen.begin(*this, slot, s.number);
    }
    if (cfg.count > 0 && started >= cfg.count)
      return stop_starting_now();
    // Next: when the next attempt is due, at least 1 ms (one wheel tick) and
    // at most 100 ms away (to notice the end of the duration, or a ramp).
    auto next = now + milliseconds{1};
    if (started >= due) {
      auto when = start_time + std::chrono::duration_cast<clock_type::duration>(
                                   cfg.pace.when(started));
      next = std::clamp(when, now + milliseconds{1}, now + milliseconds{100});
    }
    reactor->timers().schedule(next, &tick, 0);
  }

  void on_second() {
    second_timer = {};
    sample(reactor->now());
    if (!finished_run)
      second_timer = reactor->timers().schedule(last_sample + std::chrono::seconds{1}, &second, 0);
  }

  void sample(clock_type::time_point now) {
    second_sample s;
    s.t = seconds(now - start_time);
    s.attempted = sec.attempted;
    s.succeeded = sec.succeeded;
    s.failed = sec.failed;
    s.p99_us = sec.hist.percentile(99);
    s.p50_us = sec.hist.percentile(50);
    rep.timeline.push_back(s);
    if (cfg.progress) {
      run_report partial;
      partial.scenario = rep.scenario;
      partial.attempted = rep.attempted;
      partial.succeeded = rep.succeeded;
      partial.failed = rep.failed;
      partial.retransmissions = rep.retransmissions;
      partial.malformed = rep.malformed;
      partial.elapsed_s = s.t;
      double span = seconds(now - last_sample);
      double rate_now = span > 0 ? static_cast<double>(sec.attempted) / span : 0;
      auto line = progress_line(partial, rate_now, s.p99_us);
      std::fprintf(stderr, "\r%s\033[K", line.c_str());
      std::fflush(stderr);
    }
    sec.attempted = sec.succeeded = sec.failed = 0;
    sec.hist.reset();
    last_sample = now;
  }

  void begin_run() {
    start_time = last_sample = reactor->now();
    second_timer = reactor->timers().schedule(start_time + std::chrono::seconds{1}, &second, 0);
    pump();
  }

  void end_run() {
    if (finished_run)
      return;
    finished_run = true;
    end_time = reactor->now();
    if (second_timer.valid())
      reactor->timers().cancel(second_timer);
    if (sec.attempted + sec.succeeded + sec.failed > 0 || rep.timeline.empty())
      sample(end_time);
    if (cfg.progress)
      std::fputc('\n', stderr);
    stop.store(true);  // the reactor loop ends after this iteration
  }

  /// The reactor loop, like reactor::run() but for a client that knows how
  /// many answers it waits for: it sleeps until that many completions came
  /// (or the next timer), not until the first. The answers to one tick's
  /// requests arrive close together; waking once for all of them instead of
  /// once each saves a context switch per answer, the largest cost of a UDP
  /// client on a virtual machine (measured: about half the wake-ups).
  /// Latency is taken when an answer is handled, so it may read late by the
  /// spread of one batch of answers (tens of µs at the rates measured).
  void loop() {
    auto* ring = reactor->ring();
    while (!stop.load(std::memory_order_relaxed)) {
      reactor->run_posted();
      reactor->poll();
      if (int req = control.exchange(0, std::memory_order_relaxed); req != 0)
        req == 1 ? stop_starting_now() : abort_now();
      if (stop.load(std::memory_order_relaxed))
        break;
      reactor->begin_sleep();
      if (reactor->has_posted()) {
        reactor->end_sleep();
        continue;
      }
      // Completions to wait for: the sends about to go out (UDP sends
      // complete at once) and an answer on every socket that waits for one.
      // Not one per answer: the kernel queues one piece of work per socket
      // however many datagrams wait there, and the multishot receive hands
      // them all over when that work runs.
      auto want = static_cast<uint64_t>(io_uring_sq_ready(ring)) + sockets_awaiting;
      want = std::clamp<uint64_t>(want, 1, batch_limit);
      auto next = reactor->timers().next_wakeup();
      auto now = reactor->now();
      auto delta = next ? *next - now : clock_type::duration(std::chrono::seconds{1});
      delta = std::clamp<clock_type::duration>(delta, clock_type::duration::zero(),
                                               std::chrono::seconds{1});
      // Tick mode: while answers are awaited, wake once per tick for all
      // that came (their kernel timestamps keep the latencies exact)
      // instead of once per answer.
      // TCP: a connection's reads and writes complete in their own
      // rhythm; wake for the first completion.
      if (!tcps.empty())
        want = 1;
      if (cfg.tick.count() > 0 && awaiting > 0 && tcps.empty()) {
        want = batch_limit;
        delta = std::min<clock_type::duration>(delta, cfg.tick);
      }
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delta).count();
      __kernel_timespec ts{};
      ts.tv_sec = ns / 1'000'000'000;
      ts.tv_nsec = ns % 1'000'000'000;
      io_uring_cqe* cqe = nullptr;
      io_uring_submit_and_wait_timeout(ring, &cqe, static_cast<unsigned>(want), &ts, nullptr);
      reactor->end_sleep();
    }
    reactor->submit();
  }

  /// push-wake: a push reached the webhook (posted from its thread).
  void on_push(const push_notice& n) {
    ++extra.pushes;
    // Our Call-IDs: "<run token>-c<hex number>@centralita-bench" (scenario_call.cpp).
    std::string_view id = n.call_id;
    auto token = run_token();
    uint64_t number = 0;
    bool ours = id.size() > token.size() + 2 && id.substr(0, token.size()) == token
                && id.substr(token.size(), 2) == "-c";
    if (ours) {
      auto hex = id.substr(token.size() + 2);
      auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), number, 16);
      ours = ec == std::errc{} && end != hex.data() && *end == '@';
    }
    auto it = ours ? slot_of_number.find(number) : slot_of_number.end();
    if (it == slot_of_number.end()) {
      ++extra.pushes_unmatched;  // another run's call, or one already over
    } else {
      // INVITE sent -> the push read by the gateway (not when the reactor got to it).
      rx_time = n.received;
      in_rx = true;
      record_latency(it->second, "push");
      in_rx = false;
    }
    const auto& p = *cfg.push;
    wake_register w;
    w.registrar = cfg.target;
    w.request_uri = p.request_uri;
    w.user = n.prid;
    w.aor = "sip:" + n.prid + "@" + p.domain;
    w.password = p.password;
    w.contact = phone_contact(n.prid, cfg.uas_local->to_string(), p);
    w.call_id = phone_call_id(n.prid);
    auto& cseq = phone_cseq[n.prid];
    cseq = cseq == 0 ? 10 : cseq + 2;  // the first REGISTER used 1 and 2
    w.cseq = cseq;
    w.expires = p.expires;
    if (p.wake_delay.count() <= 0) {
      callee->wake(std::move(w));
      return;
    }
    auto key = next_delayed++;
    delayed_wakes.emplace(key, std::move(w));
    reactor->timers().schedule(reactor->now() + p.wake_delay, &wake_later, key);
  }

  void abort_now() {
    starting = false;
    for (uint32_t i = 0; i < slots.size(); ++i)
      if (slots[i].busy)
        finish(i, "aborted");
    if (!finished_run)
      end_run();
  }
};

engine::engine(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

engine::~engine() {
  auto* p = impl_.get();
  {
    std::lock_guard<std::mutex> lock(p->mtx);
    p->cancelled = true;  // a thread still waiting for start() gives up
  }
  p->cv.notify_all();
  p->control.store(2);
  if (p->thread.joinable())
    p->thread.join();
}

result<void> engine::impl::setup() {
  auto r = drivers::reactor::create(0, drivers::reactor::options{4096, true});
  if (!r)
    return r.err();
  reactor = std::move(r.value());
  reactor->bind_to_current_thread();
  drivers::transport_options opts;
  opts.rx_timestamps = cfg.tick.count() > 0 && !cfg.tcp;
  {
    timespec rt{};
    ::clock_gettime(CLOCK_REALTIME, &rt);
    auto steady = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      clock_type::now().time_since_epoch()).count();
    realtime_offset_ns = int64_t{rt.tv_sec} * 1'000'000'000 + rt.tv_nsec - steady;
  }
  // Responses are small: 16 KiB datagrams at most (larger ones are counted
  // as truncated), 256 buffers per socket for bursts.
  opts.max_message_size = 16384;
  opts.udp_buffer_count = 256;
  if (cfg.tcp) {
    // The Via names our address without a port: the answers come back on
    // the connection (RFC 3261 §18.2.2), whose port we learn only once it is
    // open.
    opts.tcp_idle_timeout = std::chrono::seconds{3600};
    for (unsigned i = 0; i < cfg.sockets; ++i) {
      tcps.push_back(std::make_unique<drivers::tcp_engine>(*reactor, opts, *this, counters));
      auto host = cfg.local.address();
      sent_by_text.push_back(cfg.local.family() == AF_INET6 ? "[" + host + "]" : host);
      awaiting_on.push_back(0);
    }
  }
  for (unsigned i = 0; i < (cfg.tcp ? 0u : cfg.sockets); ++i) {
    std::unique_ptr<drivers::udp_socket> sock;
    std::string why = "no free port";
    for (int tries = 0; tries < 5 && !sock; ++tries) {
      auto port = reserve_port(cfg.local);
      if (!port) {
        why = "no free UDP port on " + cfg.local.address();
        continue;
      }
      auto local = drivers::endpoint::from(cfg.local.address(), *port);
      bool taken = *port == cfg.target.port() && cfg.local.address() == cfg.target.address();
      for (auto& other : sockets)
        taken = taken || other->local().port() == *port;
      if (!local || taken)
        continue;
      auto opened = drivers::udp_socket::open(*reactor, *local, opts, *this, counters,
                                              static_cast<uint16_t>(i));
      if (opened)
        sock = std::move(opened.value());
      else
        why = opened.err().reason;
    }
    if (!sock)
      return error{errc::io_error, "cannot open UDP socket " + std::to_string(i + 1) + " on "
                                       + cfg.local.address() + ": " + why};
    sent_by_text.push_back(sock->local().to_string());
    awaiting_on.push_back(0);
    sock->start();
    sockets.push_back(std::move(sock));
  }
  if (cfg.uas_local) {
    callee = std::make_unique<uas>(*reactor, cfg.uas);
    auto opened = callee->open(*cfg.uas_local, opts, counters,
                               static_cast<uint16_t>(cfg.sockets));
    if (!opened)
      return error{errc::io_error, "cannot open the UAS socket on "
                                       + cfg.uas_local->to_string() + ": " + opened.err().reason};
  }
  if (cfg.push) {
    if (!callee)
      return error{errc::invalid_argument, "push-wake needs the built-in UAS"};
    callee->set_wake_latency(&rep.latency["wake"], realtime_offset_ns);
    auto* r = reactor.get();
    auto started_hook = webhook_server::start(cfg.push->webhook, [this, r](push_notice n) {
      r->post([this, n = std::move(n)] { on_push(n); });
    });
    if (!started_hook)
      return started_hook.err();
    webhook = std::move(started_hook.value());
  }
  return {};
}

void engine::impl::thread_main() {
  auto ok = setup();
  bool run = false;
  {
    std::unique_lock<std::mutex> lock(mtx);
    if (!ok) {
      setup_error = ok.err().reason;
      state = phase::failed;
    } else {
      state = phase::ready;
    }
    cv.notify_all();
    if (ok) {
      cv.wait(lock, [this] { return go || cancelled; });
      run = go && !cancelled;
      if (run)
        state = phase::running;
    }
  }
  if (run) {
    begin_run();
    loop();
  }
  // The sockets go before the reactor whose ring they registered with, both
  // on the ring's issuer thread.
  // The webhook's thread posts to the reactor: it goes first.
  webhook.reset();
  if (callee) {
    uas_final = callee->counters();
    callee->close();
    callee.reset();
  }
  sockets.clear();
  tcps.clear();
  reactor.reset();
  std::lock_guard<std::mutex> lock(mtx);
  if (state != phase::failed)
    state = phase::done;
  cv.notify_all();
}

result<std::unique_ptr<engine>> engine::create(engine_config cfg, scenario& s) {
  if (cfg.sockets == 0 || cfg.sockets > 256)
    return error{errc::invalid_argument, "sockets must be 1..256"};
  if (cfg.max_inflight == 0 || cfg.max_inflight > 0x7fffffff)
    return error{errc::invalid_argument, "max_inflight must be 1..2^31-1"};
  auto p = std::make_unique<impl>(std::move(cfg), s);
  std::random_device rd;
  p->run_id = static_cast<uint32_t>(rd());
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = 0; i < 8; ++i)
    p->run_token_text[i] = hex[(p->run_id >> (28 - 4 * i)) & 0xf];
  p->rep.transport = p->cfg.tcp ? "tcp" : "udp";
  p->rep.target = p->cfg.target_name;
  p->rep.scenario = std::string(s.name());
  p->rep.rate_offered = p->cfg.rate_offered;

  auto* raw = p.get();
  raw->thread = std::thread([raw] { raw->thread_main(); });
  std::unique_lock<std::mutex> lock(raw->mtx);
  raw->cv.wait(lock, [raw] { return raw->state != impl::phase::setting_up; });
  if (raw->state == impl::phase::failed) {
    auto why = raw->setup_error;
    lock.unlock();
    raw->thread.join();
    return error{errc::io_error, why};
  }
  lock.unlock();
  return std::unique_ptr<engine>(new engine(std::move(p)));
}

void engine::start() {
  auto* p = impl_.get();
  {
    std::lock_guard<std::mutex> lock(p->mtx);
    p->go = true;
  }
  p->cv.notify_all();
}

bool engine::wait(std::chrono::milliseconds limit) {
  auto* p = impl_.get();
  {
    std::unique_lock<std::mutex> lock(p->mtx);
    if (!p->cv.wait_for(lock, limit, [p] { return p->state == impl::phase::done; }))
      return false;
  }
  if (p->thread.joinable())
    p->thread.join();
  return true;
}

void engine::stop_starting() {
  int expected = 0;
  impl_->control.compare_exchange_strong(expected, 1);
}

void engine::abort() {
  impl_->control.store(2);
}

run_report engine::report() const {
  auto* p = impl_.get();
  run_report r = p->rep;
  r.malformed += p->counters.udp_truncated.load();
  r.elapsed_s = p->finished_run ? seconds(p->end_time - p->start_time) : 0;
  r.rate_achieved = r.elapsed_s > 0 ? static_cast<double>(r.succeeded) / r.elapsed_s : 0;
  return r;
}

engine_extras engine::extras() const {
  auto e = impl_->extra;
  e.send_errors = impl_->extra.send_errors + impl_->counters.udp_send_errors.load()
                  + impl_->counters.tcp_send_errors.load();
  e.unreachable += impl_->counters.tcp_connect_errors.load();
  e.truncated = impl_->counters.udp_truncated.load();
  e.no_buffers = impl_->counters.udp_no_buffers.load();
  e.uas_enabled = impl_->cfg.uas_local.has_value();
  e.uas = impl_->uas_final;
  return e;
}

} // namespace centralita::loadgen
