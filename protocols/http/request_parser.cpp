// request_parser over Node's http_parser 2.9: the library tokenises, we
// assemble the request, enforce our limits in its callbacks and map its errors
// to the status a server answers with (RFC 9112 §2.2, RFC 9110 §15).

#include "protocols/http/request_parser.hpp"

#include "protocols/util/ascii.hpp"

#include <http_parser.h>

#include <algorithm>
#include <climits>
#include <cstdint>

namespace centralita::http {

const std::string* find_header(const std::vector<header>& headers, std::string_view name) noexcept {
  for (const header& h : headers)
    if (ascii::iequals(h.name, name)) return &h.value;
  return nullptr;
}

const std::string* request::query_value(std::string_view name) const noexcept {
  for (const auto& [k, v] : query)
    if (k == name) return &v;
  return nullptr;
}

namespace {

// http_parser_url holds 16-bit offsets: a longer target cannot be split.
constexpr std::size_t url_offset_limit = UINT16_MAX;

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// RFC 9110 §5.6.2 tchar: what a method name may be made of.
bool is_tchar(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

} // namespace

struct request_parser::impl {
  explicit impl(parser_limits l) : limits(l) {
    http_parser_settings_init(&settings);
    settings.on_message_begin = &impl::on_message_begin;
    settings.on_url = &impl::on_url;
    settings.on_header_field = &impl::on_header_field;
    settings.on_header_value = &impl::on_header_value;
    settings.on_headers_complete = &impl::on_headers_complete;
    settings.on_body = &impl::on_body;
    settings.on_message_complete = &impl::on_message_complete;
    reset();
  }

  /// Ready for the next request. A fresh http_parser per request also forgets
  /// the "connection: close" it would otherwise hold against further bytes;
  /// closing is the caller's decision, from request::keep_alive.
  void reset() {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    req = request{};
    started = headers_done = complete = last_was_value = false;
    head_bytes = trailer_bytes = 0;
    start.clear();
    method_pending = false;
  }

  int fail(int status, std::string reason) {
    error_status = status;
    error_reason = std::move(reason);
    return -1;  // any value but 0, 1 or 2 is an error for on_headers_complete too
  }

  static impl& self(http_parser* p) { return *static_cast<impl*>(p->data); }

  static int on_message_begin(http_parser* p) {
    self(p).started = true;
    return 0;
  }

  static int on_url(http_parser* p, const char* at, std::size_t len) {
    impl& s = self(p);
    const std::size_t cap = std::min(s.limits.max_target, url_offset_limit);
    if (s.req.target.size() + len > cap) return s.fail(414, "request-target too long");
    s.req.target.append(at, len);
    return 0;
  }

  // Names and values may arrive in several pieces (one per feed that cuts
  // them); a name after a value starts the next field.
  static int on_header_field(http_parser* p, const char* at, std::size_t len) {
    impl& s = self(p);
    if (s.headers_done) return s.count_trailer(len);
    if (s.req.headers.empty() || s.last_was_value) {
      s.finish_value();
      if (s.req.headers.size() >= s.limits.max_headers) return s.fail(431, "too many header fields");
      s.req.headers.emplace_back();
      s.last_was_value = false;
    }
    s.req.headers.back().name.append(at, len);
    return 0;
  }

  static int on_header_value(http_parser* p, const char* at, std::size_t len) {
    impl& s = self(p);
    if (s.headers_done) return s.count_trailer(len);
    s.req.headers.back().value.append(at, len);
    s.last_was_value = true;
    return 0;
  }

  // RFC 9112 §7.1.2: trailer fields may be discarded; we do, but they still
  // count against the header limit so that they cannot grow without bound.
  int count_trailer(std::size_t len) {
    trailer_bytes += len;
    if (trailer_bytes > limits.max_header_bytes) return fail(431, "trailer fields too large");
    return 0;
  }

