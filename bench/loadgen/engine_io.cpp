// engine::impl receiving: the answers (matched to their transactions, RFC
// 3261 §17.1.3), transport errors, and the reactor loop that waits for them
// in batches.

#include "bench/loadgen/engine_impl.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace centralita::loadgen {

namespace {

/// At most this many completions per wake-up (the reactor reaps 256 at a time).
constexpr uint64_t batch_limit = 256;

} // namespace

// ---- message_sink ------------------------------------------------------------

void engine::impl::on_message(const drivers::inbound_message& msg) {
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

void engine::impl::handle_answer(const drivers::inbound_message& msg) {
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

void engine::impl::on_oversized(const drivers::inbound_message&) {
  ++rep.malformed;
}

void engine::impl::on_unreachable(drivers::transport_kind,
                                  const drivers::endpoint& destination, int) {
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

// ---- the reactor loop --------------------------------------------------------

/// The reactor loop, like reactor::run() but for a client that knows how
/// many answers it waits for: it sleeps until that many completions came
/// (or the next timer), not until the first. The answers to one tick's
/// requests arrive close together; waking once for all of them instead of
/// once each saves a context switch per answer, the largest cost of a UDP
/// client on a virtual machine (measured: about half the wake-ups).
/// Latency is taken when an answer is handled, so it may read late by the
/// spread of one batch of answers (tens of µs at the rates measured).
void engine::impl::loop() {
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

} // namespace centralita::loadgen
