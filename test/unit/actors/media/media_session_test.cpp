// The media session on the real scheduler and relay: SDP offer/answer
// anchored on our ports, RTP through them, DTMF detected and played,
// transcoding negotiated, inactivity reported, and the ports given back
// whatever way the session ends (its owner ending normally or killed).
#include "actors/media/media_session.hpp"

#include "actors/events/event_bus.hpp"
#include "protocols/rtp/rtp_packet.hpp"
#include "protocols/rtp/telephone_event.hpp"
#include "protocols/sdp/session_description.hpp"
#include "test/unit/actors/system/uring_system_fixture.hpp"
#include "test/unit/drivers/free_ports.hpp"

#include <gtest/gtest.h>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

using namespace centralita;
using namespace centralita::actors;
using namespace std::chrono_literals;

namespace {

/// A party's RTP socket on loopback.
struct party {
  int fd = -1;
  drivers::endpoint local;
  party() {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto any = drivers::endpoint::from("127.0.0.1", 0);
    ::bind(fd, any->data(), any->size());
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    local = drivers::endpoint(reinterpret_cast<sockaddr*>(&ss), len);
  }
  ~party() { ::close(fd); }
  void send_to(const drivers::endpoint& to, const std::vector<uint8_t>& b) const {
    ::sendto(fd, b.data(), b.size(), 0, to.data(), to.size());
  }
  /// One datagram within 3 s (poll with a deadline; EINTR is not a timeout).
  std::vector<uint8_t> receive(drivers::endpoint* from = nullptr) const {
    auto deadline = std::chrono::steady_clock::now() + 3s;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() < 0)
        return {};
      pollfd p{fd, POLLIN, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc > 0)
        break;
      if (rc == 0 || errno != EINTR)
        return {};
    }
    uint8_t buf[2048];
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    auto n = ::recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), &len);
    if (n <= 0)
      return {};
    if (from)
      *from = drivers::endpoint(reinterpret_cast<sockaddr*>(&ss), len);
    return {buf, buf + n};
  }
};

std::string make_sdp(uint16_t port, const std::string& formats, const std::string& maps) {
  return "v=0\r\no=- 42 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio " + std::to_string(port) + " RTP/AVP " + formats + "\r\n" + maps;
}

const std::string pcma_te = "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n";

std::vector<uint8_t> make_rtp(uint8_t pt, uint16_t seq, uint32_t ts, std::vector<uint8_t> payload,
                         bool marker = false) {
  std::vector<uint8_t> p(12 + payload.size());
  rtp::rtp_header_fields f;
  f.payload_type = pt;
  f.sequence = seq;
  f.timestamp = ts;
  f.ssrc = 0x77;
  f.marker = marker;
  rtp::write_rtp_header(p, f);
  std::copy(payload.begin(), payload.end(), p.begin() + 12);
  return p;
}

/// Records what the session publishes (a stand-in for the event bus).
struct published {
  std::mutex mu;
  std::vector<events::event> events;
  std::vector<int> timeouts;  // media_timed_out sides, seen by the owner
};

caf::behavior bus_stub(caf::event_based_actor*, published* out) {
  return {[out](publish_event& p) {
    std::lock_guard g{out->mu};
    out->events.push_back(std::move(p.ev));
  }};
}

caf::behavior owner_stub(caf::event_based_actor*, published* out) {
  return {[out](const media_timed_out& t) {
    std::lock_guard g{out->mu};
    out->timeouts.push_back(t.side);
  }};
}

class events_sink final : public drivers::rtp_relay_events {
public:
  explicit events_sink(media_hub& h) : hub_(h) {}
  void on_inactive(drivers::rtp_side_id s, uint64_t c) override { hub_.on_inactive(s, c); }

private:
  media_hub& hub_;
};

struct media_fixture : test::uring_system_fixture {
  void SetUp() override {
    uring_system_fixture::SetUp();
    media_settings ms;
    ms.advertised_address = "127.0.0.1";
    ms.inactivity_timeout = 1s;
    hub = std::make_shared<media_hub>(ms);
    drivers::rtp_relay_options o;
    o.address = *drivers::endpoint::from("127.0.0.1", 0);
    o.port_min = test::free_udp_block(20);
    o.port_max = static_cast<uint16_t>(o.port_min + 19);
    o.buffers_per_reactor = 256;
    o.sweep_interval = 100ms;
    relay = std::make_unique<drivers::rtp_relay>(raw, o, *hub);
    ASSERT_TRUE(relay->start());
    hub->attach(relay.get());
  }
  void TearDown() override {
    relay.reset();
  }

  media_session_init init_for(caf::actor owner, caf::actor bus) {
    media_session_init mi;
    mi.hub = hub;
    mi.call_id = "call-1";
    mi.call = std::move(owner);
    mi.events = std::move(bus);
    return mi;
  }

