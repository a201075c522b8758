#pragma once

// `centralita-bench events`: subscribers on the switch's /events
// (events_client.hpp) and, with --drive register, the register scenario
// (engine.hpp) against the switch's SIP port at the same time, started once
// every subscriber has its hello; then the report (events_report.hpp).

#include "bench/loadgen/cli.hpp"

namespace centralita::loadgen {

/// Runs the scenario `o` describes (parse_cli() checked it). Returns the
/// exit status: 0 the run completed (gaps or not), 1 no subscriber could
/// connect or the setup failed, 2 bad usage found late (a --users range).
/// Ctrl-C once ends the run (the driver stops starting requests); twice
/// aborts the driver's requests in progress.
int run_events(const bench_options& o);

} // namespace centralita::loadgen
