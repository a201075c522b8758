#include "actors/config/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>

using namespace centralita;
using namespace centralita::config;

namespace {

result<cli_outcome> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "centralita");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  return parse_command_line(static_cast<int>(args.size()), argv.data());
}

} // namespace

TEST(config, defaults_listen_on_loopback_5060_udp_and_tcp) {
  auto r = parse({});
  ASSERT_TRUE(r) << r.err().reason;
  auto& l = r->config.sip.listen;
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].to_string(), "udp:127.0.0.1:5060");
  EXPECT_EQ(l[1].to_string(), "tcp:127.0.0.1:5060");
  EXPECT_EQ(r->config.core.data_dir, "./data");
  EXPECT_EQ(r->config.http.listen, "127.0.0.1:8080");
}

TEST(config, listen_flag_with_and_without_scheme_is_repeatable) {
  auto r = parse({"--listen", "udp:127.0.0.1:5070", "--listen", "[::1]:5080"});
  ASSERT_TRUE(r) << r.err().reason;
  auto& l = r->config.sip.listen;
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].to_string(), "udp:127.0.0.1:5070");
  EXPECT_EQ(l[1].to_string(), "udp:[::1]:5080");
  EXPECT_EQ(l[2].to_string(), "tcp:[::1]:5080");
}

TEST(config, every_flag_is_taken) {
  auto r = parse({"--domain", "example.com", "--domain", "example.org", "--data-dir", "/tmp/x",
                  "--http", "127.0.0.1:9090", "--log-level", "debug", "--workers", "3"});
  ASSERT_TRUE(r) << r.err().reason;
  EXPECT_EQ(r->config.sip.domains, (std::vector<std::string>{"example.com", "example.org"}));
  EXPECT_EQ(r->config.core.data_dir, "/tmp/x");
  EXPECT_EQ(r->config.http.listen, "127.0.0.1:9090");
  EXPECT_EQ(r->config.core.log_level, "debug");
  EXPECT_EQ(r->config.core.workers, 3u);
  EXPECT_EQ(parse({"--help"})->what, cli_outcome::action::help);
  EXPECT_EQ(parse({"--version"})->what, cli_outcome::action::version);
}

TEST(config, bad_flags_are_named) {
  auto a = parse({"--bogus"});
  ASSERT_FALSE(a);
  EXPECT_NE(a.err().reason.find("--bogus"), std::string::npos) << a.err().reason;
  auto b = parse({"--workers", "0"});
  ASSERT_FALSE(b);
  EXPECT_NE(b.err().reason.find("--workers"), std::string::npos);
  auto c = parse({"--listen", "nonsense"});
  ASSERT_FALSE(c);
  EXPECT_NE(c.err().reason.find("--listen"), std::string::npos);
  auto d = parse({"--log-level", "loud"});
  ASSERT_FALSE(d);
  EXPECT_NE(d.err().reason.find("loud"), std::string::npos);
  EXPECT_FALSE(parse({"--listen"}));
  EXPECT_FALSE(parse({"stray"}));
}

TEST(config, toml_unknown_key_names_file_line_and_key) {
  app_config cfg;
  auto r = load_toml_text("[core]\nworkers = 2\n\n[sip]\nbogus = 1\n", "test.toml", cfg);
  ASSERT_FALSE(r);
  EXPECT_NE(r.err().reason.find("test.toml:5"), std::string::npos) << r.err().reason;
  EXPECT_NE(r.err().reason.find("sip.bogus"), std::string::npos) << r.err().reason;
}

TEST(config, toml_bad_value_names_the_key) {
  app_config cfg;
  auto r = load_toml_text("[core]\nworkers = \"many\"\n", "w.toml", cfg);
  ASSERT_FALSE(r);
  EXPECT_NE(r.err().reason.find("w.toml:2"), std::string::npos) << r.err().reason;
  EXPECT_NE(r.err().reason.find("core.workers"), std::string::npos);
  auto s = load_toml_text("[sip]\nlisten = [\"udp:nowhere\"]\n", "s.toml", cfg);
  ASSERT_FALSE(s);
  EXPECT_NE(s.err().reason.find("sip.listen"), std::string::npos) << s.err().reason;
  auto t = load_toml_text("[nosuch]\nx = 1\n", "t.toml", cfg);
  ASSERT_FALSE(t);
  EXPECT_NE(t.err().reason.find("nosuch"), std::string::npos);
  auto u = load_toml_text("[core\n", "u.toml", cfg);
  ASSERT_FALSE(u);
  EXPECT_NE(u.err().reason.find("u.toml:1"), std::string::npos) << u.err().reason;
}