  void finish_value() {
    if (req.headers.empty()) return;
    std::string& v = req.headers.back().value;
    const std::string_view t = trim_ows(v);
    if (t.size() != v.size()) v = std::string(t);
  }

  static int on_headers_complete(http_parser* p) {
    impl& s = self(p);
    s.finish_value();
    s.headers_done = true;
    request& r = s.req;
    r.method = http_method_str(static_cast<http_method>(p->method));
    r.http_major = p->http_major;
    r.http_minor = p->http_minor;
    // RFC 9112 §2.3: a server answers a major version it does not speak with
    // 505 (http_parser also accepts "HTTP/2.0" and 0.9's bare request line).
    if (r.http_major != 1) return s.fail(505, "HTTP version not supported");
    if (p->method == HTTP_CONNECT) return s.fail(501, "CONNECT not implemented");
    // RFC 9112 §6.1: a transfer coding we do not understand is a 501; chunked
    // is the only one we decode, and it must then stand alone.
    for (const header& h : r.headers)
      if (ascii::iequals(h.name, "transfer-encoding") && !ascii::iequals(h.value, "chunked"))
        return s.fail(501, "transfer coding not implemented: " + h.value);
    if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
        p->content_length > s.limits.max_body)
      return s.fail(413, "body too large");
    if (int rc = s.split_target(); rc != 0) return rc;
    r.keep_alive = http_should_keep_alive(p) != 0;
    r.upgrade = p->upgrade != 0;
    return 0;
  }

  int split_target() {
    http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(req.target.data(), req.target.size(), 0, &u) != 0)
      return fail(400, "malformed request-target");
    auto field = [&](http_parser_url_fields f) {
      return std::string_view(req.target).substr(u.field_data[f].off, u.field_data[f].len);
    };
    if (u.field_set & (1 << UF_PATH)) {
      auto path = percent_decode(field(UF_PATH), false);
      if (!path) return fail(400, "bad path: " + path.err().reason);
      req.path = std::move(path).value();
    } else {
      req.path = "/";  // absolute-form without a path (RFC 9112 §3.2.2)
    }
    if (u.field_set & (1 << UF_QUERY)) {
      auto query = parse_query(field(UF_QUERY));
      if (!query) return fail(400, "bad query: " + query.err().reason);
      req.query = std::move(query).value();
    }
    return 0;
  }

  static int on_body(http_parser* p, const char* at, std::size_t len) {
    impl& s = self(p);
    // Content-Length was checked up front; this catches chunked bodies.
    if (s.req.body.size() + len > s.limits.max_body) return s.fail(413, "body too large");
    s.req.body.append(at, len);
    return 0;
  }

  // Pausing makes http_parser_execute return right after this message, so
  // that feed() reports exactly the bytes it used.
  static int on_message_complete(http_parser* p) {
    impl& s = self(p);
    s.complete = true;
    s.started = false;
    http_parser_pause(p, 1);
    return 0;
  }

  parser_limits limits;
  http_parser_settings settings;
  http_parser parser;
  request req;
  bool started = false;         ///< on_message_begin seen, message not yet complete
  bool headers_done = false;
  bool complete = false;        ///< a request waits for take()
  bool last_was_value = false;  ///< the last header callback was a value
  std::size_t head_bytes = 0;   ///< bytes fed while the head was incomplete
  std::size_t trailer_bytes = 0;
  int error_status = 0;
  std::string error_reason;
  /// The first bytes of the request, for telling an unknown method (501)
  /// from bytes that are not a request line (400) when http_parser gives up.
  std::string start;
  bool method_pending = false;  ///< http_parser refused the method; waiting for its end

  static constexpr std::size_t max_method = 64;

