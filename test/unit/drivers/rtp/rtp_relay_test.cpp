// The RTP relay on a real io_uring over loopback: forwarding both ways,
// RTCP on its own port and multiplexed, symmetric-RTP latching, taps,
// originated packets, inactivity, and every ending giving its ports back.
#include "drivers/rtp/rtp_relay.hpp"

#include "test/unit/drivers/free_ports.hpp"
#include "test/unit/drivers/reactor_thread.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <set>

using namespace centralita::drivers;
using namespace std::chrono_literals;

namespace {

class recording_events final : public rtp_relay_events {
public:
  void on_inactive(rtp_side_id side, uint64_t cookie) override {
    std::lock_guard lock(mu_);
    inactive_.push_back({side, cookie});
    cv_.notify_all();
  }
  void on_released(rtp_side_id side, uint64_t cookie) override {
    std::lock_guard lock(mu_);
    released_.push_back({side, cookie});
    cv_.notify_all();
  }
  bool wait_released(std::size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return released_.size() >= n; });
  }
  bool wait_inactive(std::size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return inactive_.size() >= n; });
  }
  std::vector<std::pair<rtp_side_id, uint64_t>> inactive() {
    std::lock_guard lock(mu_);
    return inactive_;
  }
  std::vector<std::pair<rtp_side_id, uint64_t>> released() {
    std::lock_guard lock(mu_);
    return released_;
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<rtp_side_id, uint64_t>> inactive_, released_;
};

/// A party's UDP socket on loopback with a bounded receive.
struct party {
  int fd = -1;
  endpoint local;

  party() {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto any = endpoint::from("127.0.0.1", 0);
    ::bind(fd, any->data(), any->size());
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    local = endpoint(reinterpret_cast<sockaddr*>(&ss), len);
  }
  ~party() { ::close(fd); }
  void send_to(const endpoint& to, const std::vector<uint8_t>& bytes) const {
    ::sendto(fd, bytes.data(), bytes.size(), 0, to.data(), to.size());
  }
  /// Receives one datagram (3 s bound); empty on timeout. poll() with a
  /// deadline: a signal (EINTR) is not a timeout.
  std::vector<uint8_t> receive(endpoint* from = nullptr) const {
    if (!readable(3000ms))
      return {};
    uint8_t buf[2048];
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    auto n = ::recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), &len);
    if (n <= 0)
      return {};
    if (from != nullptr)
      *from = endpoint(reinterpret_cast<sockaddr*>(&ss), len);
    return {buf, buf + n};
  }
  /// True when nothing arrives within `limit` (and the whole of it passed).
  bool silent(std::chrono::milliseconds limit) const { return !readable(limit); }

private:
  bool readable(std::chrono::milliseconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() < 0)
        return false;
      pollfd p{fd, POLLIN, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc > 0)
        return true;
      if (rc == 0)
        return false;
      if (errno != EINTR)
        return false;
    }
  }
};

std::vector<uint8_t> rtp(uint16_t seq, uint32_t ssrc = 0x11223344, uint8_t pt = 8) {
  std::vector<uint8_t> p(12 + 160, 0xd5);
  p[0] = 0x80;
  p[1] = pt;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  uint32_t ts = seq * 160u;
  for (int i = 0; i < 4; ++i) {
    p[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
    p[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  }
  return p;
}

std::vector<uint8_t> rtcp_rr(uint32_t ssrc) {
  // An empty receiver report (RFC 3550 §6.4.2): V=2, RC=0, PT=201, length 1.
  return {0x80, 201, 0, 1, static_cast<uint8_t>(ssrc >> 24), static_cast<uint8_t>(ssrc >> 16),
          static_cast<uint8_t>(ssrc >> 8), static_cast<uint8_t>(ssrc)};
}

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr)
      ++n;
    ::closedir(d);
  }
  return n;
}

