// kv_table: get/set/incr/remove, ttl expiry in virtual time (explicit time
// points, never sleeps), limits and their reasons, incr's type and overflow
// errors, sweep; threads hammering one key and many; and a rapidcheck model
// (a std::map that mirrors the documented rules, shards included) driven by
// random operation sequences with advancing time.
//
// The rapidcheck seed and case count come from ctest (RC_PARAMS in
// test/CMakeLists.txt); run the binary with RC_PARAMS="seed=20261122
// max_success=1000" to get the same cases by hand.

#include "actors/script/kv_table.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace centralita;
using namespace centralita::actors;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

using value = kv_table::value;
using tp = kv_table::clock::time_point;

const tp t0 = tp{} + 1000h;  // any fixed instant: the table never reads the clock itself

template <class T>
T must(result<T> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason);
  return r.ok() ? *r : T{};
}

void must(result<void> r) { EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason); }

template <class R>
std::string reason(const R& r, errc want) {
  EXPECT_FALSE(r.ok());
  if (r.ok()) return {};
  EXPECT_EQ(r.err().code, want) << r.err().reason;
  return r.err().reason;
}

/// A key other than `key` that lands in the same shard.
std::string same_stripe_as(std::string_view key) {
  for (int i = 0;; ++i) {
    std::string k = "k" + std::to_string(i);
    if (k != key && kv_table::stripe_of(k) == kv_table::stripe_of(key)) return k;
  }
}

/// A key in a different shard from `key`.
std::string other_stripe_than(std::string_view key) {
  for (int i = 0;; ++i) {
    std::string k = "o" + std::to_string(i);
    if (kv_table::stripe_of(k) != kv_table::stripe_of(key)) return k;
  }
}

} // namespace

TEST(kv_table, set_get_every_type) {
  kv_table kv;
  must(kv.set("s", std::string("hello"), 0ms, t0));
  must(kv.set("i", int64_t{-42}, 0ms, t0));
  must(kv.set("d", 2.5, 0ms, t0));
  must(kv.set("b", true, 0ms, t0));
  must(kv.set("lit", "a C string is a string, not a bool", 0ms, t0));
  EXPECT_EQ(kv.get("s", t0), value(std::string("hello")));
  EXPECT_EQ(kv.get("i", t0), value(int64_t{-42}));
  EXPECT_EQ(kv.get("d", t0), value(2.5));
  EXPECT_EQ(kv.get("b", t0), value(true));
  EXPECT_EQ(kv.get("lit", t0), value(std::string("a C string is a string, not a bool")));
  EXPECT_EQ(kv.get("missing", t0), std::nullopt);
  EXPECT_EQ(kv.size(), 5u);
}

TEST(kv_table, set_replaces_value_type_and_expiry) {
  kv_table kv;
  must(kv.set("k", int64_t{1}, 10ms, t0));
  must(kv.set("k", std::string("x"), 0ms, t0 + 5ms));
  EXPECT_EQ(kv.get("k", t0 + 1h), value(std::string("x")));  // the new set has no expiry
  must(kv.set("k", false, 20ms, t0 + 1h));
  EXPECT_EQ(kv.get("k", t0 + 1h + 19ms), value(false));
  EXPECT_EQ(kv.get("k", t0 + 1h + 20ms), std::nullopt);
  EXPECT_EQ(kv.size(), 0u);
}

TEST(kv_table, keys_are_exact_bytes) {
  kv_table kv;
  must(kv.set("Key", int64_t{1}, 0ms, t0));
  must(kv.set(std::string_view("a\0b", 3), int64_t{2}, 0ms, t0));
  EXPECT_EQ(kv.get("key", t0), std::nullopt);
  EXPECT_EQ(kv.get("a", t0), std::nullopt);
  EXPECT_EQ(kv.get(std::string_view("a\0b", 3), t0), value(int64_t{2}));
}

