#include "actors/system/switch_app.hpp"
#include "actors/system/switch_app_impl.hpp"

#include "actors/events/heartbeat.hpp"
#include "actors/registrar/registrar_shard.hpp"
#include "actors/sip/sip_shard.hpp"
#include "actors/store/sqlite_binding_store.hpp"
#include "actors/store/sqlite_user_store.hpp"
#include "protocols/sip/proxy/sip_uri.hpp"
#include "protocols/util/ascii.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <ifaddrs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace centralita::actors {

extern const char* const builtin_default_script;  // scripts/default.lua, built in

namespace {

// Local domains: the configured ones, else every listen address (a wildcard
// stands for every interface address) plus the host name and localhost.
std::vector<std::string> local_domains(const config::app_config& cfg) {
  if (!cfg.sip.domains.empty())
    return cfg.sip.domains;
  std::vector<std::string> out;
  bool wildcard = false;
  for (auto& l : cfg.sip.listen) {
    if (l.address == "0.0.0.0" || l.address == "::")
      wildcard = true;
    else
      out.push_back(l.address);
  }
  if (wildcard) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) == 0) {
      for (auto* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr)
          continue;
        auto fam = i->ifa_addr->sa_family;
        if (fam != AF_INET && fam != AF_INET6)
          continue;
        drivers::endpoint e(i->ifa_addr, fam == AF_INET ? sizeof(sockaddr_in)
                                                        : sizeof(sockaddr_in6));
        out.push_back(e.address());
      }
      freeifaddrs(list);
    }
    char host[256] = {0};
    if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != 0)
      out.push_back(host);
  }
  out.push_back("localhost");
  return out;
}

std::string node_name() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == 0)
    return "centralita";
  return host;
}

} // namespace

