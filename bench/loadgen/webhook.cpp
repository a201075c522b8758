#include "bench/loadgen/webhook.hpp"

#include "protocols/http/request_parser.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace centralita::loadgen {

result<push_notice> parse_push(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return error{errc::parse_error, "the body is not a JSON object"};
  auto prid = j.find("prid");
  if (prid == j.end() || !prid->is_string() || prid->get<std::string>().empty())
    return error{errc::missing_header, "no \"prid\""};
  push_notice n;
  n.prid = prid->get<std::string>();
  if (auto p = j.find("payload"); p != j.end() && p->is_object()) {
    if (auto c = p->find("call_id"); c != p->end() && c->is_string())
      n.call_id = c->get<std::string>();
    if (auto k = p->find("kind"); k != p->end() && k->is_string())
      n.kind = k->get<std::string>();
  }
  return n;
}

result<std::unique_ptr<webhook_server>> webhook_server::start(const drivers::endpoint& local,
                                                              handler on_push) {
  std::unique_ptr<webhook_server> s(new webhook_server());
  s->on_push_ = std::move(on_push);
  s->listen_fd_ = ::socket(local.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->listen_fd_ < 0)
    return error{errc::io_error, std::string("webhook: socket: ") + std::strerror(errno)};
  int one = 1;
  ::setsockopt(s->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(s->listen_fd_, local.data(), local.size()) != 0 || ::listen(s->listen_fd_, 128) != 0)
    return error{errc::io_error, "webhook: cannot listen on " + local.to_string() + ": "
                                     + std::strerror(errno)};
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  s->local_ = drivers::endpoint(reinterpret_cast<sockaddr*>(&bound), len);
  s->wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->wake_fd_ < 0)
    return error{errc::io_error, std::string("webhook: eventfd: ") + std::strerror(errno)};
  auto* raw = s.get();
  s->thread_ = std::thread([raw] { raw->run(); });
  return s;
}

webhook_server::~webhook_server() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (listen_fd_ >= 0)
    ::close(listen_fd_);
  if (wake_fd_ >= 0)
    ::close(wake_fd_);
}

void webhook_server::run() {
  struct conn {
    int fd;
    std::unique_ptr<http::request_parser> parser;
    std::string out;
  };
  std::vector<conn> conns;
  std::vector<pollfd> fds;
  char buf[16384];
  for (;;) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (auto& c : conns)
      fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (fds[0].revents != 0)
      break;
    // Only the connections polled above have revents; those accepted now
    // are read on the next round.
    auto polled = conns.size();
    if (fds[1].revents & POLLIN) {
      for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
          break;
        conns.push_back({fd, std::make_unique<http::request_parser>(), {}});
      }
    }
    std::vector<bool> dead(conns.size(), false);
    for (std::size_t i = 0; i < polled; ++i) {
      auto& c = conns[i];
      auto re = fds[i + 2].revents;
      if (re & (POLLIN | POLLHUP | POLLERR)) {
        auto n = ::recv(c.fd, buf, sizeof(buf), 0);
        auto read_at = std::chrono::steady_clock::now();
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          dead[i] = true;
          continue;
        }
        std::string_view in(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
        while (!in.empty()) {
          auto r = c.parser->feed(in);
          in.remove_prefix(r.consumed);
          if (r.st == http::request_parser::state::error) {
            c.out += "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            dead[i] = true;  // after the write below
            break;
          }
          if (r.st != http::request_parser::state::complete)
            break;
          auto req = c.parser->take();
          ++stats_.requests;
          auto notice = parse_push(req.body);
          if (req.method != "POST" || !notice) {
            ++stats_.rejected;
            c.out += "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
            continue;
          }
          // docs/push.md: 2xx means delivered.
          c.out += "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
          ++stats_.pushes;
          notice->received = read_at;
          on_push_(std::move(notice.value()));
        }
      }
      if (!c.out.empty()) {
        auto n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n > 0)
          c.out.erase(0, static_cast<std::size_t>(n));
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
          dead[i] = true;
      }
    }
    for (std::size_t i = conns.size(); i-- > 0;) {
      if (dead[i]) {
        ::close(conns[i].fd);
        conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }
  for (auto& c : conns)
    ::close(c.fd);
}

} // namespace centralita::loadgen
