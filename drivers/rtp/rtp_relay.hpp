#pragma once
// The RTP/RTCP relay: media ports on the io_uring reactors.
//
// A relayed stream has two *sides*, one per call leg. Each side owns a port
// pair (RTP even, RTCP odd) from the shared rtp_port_pool and knows where its
// party receives (from that party's SDP, then latched to where its packets
// really come from: symmetric RTP through NAT). A packet that arrives on side
// A goes out of side B's socket to B's party, and back. Both sides of a stream
// live on the same reactor, so the forwarding table is two pointers and the
// fast path never leaves the completion handler: no actor message, no heap
// allocation, no lock per packet. Receives are multishot recvmsg over one
// provided-buffer ring per reactor; sends are sendmsg SQEs from a slot pool,
// submitted with the reactor's batch.
//
// Code that must see packets (DTMF detection, blocking, transcoding) attaches
// an rtp_tap to a side; it runs on the reactor thread, before forwarding, and
// says whether the packet goes on.
//
// Every call here is thread-safe: control operations are posted to the side's
// reactor and applied in order; ids are checked by generation, so an operation
// on a closed side is ignored.

#include "drivers/net/endpoint.hpp"
#include "drivers/rtp/port_pool.hpp"
#include "drivers/uring/reactor.hpp"
#include "protocols/util/result.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace centralita::drivers {

/// One side of a relayed stream: reactor, slot and generation in 64 bits.
struct rtp_side_id {
  uint64_t value = 0;

  static rtp_side_id make(unsigned reactor, uint32_t slot, uint32_t generation) {
    return {(uint64_t{reactor & 0xff} << 56) | (uint64_t{slot & 0xffffff} << 32) | generation};
  }
  bool valid() const { return value != 0; }
  unsigned reactor() const { return static_cast<unsigned>(value >> 56); }
  uint32_t slot() const { return static_cast<uint32_t>((value >> 32) & 0xffffff); }
  uint32_t generation() const { return static_cast<uint32_t>(value); }
  bool operator==(const rtp_side_id&) const = default;
};

/// A received packet as a tap sees it. `bytes` may be rewritten in place
/// (payload type, SSRC, a whole new payload); `length` is what is forwarded,
/// and a tap may lower it (an audio packet replaced by a telephone-event),
/// never raise it past bytes.size().
struct rtp_packet_view {
  std::span<uint8_t> bytes;
  std::size_t length;
  const endpoint& source;
  bool rtcp;       ///< arrived on the RTCP port, or is RTCP on the RTP port (rtcp-mux)
  int64_t now_ns;  ///< steady clock
};

enum class tap_verdict : uint8_t {
  forward,  ///< relay it as usual
  drop,     ///< the tap consumed it (DTMF blocked, handed to a transcoder)
};

/// Sees a side's packets on its reactor thread, before they are forwarded.
/// Must not block; runs per packet. Released on the reactor thread when the
/// side closes or gets another tap.
class rtp_tap {
public:
  virtual ~rtp_tap() = default;
  virtual tap_verdict on_packet(rtp_packet_view& packet) = 0;
};

/// What a side does; replaced as a whole by configure() (SDP renegotiation).
struct rtp_side_config {
  /// Where this side's party said it receives RTP and RTCP (its SDP). Before
  /// the first packet from the party arrives, packets go there; then to the
  /// latched source.
  std::optional<endpoint> remote_rtp;
  std::optional<endpoint> remote_rtcp;
  /// RFC 5761: the party multiplexes RTCP on the RTP port.
  bool rtcp_mux = false;
  /// The side whose party gets what arrives here. Invalid: received packets
  /// are only tapped (or counted and dropped).
  rtp_side_id peer;
  std::shared_ptr<rtp_tap> tap;
  /// Symmetric RTP (RFC 4961): learn the party's address from its packets.
  bool latch = true;
  /// A latched address is given up for a new source after the old one has
  /// been silent this long (a phone that changed networks or NAT binding).
  std::chrono::milliseconds relatch_after{std::chrono::seconds{2}};
  /// Nothing received for this long → rtp_relay_events::on_inactive once
  /// (0 = never). Measured from configure() until the first packet.
  std::chrono::milliseconds inactivity_timeout{0};
};

/// A side's counters, read on its reactor (query()).
struct rtp_side_stats {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t rtcp_rx_packets = 0;
  uint64_t forwarded = 0;       ///< packets sent on by the peer side
  uint64_t sent = 0;            ///< packets this side sent to its party (forwarded + originated)
  uint64_t tap_dropped = 0;
  uint64_t wrong_source = 0;    ///< from an address other than the latched one: dropped
  uint64_t no_destination = 0;  ///< nowhere to send (no peer, or peer has no address yet)
  uint64_t send_errors = 0;
  uint32_t ssrc = 0;            ///< last SSRC received (RTP)
  uint32_t ssrc_changes = 0;
  std::optional<endpoint> latched_rtp;
  std::optional<endpoint> latched_rtcp;
  int64_t last_rx_ns = 0;       ///< steady clock; 0 = nothing yet
  endpoint rtp_local;
};