TEST(kv_table, ttl_expiry_without_a_sweep) {
  kv_table kv;
  must(kv.set("k", std::string("v"), 100ms, t0));
  EXPECT_TRUE(kv.get("k", t0).has_value());
  EXPECT_TRUE(kv.get("k", t0 + 99ms).has_value());
  EXPECT_EQ(kv.size(), 1u);
  EXPECT_EQ(kv.get("k", t0 + 100ms), std::nullopt);  // lives for exactly ttl
  EXPECT_EQ(kv.size(), 0u);                           // and a read drops it
  EXPECT_EQ(kv.get("k", t0 + 99ms), std::nullopt);   // gone for good
}

TEST(kv_table, expired_entries_are_invisible_to_every_operation) {
  kv_table kv;
  must(kv.set("k", std::string("v"), 10ms, t0));
  EXPECT_FALSE(kv.remove("k", t0 + 10ms));  // was there, but expired: not a removal
  EXPECT_EQ(kv.size(), 0u);
  must(kv.set("n", int64_t{41}, 10ms, t0));
  EXPECT_EQ(must(kv.incr("n", 1, 0ms, t0 + 10ms)), 1);  // expired counts as 0
  EXPECT_EQ(kv.get("n", t0 + 1000h), value(int64_t{1}));  // and takes incr's ttl (none)
  must(kv.set("s", std::string("text"), 10ms, t0));
  EXPECT_EQ(must(kv.incr("s", 5, 0ms, t0 + 10ms)), 5);   // an expired string is no type error
}

TEST(kv_table, huge_ttls_saturate_to_never) {
  kv_table kv;
  must(kv.set("max", int64_t{1}, std::chrono::milliseconds::max(), t0));
  must(kv.set("big", int64_t{1}, std::chrono::milliseconds(std::numeric_limits<int64_t>::max() / 1000), t0));
  const tp late = tp::max() - 1ns;
  must(kv.set("late", int64_t{1}, 1h, late));  // now + ttl is past the clock's end
  EXPECT_TRUE(kv.get("max", late).has_value());
  EXPECT_TRUE(kv.get("big", late).has_value());
  EXPECT_TRUE(kv.get("late", late).has_value());
  EXPECT_EQ(must(kv.incr("new", 1, std::chrono::milliseconds::max(), t0)), 1);
  EXPECT_TRUE(kv.get("new", late).has_value());
}

TEST(kv_table, negative_ttl_is_refused) {
  kv_table kv;
  EXPECT_THAT(reason(kv.set("k", int64_t{1}, -1ms, t0), errc::invalid_argument), HasSubstr("negative ttl"));
  EXPECT_THAT(reason(kv.incr("k", 1, -5ms, t0), errc::invalid_argument), HasSubstr("negative ttl"));
  EXPECT_EQ(kv.size(), 0u);
}

