// The HTTP client against a tiny HTTP/1.1 server on loopback (port chosen by
// the kernel): answers, methods, bodies, headers, timeouts, refused
// connections, bad URLs, the in-flight cap, many concurrent requests and
// shutdown with requests pending. Every wait is bounded; none is a sleep.
#include "drivers/http/http_client.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

using namespace centralita::drivers;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

struct received_request {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (n == name)
        return v;
    return std::nullopt;
  }
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return std::string(s);
}

/// A response with Content-Length (the connection stays open for the next one).
std::string canned(std::string_view status_line, std::string_view headers, std::string_view body) {
  return std::string(status_line) + "\r\n" + std::string(headers) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

/// A single-threaded poll() loop: accepts connections, parses requests
/// (Content-Length bodies), records them and answers what the responder says;
/// nullopt means "never answer" (the connection then stays silent).
class test_server {
public:
  using responder = std::function<std::optional<std::string>(const received_request&)>;

  explicit test_server(responder r) : respond_(std::move(r)) {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (listen_ < 0 || ::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_, 512) != 0 ||
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("test_server: cannot listen");
    port_ = ntohs(a.sin_port);
    wake_ = ::eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { run(); });
  }

  ~test_server() {
    uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
    thread_.join();
    for (auto& [fd, c] : conns_)
      ::close(fd);
    ::close(listen_);
    ::close(wake_);
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  bool wait_received(std::size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> lock(mtx_);
    return cv_.wait_for(lock, limit, [&] { return got_.size() >= n; });
  }
  std::vector<received_request> received() {
    std::lock_guard<std::mutex> lock(mtx_);
    return got_;
  }
  std::size_t accepted() {
    std::lock_guard<std::mutex> lock(mtx_);
    return accepted_;
  }

private:
  struct conn {
    std::string in;
    bool silent = false;
  };

  void run() {
    std::vector<pollfd> fds;
    for (;;) {
      fds.clear();
      fds.push_back({wake_, POLLIN, 0});
      fds.push_back({listen_, POLLIN, 0});
      for (auto& [fd, c] : conns_)
        fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0)
        continue;
      if (fds[0].revents != 0)
        return;
      if (fds[1].revents & POLLIN) {
        int fd = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          conns_.emplace(fd, conn{});
          std::lock_guard<std::mutex> lock(mtx_);
          ++accepted_;
        }
      }
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents == 0)
          continue;
        char buf[16384];
        auto n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          ::close(fds[i].fd);
          conns_.erase(fds[i].fd);
          continue;
        }
        auto& c = conns_[fds[i].fd];
        if (c.silent)
          continue;
        c.in.append(buf, static_cast<std::size_t>(n));
        serve(fds[i].fd, c);
      }
    }
  }

  void serve(int fd, conn& c) {
    while (!c.silent) {
      auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos)
        return;
      received_request r;
      std::string_view head(c.in.data(), end);
      auto line_end = head.find("\r\n");
      auto first = head.substr(0, line_end);
      auto sp1 = first.find(' '), sp2 = first.rfind(' ');
      r.method = std::string(first.substr(0, sp1));
      r.target = std::string(first.substr(sp1 + 1, sp2 - sp1 - 1));
      std::size_t length = 0;
      while (line_end != std::string_view::npos) {
        head.remove_prefix(line_end + 2);
        line_end = head.find("\r\n");
        auto line = head.substr(0, line_end);
        auto colon = line.find(':');
        if (colon == std::string_view::npos)
          continue;
        auto name = lower(std::string(line.substr(0, colon)));
        auto value = trimmed(line.substr(colon + 1));
        if (name == "content-length")
          length = std::stoul(value);
        r.headers.emplace_back(std::move(name), std::move(value));
      }
      if (c.in.size() < end + 4 + length)
        return;  // the body is still on its way
      r.body = c.in.substr(end + 4, length);
      c.in.erase(0, end + 4 + length);
      auto answer = respond_(r);
      {
        std::lock_guard<std::mutex> lock(mtx_);
        got_.push_back(std::move(r));
      }
      cv_.notify_all();
      if (!answer) {
        c.silent = true;
        return;
      }
      for (std::size_t off = 0; off < answer->size();) {
        auto n = ::send(fd, answer->data() + off, answer->size() - off, MSG_NOSIGNAL);
        if (n <= 0)
          return;
        off += static_cast<std::size_t>(n);
      }
    }
  }

  responder respond_;
  int listen_ = -1;
  int wake_ = -1;
  uint16_t port_ = 0;
  std::map<int, conn> conns_;  // server thread only
  std::thread thread_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<received_request> got_;
  std::size_t accepted_ = 0;
};

