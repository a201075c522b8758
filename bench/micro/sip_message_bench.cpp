// Micro-benchmarks of protocols/sip: what a proxy pays per message.
//   build/bench/sip_message_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include "protocols/sip/message.hpp"
#include "protocols/sip/routing_key.hpp"

#include <benchmark/benchmark.h>

#include <string>

using namespace centralita::sip;

namespace {

// A typical INVITE with an SDP offer (~900 bytes).
const std::string invite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY\r\n"
    "Supported: replaces, timer, 100rel\r\n"
    "User-Agent: centralita-bench/0.1\r\n"
    "Session-Expires: 1800\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 371\r\n"
    "\r\n"
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.101\r\n"
    "t=0 0\r\n"
    "m=audio 49172 RTP/AVP 0 8 9 18 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:18 G729/8000\r\n"
    "a=fmtp:18 annexb=no\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=ptime:20\r\n"
    "a=maxptime:150\r\n"
    "a=sendrecv\r\n"
    "a=rtcp:49173 IN IP4 192.0.2.101\r\n";

const std::string options =
    "OPTIONS sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:monitor@example.org>;tag=1928301774\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: a84b4c76e66710@pc33.example.org\r\n"
    "CSeq: 63104 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n";

void parse_invite(benchmark::State& state) {
  for (auto _ : state) {
    auto m = message::parse(invite);
    benchmark::DoNotOptimize(m.ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * invite.size()));
}
BENCHMARK(parse_invite);

void proxy_invite(benchmark::State& state) {
  id_generator ids(1);
  for (auto _ : state) {
    auto m = message::parse(invite);
    m->push_via("UDP", "192.0.2.10", 5060, ids);
    m->decrement_max_forwards();
    m->add_record_route("sip:192.0.2.10;lr");
    auto out = m->serialize();
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(proxy_invite);

void options_200(benchmark::State& state) {
  auto req = message::parse(options);
  for (auto _ : state) {
    auto r = make_response(*req, 200, {}, "abcdef12");
    auto out = r->serialize();
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(options_200);

void parse_options_and_answer(benchmark::State& state) {
  for (auto _ : state) {
    auto req = message::parse(options);
    auto r = make_response(*req, 200, {}, "abcdef12");
    auto out = r->serialize();
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(parse_options_and_answer);

void scan_call_id_invite(benchmark::State& state) {
  for (auto _ : state) {
    auto cid = scan_call_id(invite);
    benchmark::DoNotOptimize(cid);
  }
}
BENCHMARK(scan_call_id_invite);

} // namespace

BENCHMARK_MAIN();
