#include "protocols/auth/nonce_tracker.hpp"

#include <algorithm>

namespace centralita::auth {

nonce_tracker::nonce_tracker(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void nonce_tracker::forget_front() {
  auto it = table_.begin();
  horizon_ = has_horizon_ ? std::max(horizon_, it->first.first) : it->first.first;
  has_horizon_ = true;
  table_.erase(it);
}

nc_verdict nonce_tracker::observe(std::string_view nonce, uint64_t issued_ms, uint32_t nc) {
  auto it = table_.find(std::pair<uint64_t, std::string_view>(issued_ms, nonce));
  if (it != table_.end()) {
    // RFC 7616 §3.4 / §5.4: nc must increase on each use of a nonce; an nc at or
    // below the last one accepted is a replayed (or reordered) request.
    if (nc <= it->second) return nc_verdict::replay;
    it->second = nc;
    return nc_verdict::accepted;
  }
  if (has_horizon_ && issued_ms <= horizon_) return nc_verdict::forgotten;
  if (nc == 0) return nc_verdict::replay;  // RFC 7616 §3.4: counting starts at 00000001
  table_.emplace(key(issued_ms, std::string(nonce)), nc);
  while (table_.size() > capacity_) {
    forget_front();  // the nonce issued earliest goes first
    ++evictions_;
  }
  return nc_verdict::accepted;
}

void nonce_tracker::expire(uint64_t issued_before_ms) {
  while (!table_.empty() && table_.begin()->first.first < issued_before_ms) forget_front();
  if (issued_before_ms > 0 && (!has_horizon_ || horizon_ < issued_before_ms - 1)) {
    horizon_ = issued_before_ms - 1;
    has_horizon_ = true;
  }
}

} // namespace centralita::auth