TEST(kv_table, incr_creates_adds_and_keeps_expiry) {
  kv_table kv;
  EXPECT_EQ(must(kv.incr("c", 5, 100ms, t0)), 5);
  EXPECT_EQ(must(kv.incr("c", -7, 0ms, t0 + 50ms)), -2);     // ttl ignored: the key exists
  EXPECT_EQ(must(kv.incr("c", 1, 10'000ms, t0 + 99ms)), -1);  // still the first expiry
  EXPECT_EQ(kv.get("c", t0 + 99ms), value(int64_t{-1}));
  EXPECT_EQ(kv.get("c", t0 + 100ms), std::nullopt);
  EXPECT_EQ(must(kv.incr("c", 0, 0ms, t0 + 100ms)), 0);  // recreated, no ttl
  EXPECT_EQ(kv.get("c", t0 + 1000h), value(int64_t{0}));
  must(kv.set("i", int64_t{10}, 0ms, t0));
  EXPECT_EQ(must(kv.incr("i", 32, 0ms, t0)), 42);
}

TEST(kv_table, incr_on_a_non_integer_is_an_error_and_changes_nothing) {
  kv_table kv;
  must(kv.set("s", std::string("7"), 0ms, t0));
  must(kv.set("d", 1.5, 0ms, t0));
  must(kv.set("b", true, 0ms, t0));
  EXPECT_THAT(reason(kv.incr("s", 1, 0ms, t0), errc::invalid_argument), HasSubstr("cannot increment a string"));
  EXPECT_THAT(reason(kv.incr("d", 1, 0ms, t0), errc::invalid_argument), HasSubstr("cannot increment a number"));
  EXPECT_THAT(reason(kv.incr("b", 1, 0ms, t0), errc::invalid_argument), HasSubstr("cannot increment a boolean"));
  EXPECT_EQ(kv.get("s", t0), value(std::string("7")));
  EXPECT_EQ(kv.get("d", t0), value(1.5));
}

TEST(kv_table, incr_overflow_is_an_error_and_changes_nothing) {
  kv_table kv;
  constexpr int64_t max = std::numeric_limits<int64_t>::max();
  constexpr int64_t min = std::numeric_limits<int64_t>::min();
  must(kv.set("hi", max - 1, 0ms, t0));
  EXPECT_EQ(must(kv.incr("hi", 1, 0ms, t0)), max);
  EXPECT_THAT(reason(kv.incr("hi", 1, 0ms, t0), errc::invalid_argument), HasSubstr("overflow"));
  EXPECT_EQ(kv.get("hi", t0), value(max));
  must(kv.set("lo", min, 0ms, t0));
  EXPECT_THAT(reason(kv.incr("lo", -1, 0ms, t0), errc::invalid_argument), HasSubstr("overflow"));
  EXPECT_EQ(must(kv.incr("lo", max, 0ms, t0)), -1);
}

TEST(kv_table, remove) {
  kv_table kv;
  must(kv.set("k", int64_t{1}, 0ms, t0));
  EXPECT_TRUE(kv.remove("k", t0));
  EXPECT_FALSE(kv.remove("k", t0));
  EXPECT_FALSE(kv.remove("never-set"));
  EXPECT_EQ(kv.get("k", t0), std::nullopt);
  EXPECT_EQ(kv.size(), 0u);
}

TEST(kv_table, key_limits) {
  kv_table kv({.max_entries = 10, .max_key = 4, .max_value = 8});
  EXPECT_THAT(reason(kv.set("", int64_t{1}, 0ms, t0), errc::invalid_argument), HasSubstr("empty key"));
  EXPECT_THAT(reason(kv.incr("", 1, 0ms, t0), errc::invalid_argument), HasSubstr("empty key"));
  must(kv.set("abcd", int64_t{1}, 0ms, t0));
  EXPECT_EQ(reason(kv.set("abcde", int64_t{1}, 0ms, t0), errc::invalid_argument),
            "kv: key of 5 bytes is over the 4-byte limit");
  EXPECT_THAT(reason(kv.incr("abcde", 1, 0ms, t0), errc::invalid_argument), HasSubstr("over the 4-byte limit"));
  EXPECT_EQ(kv.get("", t0), std::nullopt);
  EXPECT_FALSE(kv.remove(""));
  EXPECT_EQ(kv.size(), 1u);
}

TEST(kv_table, value_limit_applies_to_strings) {
  kv_table kv({.max_entries = 10, .max_key = 4, .max_value = 8});
  must(kv.set("s", std::string(8, 'x'), 0ms, t0));
  EXPECT_EQ(reason(kv.set("s", std::string(9, 'x'), 0ms, t0), errc::too_large),
            "kv: value of 9 bytes is over the 8-byte limit");
  EXPECT_EQ(kv.get("s", t0), value(std::string(8, 'x')));  // the old value stays
  must(kv.set("n", int64_t{123456789012345}, 0ms, t0));      // numbers have no length
}

TEST(kv_table, table_full) {
  kv_table kv({.max_entries = 3});
  must(kv.set("a", int64_t{1}, 0ms, t0));
  must(kv.set("b", int64_t{1}, 0ms, t0));
  EXPECT_EQ(must(kv.incr("c", 1, 0ms, t0)), 1);
  EXPECT_EQ(reason(kv.set("d", int64_t{1}, 0ms, t0), errc::too_large), "kv: table full (3 entries)");
  EXPECT_THAT(reason(kv.incr("d", 1, 0ms, t0), errc::too_large), HasSubstr("table full"));
  must(kv.set("a", std::string("replacing is not growing"), 0ms, t0));
  EXPECT_EQ(must(kv.incr("c", 1, 0ms, t0)), 2);
  EXPECT_TRUE(kv.remove("b"));
  must(kv.set("d", int64_t{1}, 0ms, t0));
  EXPECT_EQ(kv.size(), 3u);
}

TEST(kv_table, full_table_reclaims_expired_entries_of_the_key_shard) {
  kv_table kv({.max_entries = 2});
  const std::string stale = "stale";
  const std::string mate = same_stripe_as(stale);
  const std::string other = other_stripe_than(stale);
  must(kv.set(stale, int64_t{1}, 10ms, t0));
  must(kv.set(other, int64_t{1}, 0ms, t0));
  EXPECT_FALSE(kv.set(mate, int64_t{1}, 0ms, t0 + 9ms).ok());  // still live: full
  must(kv.set(mate, int64_t{1}, 0ms, t0 + 10ms));              // expired in mate's shard: reclaimed
  EXPECT_EQ(kv.size(), 2u);
  EXPECT_EQ(kv.get(stale, t0), std::nullopt);
}

TEST(kv_table, full_table_of_expired_entries_takes_new_keys_after_a_sweep_round) {
  kv_table kv({.max_entries = 100});
  for (int i = 0; i < 100; ++i) must(kv.set("k" + std::to_string(i), int64_t{i}, 5ms, t0));
  const std::string fresh = "fresh";
  std::size_t in_fresh_shard = 0;
  for (int i = 0; i < 100; ++i)
    in_fresh_shard += kv_table::stripe_of("k" + std::to_string(i)) == kv_table::stripe_of(fresh);
  // A new key reclaims only its own shard's expired entries: with none there,
  // the table stays full until the sweeper has been round.
  EXPECT_EQ(kv.set(fresh, int64_t{1}, 0ms, t0 + 5ms).ok(), in_fresh_shard > 0);
  EXPECT_EQ(kv.size(), in_fresh_shard > 0 ? 100 - in_fresh_shard + 1 : 100u);
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < kv_table::stripes; ++i) dropped += kv.sweep(t0 + 5ms);
  EXPECT_EQ(dropped, 100 - in_fresh_shard);  // the rest of the expired entries
  must(kv.set(fresh, int64_t{1}, 0ms, t0 + 5ms));
  EXPECT_EQ(kv.size(), 1u);
}

TEST(kv_table, sweep_takes_one_shard_per_call_and_only_expired_entries) {
  kv_table kv;
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back("key-" + std::to_string(i));
  for (std::size_t i = 0; i < keys.size(); ++i)
    must(kv.set(keys[i], int64_t{1}, i % 2 == 0 ? 10ms : 0ms, t0));  // half expire
  EXPECT_EQ(kv.sweep(t0 + 9ms), 0u);  // shard 0, nothing expired yet
  std::vector<std::size_t> expired_in(kv_table::stripes, 0);
  for (std::size_t i = 0; i < keys.size(); i += 2) ++expired_in[kv_table::stripe_of(keys[i])];
  std::size_t total = 0;
  for (std::size_t i = 1; i <= kv_table::stripes; ++i) {  // the cursor is at shard 1 now
    const std::size_t n = kv.sweep(t0 + 10ms);
    EXPECT_EQ(n, expired_in[i % kv_table::stripes]) << "shard " << i % kv_table::stripes;
    total += n;
  }
  EXPECT_EQ(total, 500u);
  EXPECT_EQ(kv.size(), 500u);
  EXPECT_EQ(kv.sweep(t0 + 1000h), 0u);
  for (std::size_t i = 1; i < keys.size(); i += 2) EXPECT_TRUE(kv.get(keys[i], t0 + 1000h).has_value());
}

TEST(kv_table, stripes_spread_keys) {
  std::vector<int> per(kv_table::stripes, 0);
  for (int i = 0; i < 64'000; ++i) ++per[kv_table::stripe_of("user:" + std::to_string(i))];
  for (std::size_t s = 0; s < per.size(); ++s) {
    EXPECT_GT(per[s], 700) << s;  // 1000 expected
    EXPECT_LT(per[s], 1300) << s;
  }
}

// --- threads ------------------------------------------------------------------

TEST(kv_table_threads, incr_on_one_key_loses_nothing) {
  kv_table kv;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&kv] {
      for (int i = 0; i < 10'000; ++i) (void)kv.incr("hits", 1, 0ms);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(kv.get("hits"), value(int64_t{40'000}));
  EXPECT_EQ(kv.size(), 1u);
}

TEST(kv_table_threads, the_entry_limit_holds_under_contention) {
  kv_table kv({.max_entries = 1000});
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&kv, &ok, t] {
      for (int i = 0; i < 500; ++i)
        if (kv.set("t" + std::to_string(t) + "-" + std::to_string(i), int64_t{i}, 0ms, t0).ok()) ++ok;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 1000);
  EXPECT_EQ(kv.size(), 1000u);
}

