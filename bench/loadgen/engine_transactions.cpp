// engine::impl as the scenarios' client_ops, and the client transactions it
// runs for them: slots, Timer E/F (A/B for INVITEs), retransmissions, sends.

#include "bench/loadgen/engine_impl.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace centralita::loadgen {

namespace {

uint64_t micros(engine_detail::clock_type::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us < 0 ? 0 : static_cast<uint64_t>(us);
}

} // namespace

// ---- client_ops --------------------------------------------------------------

std::string_view engine::impl::sent_by(uint32_t slot) const {
  return sent_by_text[slots[slot].sock];
}

std::string_view engine::impl::next_branch(uint32_t slot) {
  auto& s = slots[slot];
  // The generation stays below 2^31 so a cookie (slot | generation << 32) fits.
  s.generation = (s.generation + 1) & 0x7fffffff;
  s.branch_len = static_cast<uint8_t>(format_branch(s.branch, run_id, {slot, s.generation}));
  return {s.branch, s.branch_len};
}

std::string& engine::impl::request(uint32_t slot) {
  auto& r = slots[slot].request;
  r.clear();  // keeps its capacity: no allocation per attempt once warm
  return r;
}

void engine::impl::send(uint32_t slot, std::string_view method) {
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
engine::impl::clock_type::time_point engine::impl::event_time() const {
  return in_rx ? rx_time : reactor->now();
}

uint64_t engine::impl::latency_us(uint32_t slot) const {
  const auto& s = slots[slot];
  return micros(event_time() - s.attempt_start - s.own_time);
}

void engine::impl::record_latency(uint32_t slot) {
  auto us = latency_us(slot);
  if (response_hist == nullptr)  // created on first use: a call run has none
    response_hist = &rep.latency["response"];
  response_hist->record(us);
  sec.hist.record(us);
}

void engine::impl::record_latency(uint32_t slot, std::string_view name) {
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

void engine::impl::send_ack(uint32_t slot) {
  auto& s = slots[slot];
  s.ack = s.request;
  put(slot, s.ack);
}

bool engine::impl::set_next_hop(uint32_t slot, std::string_view uri) {
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

void engine::impl::wake_after(uint32_t slot, std::chrono::milliseconds delay) {
  auto& s = slots[slot];
  cancel_timer(s);
  set_active(s, false);
  s.waking = true;
  s.timer = reactor->timers().schedule(reactor->now() + delay, this,
                                       uint64_t{slot} | uint64_t{s.generation} << 32);
}

void engine::impl::finish(uint32_t slot, std::string_view failure_cause) {
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

std::string_view engine::impl::run_token() const {
  return {run_token_text, 8};
}

// ---- transactions ----------------------------------------------------------

void engine::impl::transmit(txn_slot& s) {
  // The sockets take the bytes by value (they must live until the send
  // completes); the slot keeps its own copy for retransmissions.
  put(static_cast<uint32_t>(&s - slots.data()), s.request);
}

/// Sends bytes on the slot's socket (or TCP client) to its next hop.
void engine::impl::put(uint32_t slot, const std::string& bytes) {
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

void engine::impl::on_tcp_failure(uint32_t slot, uint32_t gen) {
  ++extra.send_errors;
  auto& s = slots[slot];
  if (!s.busy || !s.active || s.generation != gen)
    return;
  set_active(s, false);
  cancel_timer(s);
  scen.on_transport_error(*this, slot);
}

std::string_view engine::impl::via_transport() const {
  return tcps.empty() ? "UDP" : "TCP";
}

std::string_view engine::impl::contact_params() const {
  return tcps.empty() ? std::string_view{} : std::string_view(";transport=tcp");
}

void engine::impl::arm(uint32_t slot, clock_type::time_point now) {
  auto& s = slots[slot];
  auto at = s.deadline;
  s.timer_is_deadline = true;
  if (cfg.retransmit && now + s.interval < at) {
    at = now + s.interval;
    s.timer_is_deadline = false;
  }
  s.timer = reactor->timers().schedule(at, this, uint64_t{slot} | uint64_t{s.generation} << 32);
}

void engine::impl::on_timer(uint64_t cookie) {
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

} // namespace centralita::loadgen
