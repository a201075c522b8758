#pragma once
// One reactor's share of the RTP relay (internal to drivers/rtp; the public
// face is rtp_relay). Everything here runs on the reactor's thread except
// open(), which any thread may call: it binds the ports, takes a slot under
// the slab's lock and posts the rest.

#include "drivers/rtp/rtp_relay.hpp"

#include <memory>
#include <mutex>

namespace centralita::drivers {

class rtp_engine;
struct rtp_side;

/// One of a side's two sockets; the completion of its multishot receive.
struct rtp_socket final : completion {
  rtp_engine* engine = nullptr;
  rtp_side* side = nullptr;
  int fd = -1;
  bool rtcp = false;
  bool armed = false;    ///< a multishot receive is (or may be) in flight
  bool closing = false;  ///< cancelled: the next final completion ends it

  void on_completion(reactor& r, const io_uring_cqe& cqe) override;
};

/// A side: two sockets, where its party is, and what to do with packets.
struct rtp_side {
  enum class state : uint8_t { free, opening, live, closing };

  rtp_socket rtp;
  rtp_socket rtcp;
  uint32_t slot = 0;
  /// Bumped when the slot is released (on the reactor), so an id of an ended
  /// side never matches again. Read by open() under the slab lock.
  uint32_t generation = 1;
  state st = state::free;  ///< reactor thread only (open() writes it under the lock while free)
  uint64_t cookie = 0;
  rtp_side_config cfg;
  rtp_side* peer = nullptr;  ///< resolved at configure(); checked by peer_generation
  uint32_t peer_generation = 0;
  int64_t configured_ns = 0;
  int64_t latched_rtp_ns = 0;   ///< last packet from the latched RTP source
  int64_t latched_rtcp_ns = 0;
  bool inactive_reported = false;
  bool release_posted = false;
  std::size_t live_index = 0;   ///< position in rtp_engine::live_
  rtp_side_stats stats;

  rtp_side_id id(unsigned reactor) const { return rtp_side_id::make(reactor, slot, generation); }
};

class rtp_engine final : timer_target, public std::enable_shared_from_this<rtp_engine> {
public:
  rtp_engine(reactor& r, const rtp_relay_options& opts, rtp_relay_events& events,
             rtp_port_pool& pool, rtp_relay_counters& counters);
  ~rtp_engine();

  result<void> start();
  result<rtp_relay::opened> open(uint64_t cookie);  // any thread

  // The reactor's thread:
  void configure(rtp_side_id id, rtp_side_config cfg);
  void send(rtp_side_id id, std::span<const uint8_t> bytes, bool rtcp);
  void close(rtp_side_id id);
  void query(rtp_side_id id, const std::function<void(const rtp_side_stats*)>& fn);

  reactor& owner() { return r_; }
  std::size_t open_count() const { return open_count_.load(std::memory_order_relaxed); }

  void on_receive(rtp_socket& sock, const io_uring_cqe& cqe);

private:
  struct send_slot;

  void on_timer(uint64_t cookie) override;
  rtp_side* find(rtp_side_id id);
  void begin(rtp_side* s);
  void arm(rtp_socket& sock);
  void recycle(uint16_t buffer_id);
  void handle(rtp_socket& sock, const endpoint& source, uint8_t* data, std::size_t len);
  /// Where `s`'s party receives RTP (rtcp=false) or RTCP; nullptr if unknown.
  const endpoint* destination(const rtp_side& s, bool rtcp) const;
  bool transmit(rtp_side& from, bool rtcp, const endpoint& to, const uint8_t* data,
                std::size_t len);
  void socket_ended(rtp_socket& sock);
  void release(rtp_side* s);
  void schedule_sweep();

  reactor& r_;
  rtp_relay_options opts_;
  rtp_relay_events& events_;
  rtp_port_pool& pool_;
  rtp_relay_counters& counters_;

  // Provided receive buffers, shared by every socket of this reactor.
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::size_t buf_ring_bytes_ = 0;
  unsigned buffer_count_ = 0;
  std::size_t buffer_size_ = 0;
  std::unique_ptr<uint8_t[]> buffers_;
  bool registered_ = false;
  msghdr recv_template_{};

  std::mutex slab_mu_;  ///< guards slots_ and free_ (open() runs on any thread)
  std::vector<std::unique_ptr<rtp_side>> slots_;
  std::vector<uint32_t> free_;
  std::vector<rtp_side*> live_;  ///< reactor thread: sides started and not released
  std::atomic<std::size_t> open_count_{0};

  std::vector<std::unique_ptr<send_slot[]>> send_chunks_;
  std::vector<send_slot*> free_sends_;
  std::size_t send_slots_ = 0;
  timer_wheel::handle sweep_;
};

} // namespace centralita::drivers
