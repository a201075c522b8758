#pragma once

#include "protocols/util/result.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace centralita::config {

/// One SIP listening point: "udp:127.0.0.1:5060", "tcp:[::1]:5070".
struct listen_spec {
  enum class proto { udp, tcp } transport = proto::udp;
  std::string address = "127.0.0.1";
  uint16_t port = 5060;
  std::string to_string() const;
};

/// Parses "[udp:|tcp:]ADDR:PORT"; without a scheme, both UDP and TCP.
result<std::vector<listen_spec>> parse_listen(std::string_view text);

struct core_config {
  unsigned workers = 2;                  ///< scheduler worker threads, each with an io_uring
  std::string data_dir = "./data";
  std::string log_level = "info";
};

struct scheduler_config {
  unsigned max_throughput = 64;  ///< messages an actor handles per turn (CAF's default is unbounded)
  unsigned ring_entries = 4096;  ///< submission queue size of each worker's io_uring
};

struct sip_config {
  std::vector<listen_spec> listen{{listen_spec::proto::udp, "127.0.0.1", 5060},
                                  {listen_spec::proto::tcp, "127.0.0.1", 5060}};
  std::vector<std::string> domains;  ///< empty: the listen addresses and "localhost"
  unsigned shards = 0;               ///< SIP shard actors; 0 = 4 per worker
  std::size_t max_message_size = 65535;
  unsigned tcp_idle_timeout = 300;   ///< seconds
  unsigned tcp_max_connections = 16384;
  unsigned udp_buffers = 64;         ///< provided receive buffers per UDP socket and worker
  std::string server_header = "centralita";
  unsigned t1_ms = 500;            ///< RFC 3261 T1 (RTT estimate)
  unsigned t2_ms = 4000;           ///< RFC 3261 T2 (max non-INVITE retransmit interval)
  unsigned t4_ms = 5000;           ///< RFC 3261 T4 (max time a message stays in the network)
  unsigned timer_c = 180;          ///< seconds: proxy INVITE branch timeout (§16.8, > 3 min)
  bool record_route = true;        ///< Record-Route on dialog-forming requests
  bool relay_foreign = false;      ///< requests for foreign domains: relay (true) or 403
  std::string outbound_proxy;      ///< next hop for foreign domains, "[udp:|tcp:]ADDR:PORT"
  unsigned max_call_duration = 43200;  ///< seconds a call is tracked without its BYE (CALL_END "expired")
};

struct registrar_config {
  unsigned default_expires = 3600;
  unsigned min_expires = 60;
  unsigned max_expires = 86400;
  unsigned max_contacts = 10;
};

struct auth_config {
  std::string users_file;                ///< "user@domain password|md5:HA1|sha256:HA1" lines (--users)
  std::string realm;                     ///< empty: the request's domain
  unsigned nonce_lifetime = 300;         ///< seconds
  std::vector<std::string> algorithms{"SHA-256", "MD5"};  ///< offered, in this order (RFC 8760)
  bool invites_from_local_users = true;  ///< challenge INVITEs whose From is a local user
};

struct store_config {
  std::string backend = "sqlite";  ///< the embedded default; "redis" with the cluster issue
  unsigned flush_interval_ms = 1000;  ///< write-behind: at most this much is lost on kill -9
};

/// The routing script (docs/scripting.md).
struct script_config {
  /// The Lua routing script. Empty: scripts/default.lua when it exists in the
  /// working directory, else the copy built into the binary. "builtin": the
  /// C++ routing default.lua reproduces (for comparisons).
  std::string file;
  bool sandbox = true;                  ///< no io, os.execute, require, debug, load of bytecode
  unsigned max_instructions = 1000000;  ///< per resumption of a routing run (runaway loops)
  unsigned max_wait = 3600;             ///< seconds: the longest events.wait / subscription / sleep
  unsigned vms = 0;                     ///< script VM actors (each a lua_State); 0 = 2 per worker
  unsigned memory_limit_mb = 256;       ///< per VM: allocations past it fail (a Lua error)
};

struct events_config {
  unsigned heartbeat_interval = 20;  ///< seconds between HEARTBEAT events; 0 = none
  /// Events kept for stream clients that reconnect with ?since= (docs/api.md); 0: none.
  unsigned replay_buffer = 10000;
};

/// `[http]`: the HTTP/1.1 listener (JSON API, /metrics, /events, dashboard). docs/api.md.
struct http_config {
  std::string listen = "127.0.0.1:8080";  ///< "ADDR:PORT"; "off" or "" for none
  /// Bearer token for everything but /healthz (--http-token). Empty: only
  /// loopback clients are accepted.
  std::string token;
  /// Origins a browser may connect from besides the listener's own
  /// (the Host header); "*" allows any.
  std::vector<std::string> allowed_origins;
  unsigned max_connections = 1024;     ///< HTTP and WebSocket connections together
  unsigned max_header_bytes = 16384;   ///< request line and headers: 431 past it
  unsigned max_body_bytes = 1048576;   ///< 413 past it
  unsigned idle_timeout = 60;          ///< seconds a keep-alive connection may stay silent
  unsigned ws_queue = 8192;            ///< events a stream client may have waiting; past it: 1008
  unsigned ws_ping_interval = 20;      ///< seconds between pings; no answer in two: closed
};

