#pragma once

#include "drivers/net/endpoint.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace centralita::drivers {

enum class transport_kind : uint8_t { udp, tcp };

inline const char* to_string(transport_kind k) {
  return k == transport_kind::udp ? "UDP" : "TCP";
}

/// A TCP connection's identity: owning reactor, slot and generation packed in
/// 64 bits, so a stale id (connection closed, slot reused) is detected.
struct connection_id {
  uint64_t value = 0;

  static connection_id make(unsigned reactor, uint32_t slot, uint32_t generation) {
    return {(uint64_t{reactor & 0xff} << 56) | (uint64_t{slot & 0xffffff} << 32) | generation};
  }
  bool valid() const { return value != 0; }
  unsigned reactor() const { return static_cast<unsigned>(value >> 56); }
  uint32_t slot() const { return static_cast<uint32_t>((value >> 32) & 0xffffff); }
  uint32_t generation() const { return static_cast<uint32_t>(value); }
  bool operator==(const connection_id&) const = default;
};

/// One complete SIP message as a transport delivers it upward. `bytes` is only
/// valid during the call: the receiver copies what it keeps.
struct inbound_message {
  transport_kind transport;
  endpoint source;
  endpoint local;      ///< the listening address it arrived on
  connection_id conn;  ///< TCP only
  unsigned reactor;    ///< which reactor (worker) received it
  std::string_view bytes;
  /// When the kernel received it (CLOCK_REALTIME, ns; SO_TIMESTAMPNS): UDP
  /// sockets opened with transport_options::rx_timestamps only, else 0.
  int64_t rx_realtime_ns = 0;
};

/// What the transports hand upward. Implemented by actors/; called on the
/// receiving reactor's thread, so it must not block.
class message_sink {
public:
  /// A datagram, or a message framed out of a TCP stream.
  virtual void on_message(const inbound_message& msg) = 0;
  /// TCP: a message over the size limit. `msg.bytes` holds its header block
  /// when that could be read (else empty). The transport stops reading; the
  /// sink may send a 513 with close_after, else the connection is closed.
  virtual void on_oversized(const inbound_message& msg) = 0;
  /// UDP: the network said `destination` is unreachable (an ICMP error for
  /// a datagram we sent there, read from the socket's error queue;
  /// RFC 3261 §8.1.3.1 / §17.1.4: the client transaction fails with 503).
  virtual void on_unreachable(transport_kind /*transport*/, const endpoint& /*destination*/,
                              int /*err*/) {}

protected:
  ~message_sink() = default;
};

/// Bytes to send. For TCP, `conn` picks the connection (RFC 3261 §18.2.2: a
/// response goes back on the request's connection); when it is gone, the
/// bytes go over a connection to `destination` (reused or newly opened).
struct outbound_message {
  transport_kind transport = transport_kind::udp;
  endpoint destination;
  endpoint local;  ///< UDP: send from this listener (empty: the first of the family)
  connection_id conn;
  std::string bytes;
  bool close_after = false;  ///< TCP: close once these bytes are written
  /// TCP: called (on a reactor thread, with an errno value) when these bytes
  /// cannot be delivered: the connection could not be opened, was reset, or
  /// closed before they were written. RFC 3261 §8.1.3.1 / §17.1.4: the
  /// transaction that sent them fails with 503. Must not block.
  std::function<void(int)> on_error;
};

/// Counters of every received/sent/dropped class, per process (atomics).
struct transport_counters {
  std::atomic<uint64_t> udp_received{0};
  std::atomic<uint64_t> udp_sent{0};
  std::atomic<uint64_t> udp_send_errors{0};
  /// Sends refused with an ICMP error of an earlier datagram (the socket's
  /// pending error, IP_RECVERR) and sent again.
  std::atomic<uint64_t> udp_send_retried{0};
  std::atomic<uint64_t> udp_truncated{0};     ///< datagram larger than a buffer: dropped
  std::atomic<uint64_t> udp_no_buffers{0};    ///< kernel found the buffer ring empty
  std::atomic<uint64_t> udp_unreachable{0};   ///< ICMP errors for datagrams we sent
  std::atomic<uint64_t> tcp_accepted{0};
  std::atomic<uint64_t> tcp_connected{0};     ///< outbound connections opened
  std::atomic<uint64_t> tcp_connect_errors{0};
  std::atomic<uint64_t> tcp_closed{0};
  std::atomic<uint64_t> tcp_idle_closed{0};
  std::atomic<uint64_t> tcp_received{0};      ///< framed messages
  std::atomic<uint64_t> tcp_sent{0};
  std::atomic<uint64_t> tcp_send_errors{0};
  std::atomic<uint64_t> tcp_keepalives{0};    ///< CRLFCRLF pings answered
  std::atomic<uint64_t> tcp_framing_errors{0};
  std::atomic<uint64_t> tcp_oversized{0};
  std::atomic<uint64_t> tcp_stale_sends{0};   ///< connection gone, re-routed by address
};

struct transport_options {
  std::size_t max_message_size = 65535;
  std::chrono::milliseconds tcp_idle_timeout{std::chrono::seconds{300}};
  unsigned udp_buffer_count = 64;  ///< per UDP socket; each max_message_size + headroom
  std::size_t tcp_read_size = 16384;
  std::size_t tcp_max_connections = 16384;  ///< per reactor
  /// UDP: stamp every datagram with its kernel receive time
  /// (inbound_message::rx_realtime_ns), for a reader that handles a batch
  /// of datagrams late but must know when each one arrived (the load
  /// generator's latencies).
  bool rx_timestamps = false;
};

} // namespace centralita::drivers
