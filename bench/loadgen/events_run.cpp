#include "bench/loadgen/events_run.hpp"

#include "bench/loadgen/engine.hpp"
#include "bench/loadgen/events_client.hpp"
#include "bench/loadgen/events_config.hpp"
#include "bench/loadgen/events_report.hpp"
#include "bench/loadgen/net_util.hpp"
#include "bench/loadgen/scenario.hpp"
#include "bench/loadgen/users.hpp"
#include "drivers/uring/reactor.hpp"

#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace centralita::loadgen {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

int complain(int status, const std::string& message) {
  std::fprintf(stderr, "centralita-bench: %s\n", message.c_str());
  if (status == exit_usage)
    std::fprintf(stderr, "Try 'centralita-bench --help'.\n");
  return status;
}

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds{static_cast<int64_t>(seconds * 1000 + 0.5)};
}

/// The register driver: its scenario and its engine (not started yet).
struct driver {
  std::unique_ptr<scenario> scen;
  std::unique_ptr<engine> eng;
};

/// Sets the driver up as the register scenario would be (main.cpp), against
/// --sip. An empty `why` with no engine: usage error in `usage`.
result<driver> make_driver(const bench_options& o, bool& usage) {
  auto target = parse_target(o.sip);  // checked by parse_cli
  register_params rp;
  rp.target = {target->uri, target->host};
  rp.domain = o.domain;
  rp.expires = o.expires;
  if (!o.users.empty()) {
    auto range = user_range::parse(o.users);
    if (!range) {
      usage = true;
      return error{errc::invalid_argument, "--users: " + range.err().reason};
    }
    rp.users = user_source(std::move(range.value()), o.password);
  } else {
    std::ifstream in(o.users_csv, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      usage = true;
      return error{errc::invalid_argument, "--users-csv: cannot read " + o.users_csv};
    }
    auto list = parse_users_csv(text.str());
    if (!list) {
      usage = true;
      return error{errc::invalid_argument, "--users-csv: " + o.users_csv + ": " + list.err().reason};
    }
    rp.users = user_source(std::move(list.value()));
  }
  driver d;
  d.scen = make_register_scenario(std::move(rp));

  auto remote = resolve(target->host, target->port, SOCK_DGRAM);
  if (!remote)
    return error{errc::io_error, "--sip: cannot resolve " + target->host};
  std::optional<drivers::endpoint> local;
  if (!o.local_ip.empty()) {
    local = drivers::endpoint::from(o.local_ip, 0);
    if (!local) {
      usage = true;
      return error{errc::invalid_argument, "--local-ip: not an IP address: '" + o.local_ip + "'"};
    }
  } else if (!(local = route_source(*remote))) {
    return error{errc::io_error, "--sip: no route to " + remote->to_string()};
  }
  engine_config cfg;
  cfg.target = *remote;
  cfg.target_name = target->uri;
  cfg.local = *local;
  cfg.sockets = o.sockets;
  if (o.ramp) {
    cfg.pace = pacer::ramp(o.ramp->from, o.ramp->to, millis(o.ramp->seconds));
    cfg.rate_offered = o.ramp->to;
  } else {
    cfg.pace = pacer::fixed(o.rate);
    cfg.rate_offered = o.rate;
  }
  cfg.count = o.drive_count.value_or(default_drive_count);
  cfg.max_inflight = o.max_inflight;
  cfg.retransmit = o.retransmit;
  cfg.t1 = std::chrono::milliseconds{o.t1_ms};
  cfg.t2 = std::chrono::milliseconds{o.t2_ms};
  cfg.timeout = std::chrono::milliseconds{o.timeout_ms};
  cfg.progress = false;  // the subscribers' line is the live one
  auto created = engine::create(cfg, *d.scen);
  if (!created)
    return created.err();
  d.eng = std::move(created.value());
  return d;
}

/// One descriptor per subscriber, and the ring's and the driver's: raise the
/// soft limit (often 1024) towards the hard one when that is not enough.
void make_room_for(unsigned subscribers) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return;
  const rlim_t want = static_cast<rlim_t>(subscribers) + 256;
  if (lim.rlim_cur >= want)
    return;
  rlimit raised = lim;
  raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want : std::min(want, lim.rlim_max);
  const rlim_t got = ::setrlimit(RLIMIT_NOFILE, &raised) == 0 ? raised.rlim_cur : lim.rlim_cur;
  if (got < want)
    std::fprintf(stderr, "centralita-bench: note: %u subscribers need %llu file descriptors, the limit is "
                         "%llu (ulimit -n): some will fail to connect\n",
                 subscribers, static_cast<unsigned long long>(want), static_cast<unsigned long long>(got));
}

bool write_json(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::fputs(text.c_str(), stdout);
    return true;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

} // namespace

