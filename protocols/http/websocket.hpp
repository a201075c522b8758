#pragma once

// WebSocket (RFC 6455), both sides: the opening handshake as a server
// (accept_websocket) and as a client (websocket_upgrade_request,
// read_handshake_reply), and a session that turns bytes into messages and
// messages into frames, over wslay's event API (Debian's libwslay-dev) driven
// entirely in memory: no socket, no thread. Randomness (the client's key
// nonce and masking keys) comes from the caller, like time does elsewhere in
// protocols/.

#include "protocols/http/request_parser.hpp"
#include "protocols/http/response.hpp"

#include <array>
#include <cstdint>
#include <functional>
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

/// The client's opening handshake (§4.1): what to ask for.
struct client_handshake_request {
  std::string host;              ///< the Host header: "127.0.0.1:8080" ([::1]:8080 for IPv6)
  std::string resource;          ///< the resource name (§3): "/events?event=REGISTER"
  std::vector<header> headers;   ///< more fields (Authorization, Origin); no CR or LF in them
};

/// A Sec-WebSocket-Key (§4.1 item 7): base64 of a 16-byte nonce, which the
/// caller draws at random for each connection.
std::string websocket_key(const std::array<uint8_t, 16>& nonce);

/// The GET that asks for the upgrade (§4.1 items 1-9): request line, Host,
/// "Upgrade: websocket", "Connection: Upgrade", the key, "Sec-WebSocket-Version:
/// 13", the extra headers, CRLF. No extension and no subprotocol is offered.
/// Errors (invalid_argument): an empty host, a resource not starting with
/// '/', a space in the host or resource, a line break anywhere.
result<std::string> websocket_upgrade_request(const client_handshake_request& req, std::string_view key);

/// What the server answered to the opening handshake, read from the bytes
/// received so far (the caller keeps appending and asks again).
struct handshake_reply {
  enum class state : uint8_t {
    need_more,  ///< the head (status line, fields, empty line) is not complete yet
    upgraded,   ///< a valid 101: frames follow at `consumed`
    refused,    ///< a well-formed answer other than 101 (`status`: 401, 403, 400...)
    invalid,    ///< not HTTP/1.x, a head over the limit, or a 101 that fails §4.1
  };
  state st = state::need_more;
  int status = 0;                ///< the status code (0 when none could be read)
  std::string reason;            ///< refused: the reason phrase; invalid: what is wrong
  std::vector<header> headers;   ///< the response's fields (refused, upgraded)
  std::size_t consumed = 0;      ///< upgraded, refused: the head's length; frames or the body follow
};

/// Reads a response head (RFC 9112 §4, §5: status line, fields, empty line;
/// a bare LF ends a line too, §2.2; obs-fold becomes a space, §5.2) and, for
/// 101, checks it as §4.1 asks of a client: "Upgrade: websocket", Connection
/// listing "upgrade", Sec-WebSocket-Accept matching `key`, and no extension
/// or subprotocol (none was offered). Pure; never throws.
handshake_reply read_handshake_reply(std::string_view bytes, std::string_view key,
                                     std::size_t max_head = 16384);

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

/// Which end of the connection a session is (§5.1): a client masks every
/// frame it sends and refuses masked frames; a server the other way round.
enum class ws_role : uint8_t { server, client };

/// Fills `len` bytes with masking-key material (client role). §5.3 and §10.3:
/// the key of each frame must be unpredictable, so drawn from a strong source
/// of entropy (a CSPRNG such as OpenSSL's RAND_bytes); tests may pass a fixed one.
using ws_mask_source = std::function<void(uint8_t* buf, std::size_t len)>;

/// One WebSocket session, server side (the default) or client side.
class ws_session {
public:
  struct options {
    std::size_t max_message = 65536;  ///< a larger incoming message closes with 1009
    ws_role role = ws_role::server;
    /// Required for the client role (the constructor throws
    /// std::invalid_argument without it); unused by a server, which never masks.
    ws_mask_source mask_source = {};
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
  /// handled. A protocol violation (a frame masked the wrong way for the
  /// role, bad opcode, reserved bits, oversized control frame, text that is
  /// not UTF-8, message over max_message) queues a close frame with the
  /// matching code and returns an error naming it; the caller writes pending
  /// output, then closes.
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