  static media_sdp ask(caf::scoped_actor& self, const caf::actor& s, auto msg) {
    media_sdp out;
    self->request(s, 5s, std::move(msg)).receive([&](media_sdp& r) { out = std::move(r); },
                                                 [&](caf::error&) { out.reason = "no answer"; });
    return out;
  }

  std::shared_ptr<media_hub> hub;
  std::unique_ptr<drivers::rtp_relay> relay;
};

} // namespace

TEST_F(media_fixture, offer_answer_anchor_the_media_and_it_flows) {
  caf::actor_system sys{cfg};
  published pub;
  caf::scoped_actor self{sys};
  auto bus = sys.spawn(bus_stub, &pub);
  auto owner = sys.spawn(owner_stub, &pub);
  auto s = spawn_media_session(sys, init_for(owner, bus));
  party caller, callee;
  auto for_b = ask(self, s, media_offer{0, make_sdp(caller.local.port(), "8 101", pcma_te)});
  ASSERT_TRUE(for_b.ok) << for_b.reason;
  auto sd_b = sdp::parse_sdp(for_b.sdp);
  ASSERT_TRUE(sd_b);
  EXPECT_EQ(sd_b->connection_address, "127.0.0.1");
  EXPECT_EQ(sd_b->origin_username, "centralita");
  auto port_b = sd_b->media[0].port;
  EXPECT_GE(port_b, relay->ports().port_min());
  EXPECT_LE(port_b, relay->ports().port_max());
  EXPECT_EQ(sd_b->media[0].rtcp_port.value_or(0), port_b + 1);
  EXPECT_EQ(relay->ports().in_use(), 2u);

  auto for_a = ask(self, s, media_answer{1, make_sdp(callee.local.port(), "8 101", pcma_te)});
  ASSERT_TRUE(for_a.ok) << for_a.reason;
  auto sd_a = sdp::parse_sdp(for_a.sdp);
  ASSERT_TRUE(sd_a);
  auto port_a = sd_a->media[0].port;
  EXPECT_NE(port_a, port_b);
  auto side_a = *drivers::endpoint::from("127.0.0.1", port_a);
  auto side_b = *drivers::endpoint::from("127.0.0.1", port_b);

  // RTP both ways, from the other side's port.
  for (uint16_t i = 0; i < 20; ++i) {
    auto p = make_rtp(8, i, i * 160u, std::vector<uint8_t>(160, 0xd5));
    caller.send_to(side_a, p);
    drivers::endpoint from;
    ASSERT_EQ(callee.receive(&from), p) << i;
    EXPECT_EQ(from, side_b);
    callee.send_to(side_b, p);
    ASSERT_EQ(caller.receive(&from), p) << i;
    EXPECT_EQ(from, side_a);
  }

  // A key press in RTP (RFC 4733) becomes one DTMF event, leg a.
  rtp::telephone_event_generator gen;
  ASSERT_TRUE(gen.start('7', 100, 20 * 160, 8000));
  std::array<uint8_t, 4> block{};
  bool marker = false;
  uint32_t ts = 0;
  uint16_t seq = 20;
  while (gen.next(block, marker, ts)) {
    caller.send_to(side_a, make_rtp(101, seq++, ts, {block.begin(), block.end()}, marker));
    ASSERT_FALSE(callee.receive().empty());
  }
  wait_until(sys, [&] {
    std::lock_guard g{pub.mu};
    return !pub.events.empty();
  });
  {
    std::lock_guard g{pub.mu};
    ASSERT_EQ(pub.events.size(), 1u);
    auto& ev = pub.events[0];
    EXPECT_EQ(ev.name, "DTMF");
    EXPECT_EQ(*ev.find("digit"), "7");
    EXPECT_EQ(*ev.find("leg"), "a");
    EXPECT_EQ(*ev.find("source"), "rfc4733");
    EXPECT_EQ(*ev.find("call_id"), "call-1");
  }

  // A press played to the callee rides on the caller's packets.
  caf::anon_send(s, media_send_dtmf{1, "3", 100, false});
  rtp::telephone_event_detector det;
  std::string heard;
  for (int i = 0; i < 30 && heard.empty(); ++i) {
    caller.send_to(side_a, make_rtp(8, seq, seq * 160u, std::vector<uint8_t>(160, 0xd5)));
    ++seq;
    auto got = callee.receive();
    auto h = rtp::parse_rtp(got);
    ASSERT_TRUE(h);
    if (h->payload_type == 101)
      for (auto& d : det.feed(*h, *rtp::parse_telephone_event(std::span<const uint8_t>(got).subspan(12)), 8000))
        heard += d.digit;
  }
  EXPECT_EQ(heard, "3");

  // The owner ends (normally): the session ends, the ports come back.
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  wait_until(sys, [&] { return relay->ports().in_use() == 0; });
  EXPECT_EQ(relay->ports().in_use(), 0u);
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
}

