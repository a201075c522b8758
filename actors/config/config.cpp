#include "actors/config/config.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <set>
#include <sstream>

namespace centralita::config {

namespace {

error config_error(const std::string& origin, const toml::source_region& where,
                   const std::string& key, const std::string& what) {
  std::ostringstream out;
  out << origin;
  if (where.begin.line > 0)
    out << ":" << where.begin.line;
  out << ": key '" << key << "': " << what;
  return error{errc::invalid_argument, out.str()};
}

/// Walks one table, handing each known key to a setter and refusing unknown
/// ones (OpenSIPS and Kamailio ignore typos silently; we name them).
class table_reader {
public:
  table_reader(const std::string& origin, const std::string& prefix, const toml::table& table)
    : origin_(origin), prefix_(prefix), table_(table) {}

  template <class Int>
  result<void> integer(const char* key, Int& out, int64_t min, int64_t max) {
    seen_.insert(key);
    auto* node = table_.get(key);
    if (node == nullptr)
      return {};
    auto v = node->value<int64_t>();
    if (!v || !node->is_integer() || *v < min || *v > max)
      return config_error(origin_, node->source(), prefix_ + key,
                          "must be an integer from " + std::to_string(min) + " to "
                            + std::to_string(max));
    out = static_cast<Int>(*v);
    return {};
  }

  result<void> string(const char* key, std::string& out) {
    seen_.insert(key);
    auto* node = table_.get(key);
    if (node == nullptr)
      return {};
    if (!node->is_string())
      return config_error(origin_, node->source(), prefix_ + key, "must be a string");
    out = *node->value<std::string>();
    return {};
  }

  result<void> boolean(const char* key, bool& out) {
    seen_.insert(key);
    auto* node = table_.get(key);
    if (node == nullptr)
      return {};
    if (!node->is_boolean())
      return config_error(origin_, node->source(), prefix_ + key, "must be true or false");
    out = *node->value<bool>();
    return {};
  }

  result<void> strings(const char* key, std::vector<std::string>& out) {
    seen_.insert(key);
    auto* node = table_.get(key);
    if (node == nullptr)
      return {};
    auto* arr = node->as_array();
    if (arr == nullptr)
      return config_error(origin_, node->source(), prefix_ + key, "must be an array of strings");
    std::vector<std::string> values;
    for (auto& item : *arr) {
      if (!item.is_string())
        return config_error(origin_, item.source(), prefix_ + key,
                            "must be an array of strings");
      values.push_back(*item.value<std::string>());
    }
    out = std::move(values);
    return {};
  }

  const toml::node* node(const char* key) const { return table_.get(key); }

