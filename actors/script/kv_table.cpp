#include "actors/script/kv_table.hpp"

#include <bit>
#include <limits>

namespace centralita::actors {

namespace {

static_assert(std::has_single_bit(kv_table::stripes));

using std::chrono::milliseconds;

error invalid(std::string reason) { return error{errc::invalid_argument, "kv: " + std::move(reason)}; }
error too_large(std::string reason) { return error{errc::too_large, "kv: " + std::move(reason)}; }

constexpr kv_table::clock::time_point never = kv_table::clock::time_point::max();

bool expired(kv_table::clock::time_point expires, kv_table::clock::time_point now) noexcept {
  return expires != never && expires <= now;
}

/// now + ttl for ttl > 0, saturating at `never`: a script may pass any
/// number, and a ttl beyond the clock's range must not overflow (signed: UB).
kv_table::clock::time_point expiry(kv_table::clock::time_point now, milliseconds ttl) noexcept {
  if (ttl.count() == 0) return never;
  using dur = kv_table::clock::duration;
  constexpr auto max_ms = std::chrono::duration_cast<milliseconds>(dur::max());
  if (ttl >= max_ms) return never;
  const dur d = std::chrono::duration_cast<dur>(ttl);
  if (now.time_since_epoch() > dur::max() - d) return never;
  return now + d;
}

const char* type_name(const kv_table::value& v) noexcept {
  switch (v.index()) {
  case 0: return "a string";
  case 1: return "an integer";
  case 2: return "a number";
  default: return "a boolean";
  }
}

} // namespace

kv_table::kv_table(limits l) : limits_(l) {}

std::size_t kv_table::stripe_of(std::string_view key) noexcept {
  // Fibonacci hashing: the map inside the shard uses the low bits of the same
  // hash (modulo its bucket count), so the shard takes the top bits of a mix.
  constexpr int bits = std::countr_zero(stripes);
  const uint64_t h = std::hash<std::string_view>{}(key);
  return bits == 0 ? 0 : static_cast<std::size_t>((h * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

result<void> kv_table::check_key(std::string_view key) const {
  if (key.empty()) return invalid("empty key");
  if (key.size() > limits_.max_key)
    return invalid("key of " + std::to_string(key.size()) + " bytes is over the " +
                   std::to_string(limits_.max_key) + "-byte limit");
  return {};
}

std::size_t kv_table::drop_expired(shard& s, clock::time_point now) {
  const std::size_t n = std::erase_if(s.entries, [now](const auto& kv) { return expired(kv.second.expires, now); });
  size_.fetch_sub(n, std::memory_order_relaxed);
  return n;
}

bool kv_table::reserve(shard& s, clock::time_point now) {
  auto take = [this] {
    // A compare-and-swap, not fetch_add-then-undo: a failed attempt must not
    // make the count look full to another thread for an instant.
    std::size_t n = size_.load(std::memory_order_relaxed);
    while (n < limits_.max_entries)
      if (size_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
    return false;
  };
  if (take()) return true;
  // Full: reclaim this shard's expired entries (bounded by one shard, and
  // already locked) before refusing, so a table of stale entries still takes
  // new ones without waiting for the sweeper to come round.
  return drop_expired(s, now) > 0 && take();
}

std::optional<kv_table::value> kv_table::get(std::string_view key, clock::time_point now) {
  shard& s = shard_for(key);
  std::lock_guard lock(s.mtx);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return std::nullopt;
  if (expired(it->second.expires, now)) {
    s.entries.erase(it);
    size_.fetch_sub(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return it->second.v;
}

result<void> kv_table::set(std::string_view key, value v, milliseconds ttl, clock::time_point now) {
  if (auto k = check_key(key); !k) return k;
  if (ttl.count() < 0) return invalid("negative ttl " + std::to_string(ttl.count()) + " ms");
  if (const auto* str = std::get_if<std::string>(&v); str && str->size() > limits_.max_value)
    return too_large("value of " + std::to_string(str->size()) + " bytes is over the " +
                     std::to_string(limits_.max_value) + "-byte limit");
  const clock::time_point expires = expiry(now, ttl);

  shard& s = shard_for(key);
  std::lock_guard lock(s.mtx);
  if (auto it = s.entries.find(key); it != s.entries.end()) {
    it->second = entry{std::move(v), expires};  // live or expired: replaced in place
    return {};
  }
  if (!reserve(s, now))
    return too_large("table full (" + std::to_string(limits_.max_entries) + " entries)");
  try {
    s.entries.emplace(std::string(key), entry{std::move(v), expires});
  } catch (...) {
    size_.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
  return {};
}

result<int64_t> kv_table::incr(std::string_view key, int64_t by, milliseconds ttl, clock::time_point now) {
  if (auto k = check_key(key); !k) return k.err();
  if (ttl.count() < 0) return invalid("negative ttl " + std::to_string(ttl.count()) + " ms");

  shard& s = shard_for(key);
  std::lock_guard lock(s.mtx);
  if (auto it = s.entries.find(key); it != s.entries.end()) {
    entry& e = it->second;
    if (expired(e.expires, now)) {
      e = entry{by, expiry(now, ttl)};  // counts as a new key: 0 + by, with this ttl
      return by;
    }
    auto* n = std::get_if<int64_t>(&e.v);
    if (!n) return invalid("cannot increment " + std::string(type_name(e.v)) + " (only integers)");
    int64_t sum = 0;
    if (__builtin_add_overflow(*n, by, &sum)) return invalid("integer overflow");
    *n = sum;  // the expiry stays as it was
    return sum;
  }
  if (!reserve(s, now))
    return too_large("table full (" + std::to_string(limits_.max_entries) + " entries)");
  try {
    s.entries.emplace(std::string(key), entry{by, expiry(now, ttl)});
  } catch (...) {
    size_.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
  return by;
}

bool kv_table::remove(std::string_view key, clock::time_point now) {
  shard& s = shard_for(key);
  std::lock_guard lock(s.mtx);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) return false;
  const bool live = !expired(it->second.expires, now);
  s.entries.erase(it);
  size_.fetch_sub(1, std::memory_order_relaxed);
  return live;
}

std::size_t kv_table::sweep(clock::time_point now) {
  shard& s = shards_[cursor_.fetch_add(1, std::memory_order_relaxed) % stripes];
  std::lock_guard lock(s.mtx);
  return drop_expired(s, now);
}

} // namespace centralita::actors
