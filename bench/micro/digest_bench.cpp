// Micro-benchmarks of protocols/auth: what a registrar pays per authenticated
// REGISTER (parse the Authorization value, check the nonce and its count, verify
// the response), per algorithm.
//   build/bench/digest_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include "protocols/auth/challenge.hpp"
#include "protocols/auth/credentials.hpp"
#include "protocols/auth/digest.hpp"
#include "protocols/auth/nonce_issuer.hpp"
#include "protocols/auth/nonce_tracker.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

using namespace centralita::auth;

namespace {

const std::string secret = "bench-secret-0123456789abcdef0123";
constexpr uint64_t t0 = 1'700'000'000'000;

/// A phone's Authorization value for REGISTER with algorithm `a` and a fresh nonce.
std::string authorization(algorithm a, const std::string& nonce) {
  credentials c;
  c.username = "alice";
  c.realm = "example.com";
  c.nonce = nonce;
  c.uri = "sip:example.com";
  c.alg = a;
  c.cnonce = "6d9a4b21f0e3";
  c.qop = "auth";
  c.nc_hex = "00000001";
  c.nc = 1;
  std::string resp = client_response(c, "REGISTER", "correct horse battery staple");
  return "Digest username=\"alice\", realm=\"example.com\", nonce=\"" + nonce +
         "\", uri=\"sip:example.com\", response=\"" + resp + "\", algorithm=" + std::string(to_string(a)) +
         ", cnonce=\"6d9a4b21f0e3\", qop=auth, nc=00000001";
}

void parse_and_verify(benchmark::State& state, algorithm a) {
  auto iss = nonce_issuer::create(secret);
  if (!iss) std::abort();
  const std::string nonce = iss->issue("example.com", t0);
  const std::string header = authorization(a, nonce);
  const std::string stored = ha1(a, "alice", "example.com", "correct horse battery staple");
  for (auto _ : state) {
    auto c = parse_credentials(header);
    bool ok = c && verify(*c, "REGISTER", stored);
    benchmark::DoNotOptimize(ok);
    if (!ok) state.SkipWithError("verify failed");
  }
}

void BM_parse_verify_md5(benchmark::State& state) { parse_and_verify(state, algorithm::md5); }
void BM_parse_verify_sha256(benchmark::State& state) { parse_and_verify(state, algorithm::sha256); }
void BM_parse_verify_sha256_sess(benchmark::State& state) { parse_and_verify(state, algorithm::sha256_sess); }

void BM_parse_only(benchmark::State& state) {
  const std::string header = authorization(algorithm::sha256, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
  for (auto _ : state) benchmark::DoNotOptimize(parse_credentials(header).ok());
}

void BM_nonce_issue(benchmark::State& state) {
  auto iss = nonce_issuer::create(secret);
  if (!iss) std::abort();
  uint64_t now = t0;
  for (auto _ : state) benchmark::DoNotOptimize(iss->issue("example.com", ++now));
}

void BM_nonce_check(benchmark::State& state) {
  auto iss = nonce_issuer::create(secret);
  if (!iss) std::abort();
  const std::string nonce = iss->issue("example.com", t0);
  for (auto _ : state) benchmark::DoNotOptimize(iss->check(nonce, "example.com", t0 + 1000, 30'000));
}

void BM_challenge(benchmark::State& state) {
  auto iss = nonce_issuer::create(secret);
  if (!iss) std::abort();
  uint64_t now = t0;
  for (auto _ : state)
    benchmark::DoNotOptimize(make_challenge("example.com", iss->issue("example.com", ++now), algorithm::sha256, false, ""));
}

/// A full server-side check of one REGISTER: parse, nonce, nonce-count, verify.
void BM_register_check_sha256(benchmark::State& state) {
  auto iss = nonce_issuer::create(secret);
  if (!iss) std::abort();
  const std::string stored = ha1(algorithm::sha256, "alice", "example.com", "correct horse battery staple");
  nonce_tracker tracker(static_cast<size_t>(state.range(0)));
  uint64_t now = t0;
  std::string header;
  for (auto _ : state) {
    state.PauseTiming();
    header = authorization(algorithm::sha256, iss->issue("example.com", ++now));
    state.ResumeTiming();
    auto c = parse_credentials(header);
    auto info = iss->inspect(c->nonce, c->realm, now, 30'000);
    bool ok = info.state == nonce_state::valid &&
              tracker.observe(c->nonce, info.issued_ms, c->nc) == nc_verdict::accepted &&
              verify(*c, "REGISTER", stored);
    benchmark::DoNotOptimize(ok);
  }
}

} // namespace

BENCHMARK(BM_parse_verify_md5);
BENCHMARK(BM_parse_verify_sha256);
BENCHMARK(BM_parse_verify_sha256_sess);
BENCHMARK(BM_parse_only);
BENCHMARK(BM_nonce_issue);
BENCHMARK(BM_nonce_check);
BENCHMARK(BM_challenge);
BENCHMARK(BM_register_check_sha256)->Arg(100'000);

BENCHMARK_MAIN();
