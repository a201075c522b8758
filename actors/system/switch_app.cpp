#include "actors/system/switch_app.hpp"

#include "actors/sip/inbound_router.hpp"
#include "actors/sip/sip_shard.hpp"
#include "actors/system/uring_policy.hpp"
#include "drivers/transport/transport_hub.hpp"
#include "drivers/uring/reactor.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <ifaddrs.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace centralita::actors {

struct switch_app::impl {
  config::snapshot cfg;
  loggers logs;
  std::vector<std::unique_ptr<drivers::reactor>> reactors;
  std::shared_ptr<sip_counters> counters = std::make_shared<sip_counters>();
  std::shared_ptr<const stateless_core> core;
  std::unique_ptr<inbound_router> router;
  std::unique_ptr<drivers::transport_hub> hub;
  std::unique_ptr<uring_system_config> caf_cfg;
  std::unique_ptr<caf::actor_system> system;
  std::vector<caf::actor> shards;
  bool stopped = false;
};

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

  unsigned shards = p.cfg->sip.shards != 0 ? p.cfg->sip.shards : 4 * p.cfg->core.workers;
  for (unsigned i = 0; i < shards; ++i)
    p.shards.push_back(spawn_sip_shard(*p.system, {p.core, p.counters, p.hub.get(), p.logs.sip}));
  p.router->set_shards(p.shards);
  p.hub->start();
  p.logs.app->info("centralita {} up: {} workers (io_uring), {} SIP shards, data in {}",
                   CENTRALITA_VERSION, p.reactors.size(), shards, p.cfg->core.data_dir);
  return {};
}

void switch_app::stop() {
  auto& p = *impl_;
  if (p.stopped)
    return;
  p.stopped = true;
  for (auto& s : p.shards)
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  p.shards.clear();
  if (p.router)
    p.router->set_shards({});
  p.system.reset();  // waits for the actors, then stops the workers
  p.hub.reset();     // sockets and buffer rings, before their rings go
  p.reactors.clear();
}

std::string switch_app::summary() const {
  auto& c = *impl_->counters;
  std::ostringstream out;
  uint64_t requests = 0;
  for (auto& n : c.requests_by_method)
    requests += n.load();
  uint64_t responses = 0;
  for (auto& n : c.responses_sent_by_class)
    responses += n.load();
  out << "requests=" << requests << " responses_sent=" << responses
      << " bad_requests=" << c.bad_requests.load()
      << " unanswerable=" << c.unanswerable_requests.load()
      << " bad_responses=" << c.bad_responses.load()
      << " stray_responses=" << c.stray_responses.load()
      << " oversized=" << c.oversized.load();
  return out.str();
}

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int wait_for_shutdown_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

} // namespace centralita::actors