/// Records every callback: how often, with what, on which thread, and when.
class collector {
public:
  struct slot {
    int calls = 0;
    http_response response;
    std::thread::id thread;
    steady::time_point at;
  };

  http_client::callback make(std::size_t id) {
    return [this, id](http_response r) {
      std::lock_guard<std::mutex> lock(mtx_);
      auto& s = slots_[id];
      ++s.calls;
      s.response = std::move(r);
      s.thread = std::this_thread::get_id();
      s.at = steady::now();
      ++total_;
      cv_.notify_all();
    };
  }

  bool wait_for(std::size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> lock(mtx_);
    return cv_.wait_for(lock, limit, [&] { return total_ >= n; });
  }
  slot get(std::size_t id) {
    std::lock_guard<std::mutex> lock(mtx_);
    return slots_[id];
  }
  std::size_t total() {
    std::lock_guard<std::mutex> lock(mtx_);
    return total_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<std::size_t, slot> slots_;
  std::size_t total_ = 0;
};

std::optional<std::string> find_header(const http_response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name)
      return v;
  return std::nullopt;
}

http_request get(std::string url, std::chrono::milliseconds timeout = 5000ms) {
  http_request r;
  r.method = "GET";
  r.url = std::move(url);
  r.timeout = timeout;
  return r;
}

std::optional<std::string> never_answer(const received_request&) { return std::nullopt; }

/// A loopback port nobody listens on: bound by us, then closed.
uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

} // namespace

TEST(http_client, get_returns_status_headers_and_body) {
  test_server server([](const received_request&) {
    return canned("HTTP/1.1 200 OK", "Content-Type: text/plain\r\nX-Spaced:   a b  \r\n", "hello");
  });
  collector c;
  http_client client;
  client.request(get(server.url("/path?q=1")), c.make(0));
  ASSERT_TRUE(c.wait_for(1));
  auto s = c.get(0);
  EXPECT_EQ(s.calls, 1);
  EXPECT_NE(s.thread, std::this_thread::get_id());  // on the client's thread
  EXPECT_EQ(s.response.error, "");
  EXPECT_EQ(s.response.status, 200);
  EXPECT_EQ(s.response.body, "hello");
  EXPECT_EQ(find_header(s.response, "Content-Type"), "text/plain");
  EXPECT_EQ(find_header(s.response, "X-Spaced"), "a b");
  EXPECT_EQ(find_header(s.response, "Content-Length"), "5");
  for (const auto& [n, v] : s.response.headers)
    EXPECT_EQ(n.find("HTTP/"), std::string::npos) << "status line among headers";
  auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "GET");
  EXPECT_EQ(got[0].target, "/path?q=1");
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST(http_client, post_sends_body_and_headers) {
  test_server server([](const received_request&) {
    return canned("HTTP/1.1 201 Created", "Location: /items/7\r\n", "");
  });
  collector c;
  http_client client;
  http_request r;
  r.method = "post";  // any case
  r.url = server.url("/items");
  r.body = R"({"name":"alice"})";
  r.headers = {{"Content-Type", "application/json"}, {"X-Token", "s3cret"}, {"X-Empty", ""}};
  client.request(std::move(r), c.make(0));
  ASSERT_TRUE(c.wait_for(1));
  auto s = c.get(0);
  EXPECT_EQ(s.response.error, "");
  EXPECT_EQ(s.response.status, 201);
  EXPECT_EQ(s.response.body, "");
  EXPECT_EQ(find_header(s.response, "Location"), "/items/7");
  auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/items");
  EXPECT_EQ(got[0].body, R"({"name":"alice"})");
  EXPECT_EQ(got[0].header("content-type"), "application/json");
  EXPECT_EQ(got[0].header("x-token"), "s3cret");
  EXPECT_EQ(got[0].header("x-empty"), "");
  EXPECT_EQ(got[0].header("content-length"), "16");
  EXPECT_EQ(got[0].header("expect"), std::nullopt);
}

