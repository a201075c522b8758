#include "protocols/ng/reply_cache.hpp"

namespace centralita::ng {

void reply_cache::expire(clock::time_point now) {
  while (!order_.empty() && (now - order_.front().first >= ttl_ || entries_.size() >= max_entries_)) {
    auto it = entries_.find(order_.front().second);
    // Only the entry of that arrival: a cookie re-begun after it expired has
    // a newer time and a later place in order_.
    if (it != entries_.end() && it->second.at == order_.front().first)
      entries_.erase(it);
    order_.pop_front();
  }
}

reply_cache::outcome reply_cache::begin(std::string_view cookie, clock::time_point now) {
  expire(now);
  std::string key(cookie);
  if (auto it = entries_.find(key); it != entries_.end()) {
    if (!it->second.done)
      return {verdict::pending, nullptr};
    return {verdict::replay, &it->second.reply};
  }
  entries_.emplace(key, entry{now, false, {}});
  order_.emplace_back(now, std::move(key));
  return {verdict::fresh, nullptr};
}

void reply_cache::complete(std::string_view cookie, std::string reply) {
  auto it = entries_.find(std::string(cookie));
  if (it == entries_.end())
    return;
  it->second.done = true;
  it->second.reply = std::move(reply);
}

} // namespace centralita::ng
