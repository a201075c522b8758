// Micro-benchmarks of protocols/events: what publishing one REGISTER costs the
// bus as the number of subscriptions grows (anchored waits are one hash lookup
// per event attribute; unanchored globs are checked one by one), and what a
// script pays to build a filter.
//   build/bench/event_filter_bench --benchmark_min_time=0.2

#include "protocols/events/filter.hpp"
#include "protocols/events/subscription_index.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

using namespace centralita::events;

namespace {

filter must(std::string_view text) {
  auto f = filter::parse(text);
  if (!f) std::abort();
  return std::move(f).value();
}

/// A REGISTER as the registrar publishes it (every catalogue attribute set).
event register_event(const std::string& aor) {
  event e("REGISTER");
  e.set("aor", aor)
      .set("contact", "sip:" + aor + ";transport=udp")
      .set("expires", "3600")
      .set("source_ip", "192.0.2.7")
      .set("source_port", "5060")
      .set("transport", "udp")
      .set("user_agent", "Linphone/5.2.0 (belle-sip/5.2.0)")
      .set("instance", "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>")
      .set("reg_id", "1")
      .set("call_id", "a84b4c76e66710@pc33.example.com");
  return e;
}

/// N anchored waits "REGISTER aor=user<i>@example.com", plus `globs` patterns
/// on other domains (checked for every REGISTER, matching none).
subscription_index make_index(int64_t n, int globs) {
  subscription_index idx;
  uint64_t id = 0;
  for (int64_t i = 0; i < n; ++i)
    idx.add(id++, must("REGISTER aor=user" + std::to_string(i) + "@example.com"));
  for (int g = 0; g < globs; ++g)
    idx.add(id++, must("REGISTER aor=*@tenant" + std::to_string(g) + ".example.net"));
  return idx;
}

void match(benchmark::State& state, int globs) {
  const subscription_index idx = make_index(state.range(0), globs);
  const event e = register_event("user0@example.com");  // reaches exactly one wait
  std::vector<subscription_index::id> out;
  out.reserve(16);
  for (auto _ : state) {
    out.clear();
    idx.match(e, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() != 1) state.SkipWithError("expected exactly one match");
  state.SetLabel(std::to_string(idx.size()) + " subscriptions");
}

void BM_match_anchored(benchmark::State& state) { match(state, 0); }
void BM_match_anchored_plus_100_globs(benchmark::State& state) { match(state, 100); }

using conds = std::vector<std::pair<std::string, std::string>>;

void make(benchmark::State& state, const conds& c) {
  for (auto _ : state) {
    auto f = filter::make("REGISTER", c);
    benchmark::DoNotOptimize(f.ok());
  }
}

void BM_make_equality(benchmark::State& state) { make(state, {{"aor", "user42@example.com"}}); }
void BM_make_glob(benchmark::State& state) { make(state, {{"aor", "user*@example.com"}}); }
void BM_make_regex(benchmark::State& state) { make(state, {{"aor", "~^user[0-9]+@example\\.com$"}}); }
void BM_make_three_conditions(benchmark::State& state) {
  make(state, {{"aor", "user42@example.com"}, {"transport", "udp"}, {"user_agent", "Linphone*"}});
}

void BM_parse(benchmark::State& state) {
  for (auto _ : state) {
    auto f = filter::parse("REGISTER aor=user42@example.com transport=udp user_agent=\"Linphone*\"");
    benchmark::DoNotOptimize(f.ok());
  }
}

} // namespace

BENCHMARK(BM_match_anchored)->Arg(1)->Arg(1000)->Arg(100'000);
BENCHMARK(BM_match_anchored_plus_100_globs)->Arg(1)->Arg(1000)->Arg(100'000);
BENCHMARK(BM_make_equality);
BENCHMARK(BM_make_glob);
BENCHMARK(BM_make_regex);
BENCHMARK(BM_make_three_conditions);
BENCHMARK(BM_parse);

BENCHMARK_MAIN();
