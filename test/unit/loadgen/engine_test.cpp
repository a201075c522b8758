// The engine on a real io_uring over loopback, against a small responder on
// a plain UDP socket: pacing bounds, Timer E retransmissions, timeouts,
// malformed and stray answers counted (never fatal), the concurrency cap,
// ICMP port unreachable.
#include "bench/loadgen/engine.hpp"

#include "drivers/uring/reactor.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

using namespace centralita;
using namespace centralita::loadgen;
using namespace std::chrono_literals;

namespace {

/// The header line `name: ...` of a request (first one), with its CRLF.
std::string line_of(const std::string& req, const std::string& name) {
  auto at = req.find("\r\n" + name + ":");
  if (at == std::string::npos)
    return {};
  auto end = req.find("\r\n", at + 2);
  return req.substr(at + 2, end - at);
}

std::string response(const std::string& req, int status, const std::string& via_override = {}) {
  std::string out = "SIP/2.0 " + std::to_string(status) + " Whatever\r\n";
  out += via_override.empty() ? line_of(req, "Via") : via_override;
  out += line_of(req, "From") + line_of(req, "To") + line_of(req, "Call-ID") + line_of(req, "CSeq");
  out += "Content-Length: 0\r\n\r\n";
  return out;
}

/// A UDP peer on 127.0.0.1 that hands every datagram to `on_request`.
class responder {
public:
  using handler = std::function<void(responder&, const std::string&, const sockaddr_in&)>;

  explicit responder(handler h) : handler_(std::move(h)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    timeval tv{0, 20000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    thread_ = std::thread([this] { loop(); });
  }
  ~responder() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  void reply(const std::string& bytes, const sockaddr_in& to) {
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  }
  std::atomic<uint64_t> received{0};

private:
  void loop() {
    char buf[70000];
    while (!stop_) {
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      auto n = ::recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0)
        continue;
      ++received;
      handler_(*this, std::string(buf, static_cast<std::size_t>(n)), from);
    }
  }
  handler handler_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class engine_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto f = drivers::probe_uring();
    if (!f.available) {
      std::fprintf(stderr, "skipping: %s\n", f.why_unavailable.c_str());
      std::exit(77);  // ctest SKIP_RETURN_CODE
    }
  }

  engine_config config(uint16_t port) {
    engine_config c;
    c.target = *drivers::endpoint::from("127.0.0.1", port);
    c.target_name = "sip:127.0.0.1:" + std::to_string(port);
    c.local = *drivers::endpoint::from("127.0.0.1", 0);
    c.sockets = 2;
    c.pace = pacer::fixed(2000);
    c.rate_offered = 2000;
    c.count = 50;
    return c;
  }

  run_report run(engine_config c, engine_extras* extras = nullptr) {
    scen_ = make_options_scenario({c.target_name, "127.0.0.1"});
    auto e = engine::create(c, *scen_);
    EXPECT_TRUE(e) << (e ? "" : e.err().reason);
    if (!e)
      return {};
    e.value()->start();
    bool done = e.value()->wait(20s);
    EXPECT_TRUE(done) << "the run did not end";
    if (!done) {
      e.value()->abort();
      e.value()->wait(5s);
    }
    if (extras)
      *extras = e.value()->extras();
    return e.value()->report();
  }

  std::unique_ptr<scenario> scen_;
};

} // namespace

TEST_F(engine_test, every_attempt_answered) {
  responder peer([](responder& r, const std::string& req, const sockaddr_in& from) {
    r.reply(response(req, 200), from);
  });
  engine_extras x;
  auto rep = run(config(peer.port()), &x);
  EXPECT_EQ(rep.scenario, "options");
  EXPECT_EQ(rep.attempted, 50u);
  EXPECT_EQ(rep.succeeded, 50u);
  EXPECT_EQ(rep.failed, 0u);
  EXPECT_EQ(rep.retransmissions, 0u);
  EXPECT_EQ(rep.malformed, 0u);
  EXPECT_EQ(rep.latency.at("response").count(), 50u);
  EXPECT_FALSE(rep.timeline.empty());
  uint64_t attempted = 0;
  for (auto& s : rep.timeline)
    attempted += s.attempted;
  EXPECT_EQ(attempted, 50u);  // the timeline adds up
  EXPECT_GT(rep.elapsed_s, 0.0);
  EXPECT_GT(rep.rate_achieved, 0.0);
  EXPECT_EQ(x.responses, 50u);
  EXPECT_EQ(x.stray, 0u);
}

TEST_F(engine_test, failures_by_code) {
  std::atomic<int> n{0};
  responder peer([&](responder& r, const std::string& req, const sockaddr_in& from) {
    r.reply(response(req, 100), from);  // provisional first: not final
    r.reply(response(req, n++ % 2 ? 404 : 200), from);
  });
  auto c = config(peer.port());
  c.count = 20;
  auto rep = run(c);
  EXPECT_EQ(rep.succeeded, 10u);
  EXPECT_EQ(rep.failed, 10u);
  EXPECT_EQ(rep.failures_by_cause["404"], 10u);
}

TEST_F(engine_test, timer_e_retransmits_until_answered) {
  std::mutex mtx;
  std::map<std::string, int> seen;
  responder peer([&](responder& r, const std::string& req, const sockaddr_in& from) {
    std::lock_guard<std::mutex> lock(mtx);
    if (++seen[line_of(req, "Via")] < 3)
      return;  // the first two copies are "lost"
    r.reply(response(req, 200), from);
  });
  auto c = config(peer.port());
  c.count = 10;
  c.t1 = 20ms;  // RFC 3261 §17.1.2.2: E at T1, 2·T1, ...
  c.t2 = 80ms;
  auto rep = run(c);
  EXPECT_EQ(rep.succeeded, 10u);
  EXPECT_EQ(rep.retransmissions, 20u);
  std::lock_guard<std::mutex> lock(mtx);
  EXPECT_EQ(seen.size(), 10u);  // one branch per transaction, kept by retransmissions
}

