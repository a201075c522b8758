// The transports on a real io_uring over loopback: UDP datagrams, TCP framing
// (split, pipelined, keep-alive, oversized), idle timeout, cross-thread sends.
#include "drivers/transport/transport_hub.hpp"

#include "test/unit/drivers/reactor_thread.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

using namespace centralita::drivers;
using namespace std::chrono_literals;

namespace {

struct recorded {
  transport_kind transport;
  endpoint source;
  connection_id conn;
  std::string bytes;
  bool oversized = false;
};

/// Records every message; optionally echoes "ECHO <n>" back through the hub.
class test_sink final : public message_sink {
public:
  transport_hub* hub = nullptr;
  bool echo = true;

  void on_message(const inbound_message& m) override {
    record(m, false);
    if (echo && hub != nullptr) {
      outbound_message out;
      out.transport = m.transport;
      out.destination = m.source;
      out.local = m.local;
      out.conn = m.conn;
      out.bytes = "ECHO " + std::to_string(m.bytes.size()) + "\r\n";
      hub->send(std::move(out));
    }
  }
  void on_oversized(const inbound_message& m) override {
    record(m, true);
    outbound_message out;
    out.transport = m.transport;
    out.destination = m.source;
    out.conn = m.conn;
    out.bytes = "TOO LARGE\r\n";
    out.close_after = true;
    hub->send(std::move(out));
  }

  void on_unreachable(transport_kind, const endpoint& destination, int err) override {
    std::lock_guard<std::mutex> lock(mtx_);
    unreachable_.push_back({destination, err});
    cv_.notify_all();
  }
  bool wait_unreachable(std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> lock(mtx_);
    return cv_.wait_for(lock, limit, [&] { return !unreachable_.empty(); });
  }
  std::vector<std::pair<endpoint, int>> unreachable() {
    std::lock_guard<std::mutex> lock(mtx_);
    return unreachable_;
  }

  bool wait_for(std::size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock<std::mutex> lock(mtx_);
    return cv_.wait_for(lock, limit, [&] { return got_.size() >= n; });
  }
  std::vector<recorded> got() {
    std::lock_guard<std::mutex> lock(mtx_);
    return got_;
  }

private:
  void record(const inbound_message& m, bool oversized) {
    std::lock_guard<std::mutex> lock(mtx_);
    got_.push_back({m.transport, m.source, m.conn, std::string(m.bytes), oversized});
    cv_.notify_all();
  }
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<recorded> got_;
  std::vector<std::pair<endpoint, int>> unreachable_;
};

std::string sip(std::string_view body = "") {
  return "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: a\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

int tcp_connect(const endpoint& to) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd, to.data(), to.size()) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int eintr_count = 0;

// Reads until `want` bytes arrived, EOF, or the 5 s receive timeout.
std::string read_some(int fd, std::size_t want) {
  std::string out;
  char buf[4096];
  while (out.size() < want) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) {
      ++eintr_count;
      continue;
    }
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

class transport_hub_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto f = probe_uring();
    if (!f.available) {
      std::fprintf(stderr, "skipping: %s\n", f.why_unavailable.c_str());
      std::exit(77);  // ctest SKIP_RETURN_CODE
    }
    auto r = reactor::create(0, {});
    ASSERT_TRUE(r) << r.err().reason;
    reactor_ = std::move(r.value());
    opts_.max_message_size = 2000;
    opts_.tcp_idle_timeout = 300ms;
    hub_ = std::make_unique<transport_hub>(std::vector<reactor*>{reactor_.get()}, opts_, sink_);
    sink_.hub = hub_.get();
    auto any = endpoint::from("127.0.0.1", 0);
    auto u = hub_->listen(transport_kind::udp, *any);
    ASSERT_TRUE(u) << u.err().reason;
    udp_ = *u;
    auto t = hub_->listen(transport_kind::tcp, *any);
    ASSERT_TRUE(t) << t.err().reason;
    tcp_ = *t;
    hub_->start();
    thread_ = std::make_unique<centralita::test::reactor_thread>(*reactor_);
  }
  void TearDown() override {
    thread_.reset();
    hub_.reset();
    reactor_.reset();
  }

  test_sink sink_;
  transport_options opts_;
  std::unique_ptr<reactor> reactor_;
  std::unique_ptr<transport_hub> hub_;
  std::unique_ptr<centralita::test::reactor_thread> thread_;
  endpoint udp_, tcp_;
};

} // namespace

