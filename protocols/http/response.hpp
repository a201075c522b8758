#pragma once

// HTTP/1.1 responses: what a connection actor writes.

#include "protocols/http/request_parser.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace centralita::http {

struct response {
  int status = 200;
  std::string content_type;     ///< empty: no Content-Type (and normally no body)
  /// Extra headers. Not Content-Length or Connection: serialize() adds those.
  /// No Date is added (protocol code has no clock): a caller wanting one puts it here.
  std::vector<header> headers;
  std::string body;
};

/// RFC 9110's reason phrase for `status` ("Not Found"), "Unknown" for others.
const char* reason_phrase(int status) noexcept;

/// The response's bytes: status line, Content-Type when set, the extra
/// headers, Content-Length (always, even 0; except 1xx, 204 and 304),
/// "Connection: close" unless `keep_alive`, and the body (omitted when
/// `head_only`, for HEAD requests, with Content-Length still that of the body).
std::string serialize(const response& r, bool keep_alive, bool head_only = false);

/// A JSON error body {"error": {"status": 404, "message": "..."}} with
/// Content-Type application/json.
response json_error(int status, std::string_view message);

} // namespace centralita::http
