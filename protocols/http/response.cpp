// HTTP/1.1 response serialisation (RFC 9112 §4, §6) and the JSON error body
// every endpoint answers failures with.

#include "protocols/http/response.hpp"

#include <nlohmann/json.hpp>

namespace centralita::http {

const char* reason_phrase(int status) noexcept {
  // RFC 9110 §15, the statuses a server of ours may send.
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

namespace {

/// A CR or LF inside a field would end it and let the rest pose as another
/// header (response splitting); it becomes a space.
void append_field(std::string& out, std::string_view text) {
  for (char c : text) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  append_field(out, name);
  out += ": ";
  append_field(out, value);
  out += "\r\n";
}

} // namespace

std::string serialize(const response& r, bool keep_alive, bool head_only) {
  std::string out;
  out.reserve(128 + r.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reason_phrase(r.status);
  out += "\r\n";
  if (!r.content_type.empty()) append_header(out, "Content-Type", r.content_type);
  for (const header& h : r.headers) append_header(out, h.name, h.value);
  // RFC 9110 §8.6: no Content-Length in 1xx and 204; in 304 it would have to
  // be that of the representation, which we never send. Those carry no body.
  const bool bodiless = (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
  if (!bodiless) append_header(out, "Content-Length", std::to_string(r.body.size()));
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  // RFC 9110 §9.3.2: HEAD gets the headers GET would, without the content.
  if (!bodiless && !head_only) out += r.body;
  return out;
}

response json_error(int status, std::string_view message) {
  const nlohmann::json body = {{"error", {{"status", status}, {"message", message}}}};
  response r;
  r.status = status;
  r.content_type = "application/json";
  // A message quoting client bytes may hold invalid UTF-8: replaced, not thrown.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

} // namespace centralita::http