TEST(http_client, every_method) {
  test_server server([](const received_request& r) {
    return canned("HTTP/1.1 200 OK", "", r.method == "HEAD" ? "" : r.method + ":" + r.body);
  });
  collector c;
  http_client client;
  const std::vector<std::pair<std::string, std::string>> cases = {
    {"PUT", "p"}, {"DELETE", ""}, {"DELETE", "d"}, {"PATCH", "x"}, {"PUT", ""}, {"GET", ""}};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    http_request r;
    r.method = cases[i].first;
    r.url = server.url("/m");
    r.body = cases[i].second;
    client.request(std::move(r), c.make(i));
    ASSERT_TRUE(c.wait_for(i + 1));  // one at a time: the server's order is ours
    auto s = c.get(i);
    EXPECT_EQ(s.response.error, "") << cases[i].first;
    EXPECT_EQ(s.response.status, 200);
    EXPECT_EQ(s.response.body, cases[i].first + ":" + cases[i].second);
    auto got = server.received();
    ASSERT_EQ(got.size(), i + 1);
    EXPECT_EQ(got[i].method, cases[i].first);
    EXPECT_EQ(got[i].body, cases[i].second);
  }
  // PUT and PATCH always say how long their body is; a DELETE without one does not.
  auto got = server.received();
  EXPECT_EQ(got[4].header("content-length"), "0");
  EXPECT_EQ(got[1].header("content-length"), std::nullopt);

  // HEAD: the answer's headers, no body (and the client does not wait for one).
  test_server head_server([](const received_request&) {
    return std::optional<std::string>("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
  });
  http_request h;
  h.method = "HEAD";
  h.url = head_server.url("/h");
  client.request(std::move(h), c.make(100));
  ASSERT_TRUE(c.wait_for(cases.size() + 1));
  auto s = c.get(100);
  EXPECT_EQ(s.response.error, "");
  EXPECT_EQ(s.response.status, 200);
  EXPECT_EQ(s.response.body, "");
  EXPECT_EQ(find_header(s.response, "Content-Length"), "42");
  EXPECT_EQ(head_server.received().at(0).method, "HEAD");
}

TEST(http_client, unsupported_method_is_an_error) {
  collector c;
  http_client client;
  http_request r;
  r.method = "BREW";
  r.url = "http://127.0.0.1:1/";
  client.request(std::move(r), c.make(0));
  ASSERT_TRUE(c.wait_for(1));
  EXPECT_EQ(c.get(0).response.error, "unsupported method: BREW");
  EXPECT_EQ(c.get(0).response.status, 0);
}

TEST(http_client, redirects_are_not_followed) {
  test_server server([](const received_request&) {
    return canned("HTTP/1.1 302 Found", "Location: /elsewhere\r\n", "");
  });
  collector c;
  http_client client;
  client.request(get(server.url("/here")), c.make(0));
  ASSERT_TRUE(c.wait_for(1));
  auto s = c.get(0);
  EXPECT_EQ(s.response.error, "");
  EXPECT_EQ(s.response.status, 302);
  EXPECT_EQ(find_header(s.response, "Location"), "/elsewhere");
  EXPECT_EQ(server.received().size(), 1u);
}

TEST(http_client, timeout_gives_error_and_no_status) {
  test_server server(never_answer);
  collector c;
  http_client client;
  auto start = steady::now();
  client.request(get(server.url("/slow"), 300ms), c.make(0));
  ASSERT_TRUE(c.wait_for(1));
  auto s = c.get(0);
  EXPECT_EQ(s.calls, 1);
  EXPECT_EQ(s.response.error, "timeout after 300 ms");
  EXPECT_EQ(s.response.status, 0);
  EXPECT_GE(s.at - start, 250ms);  // curl's clock rounds to the millisecond
  EXPECT_LT(s.at - start, 3s);
  EXPECT_EQ(server.received().size(), 1u);  // it did reach the server
}

// curl's CURLOPT_TIMEOUT_MS does not run while a transfer waits for a free
// connection to its host; the client's own deadline does.
TEST(http_client, timeout_covers_waiting_for_a_connection) {
  test_server server(never_answer);
  collector c;
  {
    http_client::options o;
    o.max_connections_per_host = 1;
    http_client client(o);
    client.request(get(server.url("/hog"), 60s), c.make(0));
    ASSERT_TRUE(server.wait_received(1));
    auto start = steady::now();
    client.request(get(server.url("/starved"), 300ms), c.make(1));
    ASSERT_TRUE(c.wait_for(1));
    auto s = c.get(1);
    EXPECT_EQ(s.response.error, "timeout after 300 ms");
    EXPECT_GE(s.at - start, 250ms);
    EXPECT_LT(s.at - start, 3s);
    EXPECT_EQ(server.received().size(), 1u);  // it never got a connection
  }
  EXPECT_EQ(c.get(0).response.error, "shutting down");
}

