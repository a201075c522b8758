// centralita-bench's command line and config file.
#include "bench/loadgen/cli.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace centralita::loadgen;

namespace {

cli_result parse(std::vector<std::string> args) {
  args.insert(args.begin(), "centralita-bench");
  return parse_cli(args);
}

/// A usage error whose message names `needle`.
void expect_usage(std::vector<std::string> args, const std::string& needle) {
  auto r = parse(args);
  std::string joined;
  for (auto& a : args)
    joined += a + " ";
  ASSERT_EQ(r.what, cli_result::action::usage_error) << joined;
  EXPECT_NE(r.message.find(needle), std::string::npos) << joined << "→ " << r.message;
}

struct temp_file {
  std::string path;
  explicit temp_file(const std::string& text) {
    char name[] = "/tmp/cli_test_XXXXXX";
    int fd = mkstemp(name);
    path = name;
    ::close(fd);
    std::ofstream(path) << text;
  }
  ~temp_file() { std::remove(path.c_str()); }
};

} // namespace

TEST(cli, defaults) {
  auto r = parse({"options", "sip:127.0.0.1:5070"});
  ASSERT_EQ(r.what, cli_result::action::run) << r.message;
  const auto& o = r.opts;
  EXPECT_EQ(o.scenario, "options");
  EXPECT_EQ(o.target, "sip:127.0.0.1:5070");
  EXPECT_EQ(o.count, 1000u);  // always bounded
  EXPECT_FALSE(o.duration_s);
  EXPECT_EQ(o.rate, 100);
  EXPECT_EQ(o.max_inflight, 10000u);
  EXPECT_EQ(o.sockets, 4u);
  EXPECT_EQ(o.timeout_ms, 32000u);
  EXPECT_TRUE(o.retransmit);
  EXPECT_EQ(o.transport, "udp");
  EXPECT_FALSE(o.progress);
}

TEST(cli, every_flag) {
  auto r = parse({"register", "--rate", "250.5", "--count=77", "--duration", "3.5",
                  "--max-inflight", "12", "--sockets", "2", "--timeout-ms", "900", "--t1-ms",
                  "100", "--t2-ms", "400", "--no-retransmit", "--transport", "udp", "--json", "-",
                  "--target-pid", "42", "--local-ip", "127.0.0.2", "--no-progress", "--users",
                  "u[1-5]", "--password", "pw", "--domain", "example.org", "--expires", "60",
                  "--unregister", "127.0.0.1:5080"});
  ASSERT_EQ(r.what, cli_result::action::run) << r.message;
  const auto& o = r.opts;
  EXPECT_EQ(o.rate, 250.5);
  EXPECT_EQ(o.count, 77u);
  EXPECT_EQ(o.duration_s, 3.5);
  EXPECT_EQ(o.max_inflight, 12u);
  EXPECT_EQ(o.sockets, 2u);
  EXPECT_EQ(o.timeout_ms, 900u);
  EXPECT_EQ(o.t1_ms, 100u);
  EXPECT_EQ(o.t2_ms, 400u);
  EXPECT_FALSE(o.retransmit);
  EXPECT_EQ(o.json_path, "-");
  EXPECT_EQ(o.target_pid, 42);
  EXPECT_EQ(o.local_ip, "127.0.0.2");
  EXPECT_EQ(o.progress, false);
  EXPECT_EQ(o.users, "u[1-5]");
  EXPECT_EQ(o.password, "pw");
  EXPECT_EQ(o.domain, "example.org");
  EXPECT_EQ(o.expires, 60u);
  EXPECT_TRUE(o.unregister);
  EXPECT_EQ(o.target, "127.0.0.1:5080");
}

TEST(cli, ramp_and_duration_only) {
  auto r = parse({"options", "--ramp", "100:2000:30", "--duration", "40", "h:1"});
  ASSERT_EQ(r.what, cli_result::action::run) << r.message;
  ASSERT_TRUE(r.opts.ramp);
  EXPECT_EQ(r.opts.ramp->from, 100);
  EXPECT_EQ(r.opts.ramp->to, 2000);
  EXPECT_EQ(r.opts.ramp->seconds, 30);
  EXPECT_FALSE(r.opts.count);  // bounded by the duration
}

