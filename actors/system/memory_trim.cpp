#include "actors/system/memory_trim.hpp"

#include <malloc.h>

namespace centralita::actors {

memory_trim::memory_trim(drivers::reactor& r, std::chrono::milliseconds interval)
  : reactor_(r), interval_(interval) {}

void memory_trim::start() {
  reactor_.post([this] { arm(); });
}

void memory_trim::arm() {
  reactor_.timers().schedule(reactor_.now() + interval_, this, 0);
}

void memory_trim::on_timer(uint64_t) {
  malloc_trim(0);
  arm();
}

} // namespace centralita::actors