TEST(http_client, connection_refused) {
  collector c;
  http_client client;
  client.request(get("http://127.0.0.1:" + std::to_string(closed_port()) + "/"), c.make(0));
  ASSERT_TRUE(c.wait_for(1));
  auto s = c.get(0);
  EXPECT_EQ(s.calls, 1);
  EXPECT_EQ(s.response.error, "connection refused");
  EXPECT_EQ(s.response.status, 0);
}

TEST(http_client, bad_urls_and_protocols_are_errors) {
  collector c;
  http_client client;
  const std::vector<std::string> urls = {
    "not a url", "http://exa mple.com/", "", "ftp://127.0.0.1/file", "file:///etc/passwd",
    "gopher://127.0.0.1/", std::string("http://127.0.0.1/\0x", 19)};
  for (std::size_t i = 0; i < urls.size(); ++i)
    client.request(get(urls[i]), c.make(i));
  ASSERT_TRUE(c.wait_for(urls.size()));
  for (std::size_t i = 0; i < urls.size(); ++i) {
    auto s = c.get(i);
    EXPECT_EQ(s.calls, 1) << urls[i];
    EXPECT_NE(s.response.error, "") << urls[i];
    EXPECT_EQ(s.response.status, 0) << urls[i];
  }
  EXPECT_EQ(c.get(3).response.error, "unsupported protocol: ftp");
  EXPECT_EQ(c.get(0).response.error.rfind("bad url: ", 0), 0u) << c.get(0).response.error;
}

TEST(http_client, header_injection_is_refused) {
  test_server server([](const received_request&) { return canned("HTTP/1.1 200 OK", "", ""); });
  collector c;
  http_client client;
  const std::vector<std::pair<std::string, std::string>> bad = {
    {"X-A", "v\r\nX-Injected: 1"}, {"X-B\r\nX-Injected", "1"}, {"", "v"}, {"X C", "v"},
    {"X-D:", "v"}};
  for (std::size_t i = 0; i < bad.size(); ++i) {
    auto r = get(server.url("/"));
    r.headers = {bad[i]};
    client.request(std::move(r), c.make(i));
  }
  ASSERT_TRUE(c.wait_for(bad.size()));
  for (std::size_t i = 0; i < bad.size(); ++i)
    EXPECT_EQ(c.get(i).response.error.rfind("invalid header", 0), 0u) << i;
  EXPECT_TRUE(server.received().empty());
}

TEST(http_client, non_positive_timeout_is_an_error) {
  collector c;
  http_client client;
  client.request(get("http://127.0.0.1:1/", 0ms), c.make(0));
  ASSERT_TRUE(c.wait_for(1));
  EXPECT_EQ(c.get(0).response.error, "invalid timeout");
}

TEST(http_client, body_over_the_cap_keeps_the_status) {
  // Announced by Content-Length (refused up front) and chunked (caught while reading).
  const std::string big(100, 'x');
  test_server server([&](const received_request& r) -> std::optional<std::string> {
    if (r.target == "/chunked")
      return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" + big + "\r\n0\r\n\r\n";
    if (r.target == "/small")
      return canned("HTTP/1.1 200 OK", "", std::string(16, 'y'));
    return canned("HTTP/1.1 200 OK", "X-Seen: yes\r\n", big);
  });
  collector c;
  http_client::options o;
  o.max_body = 16;
  http_client client(o);
  client.request(get(server.url("/sized")), c.make(0));
  client.request(get(server.url("/chunked")), c.make(1));
  client.request(get(server.url("/small")), c.make(2));
  ASSERT_TRUE(c.wait_for(3));
  for (std::size_t i : {0, 1}) {
    auto s = c.get(i);
    EXPECT_EQ(s.response.error, "response body too large") << i;
    EXPECT_EQ(s.response.status, 200) << i;
    EXPECT_EQ(s.response.body, "") << i;
  }
  EXPECT_EQ(find_header(c.get(0).response, "X-Seen"), "yes");
  EXPECT_EQ(c.get(2).response.error, "");  // exactly the cap is fine
  EXPECT_EQ(c.get(2).response.body, std::string(16, 'y'));
}

TEST(http_client, over_max_in_flight_is_refused) {
  test_server server(never_answer);
  collector c;
  {
    http_client::options o;
    o.max_in_flight = 2;
    http_client client(o);
    client.request(get(server.url("/1")), c.make(1));
    client.request(get(server.url("/2")), c.make(2));
    client.request(get(server.url("/3")), c.make(3));
    ASSERT_TRUE(c.wait_for(1));
    auto s = c.get(3);
    EXPECT_EQ(s.calls, 1);
    EXPECT_EQ(s.response.error, "too many requests in flight");
    EXPECT_NE(s.thread, std::this_thread::get_id());
    EXPECT_EQ(client.in_flight(), 2u);
    EXPECT_EQ(c.total(), 1u);
    ASSERT_TRUE(server.wait_received(2));
  }
  // The two accepted ones were still waiting for their answer.
  EXPECT_EQ(c.total(), 3u);
  EXPECT_EQ(c.get(1).response.error, "shutting down");
  EXPECT_EQ(c.get(2).response.error, "shutting down");
}

