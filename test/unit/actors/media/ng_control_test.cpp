// The ng control listener on the real io_uring scheduler and RTP relay, over
// loopback: ping, offer and answer anchoring the media on our ports (RTP
// relayed both ways), delete giving the ports back, query and list,
// retransmissions answered from the cache (not run twice), errors for what
// it cannot run, and the listener's end ending its calls.

#include "actors/media/ng_control.hpp"

#include "actors/media/media_hub.hpp"
#include "protocols/ng/ng_message.hpp"
#include "test/unit/actors/system/uring_system_fixture.hpp"
#include "test/unit/drivers/free_ports.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

using namespace centralita;
using namespace std::chrono_literals;

namespace {

/// A UDP socket on loopback with bounded receives.
struct udp_peer {
  int fd = -1;
  drivers::endpoint local;

  udp_peer() {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto any = drivers::endpoint::from("127.0.0.1", 0);
    EXPECT_EQ(::bind(fd, any->data(), any->size()), 0);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    local = drivers::endpoint(reinterpret_cast<sockaddr*>(&ss), len);
  }
  ~udp_peer() { ::close(fd); }

  void send_to(const drivers::endpoint& to, std::string_view bytes) const {
    ::sendto(fd, bytes.data(), bytes.size(), 0, to.data(), to.size());
  }
  std::optional<std::string> receive(std::chrono::milliseconds limit = 3s) const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) != 1)
      return std::nullopt;
    std::string buf(65536, '\0');
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0)
      return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }
};

/// An ng client: sends `cookie SP body`, returns the reply's decoded body.
struct ng_client : udp_peer {
  drivers::endpoint server;
  int seq = 0;

  std::optional<ng::value> exchange(const std::string& cookie, const ng::value& body,
                                    std::string* raw = nullptr) {
    send_to(server, ng::build_reply(cookie, body));  // same framing as a reply
    return read_reply(cookie, raw);
  }
  std::optional<ng::value> read_reply(const std::string& cookie, std::string* raw = nullptr) {
    auto got = receive();
    if (!got)
      return std::nullopt;
    if (raw)
      *raw = *got;
    auto parts = ng::split_datagram(*got);
    if (!parts || parts->cookie != cookie)
      return std::nullopt;
    auto v = ng::decode_body(parts->body);
    if (!v)
      return std::nullopt;
    return *v;
  }
  ng::value request(std::vector<std::pair<std::string, ng::value>> keys) {
    ng::value body{ng::dict{}};
    for (auto& [k, v] : keys)
      body.set(k, std::move(v));
    auto reply = exchange("t_" + std::to_string(++seq), body);
    EXPECT_TRUE(reply.has_value()) << "no reply";
    return reply ? *reply : ng::value{ng::dict{}};
  }
};

std::string audio_sdp(uint16_t port, std::string_view codec_line = "8 PCMA/8000") {
  std::string pt(codec_line.substr(0, codec_line.find(' ')));
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio " + std::to_string(port) + " RTP/AVP " + pt + "\r\n"
         "a=rtpmap:" + std::string(codec_line) + "\r\n";
}

/// The m=audio port and c= address of an SDP.
drivers::endpoint media_of(const std::string& sdp) {
  auto m = sdp.find("m=audio ");
  auto port = static_cast<uint16_t>(std::stoi(sdp.substr(m + 8)));
  auto c = sdp.find("c=IN IP4 ");
  auto addr = sdp.substr(c + 9, sdp.find('\r', c) - c - 9);
  return *drivers::endpoint::from(addr, port);
}

std::string rtp_packet(uint16_t seq) {
  std::string p(12 + 160, '\x55');
  p[0] = '\x80';
  p[1] = 8;  // PCMA
  p[2] = static_cast<char>(seq >> 8);
  p[3] = static_cast<char>(seq & 0xff);
  p[8] = 0x12;  // SSRC
  return p;
}

struct ng_control_test : test::uring_system_fixture {
  void SetUp() override {
    uring_system_fixture::SetUp();
    actors::media_settings ms;
    ms.advertised_address = "127.0.0.1";
    ms.inactivity_timeout = 0s;
    hub = std::make_shared<actors::media_hub>(ms);
    drivers::rtp_relay_options ro;
    ro.address = *drivers::endpoint::from("127.0.0.1", 0);
    ro.port_min = test::free_udp_block(40);
    ro.port_max = static_cast<uint16_t>(ro.port_min + 39);
    ro.buffers_per_reactor = 256;
    relay = std::make_unique<drivers::rtp_relay>(raw, ro, *hub);
    auto ok = relay->start();
    ASSERT_TRUE(ok.ok()) << ok.err().reason;
    hub->attach(relay.get());
  }

