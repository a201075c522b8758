#include "bench/loadgen/cli.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace centralita::loadgen {

namespace {

constexpr std::string_view implemented[] = {"options", "register"};
constexpr std::string_view planned[] = {"call", "push-wake", "events"};

/// Flags that take no value (in a config file: `key = true`).
constexpr std::string_view switches[] = {"no-retransmit", "unregister", "progress",
                                         "no-progress", "help"};

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
  if (key == "transport") {
    if (value == "udp" || value == "UDP") {
      o.transport = "udp";
      return outcome::ok;
    }
    if (value == "tcp" || value == "TCP") {
      why = "TCP is not implemented yet (udp only for now)";
      return outcome::bad;
    }
    why = "expected udp, got '" + std::string(value) + "'";
    return outcome::bad;
  }
  if (key == "json")
    return text(o.json_path);
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
  return outcome::unknown;
}

bool known_scenario(std::string_view s) {
  for (auto k : implemented)
    if (k == s)
      return true;
  return false;
}

bool planned_scenario(std::string_view s) {
  for (auto k : planned)
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
        if (prefix.empty() && (known_scenario(key) || planned_scenario(key)))
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
    return usage_error("no scenario given (options, register)");
  o.scenario = positional[0];
  if (!known_scenario(o.scenario)) {
    if (planned_scenario(o.scenario))
      return usage_error("scenario '" + o.scenario + "' is not implemented yet (options, register)");
    return usage_error("unknown scenario '" + o.scenario + "' (options, register)");
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

  // The combination.
  if (o.target.empty())
    return usage_error("no TARGET given (sip:HOST:PORT)");
  if (auto t = parse_target(o.target); !t)
    return usage_error(t.err().reason);
  if (!o.count && !o.duration_s)
    o.count = 1000;  // always bounded
  if (o.t2_ms < o.t1_ms)
    return usage_error("--t2-ms: must not be below --t1-ms");
  if (o.scenario == "register") {
    if (o.users.empty() && o.users_csv.empty())
      return usage_error("register needs --users PREFIX[START-END] or --users-csv FILE");
  } else {
    for (auto key : {"users", "users-csv", "password", "domain", "expires", "unregister"})
      for (auto& f : flags)
        if (f.key == key)
          return usage_error("--" + f.key + ": only for the register scenario");
  }
  out.what = cli_result::action::run;
  return out;
}

std::string usage_text() {
  return R"(Usage: centralita-bench <scenario> [options] TARGET

centralita's load generator: runs a SIP scenario against TARGET (any SIP
server, not only centralita) at a paced rate and reports what it carried.

Scenarios:
  options                    one OPTIONS per attempt; success is a 2xx
  register                   REGISTER unique users, digest auth (MD5, SHA-256)
                             on 401/407; success is a 200 after at most one
                             challenge
  (call, push-wake and events are planned, not implemented yet)

TARGET                       sip:HOST:PORT or HOST:PORT (port 5060 if omitted)

Load:
  --rate R                   attempts per second (default 100)
  --ramp FROM:TO:SECONDS     rate rising linearly from FROM to TO over SECONDS,
                             then steady at TO (the last of --rate/--ramp wins)
  --count N                  attempts to make (default 1000 when no --duration)
  --duration S               stop starting attempts after S seconds (with
                             --count too: whichever comes first)
  --max-inflight N           attempts in progress at most; more wait (default 10000)
  --sockets N                local UDP sockets, one source port each (default 4),
                             taking turns every 32 attempts; a target with
                             SO_REUSEPORT workers spreads them by source port
                             (use 1 to compare with sipp -t u1)

Transactions (RFC 3261 §17.1.2):
  --timeout-ms MS            no final answer within MS: "timeout" (default 32000)
  --t1-ms MS, --t2-ms MS     retransmission timers T1 and T2 (default 500, 4000)
  --no-retransmit            send each request once (no Timer E)
  --transport udp            udp only for now (tcp comes later)
  --local-ip ADDR            address to send from (default: the one routing to TARGET)

register:
  --users PREFIX[START-END]  users PREFIXSTART..PREFIXEND, e.g. user[1-10000]
                             (leading zeros in START pad: u[0001-5000])
  --users-csv FILE           one "user;password" per line ('#' comments)
  --password P               the password of every --users user (default empty)
  --domain D                 the AoR domain and Request-URI sip:D (default: the
                             target's host, Request-URI = the target)
  --expires S                Expires of the REGISTER (default 3600)
  --unregister               afterwards, REGISTER with Expires: 0 (also counted)
  Attempt n registers user n mod the number of users: a count above the
  number of users makes refreshes (same Call-ID, higher CSeq).

Output:
  --json FILE                write the report as JSON to FILE ("-": stdout; the
                             summary table then goes to stderr)
  --target-pid PID           the target's process on this machine: its CPU time
                             per successful attempt and its memory are reported
  --progress, --no-progress  the live line on stderr once a second (default:
                             only when stderr is a terminal)
  --config FILE              a TOML file with the same keys without dashes
                             (rate = 2000, max-inflight = 500, target = "..."),
                             at the top level or in a [<scenario>] table;
                             flags override it
  --help                     this text

Exit status: 0 the run completed (even with failures), 1 the target never
answered or the setup failed, 2 bad usage.
)";
}

} // namespace centralita::loadgen
