#include "bench/loadgen/cli.hpp"

#include "bench/loadgen/events_config.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>

namespace centralita::loadgen {

namespace {

constexpr std::string_view implemented[] = {"options", "register", "call", "events",
                                            "push-wake"};

/// Flags that take no value (in a config file: `key = true`).
constexpr std::string_view switches[] = {"no-retransmit", "unregister", "progress", "no-uas-register",
                                         "no-progress", "help", "knee"};

bool is_switch(std::string_view key) {
  for (auto s : switches)
    if (s == key)
      return true;
  return false;
}

std::string canonical(std::string_view key) {
  std::string k(key);
  for (auto& c : k)
    if (c == '_')
      c = '-';
  return k;
}

bool parse_u64(std::string_view s, uint64_t& v) {
  if (s.empty())
    return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}

bool parse_double(std::string_view s, double& v) {
  if (s.empty())
    return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size() && std::isfinite(v);
}

bool parse_bool(std::string_view s, bool& v) {
  if (s == "true" || s == "1" || s == "yes") {
    v = true;
    return true;
  }
  if (s == "false" || s == "0" || s == "no") {
    v = false;
    return true;
  }
  return false;
}

enum class outcome { ok, unknown, bad };

/// Sets one option from its text; `why` says what is wrong with the value.
outcome apply_setting(bench_options& o, std::string_view key, std::string_view value,
                      std::string& why) {
  uint64_t n = 0;
  double d = 0;
  bool b = false;
  auto positive_u64 = [&](uint64_t& field, uint64_t max) {
    if (!parse_u64(value, n) || n == 0 || n > max) {
      why = "expected a whole number from 1 to " + std::to_string(max) + ", got '"
            + std::string(value) + "'";
      return outcome::bad;
    }
    field = n;
    return outcome::ok;
  };
  auto positive_double = [&](double& field) {
    if (!parse_double(value, d) || d <= 0) {
      why = "expected a positive number, got '" + std::string(value) + "'";
      return outcome::bad;
    }
    field = d;
    return outcome::ok;
  };
  auto boolean = [&](bool& field, bool invert) {
    if (!parse_bool(value, b)) {
      why = "expected true or false, got '" + std::string(value) + "'";
      return outcome::bad;
    }
    field = invert ? !b : b;
    return outcome::ok;
  };
  auto text = [&](std::string& field) {
    if (value.empty()) {
      why = "expected a value";
      return outcome::bad;
    }
    field = std::string(value);
    return outcome::ok;
  };

  if (key == "rate") {
    o.ramp.reset();  // the last pacing given wins
    o.rate_given = true;
    return positive_double(o.rate);
  }
  if (key == "ramp") {
    ramp_spec r;
    auto a = value.find(':');
    auto b2 = a == std::string_view::npos ? a : value.find(':', a + 1);
    if (b2 == std::string_view::npos || !parse_double(value.substr(0, a), r.from)
        || !parse_double(value.substr(a + 1, b2 - a - 1), r.to)
        || !parse_double(value.substr(b2 + 1), r.seconds) || r.from < 0 || r.to <= 0
        || r.seconds <= 0) {
      why = "expected FROM:TO:SECONDS (rates per second, FROM >= 0, TO and SECONDS > 0), got '"
            + std::string(value) + "'";
      return outcome::bad;
    }
    o.ramp = r;
    return outcome::ok;
  }
  if (key == "count") {
    uint64_t c = 0;
    auto r = positive_u64(c, uint64_t{1} << 40);
    if (r == outcome::ok)
      o.count = c;
    return r;
  }
  if (key == "duration") {
    double s = 0;
    auto r = positive_double(s);
    if (r == outcome::ok)
      o.duration_s = s;
    return r;
  }
  if (key == "max-inflight")
    return positive_u64(o.max_inflight, 1'000'000);
  if (key == "sockets") {
    uint64_t s = 0;
    auto r = positive_u64(s, 256);
    o.sockets = static_cast<unsigned>(s);
    return r;
  }
  if (key == "timeout-ms")
    return positive_u64(o.timeout_ms, 3'600'000);
  if (key == "t1-ms")
    return positive_u64(o.t1_ms, 60'000);
  if (key == "t2-ms")
    return positive_u64(o.t2_ms, 600'000);
  if (key == "no-retransmit")
    return boolean(o.retransmit, true);
  if (key == "tick-us") {
    if (!parse_u64(value, n) || n > 100'000) {
      why = "expected microseconds from 0 to 100000, got '" + std::string(value) + "'";
      return outcome::bad;
    }
    o.tick_us = n;
    return outcome::ok;
  }
  if (key == "transport") {
    if (value == "udp" || value == "UDP") {
      o.transport = "udp";
      return outcome::ok;
    }
    if (value == "tcp" || value == "TCP") {
      o.transport = "tcp";
      return outcome::ok;
    }
    why = "expected udp or tcp, got '" + std::string(value) + "'";
    return outcome::bad;
  }
  if (key == "json")
    return text(o.json_path);
  if (key == "html")
    return text(o.html_path);
  // find-the-knee (docs/load-testing.md, "Finding the knee")
  if (key == "knee")
    return boolean(o.knee, false);
  if (key == "knee-start")
    return positive_double(o.knee_start);
  if (key == "knee-step")
    return positive_double(o.knee_step);
  if (key == "knee-factor") {
    if (!parse_double(value, d) || d <= 1 || d > 100) {
      why = "expected a factor above 1 (at most 100), got '" + std::string(value) + "'";
      return outcome::bad;
    }
    o.knee_factor = d;
    return outcome::ok;
  }
  if (key == "knee-max")
    return positive_double(o.knee_max);
  if (key == "step-duration") {
    // At least 100 ms: shorter steps measure the start-up, not a rate.
    if (!parse_double(value, d) || d < 0.1 || d > 86400) {
      why = "expected seconds from 0.1 to 86400, got '" + std::string(value) + "'";
      return outcome::bad;
    }
    o.step_duration_s = d;
    return outcome::ok;
  }
  if (key == "max-failures") {
    if (!parse_double(value, d) || d < 0 || d > 100) {
      why = "expected a percentage from 0 to 100, got '" + std::string(value) + "'";
      return outcome::bad;
    }
    o.max_failures_pct = d;
    return outcome::ok;
  }
  if (key == "max-p99") {
    if (!parse_double(value, d) || d < 0) {
      why = "expected milliseconds (0: no latency bound), got '" + std::string(value) + "'";
      return outcome::bad;
    }
    o.max_p99_ms = d;
    return outcome::ok;
  }
  if (key == "target-pid") {
    if (!parse_u64(value, n) || n == 0 || n > 0x3fffffff) {
      why = "expected a process id, got '" + std::string(value) + "'";
      return outcome::bad;
    }
    o.target_pid = static_cast<int>(n);
    return outcome::ok;
  }
  if (key == "local-ip")
    return text(o.local_ip);
  if (key == "progress") {
    auto r = boolean(b, false);
    if (r == outcome::ok)
      o.progress = b;
    return r;
  }
  if (key == "no-progress") {
    auto r = boolean(b, true);
    if (r == outcome::ok)
      o.progress = b;
    return r;
  }
  if (key == "target")
    return text(o.target);
  if (key == "users") {
    o.users_csv.clear();  // the last user list given wins
    return text(o.users);
  }
  if (key == "users-csv") {
    o.users.clear();
    return text(o.users_csv);
  }
  if (key == "password") {
    o.password = std::string(value);
    return outcome::ok;
  }
  if (key == "domain")
    return text(o.domain);
  if (key == "expires") {
    if (!parse_u64(value, n) || n > 0x7fffffff) {
      why = "expected seconds (0 to 2^31-1), got '" + std::string(value) + "'";
      return outcome::bad;
    }
    o.expires = static_cast<uint32_t>(n);
    return outcome::ok;
  }
  if (key == "unregister")
    return boolean(o.unregister, false);
  // call (docs/load-testing.md, "call")
  if (key == "callee")
    return text(o.callee);
  if (key == "caller")
    return text(o.caller);
  if (key == "hold" || key == "ring") {
    if (!parse_double(value, d) || d < 0 || d > 86400) {
      why = "expected seconds from 0 to 86400, got '" + std::string(value) + "'";
      return outcome::bad;
    }
    (key == "hold" ? o.hold_s : o.ring_s) = d;
    return outcome::ok;
  }
  if (key == "uas")
    return text(o.uas);
  if (key == "no-uas-register")
    return boolean(o.uas_register, true);
  // push-wake (docs/load-testing.md, "push-wake")
  if (key == "webhook")
    return text(o.webhook);
  if (key == "wake-delay") {
    if (!parse_double(value, d) || d < 0 || d > 3600) {
      why = "expected seconds from 0 to 3600, got '" + std::string(value) + "'";
      return outcome::bad;
    }
    o.wake_delay_s = d;
    return outcome::ok;
  }
  if (key == "pn-provider")
    return text(o.pn_provider);
  if (key == "pn-param")
    return text(o.pn_param);
  // events (docs/load-testing.md, "events")
  if (key == "subscribers" || key == "slow") {
    uint64_t k = 0;
    if (!parse_u64(value, k) || k > 100000 || (key == "subscribers" && k == 0)) {
      why = std::string("expected a whole number from ") + (key == "slow" ? "0" : "1")
            + " to 100000, got '" + std::string(value) + "'";
      return outcome::bad;
    }
    (key == "slow" ? o.slow : o.subscribers) = static_cast<unsigned>(k);
    return outcome::ok;
  }
  if (key == "filter") {
    o.filter = std::string(value);  // empty: every event
    return outcome::ok;
  }
  if (key == "token")
    return text(o.token);
  if (key == "slow-pause" || key == "connect-timeout" || key == "drain") {
    if (!parse_double(value, d) || d < 0 || d > 3600 || (key == "connect-timeout" && d == 0)) {
      why = "expected seconds from 0 to 3600, got '" + std::string(value) + "'";
      return outcome::bad;
    }
    (key == "slow-pause" ? o.slow_pause_s : key == "drain" ? o.drain_s : o.connect_timeout_s) = d;
    return outcome::ok;
  }
  if (key == "drive") {
    if (value != "register") {
      why = "expected register (the only driver so far), got '" + std::string(value) + "'";
      return outcome::bad;
    }
    o.drive = std::string(value);
    return outcome::ok;
  }
  if (key == "sip")
    return text(o.sip);
  if (key == "drive-count") {
    uint64_t c = 0;
    auto r = positive_u64(c, uint64_t{1} << 40);
    if (r == outcome::ok)
      o.drive_count = c;
    return r;
  }
  return outcome::unknown;
}

bool known_scenario(std::string_view s) {
  for (auto k : implemented)
    if (k == s)
      return true;
  return false;
}

/// The TOML value as option text; false when it is not a scalar.
bool scalar_text(const toml::node& node, std::string& out) {
  if (auto s = node.value<std::string>()) {
    out = *s;
    return true;
  }
  if (node.is_boolean()) {
    out = node.value<bool>().value_or(false) ? "true" : "false";
    return true;
  }
  if (node.is_integer()) {
    out = std::to_string(node.value<int64_t>().value_or(0));
    return true;
  }
  if (node.is_floating_point()) {
    std::ostringstream os;
    os.precision(17);
    os << node.value<double>().value_or(0);
    out = os.str();
    return true;
  }
  return false;
}

cli_result usage_error(std::string message) {
  cli_result r;
  r.what = cli_result::action::usage_error;
  r.message = std::move(message);
  return r;
}

} // namespace

result<target_address> parse_target(std::string_view text) {
  auto bad = [&](const char* why) {
    return error{errc::invalid_argument,
                 "target '" + std::string(text) + "': " + why
                     + " (expected sip:HOST:PORT or HOST:PORT)"};
  };
  std::string_view t = text;
  if (t.size() >= 5 && (t.substr(0, 5) == "sips:" || t.substr(0, 5) == "SIPS:"))
    return bad("sips (TLS) is not supported");
  if (t.size() >= 4 && (t.substr(0, 4) == "sip:" || t.substr(0, 4) == "SIP:"))
    t.remove_prefix(4);
  if (t.find_first_of("@;?/ \t<>") != std::string_view::npos)
    return bad("only a host and a port");
  target_address a;
  std::string_view port_text;
  if (!t.empty() && t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string_view::npos)
      return bad("missing ']'");
    a.host = std::string(t.substr(1, close - 1));
    auto rest = t.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return bad("junk after ']'");
      port_text = rest.substr(1);
      if (port_text.empty())
        return bad("empty port");
    }
  } else {
    auto colon = t.find(':');
    if (colon != std::string_view::npos && t.find(':', colon + 1) != std::string_view::npos)
      return bad("an IPv6 address goes in brackets");
    a.host = std::string(t.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = t.substr(colon + 1);
      if (port_text.empty())
        return bad("empty port");
    }
  }
  if (a.host.empty())
    return bad("no host");
  if (!port_text.empty()) {
    uint64_t p = 0;
    if (!parse_u64(port_text, p) || p == 0 || p > 65535)
      return bad("bad port");
    a.port = static_cast<uint16_t>(p);
  }
  bool v6 = a.host.find(':') != std::string::npos;
  a.uri = "sip:" + (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
  return a;
}

result<void> apply_config(bench_options& opts, std::string_view toml_text,
                          std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << origin << ":" << e.source().begin.line << ": " << e.description();
    return error{errc::invalid_argument, os.str()};
  }
  auto apply_table = [&](const toml::table& table, const std::string& prefix) -> result<void> {
    for (auto&& [k, node] : table) {
      std::string key = canonical(k.str());
      if (node.is_table()) {
        if (prefix.empty() && known_scenario(key))
          continue;  // a scenario's table: read below if it is ours
        return error{errc::invalid_argument,
                     std::string(origin) + ": unknown table [" + prefix + std::string(k.str()) + "]"};
      }
      std::string value;
      if (!scalar_text(node, value))
        return error{errc::invalid_argument,
                     std::string(origin) + ": " + prefix + std::string(k.str()) + ": not a scalar value"};
      std::string why;
      auto r = key == "help" ? outcome::unknown : apply_setting(opts, key, value, why);
      if (r == outcome::unknown)
        return error{errc::invalid_argument,
                     std::string(origin) + ": unknown key " + prefix + std::string(k.str())};
      if (r == outcome::bad)
        return error{errc::invalid_argument,
                     std::string(origin) + ": " + prefix + std::string(k.str()) + ": " + why};
    }
    return {};
  };
  if (auto r = apply_table(root, ""); !r)
    return r;
  if (auto* t = root[opts.scenario].as_table())
    return apply_table(*t, opts.scenario + ".");
  return {};
}

cli_result parse_cli(const std::vector<std::string>& args) {
  struct flag {
    std::string key;
    std::string value;
  };
  std::vector<flag> flags;
  std::vector<std::string> positional;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "-h" || a == "--help") {
      cli_result r;
      r.what = cli_result::action::help;
      return r;
    }
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string key = a.substr(2);
      std::string value;
      bool has_value = false;
      if (auto eq = key.find('='); eq != std::string::npos) {
        value = key.substr(eq + 1);
        key.resize(eq);
        has_value = true;
      }
      if (key.find('_') != std::string::npos)
        return usage_error("unknown option --" + key + " (options use dashes)");
      if (is_switch(key)) {
        if (has_value)
          return usage_error("--" + key + " takes no value");
        value = "true";
      } else if (!has_value) {
        if (i + 1 >= args.size())
          return usage_error("--" + key + " needs a value");
        value = args[++i];
      }
      flags.push_back({key, value});
      continue;
    }
    if (a.size() > 1 && a.front() == '-')
      return usage_error("unknown option " + a);
    positional.push_back(a);
  }
  cli_result out;
  auto& o = out.opts;
  if (positional.empty())
    return usage_error("no scenario given (options, register, call, push-wake, events)");
  o.scenario = positional[0];
  if (!known_scenario(o.scenario)) {
    return usage_error("unknown scenario '" + o.scenario
                       + "' (options, register, call, push-wake, events)");
  }
  if (positional.size() > 2)
    return usage_error("unexpected argument '" + positional[2] + "' (one TARGET only)");

  // The config file first, then the flags over it.
  for (auto& f : flags)
    if (f.key == "config")
      o.config_path = f.value;
  if (!o.config_path.empty()) {
    std::ifstream in(o.config_path, std::ios::binary);
    if (!in)
      return usage_error("--config: cannot read " + o.config_path);
    std::stringstream buf;
    buf << in.rdbuf();
    if (auto r = apply_config(o, buf.str(), o.config_path); !r)
      return usage_error("--config: " + r.err().reason);
  }
  for (auto& f : flags) {
    if (f.key == "config")
      continue;
    std::string why;
    auto r = apply_setting(o, f.key, f.value, why);
    if (r == outcome::unknown)
      return usage_error("unknown option --" + f.key);
    if (r == outcome::bad)
      return usage_error("--" + f.key + ": " + why);
  }
  if (positional.size() == 2)
    o.target = positional[1];

  // events has its own TARGET (the switch's HTTP listener) and options;
  // events_config.cpp checks them, and refuses its flags elsewhere.
  {
    std::vector<std::string> given;
    for (auto& f : flags)
      given.push_back(f.key);
    if (auto why = check_events_options(o, given); !why.empty())
      return usage_error(why);
    if (o.scenario == "events") {
      out.what = cli_result::action::run;
      return out;
    }
  }

  // The combination.
  if (o.target.empty())
    return usage_error("no TARGET given (sip:HOST:PORT)");
  if (auto t = parse_target(o.target); !t)
    return usage_error(t.err().reason);
  if (o.knee) {
    // The search sets each step's rate and length itself.
    std::string given;
    auto name = [&](bool set, const char* flag) {
      if (set)
        given += std::string(given.empty() ? "" : ", ") + flag;
    };
    name(o.rate_given, "--rate");
    name(o.ramp.has_value(), "--ramp");
    name(o.count.has_value(), "--count");
    name(o.duration_s.has_value(), "--duration");
    if (!given.empty())
      return usage_error("--knee conflicts with " + given
                         + " (the search sets each step's rate; --step-duration its length)");
    if (o.knee_max < o.knee_start)
      return usage_error("--knee-max: must not be below --knee-start");
  } else {
    for (auto key : {"knee-start", "knee-step", "knee-factor", "knee-max", "step-duration",
                     "max-failures", "max-p99"})
      for (auto& f : flags)
        if (f.key == key)
          return usage_error("--" + f.key + ": only with --knee");
  }
  if (!o.knee && !o.count && !o.duration_s)
    o.count = 1000;  // always bounded
  if (o.t2_ms < o.t1_ms)
    return usage_error("--t2-ms: must not be below --t1-ms");
  auto only_for = [&](std::initializer_list<const char*> keys, bool allowed,
                      const char* where) -> std::optional<cli_result> {
    if (allowed)
      return std::nullopt;
    for (auto key : keys)
      for (auto& f : flags)
        if (f.key == key)
          return usage_error("--" + f.key + ": only for " + where);
    return std::nullopt;
  };
  bool is_register = o.scenario == "register";
  bool is_push = o.scenario == "push-wake";
  bool is_call = o.scenario == "call" || is_push;
  if (is_push) {
    if (o.webhook.empty() || o.uas.empty() || o.users.empty())
      return usage_error("push-wake needs --webhook ADDR:PORT (the push gateway it runs), --uas "
                         "ADDR:PORT (where the woken phones take calls) and --users "
                         "PREFIX[START-END] (the phones)");
    auto colon = o.webhook.rfind(':');
    uint64_t port = 0;
    if (colon == std::string::npos || colon == 0
        || !parse_u64(std::string_view(o.webhook).substr(colon + 1), port) || port > 65535)
      return usage_error("--webhook: expected ADDRESS:PORT, got '" + o.webhook + "'");
  }
  if (auto e = only_for({"webhook", "wake-delay", "pn-provider", "pn-param"}, is_push,
                        "the push-wake scenario"))
    return *e;
  if (auto e = only_for({"callee", "no-uas-register"}, o.scenario == "call",
                        "the call scenario"))
    return *e;
  if (is_push) {
    if (auto e = only_for({"users-csv", "unregister"}, false, "the register scenario"))
      return *e;
  } else if (auto e = only_for({"users", "expires"}, is_register, "the register scenario")) {
    return *e;
  }
  if (is_register && o.users.empty() && o.users_csv.empty())
    return usage_error("register needs --users PREFIX[START-END] or --users-csv FILE");
  if (auto e = only_for({"users-csv", "unregister"}, is_register, "the register scenario"))
    return *e;
  if (auto e = only_for({"password", "domain"}, is_register || is_call,
                        "the register and call scenarios"))
    return *e;
  if (auto e = only_for({"caller", "hold", "ring", "uas"}, is_call,
                        "the call and push-wake scenarios"))
    return *e;
  if (auto e = only_for({"ring", "no-uas-register"}, !o.uas.empty(), "--uas (the built-in UAS)"))
    return *e;
  if (!o.uas.empty()) {
    auto colon = o.uas.rfind(':');
    uint64_t port = 0;
    if (colon == std::string::npos || colon == 0
        || !parse_u64(std::string_view(o.uas).substr(colon + 1), port) || port > 65535)
      return usage_error("--uas: expected ADDRESS:PORT (port 0: any free port), got '" + o.uas
                         + "'");
  }
  out.what = cli_result::action::run;
  return out;
}

} // namespace centralita::loadgen
