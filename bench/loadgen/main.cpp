// centralita-bench: the bundled SIP load generator (docs/load-testing.md).
// Parses the command line, sets the scenario and the engine up, waits for
// the run (Ctrl-C once: stop starting; twice: abort), prints the report.
#include "bench/loadgen/cli.hpp"
#include "bench/loadgen/net_util.hpp"
#include "bench/loadgen/engine.hpp"
#include "bench/loadgen/events_run.hpp"
#include "bench/loadgen/knee_run.hpp"
#include "bench/loadgen/push_wake.hpp"
#include "bench/loadgen/report.hpp"
#include "bench/loadgen/scenario.hpp"
#include "bench/loadgen/users.hpp"
#include "drivers/uring/reactor.hpp"

#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace centralita;
using namespace centralita::loadgen;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_setup = 1;
constexpr int exit_usage = 2;

int usage(const std::string& message) {
  std::fprintf(stderr, "centralita-bench: %s\nTry 'centralita-bench --help'.\n", message.c_str());
  return exit_usage;
}

int setup_failed(const std::string& message) {
  std::fprintf(stderr, "centralita-bench: %s\n", message.c_str());
  return exit_setup;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// What the built-in UAS registered (removed again at the end).
struct uas_binding {
  bool registered = false;
  std::string request_uri;
  std::string aor;
  std::string contact;
};

/// --uas ADDR:PORT: picks the port (0: a free one), points the engine's UAS
/// at it and, unless --no-uas-register, REGISTERs the callee there.
result<uas_binding> set_up_uas(const bench_options& o, const target_address& target,
                               const drivers::endpoint& remote, engine_config& cfg,
                               bool register_callee) {
  auto colon = o.uas.rfind(':');
  auto host = o.uas.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port = static_cast<uint16_t>(std::stoul(o.uas.substr(colon + 1)));
  auto local = drivers::endpoint::from(host, port);
  if (!local)
    return error{errc::invalid_argument, "--uas: not an IP address: '" + host + "'"};
  if (port == 0) {
    // A port nobody holds (bound without SO_REUSEPORT, then let go).
    int fd = ::socket(local->family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    if (fd < 0 || ::bind(fd, local->data(), local->size()) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
      if (fd >= 0)
        ::close(fd);
      return error{errc::io_error, "--uas: no free UDP port on " + host};
    }
    ::close(fd);
    local = drivers::endpoint(reinterpret_cast<sockaddr*>(&bound), len);
  }
  cfg.uas_local = *local;
  cfg.uas.ring = std::chrono::milliseconds{static_cast<int64_t>(o.ring_s * 1000 + 0.5)};
  cfg.uas.t1 = std::chrono::milliseconds{o.t1_ms};
  cfg.uas.t2 = std::chrono::milliseconds{o.t2_ms};
  cfg.uas.contact = "<sip:" + o.callee + "@" + local->to_string() + ">";
  uas_binding b;
  b.contact = cfg.uas.contact;
  std::string domain = o.domain.empty() ? target.uri.substr(4) : o.domain;
  b.aor = "sip:" + o.callee + "@" + domain;
  b.request_uri = o.domain.empty() ? target.uri : "sip:" + o.domain;
  if (!register_callee)
    return b;
  auto r = register_binding(remote, b.request_uri, b.aor, o.callee, o.password, b.contact,
                            3600, std::chrono::seconds{10});
  if (!r)
    return error{errc::io_error, "--uas: " + r.err().reason};
  b.registered = true;
  return b;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  auto cli = parse_cli(args);
  if (cli.what == cli_result::action::help) {
    std::fputs(usage_text().c_str(), stdout);
    return exit_ok;
  }
  if (cli.what == cli_result::action::usage_error)
    return usage(cli.message);
  const auto& o = cli.opts;
  if (o.scenario == "events")
    return run_events(o);  // not SIP: its own target, client and report (events_run.hpp)

  // The scenario.
  auto target = parse_target(o.target);  // checked by parse_cli
  target_params tp{target->uri, target->host};
  std::unique_ptr<scenario> scen;
  std::optional<user_source> phones;  // push-wake
  if (o.scenario == "options") {
    scen = make_options_scenario(tp);
  } else if (o.scenario == "call" || o.scenario == "push-wake") {
    call_params cp;
    cp.target = tp;
    cp.domain = o.domain;
    cp.callee = o.callee;
    cp.caller = o.caller;
    cp.hold = std::chrono::milliseconds{static_cast<int64_t>(o.hold_s * 1000 + 0.5)};
    if (o.scenario == "push-wake") {
      auto range = user_range::parse(o.users);
      if (!range)
        return usage("--users: " + range.err().reason);
      phones = user_source(std::move(range.value()), o.password);
      cp.callees = phones;
    }
    scen = make_call_scenario(std::move(cp));
  } else {
    register_params rp;
    rp.target = tp;
    rp.domain = o.domain;
    rp.expires = o.expires;
    rp.unregister = o.unregister;
    if (!o.users.empty()) {
      auto range = user_range::parse(o.users);
      if (!range)
        return usage("--users: " + range.err().reason);
      rp.users = user_source(std::move(range.value()), o.password);
    } else {
      auto text = read_file(o.users_csv);
      if (!text)
        return usage("--users-csv: cannot read " + o.users_csv);
      auto list = parse_users_csv(*text);
      if (!list)
        return usage("--users-csv: " + o.users_csv + ": " + list.err().reason);
      rp.users = user_source(std::move(list.value()));
    }
    scen = make_register_scenario(std::move(rp));
  }

  // Where to, and from where.
  auto features = drivers::probe_uring();
  if (!features.available)
    return setup_failed(features.why_unavailable);
  auto remote = resolve(target->host, target->port);
  if (!remote)
    return setup_failed("cannot resolve " + target->host);
  std::optional<drivers::endpoint> local;
  if (!o.local_ip.empty()) {
    local = drivers::endpoint::from(o.local_ip, 0);
    if (!local)
      return usage("--local-ip: not an IP address: '" + o.local_ip + "'");
  } else {
    local = route_source(*remote);
    if (!local)
      return setup_failed("no route to " + remote->to_string());
  }

  engine_config cfg;
  cfg.target = *remote;
  cfg.target_name = target->uri;
  cfg.local = *local;
  cfg.sockets = o.sockets;
  if (o.ramp) {
    cfg.pace = pacer::ramp(o.ramp->from, o.ramp->to,
                           std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::duration<double>(o.ramp->seconds)));
    cfg.rate_offered = o.ramp->to;
  } else {
    cfg.pace = pacer::fixed(o.rate);
    cfg.rate_offered = o.rate;
  }
  cfg.count = o.count.value_or(0);
  if (o.duration_s)
    cfg.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(*o.duration_s));
  cfg.max_inflight = o.max_inflight;
  cfg.tcp = o.transport == "tcp";
  cfg.retransmit = o.retransmit && !cfg.tcp;  // reliable transports: no Timer A/E
  cfg.tick = std::chrono::microseconds{o.tick_us};
  cfg.t1 = std::chrono::milliseconds{o.t1_ms};
  cfg.t2 = std::chrono::milliseconds{o.t2_ms};
  cfg.timeout = std::chrono::milliseconds{o.timeout_ms};
  cfg.progress = o.progress.value_or(::isatty(STDERR_FILENO) == 1);

  // The built-in UAS, reachable through the target by a registration.
  std::optional<uas_binding> binding;
  if (!o.uas.empty()) {
    auto set_up = set_up_uas(o, *target, *remote, cfg, !phones && o.uas_register);
    if (!set_up)
      return setup_failed(set_up.err().reason);
    binding = std::move(set_up.value());
  }
  // Leave the registrar as we found it (RFC 3261 §10.2.2), however the run ends.
  auto remove_binding = [&] {
    if (!binding || !binding->registered)
      return;
    auto gone = register_binding(*remote, binding->request_uri, binding->aor, o.callee,
                                 o.password, binding->contact, 0, std::chrono::seconds{5});
    if (!gone)
      std::fprintf(stderr, "note: removing the UAS's binding failed: %s\n",
                   gone.err().reason.c_str());
    binding.reset();
  };

  // push-wake: the gateway we run, and the phones registered asleep.
  bool phones_registered = false;
  if (phones) {
    engine_config::push_wake pw;
    auto colon = o.webhook.rfind(':');
    auto host = o.webhook.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    auto hook = drivers::endpoint::from(host, static_cast<uint16_t>(
                                                  std::stoul(o.webhook.substr(colon + 1))));
    if (!hook)
      return usage("--webhook: not an IP address: '" + host + "'");
    pw.webhook = *hook;
    pw.domain = o.domain.empty() ? target->uri.substr(4) : o.domain;
    pw.request_uri = o.domain.empty() ? target->uri : "sip:" + o.domain;
    pw.password = o.password;
    pw.pn_provider = o.pn_provider;
    pw.pn_param = o.pn_param;
    pw.wake_delay = std::chrono::milliseconds{static_cast<int64_t>(o.wake_delay_s * 1000 + 0.5)};
    pw.expires = o.expires;
    cfg.push = pw;
    if (auto r = register_phones(*remote, *phones, pw, false); !r)
      return setup_failed("push-wake: registering the phones: " + r.err().reason);
    phones_registered = true;
  }
  auto remove_phones = [&] {
    if (!phones_registered)
      return;
    phones_registered = false;
    if (auto r = register_phones(*remote, *phones, *cfg.push, true); !r)
      std::fprintf(stderr, "note: removing the phones' bindings failed: %s\n",
                   r.err().reason.c_str());
  };

  std::optional<process_sample> target_before;
  if (o.target_pid != 0) {
    target_before = sample_process(o.target_pid);
    if (!target_before)
      return setup_failed("--target-pid: no process " + std::to_string(o.target_pid));
  }

  // Ctrl-C and SIGTERM are read here, never delivered to the reactor thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // --knee: steps of rising rate, each one engine run like the one below.
  if (o.knee) {
    int rc = knee_main(o, {cfg, scen.get(), o.target_pid, signals}, shell_command(args));
    remove_binding();
    remove_phones();
    return rc;
  }

  auto created = engine::create(cfg, *scen);
  if (!created) {
    remove_binding();
    remove_phones();
    return setup_failed(created.err().reason);
  }
  auto& eng = *created.value();

  double cpu_before = self_cpu_seconds();
  eng.start();
  int interrupts = 0;
  while (!eng.wait(std::chrono::milliseconds{100})) {
    timespec zero{};
    siginfo_t info{};
    if (sigtimedwait(&signals, &info, &zero) > 0) {
      if (++interrupts == 1) {
        std::fprintf(stderr, "\ncentralita-bench: stopping: no new attempts; waiting for "
                             "those in progress (again to abort)\n");
        eng.stop_starting();
      } else {
        eng.abort();
      }
    }
  }
  double cpu_after = self_cpu_seconds();

  auto rep = eng.report();
  auto extra = eng.extras();
  double per = static_cast<double>(rep.succeeded > 0 ? rep.succeeded : rep.attempted);
  if (per > 0)
    rep.self_cpu_us_per_op = (cpu_after - cpu_before) * 1e6 / per;
  if (target_before) {
    if (auto after = sample_process(o.target_pid)) {
      if (rep.succeeded > 0)
        rep.target_cpu_us_per_op = (after->cpu_s - target_before->cpu_s) * 1e6
                                   / static_cast<double>(rep.succeeded);
      rep.target_rss_bytes = after->rss_bytes;
    } else {
      std::fprintf(stderr, "centralita-bench: the target process %d is gone\n", o.target_pid);
    }
  }

  bool json_stdout = o.json_path == "-";
  if (!o.json_path.empty()) {
    auto text = to_json(rep).dump(2) + "\n";
    if (json_stdout) {
      std::fputs(text.c_str(), stdout);
    } else {
      std::ofstream out(o.json_path, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out)
        std::fprintf(stderr, "centralita-bench: --json: cannot write %s\n", o.json_path.c_str());
    }
  }
  if (!o.html_path.empty())
    write_html(o.html_path, rep, nullptr, shell_command(args));
  // The table goes to stdout, or to stderr when stdout carries the JSON.
  std::fputs(summary_table(rep).c_str(), json_stdout ? stderr : stdout);
  if (extra.stray > 0)
    std::fprintf(stderr, "note: %llu answers matched no transaction in progress (late "
                         "retransmissions, or not ours)\n",
                 static_cast<unsigned long long>(extra.stray));
  if (extra.no_buffers > 0)
    std::fprintf(stderr, "note: the receive buffers ran out %llu times (the kernel dropped "
                         "answers)\n", static_cast<unsigned long long>(extra.no_buffers));
  if (extra.uas_enabled)
    std::fprintf(stderr, "uas: %llu INVITEs, %llu answered, %llu ACKed, %llu BYEs, %llu "
                         "CANCELs, %llu answers sent again, %llu never ACKed, %llu for unknown "
                         "calls, %llu malformed\n",
                 static_cast<unsigned long long>(extra.uas.invites),
                 static_cast<unsigned long long>(extra.uas.answered),
                 static_cast<unsigned long long>(extra.uas.acks),
                 static_cast<unsigned long long>(extra.uas.byes),
                 static_cast<unsigned long long>(extra.uas.cancels),
                 static_cast<unsigned long long>(extra.uas.retransmissions),
                 static_cast<unsigned long long>(extra.uas.ack_timeouts),
                 static_cast<unsigned long long>(extra.uas.unknown_dialog),
                 static_cast<unsigned long long>(extra.uas.malformed));
  if (extra.acks_resent > 0)
    std::fprintf(stderr, "note: %llu ACKs sent again (retransmitted answers to INVITEs)\n",
                 static_cast<unsigned long long>(extra.acks_resent));
  remove_binding();
  if (phones)
    std::fprintf(stderr, "%s\n", push_wake_summary(extra).c_str());
  remove_phones();
  if (extra.send_errors > 0)
    std::fprintf(stderr, "note: %llu sends failed\n",
                 static_cast<unsigned long long>(extra.send_errors));
  if (rep.attempted > 0 && extra.responses == 0)
    return setup_failed("no answer from " + target->uri + " (" + remote->to_string()
                        + (extra.unreachable > 0 ? ": port unreachable)" : ")"));
  return exit_ok;
}
