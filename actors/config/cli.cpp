#include "actors/config/config.hpp"

#include <getopt.h>

#include <charconv>
#include <cstring>

namespace centralita::config {

std::string usage_text(const char* program) {
  std::string p = program != nullptr ? program : "centralita";
  return "Usage: " + p + R"( [options]

centralita: an event-driven SIP switch (proxy, registrar, B2BUA, media).
With no options it serves SIP on 127.0.0.1:5060 over UDP and TCP.

Options (they override the config file):
  --config FILE              TOML config file (see docs/centralita.example.toml)
  --listen [udp:|tcp:]ADDR:PORT
                             SIP listening address; repeatable; without a scheme
                             both UDP and TCP (default 127.0.0.1:5060)
  --domain NAME              a local SIP domain; repeatable (default: the listen
                             addresses and localhost)
  --data-dir DIR             where store files live (default ./data)
  --users FILE               users for digest auth: "user@domain password" per line
                             (or md5:HA1 / sha256:HA1 instead of the password)
  --script FILE              the Lua routing script (default scripts/default.lua;
                             "builtin" for the C++ routing it reproduces)
  --http ADDR:PORT           HTTP API, metrics, event stream and dashboard
                             (default 127.0.0.1:8080; "off" for none)
  --http-token TOKEN         bearer token the HTTP listener requires (all but
                             /healthz); without one it accepts loopback clients only
  --log-level LEVEL          trace, debug, info, warn, error, critical or off (default info)
  --workers N                scheduler worker threads, each with its own io_uring (default 2)
  --help                     this text
  --version                  the version
)";
}

result<cli_outcome> parse_command_line(int argc, char** argv) {
  enum opt : int { o_config = 1000, o_listen, o_domain, o_data_dir, o_http, o_log, o_workers,
                   o_help, o_version, o_users, o_script, o_http_token };
  static const option long_opts[] = {
    {"config", required_argument, nullptr, o_config},
    {"listen", required_argument, nullptr, o_listen},
    {"domain", required_argument, nullptr, o_domain},
    {"data-dir", required_argument, nullptr, o_data_dir},
    {"http", required_argument, nullptr, o_http},
    {"http-token", required_argument, nullptr, o_http_token},
    {"log-level", required_argument, nullptr, o_log},
    {"workers", required_argument, nullptr, o_workers},
    {"users", required_argument, nullptr, o_users},
    {"script", required_argument, nullptr, o_script},
    {"help", no_argument, nullptr, o_help},
    {"version", no_argument, nullptr, o_version},
    {nullptr, 0, nullptr, 0},
  };
  cli_outcome out;
  std::string config_path;
  struct flag { int id; std::string value; };
  std::vector<flag> flags;
  opterr = 0;
  optind = 1;
  for (;;) {
    int index = 0;
    int c = getopt_long(argc, argv, "", long_opts, &index);
    if (c == -1)
      break;
    if (c == '?' || c == ':') {
      std::string bad = optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "?";
      if (optopt != 0 || c == ':')
        return error{errc::invalid_argument, "option '" + bad + "' needs a value (see --help)"};
      return error{errc::invalid_argument, "unknown option '" + bad + "' (see --help)"};
    }
    if (c == o_help)
      out.what = cli_outcome::action::help;
    else if (c == o_version)
      out.what = cli_outcome::action::version;
    else if (c == o_config)
      config_path = optarg;
    else
      flags.push_back({c, optarg != nullptr ? optarg : ""});
  }
  if (optind < argc)
    return error{errc::invalid_argument,
                 "unexpected argument '" + std::string(argv[optind]) + "' (see --help)"};
  if (out.what != cli_outcome::action::run)
    return out;
  if (!config_path.empty())
    if (auto r = load_toml_file(config_path, out.config); !r)
      return r.err();
  bool listen_given = false, domain_given = false;
  for (auto& f : flags) {
    switch (f.id) {
      case o_listen: {
        auto specs = parse_listen(f.value);
        if (!specs)
          return error{errc::invalid_argument, "--listen: " + specs.err().reason};
        if (!listen_given)
          out.config.sip.listen.clear();
        listen_given = true;
        out.config.sip.listen.insert(out.config.sip.listen.end(), specs->begin(), specs->end());
        break;
      }
      case o_domain:
        if (!domain_given)
          out.config.sip.domains.clear();
        domain_given = true;
        if (f.value.empty())
          return error{errc::invalid_argument, "--domain: empty domain name"};
        out.config.sip.domains.push_back(f.value);
        break;
      case o_data_dir:
        out.config.core.data_dir = f.value;
        break;
      case o_users:
        out.config.auth.users_file = f.value;
        break;
      case o_script:
        if (f.value.empty())
          return error{errc::invalid_argument, "--script: empty file name"};
        out.config.script.file = f.value;
        break;
      case o_http:
        out.config.http.listen = f.value;
        break;
      case o_http_token:
        if (f.value.empty())
          return error{errc::invalid_argument, "--http-token: empty token"};
        out.config.http.token = f.value;
        break;
      case o_log:
        out.config.core.log_level = f.value;
        break;
      case o_workers: {
        unsigned n = 0;
        auto [ptr, ec] = std::from_chars(f.value.data(), f.value.data() + f.value.size(), n);
        if (ec != std::errc{} || ptr != f.value.data() + f.value.size() || n < 1 || n > 64)
          return error{errc::invalid_argument,
                       "--workers: '" + f.value + "' is not a number from 1 to 64"};
        out.config.core.workers = n;
        break;
      }
    }
  }
  if (auto r = validate(out.config); !r)
    return r.err();
  return out;
}

} // namespace centralita::config