TEST_F(transport_hub_test, udp_datagram_in_and_reply_out) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  auto msg = sip();
  ASSERT_EQ(::sendto(fd, msg.data(), msg.size(), 0, udp_.data(), udp_.size()),
            static_cast<ssize_t>(msg.size()));
  ASSERT_TRUE(sink_.wait_for(1));
  auto got = sink_.got();
  EXPECT_EQ(got[0].transport, transport_kind::udp);
  EXPECT_EQ(got[0].bytes, msg);
  char buf[256];
  auto n = ::recv(fd, buf, sizeof(buf), 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "ECHO " + std::to_string(msg.size()) + "\r\n");
  ::close(fd);
}

TEST_F(transport_hub_test, udp_many_datagrams_reuse_the_buffer_ring) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sink_.echo = false;
  auto msg = sip();
  for (int i = 0; i < 1000; ++i) {
    ::sendto(fd, msg.data(), msg.size(), 0, udp_.data(), udp_.size());
    if (i % 50 == 49) {  // stay within the socket buffers: pace by what arrived
      ASSERT_TRUE(sink_.wait_for(static_cast<std::size_t>(i + 1))) << i;
    }
  }
  ASSERT_TRUE(sink_.wait_for(1000));
  ::close(fd);
}

TEST_F(transport_hub_test, tcp_split_into_single_bytes_and_pipelined) {
  int fd = tcp_connect(tcp_);
  ASSERT_GE(fd, 0);
  auto msg = sip("hello");
  for (char c : msg)
    ASSERT_EQ(::send(fd, &c, 1, 0), 1);
  auto three = msg + msg + msg;
  ASSERT_EQ(::send(fd, three.data(), three.size(), 0), static_cast<ssize_t>(three.size()));
  ASSERT_TRUE(sink_.wait_for(4));
  for (auto& r : sink_.got()) {
    EXPECT_EQ(r.bytes, msg);
    EXPECT_EQ(r.transport, transport_kind::tcp);
  }
  // Replies come back on the same connection (RFC 3261 §18.2.2).
  std::string echo = "ECHO " + std::to_string(msg.size()) + "\r\n";
  EXPECT_EQ(read_some(fd, echo.size() * 4), echo + echo + echo + echo);
  ::close(fd);
}

TEST_F(transport_hub_test, tcp_keepalive_gets_a_single_crlf) {
  int fd = tcp_connect(tcp_);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, "\r\n\r\n", 4, 0), 4);
  EXPECT_EQ(read_some(fd, 2), "\r\n");  // RFC 5626 §3.5.1
  ::close(fd);
}

TEST_F(transport_hub_test, tcp_oversized_message_answered_then_closed) {
  int fd = tcp_connect(tcp_);
  ASSERT_GE(fd, 0);
  auto big = sip(std::string(5000, 'x'));
  ::send(fd, big.data(), big.size(), MSG_NOSIGNAL);
  EXPECT_EQ(read_some(fd, 1 << 16), "TOO LARGE\r\n");  // then EOF
  ASSERT_TRUE(sink_.wait_for(1));
  EXPECT_TRUE(sink_.got()[0].oversized);
  EXPECT_EQ(hub_->counters().tcp_oversized.load(), 1u);
  ::close(fd);
}

TEST_F(transport_hub_test, tcp_garbage_closes_the_connection) {
  int fd = tcp_connect(tcp_);
  ASSERT_GE(fd, 0);
  std::string junk = "\x01\x02garbage that is no SIP\r\nContent-Length: -5\r\n\r\n";
  ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
  EXPECT_EQ(read_some(fd, 1), "");  // EOF
  ::close(fd);
  // and the listener still serves new connections
  int fd2 = tcp_connect(tcp_);
  ASSERT_GE(fd2, 0);
  auto msg = sip();
  ::send(fd2, msg.data(), msg.size(), 0);
  EXPECT_FALSE(read_some(fd2, 8).empty());
  ::close(fd2);
}

TEST_F(transport_hub_test, tcp_idle_connection_is_closed) {
  int fd = tcp_connect(tcp_);
  ASSERT_GE(fd, 0);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(read_some(fd, 1), "");  // the server closes after 300 ms idle
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  auto& c = hub_->counters();
  EXPECT_EQ(c.tcp_idle_closed.load(), 1u) << "accepted " << c.tcp_accepted.load() << " closed "
                                          << c.tcp_closed.load() << " eintr " << eintr_count;
  ::close(fd);
}

