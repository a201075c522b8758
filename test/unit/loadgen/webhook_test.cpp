// The push-wake gateway: the push body it reads, and the server answering
// real HTTP/1.1 POSTs (keep-alive, pipelined, bad requests) on loopback.
#include "bench/loadgen/webhook.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <vector>

using namespace centralita;
using namespace centralita::loadgen;

TEST(parse_push, the_switch_default_webhook_body) {
  auto n = parse_push(R"({"provider":"webhook","prid":"ph7","param":"x",
      "payload":{"aor":"sip:ph7@h","caller":"sip:a@h","call_id":"abc-c1f@centralita-bench",
                 "push_id":"u","kind":"call"}})");
  ASSERT_TRUE(n) << n.err().reason;
  EXPECT_EQ(n->prid, "ph7");
  EXPECT_EQ(n->call_id, "abc-c1f@centralita-bench");
  EXPECT_EQ(n->kind, "call");
  auto refresh = parse_push(R"({"prid":"p","payload":{"kind":"refresh"}})");
  ASSERT_TRUE(refresh);
  EXPECT_TRUE(refresh->call_id.empty());
  for (auto bad : {"", "[]", "{", R"({"prid":""})", R"({"prid":7})", R"({"payload":{}})"})
    EXPECT_FALSE(parse_push(bad)) << bad;
}

namespace {

std::string exchange(uint16_t port, const std::string& request, std::size_t answers) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string got;
  char buf[4096];
  while (true) {
    std::size_t seen = 0;
    for (auto p = got.find("HTTP/1.1 "); p != std::string::npos; p = got.find("HTTP/1.1 ", p + 1))
      ++seen;
    if (seen >= answers)
      break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0)
      break;  // bounded: the test fails on what it got
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return got;
}

std::string post(std::string_view body) {
  return "POST /push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
         + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

} // namespace

TEST(webhook_server, answers_pushes_and_hands_them_over) {
  std::mutex m;
  std::condition_variable cv;
  std::vector<push_notice> got;
  auto local = drivers::endpoint::from("127.0.0.1", 0);
  ASSERT_TRUE(local);
  auto server = webhook_server::start(*local, [&](push_notice n) {
    std::lock_guard<std::mutex> lock(m);
    got.push_back(std::move(n));
    cv.notify_all();
  });
  ASSERT_TRUE(server) << server.err().reason;
  auto port = server.value()->local().port();
  // Two pipelined pushes on one connection, then a request that is not a push.
  auto answers = exchange(port, post(R"({"prid":"a","payload":{"call_id":"1"}})")
                                    + post(R"({"prid":"b","payload":{"call_id":"2"}})")
                                    + post("not json"), 3);
  EXPECT_EQ(answers.find("HTTP/1.1 200 OK"), 0u) << answers;
  EXPECT_NE(answers.find("HTTP/1.1 400"), std::string::npos) << answers;
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait_for(lock, std::chrono::seconds{5}, [&] { return got.size() >= 2; });
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].prid, "a");
    EXPECT_EQ(got[1].call_id, "2");
  }
  EXPECT_EQ(server.value()->stats().pushes.load(), 2u);
  EXPECT_EQ(server.value()->stats().rejected.load(), 1u);
  // Garbage that is not HTTP: 400 and the connection is closed.
  auto bad = exchange(port, "\x01\x02 nonsense\r\n\r\n", 1);
  EXPECT_EQ(bad.find("HTTP/1.1 400"), 0u) << bad;
}