  std::unique_ptr<actors::ng_control> start(caf::actor_system& sys) {
    actors::ng_control_deps d;
    d.hub = hub;
    d.listen = "127.0.0.1:0";
    auto ng = actors::ng_control::start(sys, std::move(d));
    EXPECT_TRUE(ng.ok()) << (ng.ok() ? "" : ng.err().reason);
    client.server = (*ng)->local();
    return std::move(ng.value());
  }

  bool ports_back(caf::actor_system& sys) {
    wait_until(sys, [&] { return relay->ports().in_use() == 0; });
    return relay->ports().in_use() == 0;
  }

  std::shared_ptr<actors::media_hub> hub;
  std::unique_ptr<drivers::rtp_relay> relay;
  ng_client client;
};

} // namespace

TEST_F(ng_control_test, ping_answers_pong) {
  caf::actor_system sys{cfg};
  auto ng = start(sys);
  EXPECT_NE(ng->local().port(), 0);
  auto r = client.request({{"command", "ping"}});
  EXPECT_EQ(r.find_string("result"), "pong");
}

TEST_F(ng_control_test, offer_answer_relay_and_delete) {
  caf::actor_system sys{cfg};
  auto ng = start(sys);
  udp_peer caller, callee;

  auto offer = client.request({{"command", "offer"}, {"call-id", "c1@test"},
                               {"from-tag", "ftag"}, {"sdp", audio_sdp(caller.local.port())},
                               {"flags", ng::list{"trust-address"}},
                               {"replace", ng::list{"origin", "session-connection"}}});
  ASSERT_EQ(offer.find_string("result"), "ok") << offer.find_string("error-reason");
  std::string to_callee(offer.find_string("sdp"));
  auto callee_sends_to = media_of(to_callee);
  EXPECT_EQ(callee_sends_to.address(), "127.0.0.1");
  EXPECT_NE(callee_sends_to.port(), caller.local.port());
  EXPECT_NE(to_callee.find("o=centralita"), std::string::npos);

  auto answer = client.request({{"command", "answer"}, {"call-id", "c1@test"},
                                {"from-tag", "ftag"}, {"to-tag", "ttag"},
                                {"sdp", audio_sdp(callee.local.port())}});
  ASSERT_EQ(answer.find_string("result"), "ok") << answer.find_string("error-reason");
  auto caller_sends_to = media_of(std::string(answer.find_string("sdp")));
  EXPECT_NE(caller_sends_to, callee_sends_to);
  EXPECT_EQ(relay->ports().in_use(), 2u);

  // RTP both ways through the relay.
  for (uint16_t i = 0; i < 5; ++i) {
    caller.send_to(caller_sends_to, rtp_packet(i));
    auto got = callee.receive();
    ASSERT_TRUE(got.has_value()) << "caller -> callee packet " << i;
    EXPECT_EQ(*got, rtp_packet(i));
    callee.send_to(callee_sends_to, rtp_packet(100 + i));
    auto back = caller.receive();
    ASSERT_TRUE(back.has_value()) << "callee -> caller packet " << i;
    EXPECT_EQ(*back, rtp_packet(100 + i));
  }

  auto q = client.request({{"command", "query"}, {"call-id", "c1@test"}});
  EXPECT_EQ(q.find_string("result"), "ok");
  ASSERT_NE(q.find("created"), nullptr);
  EXPECT_GT(q.find("created")->as_integer(), 1700000000);
  ASSERT_NE(q.find("tags"), nullptr);
  ASSERT_NE(q.find("tags")->find("ftag"), nullptr);
  EXPECT_EQ(q.find("tags")->find("ftag")->find_string("in dialogue with"), "ttag");
  auto l = client.request({{"command", "list"}});
  ASSERT_NE(l.find("calls"), nullptr);
  EXPECT_EQ(l.find("calls")->as_list(), (ng::list{"c1@test"}));

  auto del = client.request({{"command", "delete"}, {"call-id", "c1@test"}, {"from-tag", "ftag"}});
  EXPECT_EQ(del.find_string("result"), "ok");
  EXPECT_TRUE(ports_back(sys));
  auto gone = client.request({{"command", "query"}, {"call-id", "c1@test"}});
  EXPECT_EQ(gone.find_string("result"), "error");
  EXPECT_EQ(gone.find_string("error-reason"), "unknown call-id");
}