TEST(config, flags_override_the_file) {
  auto path = testing::TempDir() + "/override.toml";
  std::ofstream(path) << "[core]\nworkers = 4\nlog_level = \"warn\"\n[sip]\nlisten = [\"udp:127.0.0.1:6000\"]\n";
  auto r = parse({"--config", path, "--workers", "1"});
  ASSERT_TRUE(r) << r.err().reason;
  EXPECT_EQ(r->config.core.workers, 1u);
  EXPECT_EQ(r->config.core.log_level, "warn");
  ASSERT_EQ(r->config.sip.listen.size(), 1u);
  EXPECT_EQ(r->config.sip.listen[0].port, 6000);
  EXPECT_EQ(r->config.config_file, path);
}

// The shipped example lists every key with its default: it must parse, and
// parse to exactly the built-in defaults.
TEST(config, example_config_parses_to_the_defaults) {
  app_config cfg;
  auto r = load_toml_file(CENTRALITA_SOURCE_DIR "/docs/centralita.example.toml", cfg);
  ASSERT_TRUE(r) << r.err().reason;
  app_config defaults;
  EXPECT_EQ(cfg.core.workers, defaults.core.workers);
  EXPECT_EQ(cfg.core.data_dir, defaults.core.data_dir);
  EXPECT_EQ(cfg.core.log_level, defaults.core.log_level);
  EXPECT_EQ(cfg.scheduler.max_throughput, defaults.scheduler.max_throughput);
  EXPECT_EQ(cfg.scheduler.ring_entries, defaults.scheduler.ring_entries);
  ASSERT_EQ(cfg.sip.listen.size(), defaults.sip.listen.size());
  for (std::size_t i = 0; i < cfg.sip.listen.size(); ++i)
    EXPECT_EQ(cfg.sip.listen[i].to_string(), defaults.sip.listen[i].to_string());
  EXPECT_EQ(cfg.sip.domains, defaults.sip.domains);
  EXPECT_EQ(cfg.sip.shards, defaults.sip.shards);
  EXPECT_EQ(cfg.sip.max_message_size, defaults.sip.max_message_size);
  EXPECT_EQ(cfg.sip.tcp_idle_timeout, defaults.sip.tcp_idle_timeout);
  EXPECT_EQ(cfg.sip.tcp_max_connections, defaults.sip.tcp_max_connections);
  EXPECT_EQ(cfg.sip.udp_buffers, defaults.sip.udp_buffers);
  EXPECT_EQ(cfg.sip.server_header, defaults.sip.server_header);
  EXPECT_EQ(cfg.sip.t1_ms, defaults.sip.t1_ms);
  EXPECT_EQ(cfg.sip.t2_ms, defaults.sip.t2_ms);
  EXPECT_EQ(cfg.sip.t4_ms, defaults.sip.t4_ms);
  EXPECT_EQ(cfg.sip.timer_c, defaults.sip.timer_c);
  EXPECT_EQ(cfg.sip.record_route, defaults.sip.record_route);
  EXPECT_EQ(cfg.sip.relay_foreign, defaults.sip.relay_foreign);
  EXPECT_EQ(cfg.sip.outbound_proxy, defaults.sip.outbound_proxy);
  EXPECT_EQ(cfg.registrar.default_expires, defaults.registrar.default_expires);
  EXPECT_EQ(cfg.registrar.min_expires, defaults.registrar.min_expires);
  EXPECT_EQ(cfg.registrar.max_expires, defaults.registrar.max_expires);
  EXPECT_EQ(cfg.registrar.max_contacts, defaults.registrar.max_contacts);
  EXPECT_EQ(cfg.auth.users_file, defaults.auth.users_file);
  EXPECT_EQ(cfg.auth.realm, defaults.auth.realm);
  EXPECT_EQ(cfg.auth.nonce_lifetime, defaults.auth.nonce_lifetime);
  EXPECT_EQ(cfg.auth.algorithms, defaults.auth.algorithms);
  EXPECT_EQ(cfg.auth.invites_from_local_users, defaults.auth.invites_from_local_users);
  EXPECT_EQ(cfg.store.backend, defaults.store.backend);
  EXPECT_EQ(cfg.store.flush_interval_ms, defaults.store.flush_interval_ms);
  EXPECT_EQ(cfg.http.listen, defaults.http.listen);
}

