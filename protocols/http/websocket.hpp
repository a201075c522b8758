#pragma once

// WebSocket server side (RFC 6455): the opening handshake, and a session that
// turns bytes into messages and messages into frames, over wslay's event API
// (Debian's libwslay-dev) driven entirely in memory: no socket, no thread.

#include "protocols/http/request_parser.hpp"
#include "protocols/http/response.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::http {

/// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2:
/// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))).
std::string websocket_accept(std::string_view key);

/// Checks an upgrade request (§4.2.1): GET, HTTP/1.1, "Upgrade: websocket",
/// "Connection" listing "upgrade" (case-insensitive tokens),
/// "Sec-WebSocket-Version: 13", a Sec-WebSocket-Key that is base64 of 16
/// bytes. On success the 101 response (headers only; keep it as is); else a
/// 400 (426 with "Sec-WebSocket-Version: 13" for another version) whose
/// body names what was wrong.
struct handshake {
  bool ok = false;
  response answer;
};
handshake accept_websocket(const request& req);

/// Close codes (§7.4.1) we use.
enum close_code : uint16_t {
  close_normal = 1000,
  close_going_away = 1001,
  close_protocol_error = 1002,
  close_unsupported = 1003,
  close_invalid_payload = 1007,
  close_policy = 1008,
  close_too_big = 1009,
  close_internal = 1011,
};

/// One server-side WebSocket session.
class ws_session {
public:
  struct options {
    std::size_t max_message = 65536;  ///< a larger incoming message closes with 1009
  };
  explicit ws_session(options opts);
  ws_session() : ws_session(options{}) {}
  ~ws_session();
  ws_session(const ws_session&) = delete;
  ws_session& operator=(const ws_session&) = delete;

  struct message {
    enum class kind : uint8_t { text, binary, close, pong } type = kind::text;
    std::string data;      ///< text/binary payload, pong payload, or close reason
    uint16_t code = 0;     ///< close: the peer's status code (1005 when it sent none)
  };

  /// Parses incoming bytes; complete messages are appended to `out`. Pings
  /// are answered (a pong is queued), control frames between fragments
  /// handled. A protocol violation (unmasked frame, bad opcode, reserved bits,
  /// oversized control frame, text that is not UTF-8, message over
  /// max_message) queues a close frame with the matching code and returns an
  /// error naming it; the caller writes pending output, then closes.
  result<void> feed(std::string_view bytes, std::vector<message>& out);

  /// Queue frames (no-ops once a close was queued).
  void send_text(std::string_view payload);
  void send_ping(std::string_view payload = {});
  /// Queue a close frame (reason cut to 123 bytes at a UTF-8 boundary).
  void send_close(uint16_t code, std::string_view reason);

  /// Appends every queued frame's bytes to `out` (all of them: the session
  /// keeps nothing back). Cheap when nothing is queued.
  void take_output(std::string& out);
  bool has_output() const noexcept;

  bool close_sent() const noexcept;      ///< a close frame was queued by us
  bool close_received() const noexcept;  ///< the peer's close frame arrived
  /// Nothing more will be read or written: both closes exchanged, or a
  /// protocol error. Write what take_output() gives, then close the socket.
  bool finished() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace centralita::http
