#pragma once

#include "drivers/net/endpoint.hpp"
#include "protocols/util/result.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace centralita::drivers {

/// Two bound UDP sockets for one side of a relayed stream: RTP on an even
/// port and RTCP on the next (RFC 3550 §11: RTP even, RTCP = RTP + 1).
struct rtp_port_pair {
  int rtp_fd = -1;
  int rtcp_fd = -1;
  endpoint rtp_local;
  endpoint rtcp_local;
};

/// The media port range (`media.port_min` .. `media.port_max`), shared by
/// every reactor: any thread may take or give back a pair. Pairs are handed
/// out round-robin through the range, so a just-released port is the last one
/// reused (a late packet of an ended call does not land in a new one).
///
/// A port the kernel refuses (EADDRINUSE: another program holds it) is
/// skipped; the pool is exhausted only when a whole lap of the range finds
/// nothing free.
class rtp_port_pool {
public:
  /// `address`: the IP literal the sockets bind to (its port is ignored).
  /// The range is rounded inwards to even bounds; at least one pair.
  rtp_port_pool(endpoint address, uint16_t port_min, uint16_t port_max);
  ~rtp_port_pool();
  rtp_port_pool(const rtp_port_pool&) = delete;
  rtp_port_pool& operator=(const rtp_port_pool&) = delete;

  /// Binds a free pair (non-blocking, close-on-exec sockets). Errors:
  /// io_error with the reason ("no free media port in 30000-30099", or the
  /// system call that failed).
  result<rtp_port_pair> acquire();
  /// Closes nothing: the caller closed both sockets. Marks the pair free.
  void release(uint16_t rtp_port);

  const endpoint& address() const { return address_; }
  uint16_t port_min() const { return min_; }
  uint16_t port_max() const { return max_; }
  /// Pairs handed out and not yet released.
  std::size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return used_.size(); }

private:
  endpoint address_;
  uint16_t min_;
  uint16_t max_;
  std::mutex mu_;
  std::vector<bool> used_;  ///< per pair, under mu_
  std::size_t next_ = 0;    ///< where the round-robin search resumes, under mu_
  std::atomic<std::size_t> in_use_{0};
};

} // namespace centralita::drivers
