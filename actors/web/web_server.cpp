#include "actors/web/web_server.hpp"

#include "actors/web/http_session.hpp"

#include <caf/send.hpp>
#include <netinet/in.h>

namespace centralita::actors {

bool is_loopback(const drivers::endpoint& e) {
  if (e.family() == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(e.data());
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  if (e.family() == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(e.data());
    if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
      return true;
    return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

namespace {

/// The reactor's side of a session: forwards to the actor (never blocks).
class session_handler final : public drivers::stream_handler {
public:
  explicit session_handler(caf::actor a) : actor_(std::move(a)) {}
  void on_data(std::string_view bytes) override {
    caf::anon_send(actor_, conn_bytes{std::string(bytes)});
  }
  void on_written(uint64_t total) override { caf::anon_send(actor_, conn_written{total}); }
  void on_closed(int err) override { caf::anon_send(actor_, conn_closed{err}); }

private:
  caf::actor actor_;
};

} // namespace

result<std::unique_ptr<web_server>> web_server::create(caf::actor_system& sys, web_deps deps) {
  auto specs = config::parse_listen(deps.cfg.listen);
  if (!specs || specs->empty())
    return error{errc::invalid_argument,
                 "http.listen: '" + deps.cfg.listen + "' is not ADDR:PORT"
                   + (specs ? std::string() : " (" + specs.err().reason + ")")};
  auto ep = drivers::endpoint::from(specs->front().address, specs->front().port);
  if (!ep)
    return error{errc::invalid_argument, "http.listen: bad address '" + deps.cfg.listen + "'"};
  std::unique_ptr<web_server> out(new web_server());
  auto ctx = std::make_shared<web_context>();
  ctx->require_token = !deps.cfg.token.empty();
  auto reactors = deps.reactors;
  drivers::stream_server::options opts;
  opts.max_connections = deps.cfg.max_connections;
  ctx->deps = std::move(deps);
  auto* sysp = &sys;
  std::weak_ptr<web_context> weak = ctx;
  out->server_ = std::make_unique<drivers::stream_server>(
    reactors, opts,
    [sysp, weak](drivers::connection_id id, const drivers::endpoint& peer,
                 const drivers::endpoint&) -> std::unique_ptr<drivers::stream_handler> {
      auto c = weak.lock();
      if (!c)
        return nullptr;
      return std::make_unique<session_handler>(spawn_http_session(*sysp, c, id, peer));
    });
  ctx->server = out->server_.get();
  auto bound = out->server_->listen(*ep);
  if (!bound)
    return error{bound.err().code, "http.listen: " + bound.err().reason
                                     + (errno == EADDRINUSE ? " (is another centralita running? "
                                                              "--http off disables the listener)"
                                                            : "")};
  out->local_ = *bound;
  out->ctx_ = std::move(ctx);
  return out;
}

web_server::~web_server() = default;

void web_server::start() {
  server_->start();
}

void web_server::shutdown() {
  server_->shutdown(std::chrono::seconds{2});
}

} // namespace centralita::actors
