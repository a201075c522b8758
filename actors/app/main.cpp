// centralita's entry point: parse the command line and config, build the
// switch, run until SIGINT/SIGTERM. Everything else lives in the libraries.
#include "actors/config/config.hpp"
#include "actors/system/logging.hpp"
#include "actors/system/switch_app.hpp"

#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <memory>

namespace {

/// glibc's malloc, tuned for a switch whose heap breathes with traffic: by
/// default a worker arena's top is trimmed as soon as 128 KiB lie free at its
/// end and regrown (mprotect, page faults, zeroing) on the next burst —
/// perf showed 15% of a call's CPU there. Keep freed memory for reuse and grow
/// in bigger steps; memory goes back to the kernel in the periodic
/// malloc_trim() instead (switch_app).
void tune_malloc() {
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 8 << 20);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

} // namespace

int main(int argc, char** argv) {
  using namespace centralita;
  tune_malloc();
  auto cli = config::parse_command_line(argc, argv);
  if (!cli) {
    std::fprintf(stderr, "centralita: %s\n", cli.err().reason.c_str());
    return 2;
  }
  if (cli->what == config::cli_outcome::action::help) {
    std::fputs(config::usage_text(argv[0]).c_str(), stdout);
    return 0;
  }
  if (cli->what == config::cli_outcome::action::version) {
    std::printf("centralita %s\n", CENTRALITA_VERSION);
    return 0;
  }
  auto cfg = std::make_shared<const config::app_config>(std::move(cli->config));
  auto logs = actors::make_loggers(cfg->core.log_level);
  actors::block_shutdown_signals();  // before any thread exists: they inherit the mask
  auto app = actors::switch_app::create(cfg, logs);
  if (!app) {
    logs.app->critical("cannot start: {}", app.err().reason);
    return app.err().code == errc::unsupported ? 3 : 1;
  }
  if (auto started = (*app)->start(); !started) {
    logs.app->critical("cannot start: {}", started.err().reason);
    return 1;
  }
  int sig = 0;
  while ((sig = actors::wait_for_signal()) == SIGHUP || sig == SIGUSR1) {
    if (sig == SIGUSR1) {
      logs.app->info("status: {}", (*app)->status());
      continue;
    }
    if (auto r = (*app)->reload_script(); !r)
      logs.app->error("SIGHUP: script not reloaded: {}", r.err().reason);
  }
  logs.app->info("signal {}: shutting down ({})", sig, (*app)->status());
  (*app)->stop();
  logs.app->info("stopped: {}", (*app)->summary());
  return 0;
}