switch_app::switch_app(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

switch_app::~switch_app() {
  stop();
}

result<std::unique_ptr<switch_app>> switch_app::create(config::snapshot cfg,
                                                       const loggers& logs) {
  auto p = std::make_unique<impl>();
  p->cfg = cfg;
  p->logs = logs;
  // The routing script: checked now, so a broken one stops the start with
  // Lua's message (file:line) instead of answering 500 to everything.
  if (cfg->script.file != "builtin") {
    std::shared_ptr<const script_code> code;
    if (!cfg->script.file.empty()) {
      auto read = read_script(cfg->script.file, 1);
      if (!read)
        return read.err();
      code = *read;
    } else if (std::filesystem::exists("scripts/default.lua")) {
      auto read = read_script("scripts/default.lua", 1);
      if (!read)
        return read.err();
      code = *read;
    } else {
      auto builtin = std::make_shared<script_code>();
      builtin->name = "default.lua (built in)";
      builtin->text = builtin_default_script;
      code = builtin;
    }
    if (auto ok = check_script(*code, cfg->script.sandbox); !ok)
      return error{errc::invalid_argument, "routing script: " + ok.err().reason};
    p->script = code;
  }

  // Push providers: their key files are read now, so a bad one stops the
  // start with the key named, not the first push.
  if (auto loaded = load_push_providers(cfg->push); !loaded)
    return loaded.err();
  else
    p->push_providers = std::move(loaded.value());

  auto features = drivers::probe_uring();
  if (!features.available)
    return error{errc::unsupported, features.why_unavailable};

  std::error_code ec;
  std::filesystem::create_directories(cfg->core.data_dir, ec);
  if (ec)
    return error{errc::io_error, "data dir '" + cfg->core.data_dir + "': " + ec.message()};

  for (unsigned i = 0; i < cfg->core.workers; ++i) {
    auto r = drivers::reactor::create(i, {cfg->scheduler.ring_entries});
    if (!r)
      return r.err();
    p->reactors.push_back(std::move(r.value()));
  }

  local_identity id;
  id.domains = local_domains(*cfg);
  for (auto& l : cfg->sip.listen)
    id.ports.push_back(l.port);
  id.server_header = cfg->sip.server_header;
  if (id.server_header == "centralita")
    id.server_header += std::string(" ") + CENTRALITA_VERSION;

  drivers::transport_options topts;
  topts.max_message_size = cfg->sip.max_message_size;
  topts.tcp_idle_timeout = std::chrono::seconds{cfg->sip.tcp_idle_timeout};
  topts.tcp_max_connections = cfg->sip.tcp_max_connections;
  topts.udp_buffer_count = cfg->sip.udp_buffers;

  // Ports bound as 0 are known only after the bind: listen first, then build
  // the identity that decides which Request-URIs are ours.
  std::vector<drivers::reactor*> raw;
  for (auto& r : p->reactors)
    raw.push_back(r.get());
  p->router = std::make_unique<inbound_router>(p->counters);
  p->hub = std::make_unique<drivers::transport_hub>(raw, topts, *p->router);
  p->router->set_hub(p->hub.get());
  id.ports.clear();
  for (auto& l : cfg->sip.listen) {
    auto ep = drivers::endpoint::from(l.address, l.port);
    if (!ep)
      return error{errc::invalid_argument, "sip.listen: bad address " + l.to_string()};
    auto kind = l.transport == config::listen_spec::proto::udp ? drivers::transport_kind::udp
                                                               : drivers::transport_kind::tcp;
    auto bound = p->hub->listen(kind, *ep);
    if (!bound)
      return error{bound.err().code, bound.err().reason
                                       + (errno == EADDRINUSE ? " (is another SIP server running?)"
                                                              : "")};
    id.ports.push_back(bound->port());
    logs.app->info("listening on {}:{}", kind == drivers::transport_kind::udp ? "udp" : "tcp",
                   bound->to_string());
  }
  p->core = std::make_shared<const stateless_core>(id);
  p->router->set_core(p->core);

  // Who we are, for the proxy (RFC 3261 §16): our hosts and ports, the Via
  // sent-by and the Record-Route URI (the first listening point).
  p->domains = id.domains;
  p->identity = std::make_shared<sip::proxy::proxy_identity>();
  for (auto& d : id.domains) {
    std::string host = ascii::to_lower(d);
    if (host.find(':') != std::string::npos && host.front() != '[')
      host = "[" + host + "]";  // IPv6 references keep their brackets
    p->identity->hosts.push_back(host);
  }
  p->identity->ports = id.ports;
  {
    auto& first = p->hub->listening().front().local;
    p->identity->via_host = first.family() == AF_INET6 ? "[" + first.address() + "]"
                                                       : first.address();
    p->identity->via_port = first.port();
    p->identity->record_route_uri = "sip:" + p->identity->via_host + ":"
                                    + std::to_string(first.port()) + ";lr";
  }

  // [media]: the RTP relay of bridged calls, on the same reactors.
  {
    auto m = start_media(cfg->media, p->hub->listening().front().local, p->identity->via_host, raw,
                         *logs.app);
    if (!m)
      return m.err();
    p->media = std::move(m->hub);
    p->relay = std::move(m->relay);
  }

  // Digest users (--users FILE). None: REGISTER is accepted without
  // authentication, and we say so.
  std::vector<auth::user_entry> entries;
  if (!cfg->auth.users_file.empty()) {
    std::ifstream in(cfg->auth.users_file);
    if (!in)
      return error{errc::io_error, cfg->auth.users_file + ": cannot open users file"};
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = auth::parse_users(text.str());
    if (!parsed)
      return error{errc::invalid_argument, cfg->auth.users_file + ": " + parsed.err().reason};
    entries = std::move(parsed.value());
  }
  // "--users" is the quick start; the users table in the store is the
  // source of truth: the file is imported into it, then the table is read.
  if (!entries.empty())
    if (auto r = sqlite_user_store::import(cfg->core.data_dir, entries); !r)
      return r.err();
  auto stored = sqlite_user_store::load(cfg->core.data_dir);
  if (!stored)
    return stored.err();
  p->users = std::make_shared<const user_directory>(std::move(stored.value()));
  if (p->users->empty())
    logs.app->warn("no users configured (--users): REGISTER for the local domains is accepted "
                   "WITHOUT authentication");
  else
    logs.app->info("{} user(s) in {}/centralita.db: digest authentication on for REGISTER{}",
                   p->users->size(), cfg->core.data_dir,
                   cfg->auth.invites_from_local_users ? " and INVITEs from local users" : "");
  {
    std::random_device rd;  // the kernel's CSPRNG
    for (int i = 0; i < 8; ++i) {
      auto v = rd();
      p->auth_secret.append(reinterpret_cast<const char*>(&v), sizeof(v));
    }
  }

  // The store (RFC 3261 §10 bindings survive a restart): opened and read
  // here, before any worker runs; written from its own thread afterwards.
  auto store = sqlite_binding_store::open(cfg->core.data_dir);
  if (!store)
    return store.err();
  p->store = std::shared_ptr<binding_store>(std::move(store.value()));
  auto loaded = p->store->load_unexpired(static_cast<int64_t>(std::time(nullptr)));
  if (!loaded)
    return loaded.err();
  p->preload = std::move(loaded.value());
  if (!p->preload.empty())
    logs.app->info("loaded {} unexpired binding(s) from {}/centralita.db", p->preload.size(),
                   cfg->core.data_dir);
  return std::unique_ptr<switch_app>(new switch_app(std::move(p)));
}

result<void> switch_app::start() {
  auto& p = *impl_;
  p.caf_cfg = std::make_unique<uring_system_config>();
  for (auto& r : p.reactors)
    p.caf_cfg->reactors.push_back(r.get());
  // DESIGN.md, measured: CAF's defaults (4 workers on 2 cores, unbounded
  // max-throughput) are wrong for us. One worker per reactor, bounded turns.
  p.caf_cfg->set("scheduler.max-threads", static_cast<size_t>(p.reactors.size()));
  p.caf_cfg->set("scheduler.max-throughput", static_cast<size_t>(p.cfg->scheduler.max_throughput));
  p.caf_cfg->set("logger.verbosity", caf::atom("quiet"));
  p.caf_cfg->load<uring_coordinator>();
  p.system = std::make_unique<caf::actor_system>(*p.caf_cfg);

  std::vector<drivers::reactor*> raw;
  for (auto& r : p.reactors)
    raw.push_back(r.get());
  p.timers = std::make_unique<timer_service>(raw);
  auto services = std::make_shared<sip_services>();
  services->hub = p.hub.get();
  services->timers = p.timers.get();
  services->txn_timers.t1 = std::chrono::milliseconds{p.cfg->sip.t1_ms};
  services->txn_timers.t2 = std::chrono::milliseconds{p.cfg->sip.t2_ms};
  services->txn_timers.t4 = std::chrono::milliseconds{p.cfg->sip.t4_ms};
  services->txn_timers.d = std::max(std::chrono::milliseconds{32000},
                                    64 * services->txn_timers.t1);
  services->sip_log = p.logs.sip;
  services->txn_log = p.logs.txn;
  services->counters = p.counters;
  p.services = services;

  // Registrar shards gather changes for a tenth of the flush interval and
  // the writer waits the rest: kill -9 still loses at most the interval.
  auto flush_interval = std::chrono::milliseconds{p.cfg->store.flush_interval_ms};
  auto store_batch_window = flush_interval / 10;
  p.store_writer = spawn_store_writer(
    *p.system, {p.store, {flush_interval - store_batch_window}, p.logs.app});

  p.events = spawn_event_bus(*p.system, {p.timers.get(), p.logs.app, p.event_stats, node_name(),
                                         p.cfg->events.replay_buffer});

  auto domains = std::make_shared<const std::vector<std::string>>(p.domains);
  auto core = p.core;
  auto is_local_domain = [core](std::string_view host, uint16_t port) {
    return core->is_local(host, port);
  };

  sip::registrar_config rules;
  rules.default_expires = p.cfg->registrar.default_expires;
  rules.min_expires = p.cfg->registrar.min_expires;
  rules.max_expires = p.cfg->registrar.max_expires;
  rules.max_contacts = p.cfg->registrar.max_contacts;
  for (auto& prov : p.cfg->push.providers)
    rules.pn_providers.push_back(prov.name);
  rules.pnsreg_interval = p.cfg->push.providers.empty() ? 0 : p.cfg->push.pnsreg_interval;
  unsigned nreg = 2 * p.cfg->core.workers;
  std::vector<std::vector<sip::binding>> preload(nreg);
  for (auto& b : p.preload)
    preload[registrar_shard_of(b.aor(), nreg)].push_back(std::move(b));
  p.preload.clear();
  digest_settings auth_settings;
  auth_settings.realm = p.cfg->auth.realm;
  auth_settings.nonce_lifetime_ms = uint64_t{p.cfg->auth.nonce_lifetime} * 1000;
  auth_settings.offered.clear();
  for (auto& a : p.cfg->auth.algorithms)
    if (auto alg = auth::parse_algorithm(a))
      auth_settings.offered.push_back(*alg);
  auto users = p.users;
  auto make_guard = [&](uint32_t salt, bool proxy) -> std::shared_ptr<digest_guard> {
    if (users->empty())
      return nullptr;
    auto issuer = auth::nonce_issuer::create(p.auth_secret, salt);
    return std::make_shared<digest_guard>(users, std::move(issuer.value()), auth_settings, proxy);
  };
  auto registrar_list = std::make_shared<std::vector<caf::actor>>();
  if (!p.push_providers.empty()) {
    // Pushes come in bursts (every sleeping phone of a busy system, or a
    // provider slowing down): the client's queue must not be the limit that
    // turns them into failures. HTTP/2 multiplexes them over a few connections.
    drivers::http_client::options po;
    po.max_in_flight = 65536;
    p.push_http = std::make_unique<drivers::http_client>(po);
    push_service_deps pd;
    pd.providers = p.push_providers;
    pd.retries = p.cfg->push.retries;
    pd.retry_backoff = std::chrono::milliseconds{p.cfg->push.retry_backoff_ms};
    pd.http = p.push_http.get();
    pd.timers = p.timers.get();
    pd.events = p.events;
    pd.event_stats = p.event_stats;
    // The registrars come next and need the push service (refresh pushes):
    // it reaches them through a list filled once they exist.
    pd.registrar_of = [registrar_list](std::string_view aor) {
      return registrar_list->empty()
               ? caf::actor{}
               : (*registrar_list)[registrar_shard_of(aor, registrar_list->size())];
    };
    pd.counters = p.push_stats;
    pd.log = p.logs.app;
    p.push = spawn_push_service(*p.system, std::move(pd));
    std::string names;
    for (auto& prov : p.push_providers)
      names += (names.empty() ? "" : ", ") + prov.cfg.name + " (" + prov.cfg.type + " at "
               + prov.cfg.url + ")";
    p.logs.app->info("push providers: {}", names);
  }

  for (unsigned i = 0; i < nreg; ++i) {
    registrar_deps deps;
    if (auto g = make_guard(i + 1, false))
      deps.guard = [g](const sip::message& m, int64_t now) { return g->check(m, now); };
    deps.services = p.services;
    deps.rules = rules;
    deps.store = p.store_writer;
    deps.store_batch_window = store_batch_window;
    deps.events = p.events;
    deps.event_stats = p.event_stats;
    deps.push = p.push;
    deps.is_local_domain = [core](std::string_view host) { return core->is_local(host, 0); };
    deps.is_known_user = [users](std::string_view aor) { return users->contains(aor); };
    auto reg = spawn_registrar_shard(*p.system, std::move(deps));
    if (!preload[i].empty())
      caf::anon_send(reg, location_preload{std::move(preload[i])});
    p.registrars.push_back(reg);
  }
  *registrar_list = p.registrars;
  auto registrars = p.registrars;
  auto registrar_of = [registrars](std::string_view aor) {
    return registrars[registrar_shard_of(aor, registrars.size())];
  };

  auto routing = std::make_shared<routing_policy>();
  routing->identity = p.identity;
  routing->registrar_of = registrar_of;
  routing->is_local_domain = is_local_domain;
  routing->record_route = p.cfg->sip.record_route;
  routing->relay_foreign = p.cfg->sip.relay_foreign;
  if (!p.cfg->sip.outbound_proxy.empty()) {
    auto specs = config::parse_listen(p.cfg->sip.outbound_proxy);
    if (specs && !specs->empty()) {
      routing->outbound_proxy = drivers::endpoint::from(specs->front().address,
                                                        specs->front().port);
      routing->outbound_transport = specs->front().transport == config::listen_spec::proto::tcp
                                      ? drivers::transport_kind::tcp
                                      : drivers::transport_kind::udp;
    }
  }
  routing->timer_c = std::chrono::seconds{p.cfg->sip.timer_c};
  routing->push_wait = std::chrono::seconds{p.cfg->push.wait};
  routing->events = p.events;
  routing->event_stats = p.event_stats;
  if (p.cfg->auth.invites_from_local_users) {
    if (auto g = make_guard(1000, true))
      routing->proxy_guard = [g](const sip::message& m,
                                 int64_t now) -> std::optional<sip::message> {
        if (!g->applies_to(m))
          return std::nullopt;
        return g->check(m, now);
      };
  }
  // Branch-id seeds for proxy contexts on every worker: no lock on this
  // path, just a counter mixed with a random base (splitmix64 finaliser).
  auto counter = std::make_shared<std::atomic<uint64_t>>(
    (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
  routing->seed = [counter] {
    uint64_t z = counter->fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };

  unsigned shards = p.cfg->sip.shards != 0 ? p.cfg->sip.shards : 4 * p.cfg->core.workers;
  routing_ptr routing_const = routing;
  // The SIP shards exist only after the VMs (which need to know them): a
  // shared list filled below.
  auto shard_list = std::make_shared<std::vector<caf::actor>>();
  auto shard_of = [shard_list](std::string_view cid) {
    return (*shard_list)[std::hash<std::string_view>{}(cid) % shard_list->size()];
  };
  if (p.script) {
    spawn_script_vms(p, routing_const, shard_of, make_guard);
  } else {
    p.logs.app->info("routing: built in (no script)");
  }
  auto vms = p.vms;
  for (unsigned i = 0; i < shards; ++i) {
    sip_shard_deps deps;
    deps.services = p.services;
    deps.core = p.core;
    deps.events = p.events;
    deps.event_stats = p.event_stats;
    deps.identity = p.identity;
    deps.seed = routing->seed;
    deps.max_call_duration = std::chrono::seconds{p.cfg->sip.max_call_duration};
    auto svc = p.services;
    deps.choose_tu = [svc, routing_const, registrar_of, vms](caf::event_based_actor* shard,
                                                             const sip::message& m) -> caf::actor {
      auto method = m.request_method();
      // With a script, every request is a routing run, but the ACK of a 2xx
      // and a CANCEL nobody holds: those are forwarded statelessly (§16.10, §16.11).
      if (!vms.empty() && method != sip::method::ack && method != sip::method::cancel)
        return vms[std::hash<std::string_view>{}(m.call_id()) % vms.size()];
      if (m.request_method() == sip::method::register_) {
        if (auto aor = sip::normalize_aor(m.to().uri))
          return registrar_of(*aor);
      }
      return spawn_proxy_context(shard->home_system(),
                                 {svc, routing_const, caf::actor_cast<caf::actor>(shard), nullptr});
    };
    p.shards.push_back(spawn_sip_shard(*p.system, std::move(deps)));
  }
  *shard_list = p.shards;
  p.router->set_shards(p.shards);
  if (p.cfg->events.heartbeat_interval > 0) {
    heartbeat_deps hb;
    hb.timers = p.timers.get();
    hb.events = p.events;
    hb.interval = std::chrono::seconds{p.cfg->events.heartbeat_interval};
    hb.sip = p.counters;
    hb.bus = p.event_stats;
    hb.scripts = p.script ? p.script_stats : nullptr;
    hb.version = CENTRALITA_VERSION;
    p.heartbeat = spawn_heartbeat(*p.system, std::move(hb));
  }
  if (!p.cfg->media.ng_listen.empty()) {
    auto ng = ng_control::start(*p.system, {p.media, p.cfg->media.ng_listen, p.events,
                                            p.event_stats, p.logs.app});
    if (!ng)
      return ng.err();
    p.ng = std::move(ng.value());
    p.logs.app->info("ng control on {}", p.ng->local().to_string());
  }
  if (auto ok = start_web(); !ok)
    return ok.err();
  p.trim = std::make_unique<memory_trim>(std::chrono::seconds{10}, p.logs.app);
  p.trim->start();
  p.hub->start();
  p.logs.app->info("centralita {} up: {} workers (io_uring), {} SIP shards, data in {}",
                   CENTRALITA_VERSION, p.reactors.size(), shards, p.cfg->core.data_dir);
  return {};
}

result<void> switch_app::start_web() {
  auto& p = *impl_;
  auto& http = p.cfg->http;
  if (http.listen.empty() || http.listen == "off") {
    p.logs.app->info("HTTP listener off (--http off)");
    return {};
  }
  web_deps w;
  w.cfg = http;
  for (auto& r : p.reactors)
    w.reactors.push_back(r.get());
  w.timers = p.timers.get();
  w.media = p.media;
  w.events = p.events;
  w.event_stats = p.event_stats;
  w.registrars = p.registrars;
  w.shards = p.shards;
  w.sip = p.counters;
  w.scripts = p.script ? p.script_stats : nullptr;
  w.push = p.push ? p.push_stats : nullptr;
  w.latency = p.latency;
  if (p.script)
    w.reload_script = [this]() -> result<std::string> {
      if (auto r = reload_script(); !r)
        return r.err();
      std::lock_guard lock(impl_->reload_mutex);
      return impl_->script->name + " (generation " + std::to_string(impl_->script->generation)
             + ")";
    };
  auto* hub = p.hub.get();
  w.sip_tcp_connections = [hub] { return hub->tcp_connections(); };
  w.replay_size = p.cfg->events.replay_buffer;
  w.node = node_name();
  w.version = CENTRALITA_VERSION;
  w.log = p.logs.app;
  auto web = web_server::create(*p.system, std::move(w));
  if (!web)
    return web.err();
  p.web = std::move(web.value());
  p.web->start();
  auto where = p.web->local().to_string();
  if (http.token.empty())
    p.logs.app->info("HTTP on http://{}/ (dashboard, /api, /metrics, /events): no --http-token "
                     "set, so only loopback clients are accepted",
                     where);
  else
    p.logs.app->info("HTTP on http://{}/ (dashboard, /api, /metrics, /events): bearer token "
                     "required (all but /healthz)",
                     where);
  return {};
}

void switch_app::stop() {
  auto& p = *impl_;
  if (p.stopped)
    return;
  p.stopped = true;
  if (p.router)
    p.router->set_shards({});
  if (p.web)  // its connections hold session actors: they go while the system runs
    p.web->shutdown();
  if (p.system) {
    // Shards and registrars first, so every binding change they made is in
    // the store writer's mailbox before it is told to stop (it writes all
    // it holds on exit: a graceful stop loses nothing).
    caf::scoped_actor self{*p.system};
    std::vector<caf::actor> first = p.shards;
    first.insert(first.end(), p.registrars.begin(), p.registrars.end());
    first.insert(first.end(), p.vms.begin(), p.vms.end());
    if (p.heartbeat)
      first.push_back(p.heartbeat);
    if (p.push)
      first.push_back(p.push);
    if (p.events)
      first.push_back(p.events);
    for (auto& a : first) {
      self->monitor(a);
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
    std::size_t down = 0;
    self->receive_for(down, first.size())(
      [](caf::down_msg&) {},
      caf::after(std::chrono::seconds{5}) >> [&] { down = first.size(); });
    if (p.store_writer) {
      // The writer writes everything pending when it exits: wait for that
      // (bounded), since the worker threads go next.
      self->monitor(p.store_writer);
      caf::anon_send_exit(p.store_writer, caf::exit_reason::user_shutdown);
      self->receive([](caf::down_msg&) {},
                    caf::after(std::chrono::seconds{10}) >> [&] {
                      p.logs.app->error("store writer did not finish within 10 s");
                    });
    }
    // What is left are transactions a shard had not registered yet when it
    // stopped, waiting out their final timers (up to 64*T1): a stop must not
    // wait for them. Everything durable has been written above.
    auto left = p.system->registry().running();
    if (left > 0)
      p.logs.app->info("stopping {} actor(s) still running (transactions in their final timers)",
                       left);
    p.system->await_actors_before_shutdown(false);
    // Pending http.request answers go to their VMs (stopped by now) while
    // the actor system still exists.
    p.http.reset();
    p.push_http.reset();
  }
  p.shards.clear();
  p.registrars.clear();
  p.vms.clear();
  p.heartbeat = nullptr;
  p.push = nullptr;
  p.store_writer = nullptr;
  p.events = nullptr;
  p.ng.reset();      // its receive thread, then its actor and calls
  p.system.reset();  // waits for the actors, then stops the workers
  p.web.reset();     // its sockets, before their rings go
  p.timers.reset();
  p.relay.reset();   // media sockets and their buffer rings, before the rings go
  p.media.reset();
  p.hub.reset();     // sockets and buffer rings, before their rings go
  p.reactors.clear();
}

} // namespace centralita::actors