  result<void> no_unknown_keys() const {
    for (auto& [k, v] : table_) {
      if (!seen_.count(std::string(k.str())))
        return config_error(origin_, v.source(), prefix_ + std::string(k.str()), "unknown key");
    }
    return {};
  }

private:
  const std::string& origin_;
  std::string prefix_;
  const toml::table& table_;
  std::set<std::string, std::less<>> seen_;
};

#define CENTRALITA_TRY(expr)                                                                   \
  do {                                                                                         \
    if (auto r_ = (expr); !r_)                                                                 \
      return r_.err();                                                                         \
  } while (false)

result<void> read_core(table_reader& t, core_config& c) {
  CENTRALITA_TRY(t.integer("workers", c.workers, 1, 64));
  CENTRALITA_TRY(t.string("data_dir", c.data_dir));
  CENTRALITA_TRY(t.string("log_level", c.log_level));
  return t.no_unknown_keys();
}

result<void> read_scheduler(table_reader& t, scheduler_config& c) {
  CENTRALITA_TRY(t.integer("max_throughput", c.max_throughput, 1, 1 << 20));
  CENTRALITA_TRY(t.integer("ring_entries", c.ring_entries, 64, 32768));
  return t.no_unknown_keys();
}

result<void> read_sip(table_reader& t, sip_config& c, const std::string& origin) {
  std::vector<std::string> listen;
  bool had_listen = t.node("listen") != nullptr;
  CENTRALITA_TRY(t.strings("listen", listen));
  if (had_listen) {
    c.listen.clear();
    for (auto& l : listen) {
      auto parsed = parse_listen(l);
      if (!parsed)
        return config_error(origin, t.node("listen")->source(), "sip.listen",
                            parsed.err().reason);
      c.listen.insert(c.listen.end(), parsed->begin(), parsed->end());
    }
  }
  CENTRALITA_TRY(t.strings("domains", c.domains));
  CENTRALITA_TRY(t.integer("shards", c.shards, 0, 4096));
  CENTRALITA_TRY(t.integer("max_message_size", c.max_message_size, 1024, 1 << 20));
  CENTRALITA_TRY(t.integer("tcp_idle_timeout", c.tcp_idle_timeout, 1, 86400));
  CENTRALITA_TRY(t.integer("tcp_max_connections", c.tcp_max_connections, 1, 1 << 20));
  CENTRALITA_TRY(t.integer("udp_buffers", c.udp_buffers, 2, 32768));
  CENTRALITA_TRY(t.string("server_header", c.server_header));
  CENTRALITA_TRY(t.integer("t1_ms", c.t1_ms, 10, 60000));
  CENTRALITA_TRY(t.integer("t2_ms", c.t2_ms, 100, 600000));
  CENTRALITA_TRY(t.integer("t4_ms", c.t4_ms, 100, 600000));
  CENTRALITA_TRY(t.integer("timer_c", c.timer_c, 1, 86400));
  CENTRALITA_TRY(t.boolean("record_route", c.record_route));
  CENTRALITA_TRY(t.boolean("relay_foreign", c.relay_foreign));
  CENTRALITA_TRY(t.string("outbound_proxy", c.outbound_proxy));
  CENTRALITA_TRY(t.integer("max_call_duration", c.max_call_duration, 60, 604800));
  if (!c.outbound_proxy.empty())
    if (auto parsed = parse_listen(c.outbound_proxy); !parsed)
      return config_error(origin, t.node("outbound_proxy")->source(), "sip.outbound_proxy",
                          parsed.err().reason);
  return t.no_unknown_keys();
}

result<void> read_registrar(table_reader& t, registrar_config& c) {
  CENTRALITA_TRY(t.integer("default_expires", c.default_expires, 1, 31536000));
  CENTRALITA_TRY(t.integer("min_expires", c.min_expires, 1, 31536000));
  CENTRALITA_TRY(t.integer("max_expires", c.max_expires, 1, 31536000));
  CENTRALITA_TRY(t.integer("max_contacts", c.max_contacts, 1, 1000));
  return t.no_unknown_keys();
}

result<void> read_auth(table_reader& t, auth_config& c) {
  CENTRALITA_TRY(t.string("users_file", c.users_file));
  CENTRALITA_TRY(t.string("realm", c.realm));
  CENTRALITA_TRY(t.integer("nonce_lifetime", c.nonce_lifetime, 5, 86400));
  CENTRALITA_TRY(t.strings("algorithms", c.algorithms));
  CENTRALITA_TRY(t.boolean("invites_from_local_users", c.invites_from_local_users));
  return t.no_unknown_keys();
}

result<void> read_store(table_reader& t, store_config& c) {
  CENTRALITA_TRY(t.string("backend", c.backend));
  CENTRALITA_TRY(t.integer("flush_interval_ms", c.flush_interval_ms, 10, 60000));
  return t.no_unknown_keys();
}

result<void> read_script(table_reader& t, script_config& c) {
  CENTRALITA_TRY(t.string("file", c.file));
  CENTRALITA_TRY(t.boolean("sandbox", c.sandbox));
  CENTRALITA_TRY(t.integer("max_instructions", c.max_instructions, 1000, 1000000000));
  CENTRALITA_TRY(t.integer("max_wait", c.max_wait, 1, 86400));
  CENTRALITA_TRY(t.integer("vms", c.vms, 0, 1024));
  CENTRALITA_TRY(t.integer("memory_limit_mb", c.memory_limit_mb, 8, 65536));
  return t.no_unknown_keys();
}

result<void> read_events(table_reader& t, events_config& c) {
  CENTRALITA_TRY(t.integer("heartbeat_interval", c.heartbeat_interval, 0, 86400));
  CENTRALITA_TRY(t.integer("replay_buffer", c.replay_buffer, 0, 10000000));
  return t.no_unknown_keys();
}

result<void> read_media(table_reader& t, media_config& c) {
  CENTRALITA_TRY(t.string("address", c.address));
  CENTRALITA_TRY(t.string("advertised_address", c.advertised_address));
  CENTRALITA_TRY(t.integer("port_min", c.port_min, 1024, 65534));
  CENTRALITA_TRY(t.integer("port_max", c.port_max, 1025, 65535));
  CENTRALITA_TRY(t.integer("inactivity_timeout", c.inactivity_timeout, 0, 86400));
  CENTRALITA_TRY(t.string("inband_dtmf", c.inband_dtmf));
  CENTRALITA_TRY(t.integer("buffers", c.buffers, 64, 32768));
  CENTRALITA_TRY(t.integer("session_expires", c.session_expires, 0, 86400));
  CENTRALITA_TRY(t.integer("min_se", c.min_se, 90, 86400));
  CENTRALITA_TRY(t.string("ng_listen", c.ng_listen));
  return t.no_unknown_keys();
}

result<void> read_http(table_reader& t, http_config& c) {
  CENTRALITA_TRY(t.string("listen", c.listen));
  CENTRALITA_TRY(t.string("token", c.token));
  CENTRALITA_TRY(t.strings("allowed_origins", c.allowed_origins));
  CENTRALITA_TRY(t.integer("max_connections", c.max_connections, 1, 1000000));
  CENTRALITA_TRY(t.integer("max_header_bytes", c.max_header_bytes, 1024, 1048576));
  CENTRALITA_TRY(t.integer("max_body_bytes", c.max_body_bytes, 0, 1073741824));
  CENTRALITA_TRY(t.integer("idle_timeout", c.idle_timeout, 1, 86400));
  CENTRALITA_TRY(t.integer("ws_queue", c.ws_queue, 16, 10000000));
  CENTRALITA_TRY(t.integer("ws_ping_interval", c.ws_ping_interval, 1, 3600));
  return t.no_unknown_keys();
}

result<void> read_push_provider(table_reader& t, push_provider_config& c, const std::string& origin,
                                 const toml::table& table) {
  CENTRALITA_TRY(t.string("type", c.type));
  CENTRALITA_TRY(t.string("url", c.url));
  CENTRALITA_TRY(t.string("ca_file", c.ca_file));
  CENTRALITA_TRY(t.integer("timeout", c.timeout, 1, 300));
  CENTRALITA_TRY(t.string("key_file", c.key_file));
  CENTRALITA_TRY(t.string("key_id", c.key_id));
  CENTRALITA_TRY(t.string("team_id", c.team_id));
  CENTRALITA_TRY(t.string("topic", c.topic));
  CENTRALITA_TRY(t.string("service_account_file", c.service_account_file));
  CENTRALITA_TRY(t.string("token_url", c.token_url));
  CENTRALITA_TRY(t.string("project_id", c.project_id));
  CENTRALITA_TRY(t.string("template", c.body_template));
  CENTRALITA_TRY(t.strings("headers", c.headers));
  CENTRALITA_TRY(t.no_unknown_keys());
  c.line = static_cast<int>(table.source().begin.line);
  std::string prefix = "push." + c.name + ".";
  auto missing = [&](const char* key, const char* why) {
    return config_error(origin, table.source(), prefix + key, why);
  };
  if (c.type.empty())
    return missing("type", "missing: \"apns\", \"fcm\" or \"webhook\"");
  if (c.type == "apns") {
    if (c.key_file.empty())
      return missing("key_file", "missing: the APNs signing key (.p8)");
    if (c.key_id.empty())
      return missing("key_id", "missing: the APNs key id");
    if (c.team_id.empty())
      return missing("team_id", "missing: the Apple developer team id");
    if (c.url.empty())
      c.url = "https://api.push.apple.com";
  } else if (c.type == "fcm") {
    if (c.service_account_file.empty())
      return missing("service_account_file", "missing: the Google service-account JSON key");
    if (c.url.empty())
      c.url = "https://fcm.googleapis.com";
  } else if (c.type == "webhook") {
    if (c.url.empty())
      return missing("url", "missing: where the webhook POSTs");
  } else {
    return config_error(origin, t.node("type")->source(), prefix + "type",
                        "must be \"apns\", \"fcm\" or \"webhook\"");
  }
  if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0)
    return config_error(origin, t.node("url") ? t.node("url")->source() : table.source(),
                        prefix + "url", "must start with http:// or https://");
  for (auto& h : c.headers)
    if (h.find(':') == std::string::npos || h.find_first_of("\r\n") != std::string::npos)
      return config_error(origin, t.node("headers")->source(), prefix + "headers",
                          "each header is one \"Name: value\" line");
  return {};
}

result<void> read_push(table_reader& t, push_config& c, const std::string& origin,
                       const toml::table& table) {
  CENTRALITA_TRY(t.integer("wait", c.wait, 1, 3600));
  CENTRALITA_TRY(t.integer("pnsreg_interval", c.pnsreg_interval, 0, 86400));
  CENTRALITA_TRY(t.integer("retries", c.retries, 0, 20));
  CENTRALITA_TRY(t.integer("retry_backoff_ms", c.retry_backoff_ms, 10, 600000));
  for (auto& [key, node] : table) {
    std::string name(key.str());
    if (name == "wait" || name == "pnsreg_interval" || name == "retries"
        || name == "retry_backoff_ms")
      continue;
    auto* sub = node.as_table();
    if (sub == nullptr)
      return config_error(origin, node.source(), "push." + name,
                          "unknown key (providers are tables: [push.<pn-provider>])");
    push_provider_config p;
    p.name = name;
    table_reader pt(origin, "push." + name + ".", *sub);
    CENTRALITA_TRY(read_push_provider(pt, p, origin, *sub));
    std::erase_if(c.providers, [&](const push_provider_config& q) { return q.name == name; });
    c.providers.push_back(std::move(p));
  }
  return {};
}

} // namespace

