// The events scenario's TARGET forms, query encoding, and its flags as
// parse_cli() checks them (defaults, refusals naming the flag, the config file).
#include "bench/loadgen/cli.hpp"
#include "bench/loadgen/events_config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace centralita::loadgen;

namespace {

events_target target(std::string_view text) {
  auto t = parse_events_target(text);
  EXPECT_TRUE(t.ok()) << text << " → " << (t.ok() ? "" : t.err().reason);
  return t.ok() ? t.value() : events_target{};
}

cli_result parse(std::vector<std::string> args) {
  args.insert(args.begin(), "centralita-bench");
  return parse_cli(args);
}

void expect_usage(std::vector<std::string> args, const std::string& needle) {
  auto r = parse(args);
  std::string joined;
  for (auto& a : args)
    joined += a + " ";
  ASSERT_EQ(r.what, cli_result::action::usage_error) << joined;
  EXPECT_NE(r.message.find(needle), std::string::npos) << joined << "→ " << r.message;
}

} // namespace

TEST(events_config, target_forms) {
  auto a = target("http://127.0.0.1:8080");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8080);
  EXPECT_EQ(a.path, "/events");
  EXPECT_EQ(a.resource(), "/events");
  EXPECT_EQ(a.url(), "ws://127.0.0.1:8080/events");

  auto b = target("WS://[::1]:9000/events?event=REGISTER");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.authority(), "[::1]:9000");
  EXPECT_EQ(b.resource(), "/events?event=REGISTER");
  EXPECT_EQ(b.resource("aor=bob@*"), "/events?event=REGISTER&aor=bob@*");

  auto c = target("127.0.0.1:8081");
  EXPECT_EQ(c.port, 8081);
  EXPECT_EQ(c.resource("event=REGISTER"), "/events?event=REGISTER");
  EXPECT_EQ(target("switch.example.net").port, 8080);  // the switch's default listener
  EXPECT_EQ(target("http://switch.example.net/").port, 80);  // a URL's default (RFC 6455 §3)
  EXPECT_EQ(target("http://h:1/").path, "/events");
  EXPECT_EQ(target("http://h:1/prefix/events").path, "/prefix/events");
  EXPECT_EQ(target("h:1?event=CALL_START").resource(), "/events?event=CALL_START");
}

