#pragma once

#include "drivers/transport/transport.hpp"
#include "drivers/uring/reactor.hpp"
#include "protocols/util/result.hpp"

#include <sys/socket.h>

#include <memory>
#include <vector>

namespace centralita::drivers {

/// One SO_REUSEPORT UDP socket owned by one reactor. Receives with a single
/// multishot recvmsg over a provided buffer ring (re-armed when the kernel
/// drops IORING_CQE_F_MORE); sends are sendmsg SQEs batched with the
/// reactor's next submit.
class udp_socket final : public completion {
public:
  static result<std::unique_ptr<udp_socket>> open(reactor& r, const endpoint& local,
                                                  const transport_options& opts,
                                                  message_sink& sink,
                                                  transport_counters& counters,
                                                  uint16_t buffer_group);
  ~udp_socket();

  /// Queues the first receive (call before the reactor thread runs, or on it).
  void start();
  /// Owner thread: queues a sendmsg. Any other thread: plain sendto(2).
  void send(const endpoint& to, std::string bytes);
  const endpoint& local() const { return local_; }
  int fd() const { return fd_; }

  void on_completion(reactor& r, const io_uring_cqe& cqe) override;

private:
  udp_socket(reactor& r, message_sink& sink, transport_counters& counters);
  void arm();
  void recycle(uint16_t buffer_id);
  void drain_errors();
  int64_t receive_time(io_uring_recvmsg_out* out);

  struct send_op;
  class send_completion;
  friend struct send_op;

  reactor& reactor_;
  message_sink& sink_;
  transport_counters& counters_;
  int fd_ = -1;
  endpoint local_;
  uint16_t group_ = 0;
  unsigned buffer_count_ = 0;
  std::size_t buffer_size_ = 0;
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::size_t buf_ring_bytes_ = 0;
  std::unique_ptr<char[]> buffers_;
  msghdr recv_template_{};
  std::size_t control_len_ = 0;  ///< room for the SO_TIMESTAMPNS control message, if asked
  bool armed_ = false;
  std::vector<send_op*> free_ops_;
  std::vector<std::unique_ptr<send_op>> all_ops_;
};

} // namespace centralita::drivers