TEST(kv_table_threads, mixed_operations_keep_the_count_consistent) {
  kv_table kv({.max_entries = 150});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&kv, t] {
      uint32_t x = 2463534242u + static_cast<uint32_t>(t);
      for (int i = 0; i < 20'000; ++i) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;  // xorshift32
        const std::string key = "k" + std::to_string(x % 200);
        const tp now = t0 + std::chrono::milliseconds(i);
        switch (x >> 29) {
        case 0: (void)kv.get(key, now); break;
        case 1: (void)kv.set(key, std::string(x % 16, 'v'), std::chrono::milliseconds(x % 40), now); break;
        case 2: (void)kv.set(key, int64_t{i}, 0ms, now); break;
        case 3: (void)kv.incr(key, 1, std::chrono::milliseconds(x % 30), now); break;
        case 4: (void)kv.remove(key, now); break;
        case 5: (void)kv.sweep(now); break;
        default: (void)kv.incr(key, -1, 0ms, now); break;
        }
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_LE(kv.size(), 150u);
  for (int i = 0; i < 200; ++i) (void)kv.remove("k" + std::to_string(i));
  EXPECT_EQ(kv.size(), 0u);  // every increment of the count was matched by an entry
}

// --- model --------------------------------------------------------------------

namespace {

/// The documented rules, single-threaded and shard-aware (sweep's cursor,
/// a full table reclaiming the key's own shard) so that size() matches exactly.
class model {
public:
  explicit model(kv_table::limits l) : l_(l) {}

  std::optional<value> get(const std::string& key, tp now) {
    auto it = m_.find(key);
    if (it == m_.end()) return std::nullopt;
    if (dead(it->second, now)) {
      m_.erase(it);
      return std::nullopt;
    }
    return it->second.v;
  }

  bool set(const std::string& key, const value& v, std::chrono::milliseconds ttl, tp now) {
    if (!key_ok(key) || ttl.count() < 0) return false;
    if (auto* s = std::get_if<std::string>(&v); s && s->size() > l_.max_value) return false;
    if (auto it = m_.find(key); it != m_.end()) {
      it->second = {v, expiry(now, ttl)};
      return true;
    }
    if (!room(key, now)) return false;
    m_[key] = {v, expiry(now, ttl)};
    return true;
  }

  std::optional<int64_t> incr(const std::string& key, int64_t by, std::chrono::milliseconds ttl, tp now) {
    if (!key_ok(key) || ttl.count() < 0) return std::nullopt;
    auto it = m_.find(key);
    if (it != m_.end() && !dead(it->second, now)) {
      auto* n = std::get_if<int64_t>(&it->second.v);
      int64_t sum = 0;
      if (!n || __builtin_add_overflow(*n, by, &sum)) return std::nullopt;
      *n = sum;
      return sum;
    }
    if (it == m_.end() && !room(key, now)) return std::nullopt;
    m_[key] = {by, expiry(now, ttl)};
    return by;
  }

  bool remove(const std::string& key, tp now) {
    auto it = m_.find(key);
    if (it == m_.end()) return false;
    const bool live = !dead(it->second, now);
    m_.erase(it);
    return live;
  }

  std::size_t sweep(tp now) { return drop(cursor_++ % kv_table::stripes, now); }

  std::size_t size() const { return m_.size(); }

private:
  struct entry {
    value v;
    std::optional<tp> expires;  // nullopt: never
  };

  static bool dead(const entry& e, tp now) { return e.expires && *e.expires <= now; }
  static std::optional<tp> expiry(tp now, std::chrono::milliseconds ttl) {
    if (ttl.count() == 0) return std::nullopt;
    return now + ttl;  // the property keeps ttls and times far from the clock's end
  }
  bool key_ok(const std::string& key) const { return !key.empty() && key.size() <= l_.max_key; }

  bool room(const std::string& key, tp now) {
    if (m_.size() < l_.max_entries) return true;
    return drop(kv_table::stripe_of(key), now) > 0;
  }

  std::size_t drop(std::size_t stripe, tp now) {
    return std::erase_if(m_, [&](const auto& kv) { return kv_table::stripe_of(kv.first) == stripe && dead(kv.second, now); });
  }

  kv_table::limits l_;
  std::map<std::string, entry> m_;
  std::size_t cursor_ = 0;
};

rc::Gen<std::string> any_key() {
  // A small pool, so operations meet; "" and an over-long key for the errors;
  // k0..k99 so some keys share a shard (a full table reclaims within it).
  return rc::gen::oneOf(rc::gen::element<std::string>("", "toolongkey", "a", "b", "c"),
                        rc::gen::map(rc::gen::inRange(0, 100), [](int i) { return "k" + std::to_string(i); }));
}

rc::Gen<value> any_value() {
  return rc::gen::oneOf(
      rc::gen::map(rc::gen::container<std::string>(rc::gen::element('x', 'y')), [](std::string s) { return value(s); }),
      rc::gen::map(rc::gen::inRange<int64_t>(-5, 6), [](int64_t i) { return value(i); }),
      rc::gen::map(rc::gen::element(std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()),
                   [](int64_t i) { return value(i); }),
      rc::gen::map(rc::gen::inRange(-4, 5), [](int i) { return value(i * 0.5); }),
      rc::gen::map(rc::gen::arbitrary<bool>(), [](bool b) { return value(b); }));
}

rc::Gen<std::chrono::milliseconds> any_ttl() {
  return rc::gen::map(rc::gen::oneOf(rc::gen::just<int64_t>(0), rc::gen::inRange<int64_t>(1, 60),
                                     rc::gen::just<int64_t>(-1)),
                      [](int64_t ms) { return std::chrono::milliseconds(ms); });
}

} // namespace

RC_GTEST_PROP(kv_table_prop, matches_a_single_threaded_model, ()) {
  const kv_table::limits l{.max_entries = *rc::gen::inRange<std::size_t>(1, 12), .max_key = 4, .max_value = 6};
  kv_table kv(l);
  model m(l);
  tp now = t0 + std::chrono::milliseconds(*rc::gen::inRange<int64_t>(0, 1'000'000));
  const int steps = *rc::gen::inRange(1, 120);
  for (int i = 0; i < steps; ++i) {
    switch (*rc::gen::inRange(0, 7)) {
    case 0: {
      const auto k = *any_key();
      RC_ASSERT(kv.get(k, now) == m.get(k, now));
      break;
    }
    case 1: {
      const auto k = *any_key();
      const auto v = *any_value();
      const auto ttl = *any_ttl();
      RC_ASSERT(kv.set(k, v, ttl, now).ok() == m.set(k, v, ttl, now));
      break;
    }
    case 2: {
      const auto k = *any_key();
      const auto by = *rc::gen::oneOf(rc::gen::inRange<int64_t>(-3, 4),
                                      rc::gen::just(std::numeric_limits<int64_t>::max()));
      const auto ttl = *any_ttl();
      auto got = kv.incr(k, by, ttl, now);
      const auto want = m.incr(k, by, ttl, now);
      RC_ASSERT(got.ok() == want.has_value());
      if (want) RC_ASSERT(*got == *want);
      break;
    }
    case 3: {
      const auto k = *any_key();
      RC_ASSERT(kv.remove(k, now) == m.remove(k, now));
      break;
    }
    case 4:
      RC_ASSERT(kv.sweep(now) == m.sweep(now));
      break;
    default:
      now += std::chrono::milliseconds(*rc::gen::inRange(0, 40));
      break;
    }
    RC_ASSERT(kv.size() == m.size());
  }
}