TEST_F(engine_test, proceeding_retransmits_at_t2) {
  // RFC 3261 §17.1.2.2: in Proceeding, Timer E is reset to T2 when it fires.
  std::mutex mtx;
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> copies;
  responder peer([&](responder& r, const std::string& req, const sockaddr_in& from) {
    std::lock_guard<std::mutex> lock(mtx);
    auto& c = copies[line_of(req, "Via")];
    c.push_back(std::chrono::steady_clock::now());
    if (c.size() == 1)
      r.reply(response(req, 100), from);
    else if (c.size() == 3)
      r.reply(response(req, 200), from);
  });
  auto c = config(peer.port());
  c.count = 4;
  c.t1 = 10ms;
  c.t2 = 60ms;
  auto rep = run(c);
  EXPECT_EQ(rep.succeeded, 4u);
  EXPECT_EQ(rep.retransmissions, 8u);
  std::lock_guard<std::mutex> lock(mtx);
  for (auto& [via, times] : copies) {
    ASSERT_EQ(times.size(), 3u) << via;
    // The Timer E armed before the 100 fires as set (T1); once it fires in
    // Proceeding it is reset to T2, not 2·T1.
    EXPECT_GE(times[2] - times[1], 50ms) << "Proceeding: Timer E is T2";
  }
}

TEST_F(engine_test, timeout_without_retransmissions) {
  responder peer([](responder&, const std::string&, const sockaddr_in&) {});
  auto c = config(peer.port());
  c.count = 5;
  c.retransmit = false;
  c.timeout = 150ms;
  auto rep = run(c);
  EXPECT_EQ(rep.failed, 5u);
  EXPECT_EQ(rep.failures_by_cause["timeout"], 5u);
  EXPECT_EQ(rep.retransmissions, 0u);
  EXPECT_EQ(peer.received.load(), 5u);
}

TEST_F(engine_test, malformed_and_stray_answers_are_counted_not_fatal) {
  responder peer([](responder& r, const std::string& req, const sockaddr_in& from) {
    r.reply("complete garbage \x01\x02", from);
    r.reply("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x\r\n\r\n", from);  // no branch
    r.reply(response(req, 200, "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-not-ours\r\n"), from);
    auto wrong_method = response(req, 200);
    auto at = wrong_method.find(" OPTIONS\r\n");
    wrong_method.replace(at, 9, " INVITE\r\n");
    r.reply(wrong_method, from);  // RFC 3261 §17.1.3: the CSeq method must match too
  });
  auto c = config(peer.port());
  c.count = 10;
  c.retransmit = false;
  c.timeout = 200ms;
  engine_extras x;
  auto rep = run(c, &x);
  EXPECT_EQ(rep.failures_by_cause["timeout"], 10u);
  EXPECT_EQ(rep.malformed, 20u);
  EXPECT_EQ(x.stray, 20u);
  EXPECT_EQ(x.responses, 40u);
}

TEST_F(engine_test, concurrency_cap) {
  // The peer answers in batches every 30 ms; no batch can hold more than
  // the cap of distinct requests.
  std::mutex mtx;
  std::vector<std::pair<std::string, sockaddr_in>> held;
  std::size_t largest = 0;
  std::atomic<bool> stop{false};
  responder peer([&](responder&, const std::string& req, const sockaddr_in& from) {
    std::lock_guard<std::mutex> lock(mtx);
    held.emplace_back(req, from);
  });
  std::thread flusher([&] {
    while (!stop) {
      std::this_thread::sleep_for(30ms);
      std::lock_guard<std::mutex> lock(mtx);
      largest = std::max(largest, held.size());
      for (auto& [req, from] : held)
        peer.reply(response(req, 200), from);
      held.clear();
    }
  });
  auto c = config(peer.port());
  c.count = 12;
  c.max_inflight = 3;
  c.pace = pacer::fixed(10000);
  auto rep = run(c);
  stop = true;
  flusher.join();
  EXPECT_EQ(rep.succeeded, 12u);
  EXPECT_LE(largest, 3u);
  EXPECT_GE(largest, 1u);
}

TEST_F(engine_test, duration_bound) {
  responder peer([](responder& r, const std::string& req, const sockaddr_in& from) {
    r.reply(response(req, 200), from);
  });
  auto c = config(peer.port());
  c.count = 0;
  c.duration = 300ms;
  c.pace = pacer::fixed(100);
  auto rep = run(c);
  EXPECT_GE(rep.attempted, 20u);
  EXPECT_LE(rep.attempted, 40u);
  EXPECT_EQ(rep.succeeded, rep.attempted);
}

TEST_F(engine_test, port_unreachable_is_a_transport_failure) {
  uint16_t closed;
  {
    responder gone([](responder&, const std::string&, const sockaddr_in&) {});
    closed = gone.port();
  }  // closed now: the kernel answers ICMP port unreachable
  auto c = config(closed);
  c.count = 3;
  c.pace = pacer::fixed(10);
  c.timeout = 10s;
  engine_extras x;
  auto rep = run(c, &x);
  EXPECT_EQ(rep.failed, 3u);
  EXPECT_EQ(rep.failures_by_cause["transport"], 3u);
  EXPECT_GE(x.unreachable, 1u);
  EXPECT_EQ(x.responses, 0u);
  EXPECT_LT(rep.elapsed_s, 5.0);  // not by Timer F
}