TEST_F(transport_hub_test, send_from_a_foreign_thread_reaches_the_connection) {
  sink_.echo = false;
  int fd = tcp_connect(tcp_);
  ASSERT_GE(fd, 0);
  auto msg = sip();
  ::send(fd, msg.data(), msg.size(), 0);
  ASSERT_TRUE(sink_.wait_for(1));
  auto conn = sink_.got()[0].conn;
  outbound_message out;
  out.transport = transport_kind::tcp;
  out.conn = conn;
  out.bytes = "FROM ANOTHER THREAD\r\n";
  hub_->send(std::move(out));  // this test thread is not the reactor's
  EXPECT_EQ(read_some(fd, 21), "FROM ANOTHER THREAD\r\n");
  ::close(fd);
}

TEST_F(transport_hub_test, response_to_a_closed_connection_opens_a_new_one) {
  // A peer listening on its own port (as a UA's Via sent-by would say).
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  auto any = endpoint::from("127.0.0.1", 0);
  ASSERT_EQ(::bind(lfd, any->data(), any->size()), 0);
  ASSERT_EQ(::listen(lfd, 4), 0);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&ss), &len);
  endpoint peer(reinterpret_cast<sockaddr*>(&ss), len);
  outbound_message out;
  out.transport = transport_kind::tcp;
  out.conn = connection_id::make(0, 5, 77);  // stale
  out.destination = peer;
  out.bytes = "HELLO\r\n";
  hub_->send(std::move(out));
  timeval tv{5, 0};
  ::setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  int cfd = ::accept(lfd, nullptr, nullptr);
  ASSERT_GE(cfd, 0);
  ::setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  EXPECT_EQ(read_some(cfd, 7), "HELLO\r\n");
  EXPECT_EQ(hub_->counters().tcp_connected.load(), 1u);
  ::close(cfd);
  ::close(lfd);
}

TEST_F(transport_hub_test, tcp_connect_refused_reports_the_error) {
  // A port nobody listens on: bind one, note it, close it.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  auto any = endpoint::from("127.0.0.1", 0);
  ASSERT_EQ(::bind(probe, any->data(), any->size()), 0);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&ss), &len);
  endpoint dead(reinterpret_cast<sockaddr*>(&ss), len);
  ::close(probe);
  std::mutex m;
  std::condition_variable cv;
  int reported = 0;
  outbound_message out;
  out.transport = transport_kind::tcp;
  out.destination = dead;
  out.bytes = "INVITE\r\n";
  out.on_error = [&](int err) {
    std::lock_guard<std::mutex> lock(m);
    reported = err;
    cv.notify_all();
  };
  hub_->send(std::move(out));
  std::unique_lock<std::mutex> lock(m);
  ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return reported != 0; }));
  EXPECT_EQ(reported, ECONNREFUSED);  // RFC 3261 §8.1.3.1: the transaction answers 503
  EXPECT_EQ(hub_->counters().tcp_connect_errors.load(), 1u);
}

TEST_F(transport_hub_test, udp_icmp_port_unreachable_is_reported) {
  int probe = ::socket(AF_INET, SOCK_DGRAM, 0);
  auto any = endpoint::from("127.0.0.1", 0);
  ASSERT_EQ(::bind(probe, any->data(), any->size()), 0);
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&ss), &len);
  endpoint dead(reinterpret_cast<sockaddr*>(&ss), len);
  ::close(probe);  // nobody listens there now: the kernel answers ICMP port unreachable
  outbound_message out;
  out.transport = transport_kind::udp;
  out.destination = dead;
  out.bytes = "OPTIONS sip:x SIP/2.0\r\n\r\n";
  hub_->send(std::move(out));
  ASSERT_TRUE(sink_.wait_unreachable());
  auto u = sink_.unreachable();
  EXPECT_EQ(u[0].first, dead);
  EXPECT_EQ(u[0].second, ECONNREFUSED);
  // and the socket still receives
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  auto msg = sip();
  ::sendto(fd, msg.data(), msg.size(), 0, udp_.data(), udp_.size());
  EXPECT_TRUE(sink_.wait_for(1));
  ::close(fd);
}
