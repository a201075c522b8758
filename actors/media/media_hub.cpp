#include "actors/media/media_hub.hpp"

#include "actors/b2bua/b2b_messages.hpp"

#include <caf/send.hpp>

namespace centralita::actors {

uint64_t media_hub::enlist(caf::actor owner) {
  std::lock_guard lock(mu_);
  auto cookie = next_cookie_++;
  owners_.emplace(cookie, std::move(owner));
  return cookie;
}

void media_hub::forget(uint64_t cookie) {
  std::lock_guard lock(mu_);
  owners_.erase(cookie);
}

void media_hub::on_inactive(drivers::rtp_side_id side, uint64_t cookie) {
  caf::actor owner;
  {
    std::lock_guard lock(mu_);
    if (auto it = owners_.find(cookie); it != owners_.end())
      owner = it->second;
  }
  // A reactor thread: a message, nothing more.
  if (owner)
    caf::anon_send(owner, media_side_inactive{side.value});
}

} // namespace centralita::actors
