#include "actors/system/quiet_clock.hpp"

#include <caf/abstract_actor.hpp>
#include <caf/group.hpp>
#include <caf/mailbox_element.hpp>

namespace centralita::actors {

void quiet_clock::track(caf::abstract_actor* self) {
  std::lock_guard<std::mutex> guard{mtx_};
  ++with_timeouts_[self->id()];
}

std::size_t quiet_clock::tracked() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return with_timeouts_.size();
}

void quiet_clock::set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                                       caf::atom_value type, uint64_t id) {
  track(self);
  real_.set_ordinary_timeout(t, self, type, id);
}

void quiet_clock::set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                                    uint64_t id) {
  track(self);
  real_.set_multi_timeout(t, self, type, id);
}

void quiet_clock::set_request_timeout(time_point t, caf::abstract_actor* self,
                                      caf::message_id id) {
  track(self);
  real_.set_request_timeout(t, self, id);
}

void quiet_clock::cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) {
  real_.cancel_ordinary_timeout(self, type);
}

void quiet_clock::cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) {
  real_.cancel_request_timeout(self, id);
}

void quiet_clock::cancel_timeouts(caf::abstract_actor* self) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (with_timeouts_.erase(self->id()) == 0)
      return;  // never set one: nothing to cancel, nobody to wake
  }
  real_.cancel_timeouts(self);
}

void quiet_clock::schedule_message(time_point t, caf::strong_actor_ptr receiver,
                                   caf::mailbox_element_ptr content) {
  real_.schedule_message(t, std::move(receiver), std::move(content));
}

void quiet_clock::schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                                   caf::message content) {
  real_.schedule_message(t, std::move(target), std::move(sender), std::move(content));
}

void quiet_clock::cancel_all() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    with_timeouts_.clear();
  }
  real_.cancel_all();
}

} // namespace centralita::actors
