#pragma once

// One subscriber of the switch's event stream, without I/O: the opening
// handshake as a client (RFC 6455 §4.1), the WebSocket frames (client role:
// masked, §5.3), the stream's frames (docs/api.md) and what it counts. The
// client (events_client.cpp) owns the socket and carries out what a step
// asks: bytes to send, close, stop reading. So the whole conversation is
// unit-tested against a server-side ws_session, without sockets.

#include "bench/loadgen/events_accounting.hpp"
#include "bench/loadgen/histogram.hpp"
#include "protocols/http/websocket.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace centralita::loadgen {

/// What one subscriber saw.
struct subscriber_outcome {
  bool slow = false;
  /// Why it never streamed ("refused", "401", "403", "handshake", "timeout",
  /// "unreachable", "reset", "connect: <error>"); empty once its hello came.
  std::string failure;
  std::string failure_detail;       ///< the handshake's complaint, the refusal's reason
  bool upgraded = false;            ///< the 101 came
  bool hello = false;               ///< ... and then the hello
  uint64_t hello_seq = 0;           ///< the node's last seq when it subscribed
  uint64_t boot = 0;
  uint64_t delivered = 0;           ///< event frames received
  uint64_t driven_delivered = 0;    ///< ... of the driven kind (REGISTER with --drive)
  seq_set seqs;                     ///< their seqs
  uint64_t duplicates = 0;          ///< a seq received twice
  uint64_t out_of_order = 0;        ///< a seq below one received before
  uint64_t dropped_notices = 0;     ///< "dropped" frames: the switch gave up on us
  uint64_t dropped_events = 0;      ///< ... and the events they count
  uint64_t missed_notices = 0;      ///< "missed" frames (replays)
  uint64_t missed_events = 0;
  uint64_t error_notices = 0;       ///< "error" frames
  std::string first_error;
  uint64_t malformed = 0;           ///< messages that are not frames of the stream
  std::string protocol_error;       ///< the WebSocket framing broke (we closed with 1002...)
  /// The switch's close (§7.1.5: 1006 when the connection ended without a
  /// close frame); unset when it did not close before the run ended.
  std::optional<uint16_t> close_code;
  std::string close_reason;
};

/// Shared by the subscribers of one run: the delivery latency (receive time
/// minus the event's own timestamp) and the current second's counts. Slow
/// subscribers (--slow) keep theirs apart: their pause is not the switch's.
struct delivery_stats {
  latency_histogram delivery;
  latency_histogram delivery_slow;
  latency_histogram second;      ///< this second's deliveries to the others (the timeline)
  uint64_t delivered = 0;
  uint64_t second_delivered = 0;
};

class subscriber {
public:
  struct setup {
    std::string host;            ///< the Host header ("127.0.0.1:8080")
    std::string resource;        ///< "/events?event=REGISTER"
    std::string token;           ///< empty: no Authorization header
    std::string driven_event;    ///< the driver's event kind, counted apart; empty: none
    bool slow = false;           ///< stop reading after the first event
    std::size_t max_message = 1 << 20;
  };

  /// `nonce`: 16 random bytes for the key (§4.1); `mask`: masking keys (§5.3).
  subscriber(const setup& s, const std::array<uint8_t, 16>& nonce, http::ws_mask_source mask);
  ~subscriber();
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;

  enum class phase : uint8_t {
    connecting,   ///< waiting for the TCP connection
    handshaking,  ///< upgrade request sent, waiting for the 101
    streaming,    ///< upgraded: frames flow
    finished,     ///< failed, or closed: nothing more to read
  };
  phase state() const noexcept { return phase_; }

  /// What the connection should do next.
  struct step {
    std::string send;          ///< bytes to write
    bool close = false;        ///< close the connection once `send` is written
    bool pause = false;        ///< stop reading for a while (a slow subscriber's first event)
    bool got_hello = false;    ///< the hello arrived in these bytes
    bool settled_change = false;  ///< delivered, closed or failed: the run may be over
  };

  /// The TCP connection is up: the upgrade request to send.
  step on_connected();
  /// Bytes from the server; `wall_us` is now on the system clock (µs since
  /// the epoch), for the delivery latency.
  step on_bytes(std::string_view bytes, uint64_t wall_us, delivery_stats& stats);
  /// The connection ended (EOF, reset, or our shutdown) before a close frame.
  void on_disconnected(std::string_view why);
  /// Connecting or upgrading failed (cause as in subscriber_outcome::failure).
  void fail(std::string cause, std::string detail = {});
  /// The run is over: a close frame (1000) to send, if streaming.
  std::string close_stream();
  bool closing_by_us() const noexcept { return closed_by_us_; }

  const subscriber_outcome& outcome() const noexcept { return out_; }
  subscriber_outcome& outcome() noexcept { return out_; }

private:
  step on_handshake_bytes(std::string_view bytes, uint64_t wall_us, delivery_stats& stats);
  void on_frame(std::string_view text, uint64_t wall_us, delivery_stats& stats, step& st);

  setup setup_;
  http::ws_mask_source mask_;
  std::string key_;
  std::string head_;           ///< the handshake answer so far
  std::unique_ptr<http::ws_session> ws_;
  phase phase_ = phase::connecting;
  bool paused_once_ = false;
  bool closed_by_us_ = false;
  uint64_t last_seq_ = 0;
  subscriber_outcome out_;
};

} // namespace centralita::loadgen
