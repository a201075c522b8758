// Micro-benchmarks of the stateful proxy's pure rules (RFC 3261 §16) for a typical
// INVITE: what the proxy context pays per forwarded request on top of the parse.
//   build/bench/proxy_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include "protocols/sip/message.hpp"
#include "protocols/sip/proxy/forwarding.hpp"
#include "protocols/sip/proxy/request_rules.hpp"
#include "protocols/sip/proxy/response_context.hpp"

#include <benchmark/benchmark.h>

#include <string>

using namespace centralita::sip;
using namespace centralita::sip::proxy;

namespace {

const std::string invite =
    "INVITE sip:bob@atlanta.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Route: <sip:192.0.2.10;lr>\r\n"
    "To: Bob <sip:bob@atlanta.example.com>\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY\r\n"
    "Supported: replaces, timer, 100rel\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 0\r\n\r\n";

proxy_identity identity() {
  proxy_identity us;
  us.hosts = {"atlanta.example.com", "192.0.2.10"};
  us.ports = {5060};
  us.record_route_uri = "sip:192.0.2.10:5060;lr";
  us.via_host = "192.0.2.10";
  return us;
}

void BM_Validate(benchmark::State& state) {
  auto us = identity();
  auto m = std::move(message::parse(invite)).value();
  for (auto _ : state) benchmark::DoNotOptimize(validate(m, us));
}
BENCHMARK(BM_Validate);

void BM_PrepareBranch(benchmark::State& state) {
  auto us = identity();
  auto m = std::move(message::parse(invite)).value();
  (void)preprocess_routes(m, us);
  id_generator ids(42);
  branch_target t{"sip:bob@198.51.100.20:5062", {}};
  for (auto _ : state) benchmark::DoNotOptimize(prepare_branch(m, t, us, true, ids));
}
BENCHMARK(BM_PrepareBranch);

// The whole §16.3–§16.6 path for one INVITE and one target, from bytes to bytes.
void BM_ParseValidatePreprocessPrepareSerialize(benchmark::State& state) {
  auto us = identity();
  id_generator ids(42);
  branch_target t{"sip:bob@198.51.100.20:5062", {}};
  for (auto _ : state) {
    auto m = std::move(message::parse(invite)).value();
    if (validate(m, us)) state.SkipWithError("rejected");
    auto outcome = preprocess_routes(m, us);
    auto b = prepare_branch(m, t, us, record_route_by_default(m, outcome), ids);
    benchmark::DoNotOptimize(b->request.serialize());
  }
}
BENCHMARK(BM_ParseValidatePreprocessPrepareSerialize);

} // namespace

BENCHMARK_MAIN();
