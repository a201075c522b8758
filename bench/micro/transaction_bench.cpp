// Cost of the pure RFC 3261 §17 transaction machines: whole lifecycles, no I/O and
// no timing wheel (the owner's part), so what remains is the state machine itself.
#include "protocols/sip/transaction/client_invite.hpp"
#include "protocols/sip/transaction/client_non_invite.hpp"
#include "protocols/sip/transaction/server_invite.hpp"
#include "protocols/sip/transaction/server_non_invite.hpp"

#include <benchmark/benchmark.h>

using namespace centralita::sip::txn;

namespace {

// Client non-INVITE over UDP: request (E, F), 200 (cancel E, F; start K), Timer K.
void client_non_invite_lifecycle(benchmark::State& state) {
  const timer_config cfg;
  for (auto _ : state) {
    client_non_invite m(reliability::unreliable, cfg);
    benchmark::DoNotOptimize(m.on(request_from_tu{}));
    benchmark::DoNotOptimize(m.on(response_received{200}));
    benchmark::DoNotOptimize(m.on(timer_fired{timer_id::K}));
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(client_non_invite_lifecycle);

// Server INVITE over UDP: INVITE, 100, 180, 200 (Accepted, L), Timer L.
void server_invite_lifecycle(benchmark::State& state) {
  const timer_config cfg;
  for (auto _ : state) {
    server_invite m(reliability::unreliable, cfg);
    benchmark::DoNotOptimize(m.on(request_received{}));
    benchmark::DoNotOptimize(m.on(response_from_tu{100}));
    benchmark::DoNotOptimize(m.on(response_from_tu{180}));
    benchmark::DoNotOptimize(m.on(response_from_tu{200}));
    benchmark::DoNotOptimize(m.on(timer_fired{timer_id::L}));
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(server_invite_lifecycle);

// Client INVITE over UDP with a 486: INVITE, 180, 486 (ACK, D), Timer D.
void client_invite_failure_lifecycle(benchmark::State& state) {
  const timer_config cfg;
  for (auto _ : state) {
    client_invite m(reliability::unreliable, cfg);
    benchmark::DoNotOptimize(m.on(request_from_tu{}));
    benchmark::DoNotOptimize(m.on(response_received{180}));
    benchmark::DoNotOptimize(m.on(response_received{486}));
    benchmark::DoNotOptimize(m.on(timer_fired{timer_id::D}));
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(client_invite_failure_lifecycle);

// Server non-INVITE over UDP (REGISTER): request, 200 (J), Timer J.
void server_non_invite_lifecycle(benchmark::State& state) {
  const timer_config cfg;
  for (auto _ : state) {
    server_non_invite m(reliability::unreliable, cfg);
    benchmark::DoNotOptimize(m.on(request_received{}));
    benchmark::DoNotOptimize(m.on(response_from_tu{200}));
    benchmark::DoNotOptimize(m.on(timer_fired{timer_id::J}));
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(server_non_invite_lifecycle);

} // namespace

BENCHMARK_MAIN();
