// A reactor created with options::single_issuer (SINGLE_ISSUER |
// DEFER_TASKRUN) by the thread that runs it: posted work, timers and UDP
// receives still wake its loop (task work deferred until that thread asks).
#include "drivers/uring/reactor.hpp"

#include "drivers/transport/udp_socket.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

using namespace centralita::drivers;
using namespace std::chrono_literals;

namespace {

struct counting_sink final : message_sink {
  std::atomic<int> messages{0};
  void on_message(const inbound_message& m) override {
    if (m.bytes == "ping")
      ++messages;
  }
  void on_oversized(const inbound_message&) override {}
};

struct flag_timer final : timer_target {
  std::promise<void> fired;
  void on_timer(uint64_t) override { fired.set_value(); }
};

} // namespace

TEST(reactor, single_issuer_ring_serves_posts_timers_and_udp) {
  auto f = probe_uring();
  if (!f.available) {
    std::fprintf(stderr, "skipping: %s\n", f.why_unavailable.c_str());
    std::exit(77);  // ctest SKIP_RETURN_CODE
  }
  std::atomic<bool> stop{false};
  std::promise<std::pair<reactor*, uint16_t>> ready;
  counting_sink sink;
  transport_counters counters;
  std::thread owner([&] {
    reactor::options opts;
    opts.single_issuer = true;
    auto r = reactor::create(0, opts);
    if (!r) {
      ADD_FAILURE() << r.err().reason;
      ready.set_value({nullptr, 0});
      return;
    }
    (*r)->bind_to_current_thread();
    auto sock = udp_socket::open(**r, *endpoint::from("127.0.0.1", 0), {}, sink, counters, 0);
    if (!sock) {
      ADD_FAILURE() << sock.err().reason;
      ready.set_value({nullptr, 0});
      return;
    }
    (*sock)->start();
    ready.set_value({r->get(), (*sock)->local().port()});
    (*r)->run(stop);
    sock.value().reset();  // before the ring, on the issuer thread
  });
  // Not a structured binding: clang 14 cannot capture one in a lambda.
  auto got = ready.get_future().get();
  reactor* r = got.first;
  uint16_t port = got.second;
  if (r == nullptr) {
    owner.join();
    return;
  }

  std::promise<void> posted;
  r->post([&] { posted.set_value(); });
  EXPECT_EQ(posted.get_future().wait_for(2s), std::future_status::ready);

  flag_timer timer;
  r->post([&] { r->timers().schedule(r->now() + 5ms, &timer, 0); });
  EXPECT_EQ(timer.fired.get_future().wait_for(2s), std::future_status::ready);

  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  auto to = *endpoint::from("127.0.0.1", port);
  for (int i = 0; i < 3; ++i)
    ::sendto(fd, "ping", 4, 0, to.data(), to.size());
  ::close(fd);
  for (int i = 0; i < 200 && sink.messages.load() < 3; ++i)
    std::this_thread::sleep_for(10ms);  // bounded: 2 s
  EXPECT_EQ(sink.messages.load(), 3);

  stop.store(true);
  r->post([] {});
  owner.join();
}