TEST(config, issue3_sections_are_validated) {
  app_config cfg;
  auto a = load_toml_text("[registrar]\nmin_expires = \"x\"\n", "r.toml", cfg);
  ASSERT_FALSE(a);
  EXPECT_NE(a.err().reason.find("registrar.min_expires"), std::string::npos);
  auto b = load_toml_text("[sip]\nrecord_route = 1\n", "b.toml", cfg);
  ASSERT_FALSE(b);
  EXPECT_NE(b.err().reason.find("sip.record_route"), std::string::npos);
  auto c = parse({"--users", "/tmp/users.txt"});
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->config.auth.users_file, "/tmp/users.txt");
  app_config d;
  d.registrar.min_expires = 100;
  d.registrar.max_expires = 50;
  EXPECT_FALSE(validate(d));
  app_config e;
  e.auth.algorithms = {"SHA-512"};
  EXPECT_FALSE(validate(e));
}

TEST(config, push_providers_are_read_and_checked) {
  app_config cfg;
  auto ok = load_toml_text(R"([push]
wait = 20
retries = 4

[push.apns]
type = "apns"
key_file = "/etc/centralita/AuthKey.p8"
key_id = "ABC123DEFG"
team_id = "DEF123GHIJ"

[push.fcm]
type = "fcm"
service_account_file = "/etc/centralita/sa.json"

[push.webhook]
type = "webhook"
url = "http://127.0.0.1:9000/push"
headers = ["Authorization: Bearer s3cret"]
)",
                           "p.toml", cfg);
  ASSERT_TRUE(ok) << ok.err().reason;
  EXPECT_EQ(cfg.push.wait, 20u);
  EXPECT_EQ(cfg.push.retries, 4u);
  ASSERT_EQ(cfg.push.providers.size(), 3u);
  ASSERT_NE(cfg.push.provider("apns"), nullptr);
  EXPECT_EQ(cfg.push.provider("apns")->url, "https://api.push.apple.com");  // the default
  EXPECT_EQ(cfg.push.provider("fcm")->url, "https://fcm.googleapis.com");
  EXPECT_EQ(cfg.push.provider("webhook")->headers.size(), 1u);
  EXPECT_EQ(cfg.push.provider("hms"), nullptr);

  // Each mistake names the key and the line.
  struct bad {
    const char* toml;
    const char* names;
  };
  for (auto [toml, names] : {
         bad{"[push.x]\nurl = \"http://h/p\"\n", "push.x.type"},
         bad{"[push.x]\ntype = \"gcm\"\n", "push.x.type"},
         bad{"[push.apns]\ntype = \"apns\"\nkey_id = \"k\"\nteam_id = \"t\"\n", "push.apns.key_file"},
         bad{"[push.f]\ntype = \"fcm\"\n", "push.f.service_account_file"},
         bad{"[push.w]\ntype = \"webhook\"\n", "push.w.url"},
         bad{"[push.w]\ntype = \"webhook\"\nurl = \"ftp://h\"\n", "push.w.url"},
         bad{"[push.w]\ntype = \"webhook\"\nurl = \"http://h\"\nheaders = [\"NoColon\"]\n",
             "push.w.headers"},
         bad{"[push.w]\ntype = \"webhook\"\nurl = \"http://h\"\ntopik = \"x\"\n", "push.w.topik"},
         bad{"[push]\nwait = 0\n", "push.wait"},
         bad{"[push]\nretry = 3\n", "push.retry"},
       }) {
    app_config c;
    auto r = load_toml_text(toml, "bad.toml", c);
    ASSERT_FALSE(r) << toml;
    EXPECT_NE(r.err().reason.find(names), std::string::npos) << r.err().reason;
    EXPECT_NE(r.err().reason.find("bad.toml:"), std::string::npos) << r.err().reason;
  }
}
