#pragma once

// SIP over a byte stream (TCP, TLS): cuts the stream into whole messages
// (RFC 3261 §18.3) and recognises RFC 5626 §3.5.1 keep-alives. Pure: bytes in,
// frames out, no I/O; the connection actor feeds what recv() returned and acts on
// each frame.
//
// Usage:
//   stream_framer f(65536);
//   f.feed(chunk);                       // any split: mid-CRLFCRLF, mid-header, mid-body
//   while (auto fr = f.next()) { ... }   // zero or more frames per feed
//
// Frames:
//   message    `bytes` = the header block plus exactly Content-Length body bytes; hand
//              it to message::parse(). Content-Length may be long or compact ("l").
//   keepalive  the peer sent a double CRLF between messages: answer with a single
//              CRLF ("\r\n"). A single stray CRLF between messages is skipped silently.
//   oversized  the message would exceed max_message_size. When the header block is
//              complete, `bytes` holds it (answer 513 Message Too Large, §21.5.14) and
//              the framer skips the declared body and carries on. When the header
//              block itself does not end within the limit, `bytes` is empty and the
//              framer is failed() (close the connection).
//   error      framing is lost: missing, non-numeric, negative or duplicated-and-
//              different Content-Length (RFC 3261 §18.3: mandatory on streams), or a
//              first line that is not SIP. `reason` says which; the framer is failed()
//              and yields nothing more: close the connection.
//
// Memory: one buffer, compacted as frames are consumed; it holds at most about
// max_message_size plus one fed chunk. No allocation per byte; one per frame.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace centralita::sip {

/// What `stream_framer::next()` found.
enum class frame_kind { message, keepalive, oversized, error };

/// One unit cut out of the stream (see the file comment for each kind).
struct frame {
  frame_kind kind;
  std::string bytes;   ///< message bytes, or the header block of an oversized message
  std::string reason;  ///< why, for oversized and error
};

/// Incremental SIP stream framer (RFC 3261 §18.3, RFC 5626 §3.5.1).
class stream_framer {
public:
  /// A framer refusing messages larger than `max_message_size` bytes (headers + body).
  explicit stream_framer(size_t max_message_size);

  /// Appends received bytes. Ignored once failed().
  void feed(std::string_view chunk);
  /// The next complete frame, or nullopt when more bytes are needed (or failed()).
  std::optional<frame> next();
  /// True after an `error` frame (or an oversized header block): the stream cannot
  /// be resynchronised; close it.
  bool failed() const noexcept { return failed_; }
  /// Bytes buffered but not yet framed.
  size_t buffered() const noexcept { return buf_.size() - head_; }

private:
  void consume(size_t n) noexcept;
  frame fail(frame_kind kind, std::string reason, std::string bytes = {});

  std::string buf_;
  size_t head_ = 0;          // start of unframed data in buf_
  size_t scanned_ = 0;       // bytes after head_ already searched for the header end
  size_t header_len_ = 0;    // found header block length (0: not found yet)
  size_t body_len_ = 0;      // its Content-Length
  size_t discard_ = 0;       // body bytes of an oversized message still to drop
  size_t max_;
  bool failed_ = false;
};

} // namespace centralita::sip