TEST(cli, help) {
  EXPECT_EQ(parse({"--help"}).what, cli_result::action::help);
  EXPECT_EQ(parse({"options", "-h"}).what, cli_result::action::help);
  auto text = usage_text();
  for (const char* flag : {"--rate", "--ramp", "--count", "--duration", "--max-inflight",
                           "--sockets", "--timeout-ms", "--no-retransmit", "--transport",
                           "--json", "--target-pid", "--config", "--users", "--users-csv",
                           "--domain", "--expires", "--unregister", "--password", "tcp"})
    EXPECT_NE(text.find(flag), std::string::npos) << flag;
}

TEST(cli, call_flags) {
  auto r = parse_cli({"centralita-bench", "call", "--callee", "bob", "--caller", "al",
                      "--hold", "1.5", "--uas", "127.0.0.1:0", "--ring", "0.25",
                      "--no-uas-register", "--password", "pw", "--domain", "example.com",
                      "--tick-us", "0", "sip:127.0.0.1:5060"});
  ASSERT_EQ(r.what, cli_result::action::run) << r.message;
  EXPECT_EQ(r.opts.callee, "bob");
  EXPECT_EQ(r.opts.caller, "al");
  EXPECT_DOUBLE_EQ(r.opts.hold_s, 1.5);
  EXPECT_EQ(r.opts.uas, "127.0.0.1:0");
  EXPECT_DOUBLE_EQ(r.opts.ring_s, 0.25);
  EXPECT_FALSE(r.opts.uas_register);
  EXPECT_EQ(r.opts.password, "pw");
  EXPECT_EQ(r.opts.domain, "example.com");
  EXPECT_EQ(r.opts.tick_us, 0u);
}

TEST(cli, usage_errors_name_the_flag) {
  expect_usage({}, "no scenario");
  expect_usage({"dance", "h:1"}, "unknown scenario 'dance'");
  expect_usage({"push-wake", "h:1"}, "push-wake needs --webhook");
  expect_usage({"push-wake", "--webhook", "x", "--uas", "127.0.0.1:0", "--users", "p[1-2]", "h:1"},
               "--webhook");
  expect_usage({"call", "--wake-delay", "1", "h:1"}, "--wake-delay: only for the push-wake");
  expect_usage({"call", "--hold", "-1", "h:1"}, "--hold");
  expect_usage({"call", "--ring", "1", "h:1"}, "--ring: only for --uas");
  expect_usage({"call", "--uas", "nowhere", "h:1"}, "--uas");
  expect_usage({"call", "--uas", "127.0.0.1:70000", "h:1"}, "--uas");
  expect_usage({"options", "--callee", "bob", "h:1"}, "--callee: only for the call scenario");
  expect_usage({"call", "--users", "u[1-2]", "h:1"}, "--users: only for the register scenario");
  expect_usage({"options", "--tick-us", "200000", "h:1"}, "--tick-us");
  expect_usage({"options"}, "no TARGET");
  expect_usage({"options", "a:1", "b:2"}, "unexpected argument 'b:2'");
  expect_usage({"options", "--rate", "fast", "h:1"}, "--rate");
  expect_usage({"options", "--rate", "-5", "h:1"}, "--rate");
  expect_usage({"options", "--rate", "0", "h:1"}, "--rate");
  expect_usage({"options", "--count", "0", "h:1"}, "--count");
  expect_usage({"options", "--count", "1.5", "h:1"}, "--count");
  expect_usage({"options", "--duration", "nan", "h:1"}, "--duration");
  expect_usage({"options", "--ramp", "1:2", "h:1"}, "--ramp");
  expect_usage({"options", "--ramp", "1:0:5", "h:1"}, "--ramp");
  expect_usage({"options", "--max-inflight", "0", "h:1"}, "--max-inflight");
  expect_usage({"options", "--sockets", "999", "h:1"}, "--sockets");

  expect_usage({"options", "--transport", "sctp", "h:1"}, "--transport");
  expect_usage({"options", "--target-pid", "x", "h:1"}, "--target-pid");
  expect_usage({"options", "--bogus", "h:1"}, "unknown option --bogus");
  expect_usage({"options", "--max_inflight", "4", "h:1"}, "--max_inflight");
  expect_usage({"options", "-x", "h:1"}, "unknown option -x");
  expect_usage({"options", "h:1", "--rate"}, "--rate needs a value");
  expect_usage({"options", "--no-retransmit=yes", "h:1"}, "--no-retransmit takes no value");
  expect_usage({"options", "--t1-ms", "500", "--t2-ms", "100", "h:1"}, "--t2-ms");
  expect_usage({"options", "--users", "u[1-2]", "h:1"}, "--users: only for the register");
  expect_usage({"register", "h:1"}, "--users");
  expect_usage({"register", "--expires", "-1", "--users", "u", "h:1"}, "--expires");
  expect_usage({"options", "sip:", }, "no host");
  expect_usage({"options", "sips:h:5061"}, "sips");
  expect_usage({"options", "h:99999"}, "bad port");
  expect_usage({"options", "--config", "/nonexistent/x.toml", "h:1"}, "--config");
}