  /// Decides an unknown-method error from `start` plus `more`: a token up to
  /// a space is a method we do not implement (RFC 9110 §9.1: 501); anything
  /// else is not a request line (400). False while the token has not ended
  /// (the verdict must not depend on how the bytes were split).
  bool decide_method(std::string_view more) {
    std::size_t room = max_method > start.size() ? max_method - start.size() : 0;
    start.append(more.substr(0, room));
    for (std::size_t i = 0; i < start.size(); ++i) {
      if (is_tchar(start[i]))
        continue;
      if (i > 0 && start[i] == ' ')
        fail(501, "method not implemented");
      else
        fail(400, "not an HTTP request line");
      return true;
    }
    if (start.size() >= max_method) {
      fail(400, "not an HTTP request line");
      return true;
    }
    return false;
  }
};

request_parser::request_parser(parser_limits limits) : impl_(std::make_unique<impl>(limits)) {}

request_parser::~request_parser() = default;

request_parser::outcome request_parser::feed(std::string_view bytes) {
  impl& s = *impl_;
  if (error_status_ != 0) return {state::error, 0};
  if (s.complete) return {state::complete, 0};
  if (s.method_pending) {
    if (!s.decide_method(bytes)) return {state::need_more, bytes.size()};
    error_status_ = s.error_status;
    error_reason_ = s.error_reason;
    return {state::error, 0};
  }
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    // The head is fed at most up to the header limit, so that a head without
    // an end is refused after max_header_bytes however the bytes were split.
    // (An empty slice must never reach http_parser_execute: it means EOF.)
    std::size_t n = bytes.size() - pos;
    if (!s.headers_done) {
      if (s.head_bytes >= s.limits.max_header_bytes) {
        s.fail(431, "request header section too large");
        break;
      }
      n = std::min(n, s.limits.max_header_bytes - s.head_bytes);
    }
    const bool in_head = !s.headers_done;
    std::size_t kept = 0;  // bytes of this slice copied to `start`
    if (in_head && s.start.size() < impl::max_method) {
      kept = std::min(n, impl::max_method - s.start.size());
      s.start.append(bytes.data() + pos, kept);
    }
    const std::size_t slice = pos;
    const std::size_t used = http_parser_execute(&s.parser, &s.settings, bytes.data() + pos, n);
    if (in_head) s.head_bytes += used;
    const auto err = HTTP_PARSER_ERRNO(&s.parser);
    const char* bad = pos + used < bytes.size() ? bytes.data() + pos + used : nullptr;
    pos += used;
    if (err == HPE_PAUSED) return {state::complete, pos};
    if (err == HPE_OK) continue;
    switch (err) {
      case HPE_CB_message_begin: case HPE_CB_url: case HPE_CB_header_field:
      case HPE_CB_header_value: case HPE_CB_headers_complete: case HPE_CB_body:
      case HPE_CB_message_complete:
        break;  // our callback set the status
      case HPE_HEADER_OVERFLOW: s.fail(431, "request header section too large"); break;
      case HPE_INVALID_VERSION: s.fail(505, "HTTP version not supported"); break;
      case HPE_INVALID_TRANSFER_ENCODING: s.fail(501, "transfer coding not implemented"); break;
      case HPE_INVALID_METHOD:
        // http_parser knows a fixed list of methods and stops at the first
        // byte that leaves it. A token character there is a method we do not
        // know (RFC 9110 §9.1: 501); anything else is not HTTP at all.
        (void)bad;
        s.method_pending = true;
        if (!s.decide_method(bytes.substr(slice + kept))) return {state::need_more, bytes.size()};
        break;
      default: s.fail(400, http_errno_description(err)); break;
    }
    break;
  }
  if (s.error_status != 0) {
    error_status_ = s.error_status;
    error_reason_ = s.error_reason;
    return {state::error, pos};
  }
  return {state::need_more, pos};
}

request request_parser::take() {
  impl& s = *impl_;
  if (!s.complete) return request{};
  request r = std::move(s.req);
  s.reset();
  return r;
}

bool request_parser::mid_request() const noexcept {
  return impl_->started && error_status_ == 0;
}

} // namespace centralita::http