class rtp_relay_test : public ::testing::Test {
protected:
  void SetUp() override {
    auto f = probe_uring();
    if (!f.available) {
      std::fprintf(stderr, "skipping: %s\n", f.why_unavailable.c_str());
      std::exit(77);
    }
    make(centralita::test::free_udp_block(80), 40);
  }
  void make(uint16_t port_min, uint16_t pairs) {
    thread_.reset();
    relay_.reset();
    reactor_.reset();
    auto r = reactor::create(0, {});
    ASSERT_TRUE(r) << r.err().reason;
    reactor_ = std::move(r.value());
    rtp_relay_options o;
    o.address = *endpoint::from("127.0.0.1", 0);
    o.port_min = port_min;
    o.port_max = static_cast<uint16_t>(port_min + 2 * pairs - 1);
    o.buffers_per_reactor = 256;
    o.sweep_interval = 20ms;
    relay_ = std::make_unique<rtp_relay>(std::vector<reactor*>{reactor_.get()}, o, events_);
    auto ok = relay_->start();
    ASSERT_TRUE(ok) << ok.err().reason;
    thread_ = std::make_unique<centralita::test::reactor_thread>(*reactor_);
  }
  void TearDown() override {
    thread_.reset();
    relay_.reset();
    reactor_.reset();
  }
  rtp_relay::opened open(uint64_t cookie) {
    auto o = relay_->open_side(0, cookie);
    if (!o) {
      ADD_FAILURE() << o.err().reason;
      return {};
    }
    return *o;
  }
  /// Waits until the reactor has applied everything posted so far.
  void settle() {
    std::promise<void> done;
    relay_->query(rtp_side_id{}, [&](const rtp_side_stats*) {});
    reactor_->post([&] { done.set_value(); });
    ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  }
  rtp_side_stats stats(rtp_side_id id) {
    std::promise<rtp_side_stats> p;
    relay_->query(id, [&](const rtp_side_stats* s) { p.set_value(s ? *s : rtp_side_stats{}); });
    auto f = p.get_future();
    EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
    return f.get();
  }
  /// Bridges a and b: each side's party is `pa` / `pb`.
  void bridge(const rtp_relay::opened& a, const party& pa, const rtp_relay::opened& b,
              const party& pb, bool b_mux = false) {
    rtp_side_config ca;
    ca.remote_rtp = pa.local;
    ca.peer = b.id;
    rtp_side_config cb;
    cb.remote_rtp = pb.local;
    cb.rtcp_mux = b_mux;
    cb.peer = a.id;
    relay_->configure(a.id, ca);
    relay_->configure(b.id, cb);
    settle();
  }

  recording_events events_;
  std::unique_ptr<reactor> reactor_;
  std::unique_ptr<rtp_relay> relay_;
  std::unique_ptr<centralita::test::reactor_thread> thread_;
};

} // namespace

TEST_F(rtp_relay_test, relays_both_ways_from_the_other_sides_port) {
  party caller, callee;
  auto a = open(1), b = open(2);
  EXPECT_EQ(a.rtp_local.port() % 2, 0);
  EXPECT_EQ(a.rtcp_local.port(), a.rtp_local.port() + 1);
  bridge(a, caller, b, callee);
  for (uint16_t seq = 1; seq <= 50; ++seq) {
    caller.send_to(a.rtp_local, rtp(seq));
    endpoint from;
    auto got = callee.receive(&from);
    ASSERT_EQ(got, rtp(seq)) << seq;
    EXPECT_EQ(from, b.rtp_local);  // the callee sees the relay's side-B port
  }
  for (uint16_t seq = 1; seq <= 50; ++seq) {
    callee.send_to(b.rtp_local, rtp(seq, 0x55667788, 0));
    endpoint from;
    ASSERT_EQ(caller.receive(&from), rtp(seq, 0x55667788, 0)) << seq;
    EXPECT_EQ(from, a.rtp_local);
  }
  auto sa = stats(a.id);
  EXPECT_EQ(sa.rx_packets, 50u);
  EXPECT_EQ(sa.forwarded, 50u);
  EXPECT_EQ(sa.sent, 50u);  // what came from the callee went out of A
  EXPECT_EQ(sa.ssrc, 0x11223344u);
  ASSERT_TRUE(sa.latched_rtp);
  EXPECT_EQ(*sa.latched_rtp, caller.local);
  EXPECT_EQ(relay_->counters().forwarded.load(), 100u);
}

TEST_F(rtp_relay_test, latches_to_the_real_source_behind_nat) {
  party callee, caller_sdp, caller_real, stranger;
  auto a = open(1), b = open(2);
  bridge(a, caller_sdp, b, callee);  // the SDP names an address the caller does not send from
  // Before the caller sends, the callee's media goes to the SDP address.
  callee.send_to(b.rtp_local, rtp(1));
  ASSERT_EQ(caller_sdp.receive(), rtp(1));
  // The caller's packets come from elsewhere (NAT): it is latched ...
  caller_real.send_to(a.rtp_local, rtp(2));
  ASSERT_EQ(callee.receive(), rtp(2));
  // ... and the callee's media now goes there.
  callee.send_to(b.rtp_local, rtp(3));
  ASSERT_EQ(caller_real.receive(), rtp(3));
  // A third party cannot take over a live stream.
  stranger.send_to(a.rtp_local, rtp(4, 0xdeadbeef));
  caller_real.send_to(a.rtp_local, rtp(5));
  ASSERT_EQ(callee.receive(), rtp(5));
  EXPECT_EQ(stats(a.id).wrong_source, 1u);
}

