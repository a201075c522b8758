#pragma once

#include "protocols/util/result.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace centralita::actors {

/// The table behind the Lua scripts' kv.get/set/incr (Kamailio's htable
/// role): string keys, typed values, optional expiry. One instance lives as
/// long as the script layer and is shared (by shared_ptr) by every script VM
/// actor, whatever worker thread runs it; it owns only its entries. Every
/// operation is short and never blocks on I/O, so it is a plain striped lock:
/// `stripes` shards, each a hash map behind its own mutex, picked by the key's
/// hash; an operation locks exactly one shard.
///
/// Expiry is checked on every read against the caller's `now` (an expired
/// entry is never returned, and is dropped when touched); sweep() reclaims
/// expired entries nobody touches, one shard per call. Time is always passed
/// in, so tests run in virtual time.
class kv_table {
public:
  using value = std::variant<std::string, int64_t, double, bool>;
  using clock = std::chrono::steady_clock;

  struct limits {
    std::size_t max_entries = 1'000'000;  ///< entries stored, expired-but-unswept ones included
    std::size_t max_key = 256;            ///< bytes
    std::size_t max_value = 64 * 1024;    ///< bytes of a string value
  };

  /// Shards (a power of two); sweep() takes one per call, in turn.
  static constexpr std::size_t stripes = 64;

  // Two constructors, not `limits l = {}`: a nested struct's default member
  // initializers cannot be used in a default argument inside the enclosing
  // class (CWG 1397; g++ and clang refuse it).
  kv_table() : kv_table(limits{}) {}
  explicit kv_table(limits l);
  kv_table(const kv_table&) = delete;
  kv_table& operator=(const kv_table&) = delete;

  /// The value under `key`, or nullopt when absent or expired at `now`.
  std::optional<value> get(std::string_view key, clock::time_point now = clock::now());

  /// Stores `v` under `key`, replacing any value and expiry. ttl 0 = no
  /// expiry; otherwise the entry expires at now + ttl (saturating: a ttl too
  /// long for the clock means never). Errors: an empty key or one longer than
  /// max_key, a negative ttl (errc::invalid_argument); a string value longer
  /// than max_value, or a new key while max_entries are stored and this key's
  /// shard holds no expired entry to reclaim (errc::too_large).
  result<void> set(std::string_view key, value v, std::chrono::milliseconds ttl,
                   clock::time_point now = clock::now());

  /// Adds `by` to the integer under `key` and returns the new value. A missing
  /// or expired key counts as 0 and is created with `ttl` (0 = no expiry); an
  /// existing key keeps its expiry. Errors: the key's value is not an integer,
  /// the sum overflows int64 (the value is left as it was), and set()'s key,
  /// ttl and table-full errors.
  result<int64_t> incr(std::string_view key, int64_t by, std::chrono::milliseconds ttl,
                       clock::time_point now = clock::now());

  /// Removes `key`; true when it was there (an entry already expired counts as
  /// absent, but is dropped all the same).
  bool remove(std::string_view key, clock::time_point now = clock::now());

  /// Drops the expired entries of the next shard (round-robin, so `stripes`
  /// calls cover the table) and returns how many. Called periodically by the
  /// owner; cost is bounded by one shard.
  std::size_t sweep(clock::time_point now = clock::now());

  /// Entries stored, including expired ones not yet dropped.
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }

  /// The shard `key` lives in (for tests and for a model of the table).
  static std::size_t stripe_of(std::string_view key) noexcept;

private:
  struct entry {
    value v;
    clock::time_point expires;  ///< time_point::max(): never
  };
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using map = std::unordered_map<std::string, entry, key_hash, std::equal_to<>>;
  struct alignas(64) shard {  // own cache line: threads on different shards do not contend
    std::mutex mtx;
    map entries;
  };

  shard& shard_for(std::string_view key) noexcept { return shards_[stripe_of(key)]; }
  result<void> check_key(std::string_view key) const;
  /// Takes a slot for a new entry in `s` (locked): true when below
  /// max_entries, if need be after dropping `s`'s expired entries.
  bool reserve(shard& s, clock::time_point now);
  /// Drops the expired entries of `s` (locked); returns how many.
  std::size_t drop_expired(shard& s, clock::time_point now);

  limits limits_;
  std::array<shard, stripes> shards_;
  std::atomic<std::size_t> size_{0};
  std::atomic<std::size_t> cursor_{0};  ///< the next shard sweep() takes
};

} // namespace centralita::actors