TEST(events_config, target_refusals) {
  auto refused = [](std::string_view text, std::string_view why) {
    auto t = parse_events_target(text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_NE(t.err().reason.find(why), std::string::npos) << t.err().reason;
  };
  refused("https://h:1", "TLS");
  refused("wss://h:1", "TLS");
  refused("ftp://h:1", "scheme");
  refused("sip:127.0.0.1:5060", "HTTP listener");
  refused("http://user:pw@h:1", "user info");
  refused("http://h:1/events#x", "fragment");
  refused("http://:8080", "no host");
  refused("h:0", "port");
  refused("h:65536", "port");
  refused("h:", "empty port");
  refused("::1", "brackets");
  refused("[::1", "']'");
  refused("http://h:1/a b", "path");
}

TEST(events_config, query_encoding) {
  EXPECT_EQ(encode_query("event=REGISTER&aor=bob@*"), "event=REGISTER&aor=bob@*");
  EXPECT_EQ(encode_query("user_agent=Acme Phone"), "user_agent=Acme%20Phone");
  EXPECT_EQ(encode_query("aor=~^(bob|robert)$"), "aor=~%5E(bob%7Crobert)$");  // RFC 3986 has no ^ or | in a query
  EXPECT_EQ(encode_query("a=%41%zz"), "a=%41%25zz");  // a valid escape stays, a lone % is encoded
  EXPECT_EQ(encode_query("a=b+c"), "a=b+c");
  EXPECT_EQ(encode_query("x=\"q\""), "x=%22q%22");
}

TEST(events_config, defaults) {
  auto r = parse({"events", "http://127.0.0.1:8080"});
  ASSERT_EQ(r.what, cli_result::action::run) << r.message;
  EXPECT_EQ(r.opts.subscribers, 10u);
  EXPECT_EQ(r.opts.slow, 0u);
  EXPECT_FALSE(r.opts.filter.has_value());
  EXPECT_FALSE(r.opts.count.has_value());
  ASSERT_TRUE(r.opts.duration_s.has_value());
  EXPECT_EQ(*r.opts.duration_s, 10.0);  // always bounded
  EXPECT_TRUE(r.opts.drive.empty());
}

TEST(events_config, driven_defaults) {
  auto r = parse({"events", "--subscribers", "20", "--drive", "register", "--sip", "sip:127.0.0.1:5060",
                  "--rate", "250", "--drive-count", "5000", "127.0.0.1:8080"});
  ASSERT_EQ(r.what, cli_result::action::run) << r.message;
  EXPECT_EQ(r.opts.subscribers, 20u);
  EXPECT_EQ(r.opts.users, "events[1-5000]");
  ASSERT_TRUE(r.opts.filter.has_value());
  EXPECT_EQ(*r.opts.filter, "event=REGISTER");
  // 20 s of REGISTERs at 250/s: the default duration covers them and the drain.
  ASSERT_TRUE(r.opts.duration_s.has_value());
  EXPECT_GE(*r.opts.duration_s, 5 + 20 + 5);
  auto f = parse({"events", "--drive", "register", "--sip", "sip:127.0.0.1", "--filter", "",
                  "--users", "u[1-10]", "127.0.0.1:8080"});
  ASSERT_EQ(f.what, cli_result::action::run) << f.message;
  EXPECT_EQ(*f.opts.filter, "");  // given empty: every event
  EXPECT_EQ(f.opts.users, "u[1-10]");
  EXPECT_EQ(*f.opts.drive_count, default_drive_count);
}

TEST(events_config, refusals_name_the_flag) {
  expect_usage({"events"}, "no TARGET");
  expect_usage({"events", "https://h:1"}, "TLS");
  expect_usage({"events", "--subscribers", "0", "h:1"}, "--subscribers");
  expect_usage({"events", "--subscribers", "2", "--slow", "3", "h:1"}, "--slow");
  expect_usage({"events", "--drive", "call", "h:1"}, "--drive");
  expect_usage({"events", "--drive", "register", "h:1"}, "--sip");
  expect_usage({"events", "--drive", "register", "--sip", "sips:h", "h:1"}, "--sip");
  expect_usage({"events", "--rate", "10", "h:1"}, "--rate: only with --drive");
  expect_usage({"events", "--users", "u[1-2]", "h:1"}, "--users: only with --drive");
  expect_usage({"events", "--sip", "sip:h", "h:1"}, "--sip: only with --drive");
  expect_usage({"events", "--drain", "1", "h:1"}, "--drain: only with --drive");
  expect_usage({"events", "--knee", "h:1"}, "--knee: not for the events scenario");
  expect_usage({"events", "--unregister", "--drive", "register", "--sip", "sip:h", "h:1"},
               "--unregister");
  expect_usage({"events", "--connect-timeout", "0", "h:1"}, "--connect-timeout");
  expect_usage({"options", "--subscribers", "3", "sip:h"}, "--subscribers: only for the events");
  expect_usage({"register", "--users", "u[1-2]", "--token", "t", "sip:h"}, "--token: only for the events");
}

TEST(events_config, config_file_keys) {
  char path[] = "/tmp/events-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  {
    std::ofstream f(path);
    f << "[events]\nsubscribers = 5\nslow = 1\nslow_pause = 0.5\ntoken = \"s3cret\"\n"
         "filter = \"event=CALL_START\"\ncount = 7\n";
  }
  auto r = parse({"events", "--config", path, "127.0.0.1:8080"});
  std::remove(path);
  ASSERT_EQ(r.what, cli_result::action::run) << r.message;
  EXPECT_EQ(r.opts.subscribers, 5u);
  EXPECT_EQ(r.opts.slow, 1u);
  EXPECT_DOUBLE_EQ(r.opts.slow_pause_s, 0.5);
  EXPECT_EQ(r.opts.token, "s3cret");
  EXPECT_EQ(*r.opts.filter, "event=CALL_START");
  EXPECT_EQ(*r.opts.count, 7u);
}
