#include "actors/system/switch_app_impl.hpp"

#include <caf/actor_registry.hpp>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <sstream>

namespace centralita::actors {

std::string switch_app::status() const {
  auto& p = *impl_;
  auto& c = *p.counters;
  std::ostringstream out;
  auto heap = mallinfo2();
  out << "heap_in_use=" << heap.uordblks + heap.hblkhd
      << " actors=" << (p.system ? p.system->registry().running() : 0)
      << " active_calls=" << c.active_calls.load() << " registrations=" << c.registrations.load()
      << " server_transactions=" << c.server_transactions.load()
      << " hibernated_transactions=" << c.hibernated_transactions.load();
  if (p.script) {
    auto& s = *p.script_stats;
    out << " script_runs=" << s.runs.load() << " live_runs=" << s.live_runs.load()
        << " suspended=" << s.suspended.load() << " script_errors=" << s.errors.load()
        << " lua_bytes=" << s.lua_bytes.load();
  }
  out << " event_subscriptions=" << p.event_stats->subscriptions.load()
      << " events_published=" << p.event_stats->published.load()
      << " events_dropped=" << p.event_stats->dropped.load();
  if (p.push)
    out << " push_sent=" << p.push_stats->sent.load() << " push_failed=" << p.push_stats->failed.load()
        << " push_retried=" << p.push_stats->retried.load() << " push_woke=" << p.push_stats->woke.load();
  return out.str();
}

std::string switch_app::summary() const {
  auto& c = *impl_->counters;
  std::ostringstream out;
  uint64_t requests = 0;
  for (auto& n : c.requests_by_method)
    requests += n.load();
  uint64_t responses = 0;
  for (auto& n : c.responses_sent_by_class)
    responses += n.load();
  out << "requests=" << requests << " responses_sent=" << responses
      << " bad_requests=" << c.bad_requests.load()
      << " unanswerable=" << c.unanswerable_requests.load()
      << " bad_responses=" << c.bad_responses.load()
      << " stray_responses=" << c.stray_responses.load()
      << " oversized=" << c.oversized.load();
  return out.str();
}

namespace {
/// SIGINT/SIGTERM stop, SIGHUP reloads the script, SIGUSR1 logs the status.
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1})
    sigaddset(&set, sig);
  return set;
}
} // namespace

void block_shutdown_signals() {
  auto set = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int wait_for_signal() {
  auto set = shutdown_signals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

} // namespace centralita::actors