TEST_F(ng_control_test, a_retransmitted_offer_gets_the_same_reply_and_no_second_session) {
  caf::actor_system sys{cfg};
  auto ng = start(sys);
  udp_peer caller;
  ng::value body{ng::dict{}};
  body.set("command", "offer");
  body.set("call-id", "c2@test");
  body.set("from-tag", "f");
  body.set("sdp", audio_sdp(caller.local.port()));
  std::string first, second;
  ASSERT_TRUE(client.exchange("r_1", body, &first).has_value());
  ASSERT_TRUE(client.exchange("r_1", body, &second).has_value());
  EXPECT_EQ(first, second);
  EXPECT_EQ(relay->ports().in_use(), 2u);  // one session: two sides
  // A new cookie is a new request: a re-offer on the same session.
  std::string third;
  ASSERT_TRUE(client.exchange("r_2", body, &third).has_value());
  EXPECT_NE(third, first);  // our o= version went up
  EXPECT_EQ(relay->ports().in_use(), 2u);
  // A retransmitted delete is answered "ok" again, not "unknown call-id".
  ng::value del{ng::dict{}};
  del.set("command", "delete");
  del.set("call-id", "c2@test");
  EXPECT_EQ(client.exchange("r_3", del)->find_string("result"), "ok");
  EXPECT_EQ(client.exchange("r_3", del)->find_string("result"), "ok");
  EXPECT_TRUE(ports_back(sys));
}

TEST_F(ng_control_test, errors_are_replies_and_garbage_is_survived) {
  caf::actor_system sys{cfg};
  auto ng = start(sys);
  auto unknown = client.request({{"command", "teleport"}});
  EXPECT_EQ(unknown.find_string("result"), "error");
  EXPECT_EQ(unknown.find_string("error-reason"), "unknown command 'teleport'");
  auto missing = client.request({{"command", "offer"}, {"call-id", "x"}, {"from-tag", "f"}});
  EXPECT_EQ(missing.find_string("error-reason"), "missing key 'sdp'");
  auto no_call = client.request({{"command", "answer"}, {"call-id", "nope"}, {"from-tag", "f"},
                                 {"to-tag", "t"}, {"sdp", "v=0"}});
  EXPECT_EQ(no_call.find_string("error-reason"), "unknown call-id");

  // A bad SDP is refused and leaves no call (nor ports) behind.
  auto bad = client.request({{"command", "offer"}, {"call-id", "bad"}, {"from-tag", "f"},
                             {"sdp", "this is not SDP"}});
  EXPECT_EQ(bad.find_string("result"), "error");
  EXPECT_FALSE(bad.find_string("error-reason").empty());
  EXPECT_EQ(client.request({{"command", "query"}, {"call-id", "bad"}}).find_string("result"),
            "error");
  EXPECT_EQ(relay->ports().in_use(), 0u);

  // Undecodable bodies get an error reply under their cookie.
  client.send_to(client.server, "g_1 d7:command");
  auto g = client.read_reply("g_1");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->find_string("error-reason"), "bencode: truncated input at byte 10");
  client.send_to(client.server, "g_2 i42e");
  EXPECT_EQ(client.read_reply("g_2")->find_string("error-reason"),
            "ng: the message is not a dictionary");
  // No cookie: nothing to answer; the listener goes on.
  client.send_to(client.server, "nospace");
  client.send_to(client.server, std::string(3000, '\xff'));
  EXPECT_FALSE(client.receive(300ms).has_value());
  EXPECT_EQ(client.request({{"command", "ping"}}).find_string("result"), "pong");
}

TEST_F(ng_control_test, the_listeners_end_ends_its_calls) {
  caf::actor_system sys{cfg};
  auto ng = start(sys);
  udp_peer caller;
  auto offer = client.request({{"command", "offer"}, {"call-id", "c3@test"}, {"from-tag", "f"},
                               {"sdp", audio_sdp(caller.local.port())}});
  ASSERT_EQ(offer.find_string("result"), "ok");
  EXPECT_EQ(relay->ports().in_use(), 2u);
  auto t0 = std::chrono::steady_clock::now();
  ng.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);  // bounded
  EXPECT_TRUE(ports_back(sys));
}
