#pragma once
// ng retransmissions: the client (Kamailio's rtpengine module) resends a
// request with the SAME cookie when no reply came in time. Running it twice
// would, for an offer, allocate a second set of ports; so, as rtpengine does,
// a cookie seen within the last 30 s gets the reply already sent, and a
// cookie whose request is still running gets nothing (the client's next
// retransmission finds the reply).

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace centralita::ng {

class reply_cache {
public:
  using clock = std::chrono::steady_clock;

  explicit reply_cache(std::chrono::milliseconds ttl = std::chrono::seconds{30},
                       std::size_t max_entries = 32768)
    : ttl_(ttl), max_entries_(max_entries == 0 ? 1 : max_entries) {}

  enum class verdict {
    fresh,    ///< not seen: run it (it is now pending), then complete() it
    pending,  ///< seen, still running: send nothing
    replay,   ///< seen and answered: send `reply` again
  };
  struct outcome {
    verdict what = verdict::fresh;
    const std::string* reply = nullptr;  ///< replay: the reply sent (valid until the next call)
  };

  /// A request with `cookie` arrived at `now`. Entries older than the TTL
  /// are forgotten first; when full, the oldest entry goes.
  outcome begin(std::string_view cookie, clock::time_point now);
  /// The request with `cookie` was answered with `reply` (ignored when the
  /// entry expired meanwhile).
  void complete(std::string_view cookie, std::string reply);

  std::size_t size() const { return entries_.size(); }

private:
  struct entry {
    clock::time_point at;
    bool done = false;
    std::string reply;
  };
  void expire(clock::time_point now);

  std::chrono::milliseconds ttl_;
  std::size_t max_entries_;
  std::unordered_map<std::string, entry> entries_;
  /// Cookies in arrival order (arrival times never decrease: a steady clock).
  std::deque<std::pair<clock::time_point, std::string>> order_;
};

} // namespace centralita::ng