/// One push provider, `[push.<name>]`: serves the contacts registered with
/// `pn-provider=<name>` (RFC 8599). docs/push.md.
struct push_provider_config {
  std::string name;  ///< the pn-provider value (the table's name)
  std::string type;  ///< "apns", "fcm" or "webhook"
  std::string url;   ///< base URL (apns, fcm: defaults to the provider's) or the webhook's URL
  std::string ca_file;  ///< CA bundle to verify the provider's TLS certificate; empty: the system's
  unsigned timeout = 10;  ///< seconds per HTTP request
  // apns
  std::string key_file;  ///< the .p8 signing key (EC P-256, PKCS#8 PEM)
  std::string key_id;
  std::string team_id;
  std::string topic;  ///< apns-topic; empty: from pn-param
  // fcm
  std::string service_account_file;  ///< Google service-account JSON key
  std::string token_url;             ///< empty: the service account's token_uri
  std::string project_id;            ///< empty: pn-param, else the service account's
  // webhook
  std::string body_template;         ///< `template`: JSON with {{placeholders}}; empty: the default body
  std::vector<std::string> headers;  ///< "Name: value" lines added to each request
  int line = 0;  ///< where the table is, for errors found later (key files)
};

/// `[push]`: push notifications (RFC 8599).
struct push_config {
  /// Seconds scripts/push.lua holds an INVITE for sleeping phones (config.push_wait).
  unsigned wait = 30;
  /// +sip.pnsreg (RFC 8599 §5.3): a binding whose UA asked is pushed this many
  /// seconds before it expires, then again closer to expiry until it is
  /// refreshed or expires; 0: not offered.
  unsigned pnsreg_interval = 120;
  unsigned retries = 3;            ///< transient failures (no answer, 429, 5xx) retried this often
  unsigned retry_backoff_ms = 500; ///< first retry after this, doubling
  std::vector<push_provider_config> providers;

  const push_provider_config* provider(std::string_view name) const {
    for (auto& p : providers)
      if (p.name == name)
        return &p;
    return nullptr;
  }
};

/// `[media]`: the RTP relay of bridged calls (docs/media.md).
struct media_config {
  /// IP the media sockets bind to; empty: the first SIP listen address.
  std::string address;
  /// IP written into the SDP we send (c=, a=rtcp); empty: `address`. For a
  /// switch behind 1:1 NAT.
  std::string advertised_address;
  uint16_t port_min = 30000;  ///< media port range (RTP even, RTCP = RTP + 1)
  uint16_t port_max = 39999;
  /// Seconds without RTP from a party of an answered bridged call before it
  /// is hung up (MEDIA_TIMEOUT); 0: never.
  unsigned inactivity_timeout = 60;
  /// In-band DTMF detection on G.711: "auto" (only when the leg negotiated no
  /// telephone-event), "always", "never".
  std::string inband_dtmf = "auto";
  unsigned buffers = 2048;  ///< provided receive buffers per worker
  /// RFC 4028 on bridged calls: the Session-Expires we ask for (seconds; 0:
  /// no session timer) and the smallest we accept (Min-SE).
  unsigned session_expires = 1800;
  unsigned min_se = 90;
  /// The ng control protocol (RTPEngine's, docs/media.md): "ADDR:PORT" to
  /// listen on; empty: off.
  std::string ng_listen;
};

/// The whole configuration: defaults in the structs, then the TOML file, then
/// the command line. Validated once; actors receive it as a shared snapshot.
struct app_config {
  std::string config_file;  ///< empty when none was given
  core_config core;
  scheduler_config scheduler;
  sip_config sip;
  registrar_config registrar;
  auth_config auth;
  store_config store;
  http_config http;
  script_config script;
  events_config events;
  push_config push;
  media_config media;
};

using snapshot = std::shared_ptr<const app_config>;

/// Reads a TOML file into `cfg`. Errors name the file, line and key.
result<void> load_toml_file(const std::string& path, app_config& cfg);
/// Same for TOML text (`origin` names it in errors).
result<void> load_toml_text(std::string_view text, const std::string& origin, app_config& cfg);

/// What the command line asked for.
struct cli_outcome {
  enum class action { run, help, version } what = action::run;
  app_config config;
};

/// Parses argv: --config first, then flags override the file's values.
result<cli_outcome> parse_command_line(int argc, char** argv);
std::string usage_text(const char* program);

/// Cross-field checks (after file and flags).
result<void> validate(const app_config& cfg);

} // namespace centralita::config