TEST_F(rtp_relay_test, relatches_after_the_old_source_went_quiet) {
  party callee, caller, caller_moved;
  auto a = open(1), b = open(2);
  rtp_side_config ca;
  ca.remote_rtp = caller.local;
  ca.peer = b.id;
  ca.relatch_after = 100ms;
  rtp_side_config cb;
  cb.remote_rtp = callee.local;
  cb.peer = a.id;
  relay_->configure(a.id, ca);
  relay_->configure(b.id, cb);
  settle();
  caller.send_to(a.rtp_local, rtp(1));
  ASSERT_EQ(callee.receive(), rtp(1));
  // The caller's address is silent for longer than relatch_after (the wait is
  // bounded by the callee's receive timeout, nothing else).
  ASSERT_TRUE(callee.silent(150ms));
  caller_moved.send_to(a.rtp_local, rtp(2, 0x99));
  ASSERT_EQ(callee.receive(), rtp(2, 0x99));
  callee.send_to(b.rtp_local, rtp(3));
  ASSERT_EQ(caller_moved.receive(), rtp(3));
  auto s = stats(a.id);
  EXPECT_EQ(s.ssrc_changes, 1u);  // tolerated, counted
  EXPECT_EQ(s.wrong_source, 0u);
}

TEST_F(rtp_relay_test, rtcp_on_its_own_port_and_multiplexed) {
  party caller, caller_rtcp, callee;
  auto a = open(1), b = open(2);
  rtp_side_config ca;
  ca.remote_rtp = caller.local;
  ca.remote_rtcp = caller_rtcp.local;
  ca.peer = b.id;
  rtp_side_config cb;
  cb.remote_rtp = callee.local;
  cb.rtcp_mux = true;  // the callee multiplexes RTCP on its RTP port (RFC 5761)
  cb.peer = a.id;
  relay_->configure(a.id, ca);
  relay_->configure(b.id, cb);
  settle();
  // The caller's RTCP port → the callee's one port, from B's RTP port.
  caller_rtcp.send_to(a.rtcp_local, rtcp_rr(7));
  endpoint from;
  ASSERT_EQ(callee.receive(&from), rtcp_rr(7));
  EXPECT_EQ(from, b.rtp_local);
  // The callee's multiplexed RTCP → the caller's RTCP port, from A's RTCP port.
  callee.send_to(b.rtp_local, rtcp_rr(8));
  ASSERT_EQ(caller_rtcp.receive(&from), rtcp_rr(8));
  EXPECT_EQ(from, a.rtcp_local);
  // RTP still goes to RTP.
  callee.send_to(b.rtp_local, rtp(1));
  ASSERT_EQ(caller.receive(), rtp(1));
  EXPECT_EQ(stats(b.id).rtcp_rx_packets, 1u);
}

namespace {

/// Drops telephone-events (PT 101) and rewrites PT 8 to 18 in place.
class test_tap final : public rtp_tap {
public:
  std::atomic<int> seen{0};
  tap_verdict on_packet(rtp_packet_view& p) override {
    ++seen;
    if (p.rtcp || p.bytes.size() < 12)
      return tap_verdict::forward;
    if ((p.bytes[1] & 0x7f) == 101)
      return tap_verdict::drop;
    if ((p.bytes[1] & 0x7f) == 8)
      p.bytes[1] = static_cast<uint8_t>((p.bytes[1] & 0x80) | 18);
    return tap_verdict::forward;
  }
};

} // namespace

TEST_F(rtp_relay_test, a_tap_sees_rewrites_and_drops) {
  party caller, callee;
  auto a = open(1), b = open(2);
  auto tap = std::make_shared<test_tap>();
  rtp_side_config ca;
  ca.remote_rtp = caller.local;
  ca.peer = b.id;
  ca.tap = tap;
  rtp_side_config cb;
  cb.remote_rtp = callee.local;
  cb.peer = a.id;
  relay_->configure(a.id, ca);
  relay_->configure(b.id, cb);
  settle();
  caller.send_to(a.rtp_local, rtp(1, 1, 101));  // blocked
  caller.send_to(a.rtp_local, rtp(2, 1, 8));
  auto got = callee.receive();
  ASSERT_EQ(got.size(), 172u);
  EXPECT_EQ(got[1], 18);  // rewritten
  EXPECT_EQ(got[3], 2);   // and the blocked one never came
  EXPECT_EQ(tap->seen.load(), 2);
  EXPECT_EQ(stats(a.id).tap_dropped, 1u);
}

