#pragma once

// The command line of centralita-bench (docs/load-testing.md):
//
//   centralita-bench <scenario> [options] TARGET
//
// Options may also come from a TOML file (--config FILE): the same keys
// without the leading dashes ("rate", "max-inflight" or "max_inflight",
// "target", ...) at the top level (every scenario) or in a [<scenario>]
// table (that scenario); flags on the command line override the file.
// Parsing is pure apart from reading the --config and --users-csv files.

#include "protocols/util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::loadgen {

/// --ramp FROM:TO:SECONDS
struct ramp_spec {
  double from = 0;
  double to = 0;
  double seconds = 0;
};

struct bench_options {
  std::string scenario;                 ///< "options", "register"
  std::string target;                   ///< as given: sip:host:port or host:port
  std::string transport = "udp";
  double rate = 100;                    ///< attempts per second (unless ramp)
  std::optional<ramp_spec> ramp;
  std::optional<uint64_t> count;        ///< neither count nor duration: count = 1000
  std::optional<double> duration_s;
  uint64_t max_inflight = 10000;
  unsigned sockets = 4;
  uint64_t timeout_ms = 32000;          ///< RFC 3261 Timer F (64·T1)
  uint64_t t1_ms = 500;
  uint64_t t2_ms = 4000;
  bool retransmit = true;
  uint64_t tick_us = 1000;              ///< engine_config::tick
  std::string json_path;                ///< "-" for stdout
  std::string html_path;                ///< --html: the self-contained HTML report
  int target_pid = 0;
  std::string local_ip;                 ///< empty: the address that routes to the target
  std::optional<bool> progress;         ///< empty: when stderr is a terminal
  std::string config_path;
  // find-the-knee (--knee): steps of rising fixed rate instead of one run
  bool knee = false;
  double knee_start = 100;              ///< the first step's rate (per second)
  double knee_step = 100;               ///< added per step...
  std::optional<double> knee_factor;    ///< ... or (> 1) multiplied per step
  double knee_max = 100000;             ///< no step above this rate
  double step_duration_s = 10;          ///< each step's length
  double max_failures_pct = 0.1;        ///< a step fails above this failure share (%)
  double max_p99_ms = 0;                ///< ... or above this p99 (0: no bound)
  bool rate_given = false;              ///< --rate was set (flag or config): conflicts with --knee
  // register
  std::string users;                    ///< PREFIX[START-END]
  std::string users_csv;                ///< user;password lines
  std::string password;                 ///< for --users
  std::string domain;
  uint32_t expires = 3600;
  bool unregister = false;
  // call
  std::string callee = "uas";           ///< INVITE sip:CALLEE@domain
  std::string caller = "centralita-bench";
  double hold_s = 0;                    ///< ACK to BYE
  std::string uas;                      ///< ADDR:PORT of the built-in UAS; empty: none
  double ring_s = 0;                    ///< the built-in UAS: 180 to 200
  bool uas_register = true;             ///< REGISTER the callee with the UAS as Contact
  // push-wake
  std::string webhook;                  ///< ADDR:PORT of the push gateway we run
  double wake_delay_s = 0;              ///< push received -> the phone's REGISTER
  std::string pn_provider = "webhook";  ///< RFC 8599 pn-provider of the phones
  std::string pn_param = "centralita-bench";
  // events (events_config.hpp): WebSocket subscribers of the switch's /events
  unsigned subscribers = 10;
  std::optional<std::string> filter;    ///< query appended to /events? ("event=REGISTER")
  std::string token;                    ///< sent as "Authorization: Bearer TOKEN"
  unsigned slow = 0;                    ///< subscribers that stop reading after their first event
  double slow_pause_s = 3;              ///< ... for this long, then read what is left
  double connect_timeout_s = 5;         ///< TCP connect + upgrade + hello
  double drain_s = 5;                   ///< after the driver: how long to wait for the last events
  std::string drive;                    ///< "register": SIP traffic while subscribed
  std::string sip;                      ///< the driver's SIP target (sip:HOST:PORT)
  std::optional<uint64_t> drive_count;  ///< requests the driver makes
};

/// A SIP target: "sip:host:port", "sip:[::1]:5060", "host:port", "host".
struct target_address {
  std::string host;     ///< without brackets
  uint16_t port = 5060;
  std::string uri;      ///< "sip:host:port" (IPv6 in brackets)
};
result<target_address> parse_target(std::string_view text);

struct cli_result {
  enum class action { run, help, usage_error };
  action what = action::usage_error;
  bench_options opts;
  std::string message;  ///< for usage_error: what is wrong, naming the flag
};

/// Parses argv[1..] (argv[0] is the program), reads --config if given,
/// checks the combination. Never exits.
cli_result parse_cli(const std::vector<std::string>& args);

/// Applies a TOML document's keys for `scenario` (top level, then the
/// [scenario] table). Errors name the key ("config: rate: not a number").
result<void> apply_config(bench_options& opts, std::string_view toml_text,
                          std::string_view origin);

/// The --help text.
std::string usage_text();

} // namespace centralita::loadgen