TEST_F(media_fixture, a_killed_owner_frees_the_ports_too) {
  caf::actor_system sys{cfg};
  published pub;
  caf::scoped_actor self{sys};
  auto bus = sys.spawn(bus_stub, &pub);
  auto owner = sys.spawn(owner_stub, &pub);
  auto s = spawn_media_session(sys, init_for(owner, bus));
  auto r = ask(self, s, media_offer{0, make_sdp(4000, "8", "a=rtpmap:8 PCMA/8000\r\n")});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(relay->ports().in_use(), 2u);
  caf::anon_send_exit(owner, caf::exit_reason::kill);  // a crash of the call
  wait_until(sys, [&] { return relay->ports().in_use() == 0; });
  EXPECT_EQ(relay->ports().in_use(), 0u);
  EXPECT_EQ(relay->sides_open(), 0u);
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
}

TEST_F(media_fixture, silence_after_the_answer_is_reported_to_the_owner) {
  caf::actor_system sys{cfg};
  published pub;
  caf::scoped_actor self{sys};
  auto bus = sys.spawn(bus_stub, &pub);
  auto owner = sys.spawn(owner_stub, &pub);
  auto s = spawn_media_session(sys, init_for(owner, bus));
  ASSERT_TRUE(ask(self, s, media_offer{0, make_sdp(4000, "8", "a=rtpmap:8 PCMA/8000\r\n")}).ok);
  ASSERT_TRUE(ask(self, s, media_answer{1, make_sdp(4002, "8", "a=rtpmap:8 PCMA/8000\r\n")}).ok);
  wait_until(sys, [&] {
    std::lock_guard g{pub.mu};
    return pub.timeouts.size() >= 2;
  });
  std::lock_guard g{pub.mu};
  EXPECT_EQ(pub.timeouts.size(), 2u);  // both parties silent
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
}

TEST_F(media_fixture, bad_offers_are_refused_with_a_status) {
  caf::actor_system sys{cfg};
  published pub;
  caf::scoped_actor self{sys};
  auto owner = sys.spawn(owner_stub, &pub);
  auto s = spawn_media_session(sys, init_for(owner, nullptr));
  auto garbage = ask(self, s, media_offer{0, "hello"});
  EXPECT_FALSE(garbage.ok);
  EXPECT_EQ(garbage.status, 400);
  auto video_only = ask(self, s, media_offer{0, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"});
  EXPECT_FALSE(video_only.ok);
  EXPECT_EQ(video_only.status, 488);
  EXPECT_EQ(relay->ports().in_use(), 0u);
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
}

TEST_F(media_fixture, transcoding_when_the_answer_picks_what_the_offer_lacks) {
  caf::actor_system sys{cfg};
  published pub;
  caf::scoped_actor self{sys};
  auto owner = sys.spawn(owner_stub, &pub);
  auto mi = init_for(owner, nullptr);
  mi.transcode = true;
  mi.codecs = {"PCMA"};
  auto s = spawn_media_session(sys, std::move(mi));
  party caller, callee;
  auto opus = "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\na=rtpmap:101 telephone-event/48000\r\n";
  auto for_b = ask(self, s, media_offer{0, make_sdp(caller.local.port(), "111 101", opus)});
  ASSERT_TRUE(for_b.ok) << for_b.reason;
  auto sd_b = sdp::parse_sdp(for_b.sdp);
  ASSERT_TRUE(sd_b);
  bool has_pcma = false;
  for (auto& c : sd_b->media[0].codecs)
    has_pcma = has_pcma || c.name == "PCMA";
  EXPECT_TRUE(has_pcma) << for_b.sdp;  // added to the offer
  auto for_a = ask(self, s, media_answer{1, make_sdp(callee.local.port(), "8", "a=rtpmap:8 PCMA/8000\r\n")});
  ASSERT_TRUE(for_a.ok) << for_a.reason;
  auto sd_a = sdp::parse_sdp(for_a.sdp);
  ASSERT_TRUE(sd_a);
  ASSERT_FALSE(sd_a->media[0].codecs.empty());
  EXPECT_EQ(sd_a->media[0].codecs[0].name, "opus") << for_a.sdp;  // the caller keeps Opus
  // PCMA from the callee reaches the caller as Opus (payload type 111).
  auto side_b = *drivers::endpoint::from("127.0.0.1", sd_b->media[0].port);
  int opus_packets = 0;
  for (uint16_t i = 0; i < 10; ++i) {
    callee.send_to(side_b, make_rtp(8, i, i * 160u, std::vector<uint8_t>(160, 0xd5)));
    auto got = caller.receive();
    auto h = rtp::parse_rtp(got);
    if (h && h->payload_type == 111)
      ++opus_packets;
  }
  EXPECT_EQ(opus_packets, 10);
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  wait_until(sys, [&] { return relay->ports().in_use() == 0; });
}