TEST_F(rtp_relay_test, originated_packets_reach_the_party) {
  party caller, callee;
  auto a = open(1), b = open(2);
  bridge(a, caller, b, callee);
  auto pkt = rtp(9, 0xabc, 101);
  relay_->send(b.id, pkt);
  endpoint from;
  ASSERT_EQ(callee.receive(&from), pkt);
  EXPECT_EQ(from, b.rtp_local);
  EXPECT_EQ(relay_->counters().originated.load(), 1u);
}

TEST_F(rtp_relay_test, inactivity_is_reported_once) {
  party caller, callee;
  auto a = open(11), b = open(12);
  rtp_side_config ca;
  ca.remote_rtp = caller.local;
  ca.peer = b.id;
  ca.inactivity_timeout = 100ms;
  relay_->configure(a.id, ca);
  ASSERT_TRUE(events_.wait_inactive(1));
  auto got = events_.inactive();
  EXPECT_EQ(got[0].first, a.id);
  EXPECT_EQ(got[0].second, 11u);
  // Reported once: a second report would need another configure().
  ASSERT_TRUE(callee.silent(150ms));
  EXPECT_EQ(events_.inactive().size(), 1u);
}

TEST_F(rtp_relay_test, close_gives_the_ports_back) {
  party caller, callee;
  const auto fds_before = open_fds();
  auto a = open(1), b = open(2);
  EXPECT_EQ(relay_->ports().in_use(), 2u);
  bridge(a, caller, b, callee);
  caller.send_to(a.rtp_local, rtp(1));
  ASSERT_EQ(callee.receive(), rtp(1));
  relay_->close(a.id);
  relay_->close(b.id);
  ASSERT_TRUE(events_.wait_released(2));
  EXPECT_EQ(relay_->ports().in_use(), 0u);
  EXPECT_EQ(relay_->sides_open(), 0u);
  EXPECT_EQ(open_fds(), fds_before);
  // The kernel let go: the very ports can be bound again by anyone.
  for (const auto& ep : {a.rtp_local, a.rtcp_local, b.rtp_local, b.rtcp_local}) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    EXPECT_EQ(::bind(fd, ep.data(), ep.size()), 0) << ep.to_string();
    ::close(fd);
  }
  // A closed side's id is stale: operations on it are ignored.
  relay_->configure(a.id, {});
  relay_->send(a.id, rtp(1));
  EXPECT_EQ(stats(a.id).rx_packets, 0u);
  // Packets for the closed side of the bridge are not forwarded.
  EXPECT_TRUE(callee.silent(50ms));
}

TEST_F(rtp_relay_test, a_side_closed_before_it_started_is_released) {
  auto a = relay_->open_side(0, 5);
  ASSERT_TRUE(a);
  relay_->close(a->id);  // posted right behind the start
  ASSERT_TRUE(events_.wait_released(1));
  EXPECT_EQ(relay_->ports().in_use(), 0u);
}

TEST_F(rtp_relay_test, many_calls_open_and_close_without_leaking) {
  party caller, callee;
  const auto fds_before = open_fds();
  std::size_t released = 0;
  for (int round = 0; round < 50; ++round) {
    std::vector<rtp_relay::opened> sides;
    for (int i = 0; i < 20; ++i)
      sides.push_back(open(static_cast<uint64_t>(round * 100 + i)));
    for (int i = 0; i < 20; i += 2)
      bridge(sides[i], caller, sides[i + 1], callee);
    caller.send_to(sides[0].rtp_local, rtp(static_cast<uint16_t>(round)));
    ASSERT_EQ(callee.receive(), rtp(static_cast<uint16_t>(round)));
    for (auto& s : sides)
      relay_->close(s.id);
    released += sides.size();
    ASSERT_TRUE(events_.wait_released(released)) << round;
  }
  EXPECT_EQ(relay_->ports().in_use(), 0u);
  EXPECT_EQ(open_fds(), fds_before);
  EXPECT_EQ(relay_->counters().sides_released.load(), 1000u);
  // Ids are never reused: every release named a distinct side.
  std::set<uint64_t> ids;
  for (auto& [id, cookie] : events_.released())
    ids.insert(id.value);
  EXPECT_EQ(ids.size(), 1000u);
}

TEST_F(rtp_relay_test, an_exhausted_range_says_so) {
  make(centralita::test::free_udp_block(4), 2);
  auto a = relay_->open_side(0, 1);
  auto b = relay_->open_side(0, 2);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  auto c = relay_->open_side(0, 3);
  ASSERT_FALSE(c);
  EXPECT_NE(c.err().reason.find("no free media port pair"), std::string::npos) << c.err().reason;
  relay_->close(a->id);
  ASSERT_TRUE(events_.wait_released(1));
  auto d = relay_->open_side(0, 4);
  ASSERT_TRUE(d) << d.err().reason;  // the freed pair is handed out again
  EXPECT_EQ(d->rtp_local.port(), a->rtp_local.port());
}