/// What the relay reports upward (implemented by actors/). Called on a
/// reactor thread: must not block.
class rtp_relay_events {
public:
  /// The side's inactivity timeout passed with nothing received.
  virtual void on_inactive(rtp_side_id side, uint64_t cookie) = 0;
  /// The side is closed and its ports are back in the pool.
  virtual void on_released(rtp_side_id /*side*/, uint64_t /*cookie*/) {}

protected:
  ~rtp_relay_events() = default;
};

struct rtp_relay_options {
  endpoint address;                ///< IP the media sockets bind to (port ignored)
  uint16_t port_min = 30000;
  uint16_t port_max = 39999;
  unsigned buffers_per_reactor = 2048;  ///< provided receive buffers (power of two)
  unsigned max_send_slots = 16384;      ///< sends in flight per reactor; beyond: dropped
  std::chrono::milliseconds sweep_interval{std::chrono::seconds{1}};  ///< inactivity checks
  uint16_t buffer_group = 0x4000;  ///< provided-buffer group id on every reactor
};

/// Process-wide counters (atomics, any thread reads).
struct rtp_relay_counters {
  std::atomic<uint64_t> rx_packets{0};
  std::atomic<uint64_t> forwarded{0};
  std::atomic<uint64_t> originated{0};
  std::atomic<uint64_t> dropped{0};       ///< wrong source, no destination, tap
  std::atomic<uint64_t> send_errors{0};
  std::atomic<uint64_t> send_overflow{0}; ///< no send slot free: dropped
  std::atomic<uint64_t> truncated{0};     ///< larger than a receive buffer: dropped
  std::atomic<uint64_t> no_buffers{0};    ///< the kernel found the buffer ring empty
  std::atomic<uint64_t> sides_opened{0};
  std::atomic<uint64_t> sides_released{0};
  std::atomic<uint64_t> inactive{0};
};

class rtp_engine;

class rtp_relay {
public:
  rtp_relay(std::vector<reactor*> reactors, const rtp_relay_options& opts,
            rtp_relay_events& events);
  ~rtp_relay();
  rtp_relay(const rtp_relay&) = delete;
  rtp_relay& operator=(const rtp_relay&) = delete;

  /// Registers the buffer rings and starts the sweeps. Call once, before the
  /// reactors run (the main thread), or on each reactor's own thread.
  result<void> start();

  struct opened {
    rtp_side_id id;
    endpoint rtp_local;
    endpoint rtcp_local;
  };
  /// Any thread: binds a port pair on reactor `reactor_index` (mod count).
  /// The side receives once its reactor has run the posted start; until
  /// configure() it only counts what arrives. `cookie` is handed back in
  /// rtp_relay_events calls.
  result<opened> open_side(unsigned reactor_index, uint64_t cookie);
  /// Any thread: replaces the side's configuration.
  void configure(rtp_side_id side, rtp_side_config config);
  /// Any thread: sends `bytes` to the side's party (latched address, else the
  /// SDP one) from the side's RTP (or RTCP) socket. Copies the bytes.
  void send(rtp_side_id side, std::span<const uint8_t> bytes, bool rtcp = false);
  /// Any thread: stops the side; its ports go back to the pool once the
  /// kernel has let go of the sockets, then on_released().
  void close(rtp_side_id side);
  /// Any thread: `fn` runs on the side's reactor with its counters, or with
  /// nullptr when the side is gone.
  void query(rtp_side_id side, std::function<void(const rtp_side_stats*)> fn);

  /// Open sides over all reactors (approximate off-thread).
  std::size_t sides_open() const;
  const rtp_port_pool& ports() const { return pool_; }
  const rtp_relay_counters& counters() const { return counters_; }
  unsigned reactor_count() const { return static_cast<unsigned>(engines_.size()); }

private:
  std::shared_ptr<rtp_engine> engine_of(rtp_side_id side) const;

  rtp_relay_options opts_;
  rtp_relay_events& events_;
  rtp_port_pool pool_;
  rtp_relay_counters counters_;
  /// Shared: functions posted to a reactor hold weak references, so one that
  /// runs after the relay is gone (a reactor draining its queue at shutdown)
  /// does nothing.
  std::vector<std::shared_ptr<rtp_engine>> engines_;
};

} // namespace centralita::drivers
