#pragma once

// Replay protection for nonces that are otherwise stateless (RFC 7616 §3.4 and
// §5.4, RFC 2617 §3.2.2): remembers, per nonce, the highest nonce-count (nc)
// accepted, so a request whose nc is not above it is a replay.
//
// The table is bounded: past `capacity` nonces, the one issued earliest is
// evicted, and the tracker remembers the newest issue time it ever evicted (the
// horizon). A nonce it does not know that was issued at or before the horizon may
// have been evicted, so its history is lost: observe() answers `forgotten` and
// the caller challenges again with stale=true (a fresh nonce, one round trip),
// instead of accepting what could be a replay. Size the capacity for the nonces
// in use within one nonce lifetime; evictions() shows when it is too small.
// Pure data structure: no clock, the caller passes the issue time that
// nonce_issuer::inspect() authenticated.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace centralita::auth {

/// What observe() decided about one (nonce, nc).
enum class nc_verdict {
  accepted,   ///< nc is above every nc seen for this nonce: recorded
  replay,     ///< nc is not above the last one accepted (or is 0): reject
  forgotten,  ///< the nonce's history may have been evicted: challenge with stale=true
};

/// Bounded map nonce → highest nonce-count accepted (see the file comment).
class nonce_tracker {
public:
  /// A tracker holding at most `capacity` nonces (at least 1).
  explicit nonce_tracker(size_t capacity);

  /// Checks and records nonce-count `nc` for `nonce`, issued at `issued_ms`.
  nc_verdict observe(std::string_view nonce, uint64_t issued_ms, uint32_t nc);

  /// Drops every nonce issued before `issued_before_ms` (they are stale by now:
  /// call with now - lifetime); later unknown nonces from then are `forgotten`.
  void expire(uint64_t issued_before_ms);

  size_t size() const noexcept { return table_.size(); }
  size_t capacity() const noexcept { return capacity_; }
  /// How many nonces were pushed out by capacity (not by expire()).
  uint64_t evictions() const noexcept { return evictions_; }

private:
  struct key_less {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      if (a.first != b.first) return a.first < b.first;
      return std::string_view(a.second) < std::string_view(b.second);
    }
  };
  using key = std::pair<uint64_t, std::string>;

  void forget_front();

  std::map<key, uint32_t, key_less> table_;  ///< (issued_ms, nonce) → highest nc
  size_t capacity_;
  uint64_t horizon_ = 0;      ///< newest issue time evicted or expired
  bool has_horizon_ = false;  ///< whether anything was evicted or expired yet
  uint64_t evictions_ = 0;
};

} // namespace centralita::auth