std::string listen_spec::to_string() const {
  std::string host = address.find(':') != std::string::npos ? "[" + address + "]" : address;
  return std::string(transport == proto::udp ? "udp:" : "tcp:") + host + ":"
         + std::to_string(port);
}

result<std::vector<listen_spec>> parse_listen(std::string_view text) {
  std::vector<listen_spec::proto> protos{listen_spec::proto::udp, listen_spec::proto::tcp};
  std::string_view rest = text;
  if (rest.substr(0, 4) == "udp:") {
    protos = {listen_spec::proto::udp};
    rest.remove_prefix(4);
  } else if (rest.substr(0, 4) == "tcp:") {
    protos = {listen_spec::proto::tcp};
    rest.remove_prefix(4);
  }
  auto bad = [&](const std::string& why) {
    return error{errc::invalid_argument,
                 "invalid listen address '" + std::string(text) + "': " + why
                   + " (expected [udp:|tcp:]ADDR:PORT, e.g. udp:127.0.0.1:5060 or [::1]:5060)"};
  };
  std::string_view host, port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return bad("IPv6 addresses need brackets and a port");
    host = rest.substr(1, close - 1);
    port_text = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || rest.find(':') != colon)
      return bad("missing port");
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  }
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty())
    return bad("missing address");
  if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || port > 65535)
    return bad("port must be a number from 0 to 65535");
  // Only literal addresses: the transports bind without DNS.
  bool ok = true;
  for (char c : host)
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == ':'))
      ok = false;
  if (!ok)
    return bad("address must be an IPv4 or IPv6 literal");
  std::vector<listen_spec> out;
  for (auto p : protos)
    out.push_back({p, std::string(host), static_cast<uint16_t>(port)});
  return out;
}