TEST(cli, targets) {
  auto a = parse_target("sip:127.0.0.1:5070");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 5070);
  EXPECT_EQ(a->uri, "sip:127.0.0.1:5070");
  auto b = parse_target("example.org");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 5060);
  EXPECT_EQ(b->uri, "sip:example.org:5060");
  auto c = parse_target("[::1]:5062");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->uri, "sip:[::1]:5062");
  for (const char* bad : {"", "sip:", ":5060", "::1:5060", "[::1", "[::1]x", "h:", "h:0",
                          "sip:u@h:1", "h:1;transport=tcp", "h:1x"})
    EXPECT_FALSE(parse_target(bad)) << bad;
}

TEST(cli, config_file_and_flags_over_it) {
  temp_file f(R"(
rate = 10
sockets = 3

[options]
rate = 2000
count = 5000
max_inflight = 500
no-retransmit = true
target = "sip:127.0.0.1:5999"

[register]
rate = 7
)");
  auto r = parse({"options", "--config", f.path, "--count", "12"});
  ASSERT_EQ(r.what, cli_result::action::run) << r.message;
  EXPECT_EQ(r.opts.rate, 2000);        // [options] over the top level
  EXPECT_EQ(r.opts.sockets, 3u);       // top level
  EXPECT_EQ(r.opts.count, 12u);        // the flag over the file
  EXPECT_EQ(r.opts.max_inflight, 500u);
  EXPECT_FALSE(r.opts.retransmit);
  EXPECT_EQ(r.opts.target, "sip:127.0.0.1:5999");

  auto t = parse({"options", "--config", f.path, "sip:127.0.0.1:6000"});
  ASSERT_EQ(t.what, cli_result::action::run);
  EXPECT_EQ(t.opts.target, "sip:127.0.0.1:6000");  // the argument over the file
}

TEST(cli, config_errors_name_the_key) {
  bench_options o;
  o.scenario = "options";
  auto bad_value = apply_config(o, "[options]\nrate = \"fast\"\n", "f.toml");
  ASSERT_FALSE(bad_value);
  EXPECT_NE(bad_value.err().reason.find("options.rate"), std::string::npos) << bad_value.err().reason;
  auto unknown = apply_config(o, "colour = 1\n", "f.toml");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.err().reason.find("colour"), std::string::npos);
  auto syntax = apply_config(o, "rate = = 1\n", "f.toml");
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.err().reason.find("f.toml:1"), std::string::npos) << syntax.err().reason;
  auto table = apply_config(o, "[nope]\nrate = 1\n", "f.toml");
  EXPECT_FALSE(table);
  auto array = apply_config(o, "rate = [1, 2]\n", "f.toml");
  EXPECT_FALSE(array);
  // Another scenario's table is ignored.
  EXPECT_TRUE(apply_config(o, "[call]\nrate = 1\n", "f.toml"));
}
