// The driver path of one datagram without SIP: multishot recvmsg completion on
// a reactor thread -> sink -> sendmsg SQE -> batched submit, answered to a
// client socket on this thread. Reports the reactor thread's CPU per
// datagram (from /proc/self/task/<tid>/schedstat) beside the round trip.
#include "drivers/transport/transport_hub.hpp"

#include <benchmark/benchmark.h>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

using namespace centralita::drivers;

namespace {

class echo_sink final : public message_sink {
public:
  transport_hub* hub = nullptr;
  void on_message(const inbound_message& m) override {
    outbound_message out;
    out.transport = m.transport;
    out.destination = m.source;
    out.local = m.local;
    out.bytes.assign(m.bytes);
    hub->send(std::move(out));
  }
  void on_oversized(const inbound_message&) override {}
};

uint64_t thread_cpu_ns(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/schedstat");
  uint64_t ns = 0;
  f >> ns;
  return ns;
}

void udp_echo_round_trip(benchmark::State& state) {
  auto r = reactor::create(0, {});
  if (!r) {
    state.SkipWithError(r.err().reason.c_str());
    return;
  }
  echo_sink sink;
  transport_hub hub({r.value().get()}, transport_options{}, sink);
  sink.hub = &hub;
  auto bound = hub.listen(transport_kind::udp, *endpoint::from("127.0.0.1", 0));
  hub.start();
  std::atomic<bool> stop{false};
  std::atomic<pid_t> tid{0};
  auto& re = *r.value();
  std::thread loop([&] {
    tid = static_cast<pid_t>(::syscall(SYS_gettid));
    re.run(stop);
  });
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ::connect(fd, bound->data(), bound->size());
  std::string payload(static_cast<std::size_t>(state.range(0)), 'x');
  char buf[2048];
  while (tid.load() == 0) {
  }
  auto before = thread_cpu_ns(tid.load());
  for (auto _ : state) {
    ::send(fd, payload.data(), payload.size(), 0);
    ::recv(fd, buf, sizeof(buf), 0);
  }
  auto after = thread_cpu_ns(tid.load());
  state.counters["reactor_cpu_us_per_datagram"] =
    static_cast<double>(after - before) / 1000.0 / static_cast<double>(state.iterations());
  stop = true;
  re.post([] {});
  loop.join();
  ::close(fd);
}
BENCHMARK(udp_echo_round_trip)->Arg(500)->UseRealTime()->MeasureProcessCPUTime();

} // namespace

BENCHMARK_MAIN();