result<void> load_toml_text(std::string_view text, const std::string& origin, app_config& cfg) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream out;
    out << origin << ":" << e.source().begin.line << ": " << e.description();
    return error{errc::parse_error, out.str()};
  }
  for (auto& [key, node] : root) {
    std::string k(key.str());
    auto* table = node.as_table();
    static const std::set<std::string, std::less<>> sections{
      "core", "scheduler", "sip", "registrar", "auth", "store", "http", "script", "events",
      "push", "media"};
    if (table == nullptr || !sections.count(k))
      return config_error(origin, node.source(), k,
                          table == nullptr ? "unknown top-level key (sections are [core], "
                                             "[scheduler], [sip], [registrar], [auth], "
                                             "[store], [http], [script], [events], [push], [media])"
                                           : "unknown section");
    table_reader t(origin, k + ".", *table);
    if (k == "core")
      CENTRALITA_TRY(read_core(t, cfg.core));
    else if (k == "scheduler")
      CENTRALITA_TRY(read_scheduler(t, cfg.scheduler));
    else if (k == "sip")
      CENTRALITA_TRY(read_sip(t, cfg.sip, origin));
    else if (k == "registrar")
      CENTRALITA_TRY(read_registrar(t, cfg.registrar));
    else if (k == "auth")
      CENTRALITA_TRY(read_auth(t, cfg.auth));
    else if (k == "store")
      CENTRALITA_TRY(read_store(t, cfg.store));
    else if (k == "script")
      CENTRALITA_TRY(read_script(t, cfg.script));
    else if (k == "events")
      CENTRALITA_TRY(read_events(t, cfg.events));
    else if (k == "push")
      CENTRALITA_TRY(read_push(t, cfg.push, origin, *table));
    else if (k == "media")
      CENTRALITA_TRY(read_media(t, cfg.media));
    else
      CENTRALITA_TRY(read_http(t, cfg.http));
  }
  return {};
}

