#include "actors/system/actor_timers.hpp"

#include <caf/message.hpp>
#include <caf/message_id.hpp>
#include <caf/send.hpp>

#include <atomic>

namespace centralita::actors {

/// The entries of one reactor's wheel; touched only by that reactor's thread.
class timer_service::per_reactor final : public drivers::timer_target {
public:
  explicit per_reactor(drivers::reactor& r) : reactor_(r) {}

  timer_handle arm(caf::actor_control_block* who, std::chrono::milliseconds after,
                   uint64_t tag) {
    uint32_t index;
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      index = static_cast<uint32_t>(entries_.size());
      entries_.emplace_back();
    }
    auto& e = entries_[index];
    e.who = caf::weak_actor_ptr{who};
    e.tag = tag;
    auto wh = reactor_.timers().schedule(reactor_.now() + after, this, index);
    live_.fetch_add(1, std::memory_order_relaxed);
    return {reactor_.index(), index, wh};
  }

  void cancel(const timer_handle& h) {
    if (h.entry >= entries_.size())
      return;
    // Only when the wheel still held it: else it fired and the entry may
    // already serve another timer.
    if (reactor_.timers().cancel(h.wheel))
      release(h.entry);
  }

  void on_timer(uint64_t cookie) override {
    auto index = static_cast<uint32_t>(cookie);
    auto who = std::move(entries_[index].who);
    auto tag = entries_[index].tag;
    release(index);
    if (auto strong = who.lock())
      strong->enqueue(nullptr, caf::make_message_id(caf::message_priority::high),
                      caf::make_message(timer_expired{tag}), nullptr);
  }

  drivers::reactor& reactor() { return reactor_; }
  std::size_t live() const { return live_.load(std::memory_order_relaxed); }

private:
  struct entry {
    caf::weak_actor_ptr who;
    uint64_t tag = 0;
  };

  void release(uint32_t index) {
    entries_[index].who.reset();
    free_.push_back(index);
    live_.fetch_sub(1, std::memory_order_relaxed);
  }

  drivers::reactor& reactor_;
  std::vector<entry> entries_;
  std::vector<uint32_t> free_;
  std::atomic<std::size_t> live_{0};
};

timer_service::timer_service(const std::vector<drivers::reactor*>& reactors) {
  for (auto* r : reactors)
    wheels_.push_back(std::make_unique<per_reactor>(*r));
}

timer_service::~timer_service() = default;

timer_handle timer_service::arm(caf::local_actor* self, std::chrono::milliseconds after,
                                uint64_t tag) {
  auto* current = drivers::reactor::current();
  if (current != nullptr && current->index() < wheels_.size()
      && &wheels_[current->index()]->reactor() == current)
    return wheels_[current->index()]->arm(self->ctrl(), after, tag);
  // Not on one of our workers: a plain delayed message.
  self->home_system().clock().schedule_message(
    self->home_system().clock().now() + after, caf::actor_cast<caf::strong_actor_ptr>(self),
    caf::make_mailbox_element(nullptr, caf::make_message_id(caf::message_priority::high), {},
                              timer_expired{tag}));
  return {};
}

void timer_service::cancel(timer_handle& h) {
  if (!h.valid() || h.reactor >= wheels_.size())
    return;
  auto* owner = wheels_[h.reactor].get();
  if (drivers::reactor::current() == &owner->reactor()) {
    owner->cancel(h);
  } else {
    // The owner wakes for the timer anyway; until then the cancel can wait.
    auto copy = h;
    owner->reactor().post_quiet([owner, copy] { owner->cancel(copy); });
  }
  h = {};
}

std::size_t timer_service::live() const {
  std::size_t n = 0;
  for (auto& w : wheels_)
    n += w->live();
  return n;
}

} // namespace centralita::actors
