#include "actors/events/heartbeat.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdio>

namespace centralita::actors {

bool read_cpu_jiffies(uint64_t& idle, uint64_t& total) {
  FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr)
    return false;
  unsigned long long v[8] = {0};
  int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                      &v[3], &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (n < 4)
    return false;
  idle = v[3] + v[4];
  total = 0;
  for (auto x : v)
    total += x;
  return true;
}

namespace {

struct heartbeat_state {
  static constexpr const char* name = "heartbeat";
  heartbeat_deps deps;
  caf::event_based_actor* self = nullptr;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last = started;
  uint64_t last_calls = 0;
  uint64_t last_idle = 0;
  uint64_t last_total = 0;

  void arm() { deps.timers->arm(self, deps.interval, 0); }

  void beat() {
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - last).count();
    last = now;
    auto calls = deps.sip->calls_started.load(std::memory_order_relaxed);
    double cps = seconds > 0 ? static_cast<double>(calls - last_calls) / seconds : 0;
    last_calls = calls;
    double idle_pct = 100;
    uint64_t idle = 0, total = 0;
    if (read_cpu_jiffies(idle, total) && total > last_total) {
      idle_pct = 100.0 * static_cast<double>(idle - last_idle)
                 / static_cast<double>(total - last_total);
      last_idle = idle;
      last_total = total;
    }
    int64_t suspended = deps.scripts ? deps.scripts->suspended.load(std::memory_order_relaxed) : 0;
    events::event ev("HEARTBEAT");
    ev.set("active_calls", std::to_string(deps.sip->active_calls.load(std::memory_order_relaxed)));
    ev.set("registrations",
           std::to_string(deps.sip->registrations.load(std::memory_order_relaxed)));
    ev.set("transactions",
           std::to_string(deps.sip->server_transactions.load(std::memory_order_relaxed)));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", cps);
    ev.set("cps", buf);
    ev.set("suspended_routings", std::to_string(suspended));
    std::snprintf(buf, sizeof buf, "%.1f", idle_pct);
    ev.set("cpu_idle", buf);
    ev.set("max_sessions", std::to_string(deps.max_sessions));
    ev.set("uptime_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         now - started)
                                         .count()));
    ev.set("version", deps.version);
    self->send(deps.events, publish_event{std::move(ev)});
    arm();
  }
};

caf::behavior heartbeat(caf::stateful_actor<heartbeat_state>* self, heartbeat_deps deps) {
  auto& st = self->state;
  st.deps = std::move(deps);
  st.self = self;
  st.last_calls = st.deps.sip->calls_started.load();
  read_cpu_jiffies(st.last_idle, st.last_total);
  st.arm();
  return {
    [&st](timer_expired) { st.beat(); },
  };
}

} // namespace

caf::actor spawn_heartbeat(caf::actor_system& sys, heartbeat_deps deps) {
  return sys.spawn(heartbeat, std::move(deps));
}

} // namespace centralita::actors