result<void> load_toml_file(const std::string& path, app_config& cfg) {
  toml::table root;
  std::string text;
  {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr)
      return error{errc::io_error, path + ": cannot open config file"};
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
      text.append(buf, n);
    std::fclose(f);
  }
  cfg.config_file = path;
  return load_toml_text(text, path, cfg);
}

result<void> validate(const app_config& cfg) {
  static const std::set<std::string, std::less<>> levels{"trace", "debug", "info", "warn",
                                                         "warning", "error", "critical", "off"};
  if (!levels.count(cfg.core.log_level))
    return error{errc::invalid_argument,
                 "log level '" + cfg.core.log_level
                   + "' is not one of trace, debug, info, warn, error, critical, off"};
  if (cfg.sip.listen.empty())
    return error{errc::invalid_argument, "sip.listen: at least one listen address is needed"};
  if (cfg.core.workers == 0 || cfg.core.workers > 64)
    return error{errc::invalid_argument, "workers must be from 1 to 64"};
  if (cfg.registrar.min_expires > cfg.registrar.max_expires)
    return error{errc::invalid_argument, "registrar.min_expires is above registrar.max_expires"};
  if (cfg.registrar.default_expires < cfg.registrar.min_expires
      || cfg.registrar.default_expires > cfg.registrar.max_expires)
    return error{errc::invalid_argument,
                 "registrar.default_expires must lie between min_expires and max_expires"};
  if (cfg.sip.t1_ms > cfg.sip.t2_ms)
    return error{errc::invalid_argument, "sip.t1_ms is above sip.t2_ms"};
  for (auto& a : cfg.auth.algorithms)
    if (a != "SHA-256" && a != "MD5" && a != "SHA-256-sess" && a != "MD5-sess")
      return error{errc::invalid_argument,
                   "auth.algorithms: '" + a + "' is not SHA-256, MD5, SHA-256-sess or MD5-sess"};
  if (!cfg.http.listen.empty() && cfg.http.listen != "off") {
    auto specs = parse_listen(cfg.http.listen);
    if (!specs || cfg.http.listen.find(':') == std::string::npos)
      return error{errc::invalid_argument, "http.listen: '" + cfg.http.listen
                                             + "' is not ADDR:PORT (or \"off\")"};
  }
  if (cfg.media.port_min + 1 > cfg.media.port_max)
    return error{errc::invalid_argument, "media.port_min must be below media.port_max"};
  if (cfg.media.inband_dtmf != "auto" && cfg.media.inband_dtmf != "always"
      && cfg.media.inband_dtmf != "never")
    return error{errc::invalid_argument, "media.inband_dtmf: '" + cfg.media.inband_dtmf
                                           + "' is not auto, always or never"};
  if (cfg.media.session_expires != 0 && cfg.media.session_expires < cfg.media.min_se)
    return error{errc::invalid_argument, "media.session_expires is below media.min_se"};
  if (cfg.store.backend != "sqlite")
    return error{errc::invalid_argument,
                 "store.backend: '" + cfg.store.backend + "' is not supported (sqlite)"};
  return {};
}

} // namespace centralita::config
