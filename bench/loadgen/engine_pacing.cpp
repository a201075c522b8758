// engine::impl pacing the run: attempts started when the pacer says they are
// due, the per-second timeline and progress line, the end of the run.

#include "bench/loadgen/engine_impl.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace centralita::loadgen {

using engine_detail::seconds;
using std::chrono::milliseconds;

// ---- pacing ------------------------------------------------------------------

uint32_t engine::impl::take_slot() {
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

void engine::impl::stop_starting_now() {
  if (!starting)
    return;
  starting = false;
  if (inflight == 0)
    end_run();
}

/// Starts every attempt that is due (RFC-free: the pacer's arithmetic),
/// then sleeps until the next one is due. Sends queue SQEs that the reactor
/// submits in one go at the end of its loop.
void engine::impl::pump() {
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

void engine::impl::on_second() {
  second_timer = {};
  sample(reactor->now());
  if (!finished_run)
    second_timer = reactor->timers().schedule(last_sample + std::chrono::seconds{1}, &second, 0);
}

void engine::impl::sample(clock_type::time_point now) {
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

void engine::impl::begin_run() {
  start_time = last_sample = reactor->now();
  second_timer = reactor->timers().schedule(start_time + std::chrono::seconds{1}, &second, 0);
  pump();
}

void engine::impl::end_run() {
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

void engine::impl::abort_now() {
  starting = false;
  for (uint32_t i = 0; i < slots.size(); ++i)
    if (slots[i].busy)
      finish(i, "aborted");
  if (!finished_run)
    end_run();
}

} // namespace centralita::loadgen