TEST(http_client, many_concurrent_requests_complete_exactly_once_over_few_connections) {
  test_server server([](const received_request& r) {
    return canned("HTTP/1.1 200 OK", "", "you asked for " + r.target);
  });
  collector c;
  constexpr std::size_t n = 200;
  {
    http_client::options o;
    o.max_connections_per_host = 8;
    http_client client(o);
    // From several threads at once, as workers would.
    std::vector<std::thread> senders;
    for (std::size_t t = 0; t < 4; ++t)
      senders.emplace_back([&, t] {
        for (std::size_t i = t; i < n; i += 4)
          client.request(get(server.url("/r/" + std::to_string(i))), c.make(i));
      });
    for (auto& s : senders)
      s.join();
    ASSERT_TRUE(c.wait_for(n, 10s));
    EXPECT_EQ(client.in_flight(), 0u);
  }
  EXPECT_EQ(c.total(), n);  // nothing more arrived at shutdown
  for (std::size_t i = 0; i < n; ++i) {
    auto s = c.get(i);
    EXPECT_EQ(s.calls, 1) << i;
    EXPECT_EQ(s.response.error, "") << i;
    EXPECT_EQ(s.response.body, "you asked for /r/" + std::to_string(i)) << i;
  }
  EXPECT_EQ(server.received().size(), n);
  EXPECT_LE(server.accepted(), 8u);  // keep-alive connections were reused
}

TEST(http_client, sequential_requests_reuse_the_connection) {
  test_server server([](const received_request&) {
    return canned("HTTP/1.1 204 No Content", "", "");
  });
  collector c;
  http_client client;
  for (std::size_t i = 0; i < 3; ++i) {
    client.request(get(server.url("/")), c.make(i));
    ASSERT_TRUE(c.wait_for(i + 1));
    EXPECT_EQ(c.get(i).response.status, 204);
  }
  EXPECT_EQ(server.accepted(), 1u);
}

TEST(http_client, a_callback_may_queue_the_next_request) {
  test_server server([](const received_request& r) {
    return canned("HTTP/1.1 200 OK", "", r.target);
  });
  collector c;
  http_client client;
  auto last = c.make(1);
  client.request(get(server.url("/first")), [&](http_response r) {
    EXPECT_EQ(r.body, "/first");
    client.request(get(server.url("/second")), last);
  });
  ASSERT_TRUE(c.wait_for(1));
  EXPECT_EQ(c.get(1).response.body, "/second");
}

TEST(http_client, destructor_answers_pending_requests_with_shutting_down) {
  test_server server(never_answer);
  collector c;
  {
    http_client client;
    for (std::size_t i = 0; i < 5; ++i)
      client.request(get(server.url("/" + std::to_string(i)), 60s), c.make(i));
    ASSERT_TRUE(server.wait_received(5));  // running, not merely queued
    EXPECT_EQ(client.in_flight(), 5u);
    EXPECT_EQ(c.total(), 0u);
  }
  EXPECT_EQ(c.total(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(c.get(i).calls, 1);
    EXPECT_EQ(c.get(i).response.error, "shutting down");
    EXPECT_EQ(c.get(i).response.status, 0);
  }
}

TEST(http_client, destructor_answers_requests_still_queued) {
  collector c;
  {
    http_client client;
    for (std::size_t i = 0; i < 50; ++i)
      client.request(get("http://127.0.0.1:1/", 60s), c.make(i));
  }  // some may have started (and been refused), the rest are answered at shutdown
  EXPECT_EQ(c.total(), 50u);
  for (std::size_t i = 0; i < 50; ++i)
    EXPECT_EQ(c.get(i).calls, 1);
}

TEST(http_client, a_throwing_callback_does_not_stop_the_client) {
  test_server server([](const received_request&) { return canned("HTTP/1.1 200 OK", "", "ok"); });
  collector c;
  http_client client;
  client.request(get(server.url("/")), [](http_response) { throw std::runtime_error("boom"); });
  client.request(get(server.url("/")), c.make(0));
  ASSERT_TRUE(c.wait_for(1));
  EXPECT_EQ(c.get(0).response.body, "ok");
}
