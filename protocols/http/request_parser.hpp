#pragma once

// HTTP/1.1 requests (RFC 9112) parsed with Node's http_parser (Debian's
// libhttp-parser-dev): incremental, pipelining-safe, with limits. Pure: bytes
// in, requests out; the connection actor owns one parser per connection.

#include "protocols/util/result.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace centralita::http {

struct header {
  std::string name;   ///< as received
  std::string value;  ///< surrounding whitespace removed
};

/// Case-insensitive lookup of the first header `name` in `headers`, or nullptr.
const std::string* find_header(const std::vector<header>& headers, std::string_view name) noexcept;

struct request {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< the raw request-target: "/events?event=REGISTER"
  std::string path;    ///< the target's path, percent-decoded: "/events"
  /// The query's parameters, percent-decoded ('+' is a space), in order; a
  /// name may repeat ("event=REGISTER&event=EXPIRED").
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<header> headers;
  std::string body;
  unsigned http_major = 1;
  unsigned http_minor = 1;
  bool keep_alive = true;  ///< HTTP/1.1 without "Connection: close", or 1.0 with keep-alive
  bool upgrade = false;    ///< the request asks to switch protocols (Upgrade + Connection: upgrade)

  const std::string* header_value(std::string_view name) const noexcept {
    return find_header(headers, name);
  }
  /// The first query parameter `name` (exact, case-sensitive), or nullptr.
  const std::string* query_value(std::string_view name) const noexcept;
};

struct parser_limits {
  std::size_t max_target = 8192;         ///< request-target bytes: past it 414
  std::size_t max_header_bytes = 16384;  ///< request line + headers: past it 431
  std::size_t max_headers = 100;         ///< header fields: past it 431
  std::size_t max_body = 1 << 20;        ///< body bytes (Content-Length or chunked): past it 413
};

/// One connection's request parser.
class request_parser {
public:
  explicit request_parser(parser_limits limits = {});
  ~request_parser();
  request_parser(const request_parser&) = delete;
  request_parser& operator=(const request_parser&) = delete;

  enum class state { need_more, complete, error };
  struct outcome {
    state st = state::need_more;
    std::size_t consumed = 0;  ///< bytes of the input used; the rest belongs to what follows
  };

  /// Feeds bytes. Stops right after a complete request (`complete`; call
  /// take(), then feed the unconsumed rest: pipelined requests, or WebSocket
  /// frames after an upgrade request). After `error` the connection must be
  /// answered with error_status() and closed; further feeds keep failing.
  outcome feed(std::string_view bytes);

  /// The completed request; the parser is ready for the next one.
  request take();

  /// After an error: the status to answer (400 bad syntax, 413 body too
  /// large, 414 target too long, 431 headers too large, 501 unknown
  /// method or transfer coding, 505 version not 1.x) and why, for the body.
  int error_status() const noexcept { return error_status_; }
  const std::string& error_reason() const noexcept { return error_reason_; }

  /// True while part of a request has been received (for idle timeouts:
  /// a half-sent request is a slow client, not an idle keep-alive).
  bool mid_request() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int error_status_ = 0;
  std::string error_reason_;
};

/// Percent-decodes `s` (RFC 3986 §2.1); with `plus_is_space` a '+' becomes a
/// space (HTML form / query convention). A '%' not followed by two hex digits
/// is an error, as is a decoded NUL byte.
result<std::string> percent_decode(std::string_view s, bool plus_is_space);

/// Splits a query string ("a=1&b=x%20y&flag") into decoded pairs; a
/// parameter without '=' has an empty value; empty parameters are skipped.
result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);

/// Percent-encodes everything but RFC 3986 unreserved characters.
std::string percent_encode(std::string_view s);

} // namespace centralita::http
