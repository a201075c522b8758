// RFC 6455: the opening handshake, server side (§4.2) and client side
// (§4.1), and a session over wslay's event API, fed from memory. wslay parses
// frames, reassembles fragments, checks masking, opcodes, reserved bits, UTF-8
// and message sizes, answers pings and echoes closes, and masks what a client
// sends; we hand it bytes and collect what it writes.

#include "protocols/http/websocket.hpp"

#include "protocols/util/ascii.hpp"

#include <openssl/evp.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>

namespace centralita::http {

namespace {

// RFC 6455 §1.3.
constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Whether a comma-separated header (RFC 9110 §5.6.1) lists `token`, in any
/// of the fields of that name.
bool lists_token(const std::vector<header>& headers, std::string_view name, std::string_view token) {
  for (const header& h : headers) {
    if (!ascii::iequals(h.name, name)) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      const std::size_t comma = v.find(',');
      if (ascii::iequals(trim_ows(v.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool lists_token(const request& req, std::string_view name, std::string_view token) {
  return lists_token(req.headers, name, token);
}

/// §4.1: the key is base64 of 16 bytes, i.e. 22 characters and "==".
bool is_websocket_key(std::string_view k) noexcept {
  if (k.size() != 24 || k.substr(22) != "==") return false;
  for (char c : k.substr(0, 22)) {
    const bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                     c == '/';
    if (!b64) return false;
  }
  return true;
}

handshake refuse(int status, std::string_view why) {
  handshake h;
  h.answer = json_error(status, why);
  return h;
}

} // namespace

std::string websocket_accept(std::string_view key) {
  std::string input(key);
  input += websocket_guid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr);
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(b64, digest, static_cast<int>(digest_len));
  return std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
}

handshake accept_websocket(const request& req) {
  // §4.2.1, in the order the requirements are listed.
  if (req.method != "GET") return refuse(400, "a WebSocket handshake must be a GET");
  if (req.http_major != 1 || req.http_minor < 1)
    return refuse(400, "a WebSocket handshake needs HTTP/1.1");
  if (!lists_token(req, "Upgrade", "websocket")) return refuse(400, "missing \"Upgrade: websocket\"");
  if (!lists_token(req, "Connection", "upgrade")) return refuse(400, "missing \"Connection: upgrade\"");
  const std::string* key = req.header_value("Sec-WebSocket-Key");
  if (key == nullptr) return refuse(400, "missing Sec-WebSocket-Key");
  if (!is_websocket_key(*key)) return refuse(400, "Sec-WebSocket-Key is not base64 of 16 bytes");
  const std::string* version = req.header_value("Sec-WebSocket-Version");
  if (version == nullptr) return refuse(400, "missing Sec-WebSocket-Version");
  if (*version != "13") {
    // §4.4: name the version we speak.
    handshake h = refuse(426, "unsupported Sec-WebSocket-Version (13 is)");
    h.answer.headers.push_back({"Sec-WebSocket-Version", "13"});
    return h;
  }
  handshake h;
  h.ok = true;
  h.answer.status = 101;
  h.answer.headers = {{"Upgrade", "websocket"},
                      {"Connection", "Upgrade"},
                      {"Sec-WebSocket-Accept", websocket_accept(*key)}};
  return h;
}

// -- client side of the opening handshake (§4.1) --------------------------------

namespace {

/// RFC 9110 §5.6.2: tchar, the characters of a token (a field name).
bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// Bytes that may not appear in a request line or a field we write.
bool has_line_break(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

handshake_reply invalid_reply(int status, std::string why) {
  handshake_reply r;
  r.st = handshake_reply::state::invalid;
  r.status = status;
  r.reason = std::move(why);
  return r;
}

/// One response head: its status, reason and fields; `end` is where it stops.
struct response_head {
  unsigned minor = 0;
  int status = 0;
  std::string reason;
  std::vector<header> headers;
  std::size_t end = 0;
};

/// Splits the head that starts `bytes` into lines. need_more (nullopt with an
/// empty `why`) until its empty line arrived; an error in `why`.
std::optional<response_head> read_head(std::string_view bytes, std::size_t max_head, std::string& why) {
  // Fail early on what cannot become a response (RFC 9112 §4: HTTP-version first).
  constexpr std::string_view prefix = "HTTP/";
  if (bytes.substr(0, prefix.size()) != prefix.substr(0, std::min(bytes.size(), prefix.size()))) {
    why = "not an HTTP response";
    return std::nullopt;
  }
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  bool complete = false;
  while (pos <= max_head) {
    const std::size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) break;
    std::string_view line = bytes.substr(pos, nl - pos);
    // RFC 9112 §2.2: CRLF ends a line, a bare LF may too; a bare CR is invalid.
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (line.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
      why = "a bare CR or a NUL in the response head";
      return std::nullopt;
    }
    if (line.empty()) {
      complete = true;
      break;
    }
    lines.push_back(line);
  }
  if (pos > max_head || (!complete && bytes.size() >= max_head)) {
    why = "response head over " + std::to_string(max_head) + " bytes";
    return std::nullopt;
  }
  if (!complete) return std::nullopt;
  if (lines.empty()) {
    why = "an empty line where the status line belongs";
    return std::nullopt;
  }

  // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ];
  // a missing SP after the code (no reason) is tolerated.
  response_head h;
  const std::string_view sl = lines.front();
  if (sl.size() < 12 || !is_digit(sl[5]) || sl[6] != '.' || !is_digit(sl[7]) || sl[8] != ' ' ||
      !is_digit(sl[9]) || !is_digit(sl[10]) || !is_digit(sl[11]) || (sl.size() > 12 && sl[12] != ' ')) {
    why = "malformed status line";
    return std::nullopt;
  }
  if (sl[5] != '1') {
    why = "not HTTP/1.x";
    return std::nullopt;
  }
  h.minor = static_cast<unsigned>(sl[7] - '0');
  h.status = (sl[9] - '0') * 100 + (sl[10] - '0') * 10 + (sl[11] - '0');
  if (h.status < 100) {
    why = "status code below 100";
    return std::nullopt;
  }
  if (sl.size() > 13) h.reason = std::string(sl.substr(13));

  // RFC 9112 §5: field-name ":" OWS field-value OWS, no space before the colon;
  // §5.2: a user agent replaces an obs-fold (a line starting with SP or HTAB)
  // by a space.
  constexpr std::size_t max_fields = 100;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') {
      if (h.headers.empty()) {
        why = "a continuation line before any field";
        return std::nullopt;
      }
      const std::string_view more = trim_ows(line);
      std::string& v = h.headers.back().value;
      if (!more.empty()) (v.empty() ? v : v.append(" ")).append(more);
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        !std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), is_tchar)) {
      why = "malformed header field";
      return std::nullopt;
    }
    if (h.headers.size() == max_fields) {
      why = "more than " + std::to_string(max_fields) + " header fields";
      return std::nullopt;
    }
    h.headers.push_back({std::string(line.substr(0, colon)), std::string(trim_ows(line.substr(colon + 1)))});
  }
  h.end = pos;
  return h;
}

/// Whether `req` can be written without breaking the request apart.
bool valid_upgrade_request(const client_handshake_request& req) noexcept {
  if (req.host.empty() || has_line_break(req.host) || req.host.find(' ') != std::string::npos) return false;
  if (!req.resource.empty() &&
      (req.resource.front() != '/' || has_line_break(req.resource) ||
       req.resource.find_first_of(" \t") != std::string::npos))
    return false;
  for (const header& h : req.headers) {
    if (h.name.empty() || !std::all_of(h.name.begin(), h.name.end(), is_tchar) || has_line_break(h.value))
      return false;
  }
  return true;
}

} // namespace

std::string websocket_key(const std::array<uint8_t, 16>& nonce) {
  unsigned char b64[4 * ((16 + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(b64, nonce.data(), static_cast<int>(nonce.size()));
  return std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
}

result<std::string> websocket_upgrade_request(const client_handshake_request& req, std::string_view key) {
  if (!valid_upgrade_request(req))
    return error{errc::invalid_argument,
                 "websocket handshake: a host, a resource starting with '/' and header fields without "
                 "spaces in the names and line breaks anywhere"};
  // §4.1 items 1-9, in that order; the resource name is "/" when empty (§3).
  std::string out = "GET ";
  out += req.resource.empty() ? std::string_view("/") : std::string_view(req.resource);
  out += " HTTP/1.1\r\nHost: ";
  out += req.host;
  out += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  out += key;
  out += "\r\nSec-WebSocket-Version: 13\r\n";
  for (const header& h : req.headers) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

handshake_reply read_handshake_reply(std::string_view bytes, std::string_view key, std::size_t max_head) {
  std::size_t offset = 0;
  for (;;) {
    std::string why;
    auto head = read_head(bytes.substr(offset), max_head, why);
    if (!head) {
      if (why.empty()) return {};  // need_more
      return invalid_reply(0, std::move(why));
    }
    const std::size_t end = offset + head->end;
    // RFC 9110 §15.2: a client skips interim (1xx) answers other than the
    // 101 it asked for, and reads on.
    if (head->status >= 100 && head->status < 200 && head->status != 101) {
      offset = end;
      continue;
    }
    handshake_reply r;
    r.status = head->status;
    r.headers = std::move(head->headers);
    if (r.status != 101) {
      // §4.1: any other status is handled as HTTP says; for us, a refusal.
      r.st = handshake_reply::state::refused;
      r.reason = std::move(head->reason);
      r.consumed = end;
      return r;
    }
    // §4.1, what a client checks in the server's 101, in the RFC's order.
    if (head->minor < 1) return invalid_reply(101, "101 in HTTP/1.0");
    if (!lists_token(r.headers, "Upgrade", "websocket"))
      return invalid_reply(101, "101 without \"Upgrade: websocket\"");
    if (!lists_token(r.headers, "Connection", "upgrade"))
      return invalid_reply(101, "101 without \"Connection: Upgrade\"");
    const std::string* accept = find_header(r.headers, "Sec-WebSocket-Accept");
    if (accept == nullptr) return invalid_reply(101, "101 without Sec-WebSocket-Accept");
    if (*accept != websocket_accept(key))
      return invalid_reply(101, "Sec-WebSocket-Accept does not match the key sent");
    if (const std::string* ext = find_header(r.headers, "Sec-WebSocket-Extensions"); ext && !ext->empty())
      return invalid_reply(101, "101 with an extension that was not offered: " + *ext);
    if (const std::string* proto = find_header(r.headers, "Sec-WebSocket-Protocol"); proto && !proto->empty())
      return invalid_reply(101, "101 with a subprotocol that was not offered: " + *proto);
    r.st = handshake_reply::state::upgraded;
    r.consumed = end;
    return r;
  }
}

struct ws_session::impl {
  explicit impl(options opts)
      : max_message(opts.max_message), role(opts.role), mask_source(std::move(opts.mask_source)) {
    if (role == ws_role::client && !mask_source)
      throw std::invalid_argument("ws_session: the client role needs a mask_source (RFC 6455 §5.3)");
    wslay_event_callbacks cb{};
    cb.recv_callback = &impl::recv_cb;
    cb.send_callback = &impl::send_cb;
    cb.genmask_callback = &impl::genmask_cb;
    cb.on_msg_recv_callback = &impl::on_msg_cb;
    const int rv = role == ws_role::client ? wslay_event_context_client_init(&ctx, &cb, this)
                                           : wslay_event_context_server_init(&ctx, &cb, this);
    if (rv != 0) throw std::bad_alloc();
    wslay_event_config_set_max_recv_msg_length(ctx, opts.max_message);
  }
  ~impl() { wslay_event_context_free(ctx); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  static impl& self(void* user) { return *static_cast<impl*>(user); }

  // wslay pulls the bytes of the current feed(); when they run out it must
  // see "would block", which ends wslay_event_recv without an error.
  static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t* buf, std::size_t len, int, void* user) {
    impl& s = self(user);
    if (s.in.empty()) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    const std::size_t n = std::min(len, s.in.size());
    std::memcpy(buf, s.in.data(), n);
    s.in.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }

  // Everything wslay writes is accepted at once, so it never keeps a frame
  // half-sent and the output order is the order frames were queued.
  static ssize_t send_cb(wslay_event_context_ptr, const uint8_t* data, std::size_t len, int, void* user) {
    self(user).out.append(reinterpret_cast<const char*>(data), len);
    return static_cast<ssize_t>(len);
  }

  // §5.1: a server never masks, and wslay asks only on the client side,
  // where §5.3 wants a fresh unpredictable key for every frame.
  static int genmask_cb(wslay_event_context_ptr, uint8_t* buf, std::size_t len, void* user) {
    impl& s = self(user);
    if (s.role == ws_role::client)
      s.mask_source(buf, len);
    else
      std::memset(buf, 0, len);
    return 0;
  }

  static void on_msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
    impl& s = self(user);
    if (s.sink == nullptr) return;
    message m;
    switch (arg->opcode) {
      case WSLAY_TEXT_FRAME: m.type = message::kind::text; break;
      case WSLAY_BINARY_FRAME: m.type = message::kind::binary; break;
      case WSLAY_PONG: m.type = message::kind::pong; break;
      case WSLAY_CONNECTION_CLOSE:
        m.type = message::kind::close;
        m.code = arg->status_code == 0 ? 1005 : arg->status_code;  // §7.1.5: no code received
        break;
      default: return;  // a ping: wslay has queued the pong (§5.5.2)
    }
    const auto* bytes = reinterpret_cast<const char*>(arg->msg);
    if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
      // wslay hands the whole close payload; the reason follows the code.
      if (arg->msg_length > 2) m.data.assign(bytes + 2, arg->msg_length - 2);
    } else if (arg->msg_length > 0) {
      m.data.assign(bytes, arg->msg_length);
    }
    s.sink->push_back(std::move(m));
  }

  void flush() {
    if (wslay_event_want_write(ctx)) wslay_event_send(ctx);
  }

  bool can_queue() const noexcept { return !close_queued && !failed; }

  std::size_t max_message;
  ws_role role;
  ws_mask_source mask_source;           ///< the client's masking keys
  wslay_event_context_ptr ctx = nullptr;
  std::string_view in;                  ///< the unread part of the current feed
  std::string out;                      ///< frames written, not yet taken
  std::vector<message>* sink = nullptr; ///< feed()'s output while it runs
  bool close_queued = false;            ///< ours, or wslay's echo or error close
  bool failed = false;                  ///< a protocol error ended the session
};

ws_session::ws_session(options opts) : impl_(std::make_unique<impl>(opts)) {}

ws_session::~ws_session() = default;

namespace {

error protocol_error(uint16_t code, std::size_t max_message, ws_role role) {
  switch (code) {
    case close_invalid_payload: return {errc::parse_error, "websocket 1007: text that is not UTF-8"};
    case close_too_big:
      return {errc::too_large, "websocket 1009: message over " + std::to_string(max_message) + " bytes"};
    default:
      return {errc::parse_error,
              role == ws_role::server
                  ? "websocket 1002: protocol error (unmasked frame, bad opcode, reserved bits, bad close "
                    "code or frame header)"
                  : "websocket 1002: protocol error (masked frame from the server, bad opcode, reserved "
                    "bits, bad close code or frame header)"};
  }
}

/// The codeless close frame wslay ends a malformed stream with, replaced by
/// one carrying 1002 (§7.4.1), when it ends `out` after `from`. A client's
/// frames are masked (§5.3): the new one gets a fresh key.
void give_close_a_code(std::string& out, std::size_t from, ws_role role, const ws_mask_source& mask) {
  const std::string_view written = std::string_view(out).substr(from);
  if (role == ws_role::server) {
    const std::string_view empty_close("\x88\x00", 2);
    if (written.ends_with(empty_close)) out.replace(out.size() - 2, 2, "\x88\x02\x03\xea", 4);
    return;
  }
  // FIN + close, MASK + length 0, then the 4-byte key.
  if (written.size() < 6) return;
  const std::string_view tail = written.substr(written.size() - 6);
  if (static_cast<uint8_t>(tail[0]) != 0x88 || static_cast<uint8_t>(tail[1]) != 0x80) return;
  uint8_t key[4];
  mask(key, sizeof key);
  const char frame[8] = {static_cast<char>(0x88), static_cast<char>(0x82),
                         static_cast<char>(key[0]), static_cast<char>(key[1]),
                         static_cast<char>(key[2]), static_cast<char>(key[3]),
                         static_cast<char>(0x03 ^ key[0]), static_cast<char>(0xea ^ key[1])};
  out.replace(out.size() - 6, 6, frame, sizeof frame);
}

} // namespace

result<void> ws_session::feed(std::string_view bytes, std::vector<message>& out) {
  impl& s = *impl_;
  // §5.5.1: after a close nothing more is read; after an error neither.
  if (s.failed || !wslay_event_get_read_enabled(s.ctx)) return {};
  const bool had_close = s.close_queued;
  s.in = bytes;
  s.sink = &out;
  const int rv = wslay_event_recv(s.ctx);
  s.sink = nullptr;
  s.in = {};
  if (rv == 0 && wslay_event_get_read_enabled(s.ctx)) return {};
  s.close_queued = true;  // wslay queued its echo or error close, unless we had one already
  if (rv == 0 && wslay_event_get_close_received(s.ctx)) return {};
  s.failed = true;
  const std::size_t before = s.out.size();
  s.flush();
  if (rv == WSLAY_ERR_CALLBACK_FAILURE) {
    // A malformed frame header (a control frame over 125 bytes or fragmented,
    // a length not in its shortest form or over 2^63): wslay stops with a
    // close that carries no code. §7.4.1 has one for this: 1002.
    if (!had_close) give_close_a_code(s.out, before, s.role, s.mask_source);
    return protocol_error(close_protocol_error, 0, s.role);
  }
  if (rv != 0) return error{errc::too_large, "websocket: out of memory"};
  // Our own earlier close hides the code wslay chose; the cause is the same kind.
  const uint16_t code = had_close ? uint16_t{close_protocol_error} : wslay_event_get_status_code_sent(s.ctx);
  return protocol_error(code, s.max_message, s.role);
}

void ws_session::send_text(std::string_view payload) {
  impl& s = *impl_;
  if (!s.can_queue()) return;
  if (s.role == ws_role::client) {
    // §5.3: a client masks, with a new key per frame: wslay's queue does it.
    const wslay_event_msg msg{WSLAY_TEXT_FRAME, reinterpret_cast<const uint8_t*>(payload.data()),
                              payload.size()};
    wslay_event_queue_msg(s.ctx, &msg);
    return;
  }
  // Text frames skip wslay's queue (two allocations and a copy per message):
  // with the queue flushed first, writing the frame here keeps the order.
  s.flush();
  // §5.2: FIN + opcode 1, no mask from a server, the length in its shortest form.
  char head[10];
  std::size_t h = 0;
  const uint64_t n = payload.size();
  head[h++] = static_cast<char>(0x81);
  if (n < 126) {
    head[h++] = static_cast<char>(n);
  } else if (n <= 0xFFFF) {
    head[h++] = 126;
    head[h++] = static_cast<char>(n >> 8);
    head[h++] = static_cast<char>(n);
  } else {
    head[h++] = 127;
    for (int shift = 56; shift >= 0; shift -= 8) head[h++] = static_cast<char>(n >> shift);
  }
  s.out.append(head, h);
  s.out.append(payload);
}

void ws_session::send_ping(std::string_view payload) {
  impl& s = *impl_;
  if (!s.can_queue()) return;
  payload = payload.substr(0, 125);  // §5.5: control payloads are at most 125 bytes
  const wslay_event_msg msg{WSLAY_PING, reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
  wslay_event_queue_msg(s.ctx, &msg);
}

void ws_session::send_close(uint16_t code, std::string_view reason) {
  impl& s = *impl_;
  if (!s.can_queue()) return;
  // §5.5.1: the reason is UTF-8 after the 2-byte code, in 125 bytes; cut it
  // before a continuation byte so that no character is split.
  if (reason.size() > 123) {
    std::size_t n = 123;
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
    reason = reason.substr(0, n);
  }
  wslay_event_queue_close(s.ctx, code, reinterpret_cast<const uint8_t*>(reason.data()), reason.size());
  s.close_queued = true;
}

void ws_session::take_output(std::string& out) {
  impl& s = *impl_;
  s.flush();
  if (s.out.empty()) return;
  if (out.empty()) {
    out.swap(s.out);  // the common case: no copy
  } else {
    out += s.out;
    s.out.clear();
  }
}

bool ws_session::has_output() const noexcept {
  return !impl_->out.empty() || wslay_event_want_write(impl_->ctx) != 0;
}

bool ws_session::close_sent() const noexcept { return impl_->close_queued; }

bool ws_session::close_received() const noexcept {
  return wslay_event_get_close_received(impl_->ctx) != 0;
}

bool ws_session::finished() const noexcept {
  return impl_->failed || (impl_->close_queued && close_received());
}

} // namespace centralita::http
