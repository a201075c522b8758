// Micro-benchmarks of the registrar rules (protocols/sip/registrar): what one
// REGISTER costs beyond parsing, for an AOR with 1 and with 10 contacts.
//   build/bench/registrar_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include "protocols/sip/message.hpp"
#include "protocols/sip/registrar/registrar.hpp"

#include <benchmark/benchmark.h>

#include <string>

using namespace centralita::sip;

namespace {

constexpr int64_t now = 1'800'000'000;

std::string register_bytes(std::string_view contacts, uint32_t cseq) {
  return "REGISTER sip:example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK-bench;rport\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:alice@example.com>;tag=f1\r\n"
         "To: <sip:alice@example.com>\r\n"
         "Call-ID: bench-reg@192.0.2.7\r\n"
         "CSeq: " + std::to_string(cseq) + " REGISTER\r\n"
         "Contact: " + std::string(contacts) + "\r\n"
         "Expires: 600\r\n"
         "User-Agent: centralita-bench/0.1\r\n"
         "Content-Length: 0\r\n\r\n";
}

std::string contact(int i) {
  return "<sip:alice@192.0.2." + std::to_string(10 + i) + ":5062;transport=udp>;"
         "+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-0000000000" + std::to_string(10 + i)
         + ">\";reg-id=1";
}

register_request extract(const std::string& bytes) {
  auto m = message::parse(bytes);
  return std::move(extract_register(*m, "192.0.2.7:5062", "udp", 0).value());
}

/// The AOR already has `n` contacts (registered with CSeq 1); the measured request
/// refreshes one of them (CSeq 2): prune, match, check order, update, build the 200's
/// Contact list.
void BM_process_register_refresh(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::string all;
  for (int i = 0; i < n; ++i) all += (i != 0 ? ", " : "") + contact(i);
  registrar_config cfg;
  auto initial = process_register({}, extract(register_bytes(all, 1)), cfg, now);
  if (!initial.ok()) state.SkipWithError("setup failed");
  const auto refresh = extract(register_bytes(contact(n - 1), 2));
  for (auto _ : state) {
    auto out = process_register(initial.bindings, refresh, cfg, now + 60);
    benchmark::DoNotOptimize(out);
  }
  size_t heap = 0;
  for (const auto& b : initial.bindings) heap += b.heap_bytes();
  state.counters["bytes_per_binding"] =
      static_cast<double>(sizeof(binding)) + static_cast<double>(heap) / n;
}
BENCHMARK(BM_process_register_refresh)->Arg(1)->Arg(10);

/// parse + extract_register + process_register for a one-contact refresh.
void BM_parse_extract_process(benchmark::State& state) {
  registrar_config cfg;
  auto initial = process_register({}, extract(register_bytes(contact(0), 1)), cfg, now);
  const std::string bytes = register_bytes(contact(0), 2);
  for (auto _ : state) {
    auto m = message::parse(bytes);
    auto r = extract_register(*m, "192.0.2.7:5062", "udp", 0);
    auto out = process_register(initial.bindings, *r, cfg, now + 60);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_parse_extract_process);

} // namespace

BENCHMARK_MAIN();