int run_events(const bench_options& o) {
  auto target = parse_events_target(o.target);  // checked by parse_cli
  if (!target)
    return complain(exit_usage, target.err().reason);
  const std::string filter = o.filter.value_or("");
  const std::string url = target->url(filter);

  auto features = drivers::probe_uring();
  if (!features.available)
    return complain(exit_failed, features.why_unavailable);
  auto server = resolve(target->host, target->port, SOCK_STREAM);
  if (!server)
    return complain(exit_failed, "cannot resolve " + target->host);

  // Ctrl-C and SIGTERM are read here, never delivered to the ring threads:
  // blocked before the driver's and the subscribers' threads start, which
  // inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The driver first: its setup errors come before anything connects.
  std::optional<driver> drv;
  if (!o.drive.empty()) {
    bool usage = false;
    auto d = make_driver(o, usage);
    if (!d)
      return complain(usage ? exit_usage : exit_failed, d.err().reason);
    drv = std::move(d.value());
  }

  events_client_config cfg;
  cfg.server = *server;
  cfg.base.host = target->authority();
  cfg.base.resource = target->resource(filter);
  cfg.base.token = o.token;
  if (drv)
    cfg.base.driven_event = "REGISTER";  // docs/events.md: one per binding a REGISTER adds
  cfg.subscribers = o.subscribers;
  cfg.slow = o.slow;
  cfg.slow_pause = millis(o.slow_pause_s);
  cfg.connect_timeout = millis(o.connect_timeout_s);
  cfg.duration = millis(o.duration_s.value_or(10));
  cfg.drain = millis(o.drain_s);
  cfg.count = o.count;
  cfg.driven = drv.has_value();
  cfg.progress = o.progress.value_or(::isatty(STDERR_FILENO) == 1);

  std::optional<process_sample> target_before;
  if (o.target_pid != 0) {
    target_before = sample_process(o.target_pid);
    if (!target_before)
      return complain(exit_failed, "--target-pid: no process " + std::to_string(o.target_pid));
  }

  make_room_for(o.subscribers);
  double cpu_before = self_cpu_seconds();
  auto created = events_client::create(cfg);
  if (!created)
    return complain(exit_failed, created.err().reason);
  auto& client = *created.value();

  bool driver_started = false, driver_over = !drv;
  int interrupts = 0;
  while (!client.wait(std::chrono::milliseconds{50})) {
    timespec zero{};
    siginfo_t info{};
    if (sigtimedwait(&signals, &info, &zero) > 0) {
      if (++interrupts == 1) {
        std::fprintf(stderr, "\ncentralita-bench: stopping (again to abort the driver's requests)\n");
        if (driver_started && !driver_over)
          drv->eng->stop_starting();
        client.stop();
      } else if (driver_started && !driver_over) {
        drv->eng->abort();
      }
    }
    // The driver starts once every subscriber has its hello (or failed), so
    // each is owed every event it causes.
    if (!driver_started && !driver_over && client.ready()) {
      if (client.connected() > 0 && interrupts == 0) {
        drv->eng->start();
        driver_started = true;
      } else {
        driver_over = true;  // nobody to deliver to: no traffic
        client.driver_done(0);
      }
    }
    if (driver_started && !driver_over && drv->eng->wait(std::chrono::milliseconds{0})) {
      driver_over = true;
      client.driver_done(drv->eng->report().succeeded);
    }
  }
  // The run ended first (duration, Ctrl-C): the driver's requests end too.
  if (driver_started && !driver_over) {
    drv->eng->abort();
    while (!drv->eng->wait(std::chrono::milliseconds{100})) {
    }
  }
  double cpu_after = self_cpu_seconds();

  std::optional<run_report> driver_report;
  if (driver_started)
    driver_report = drv->eng->report();
  auto rep = make_events_report(client.take_result(), url, std::move(driver_report));
  auto per = static_cast<double>(rep.delivered);
  if (per > 0)
    rep.base.self_cpu_us_per_op = (cpu_after - cpu_before) * 1e6 / per;
  if (target_before) {
    if (auto after = sample_process(o.target_pid)) {
      if (per > 0)
        rep.base.target_cpu_us_per_op = (after->cpu_s - target_before->cpu_s) * 1e6 / per;
      rep.base.target_rss_bytes = after->rss_bytes;
    } else {
      std::fprintf(stderr, "centralita-bench: the target process %d is gone\n", o.target_pid);
    }
  }

  bool json_stdout = o.json_path == "-";
  if (!o.json_path.empty() && !write_json(o.json_path, to_json(rep).dump(2) + "\n"))
    std::fprintf(stderr, "centralita-bench: --json: cannot write %s\n", o.json_path.c_str());
  std::fputs(summary_table(rep).c_str(), json_stdout ? stderr : stdout);

  if (rep.connected == 0) {
    std::string causes;
    for (const auto& [cause, n] : rep.connect_failures)
      causes += (causes.empty() ? "" : ", ") + cause + " x" + std::to_string(n);
    for (const auto& l : rep.lines)
      if (!l.failure_detail.empty()) {
        causes += "; " + l.failure_detail;  // the first one says enough
        break;
      }
    return complain(exit_failed, "no subscriber could connect to " + url + " (" + causes + ")");
  }
  return exit_ok;
}

} // namespace centralita::loadgen
