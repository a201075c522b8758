// libFuzzer target: request_parser on arbitrary bytes, fed the way a
// connection feeds it (unconsumed bytes wait for the next read).
//  - byte 0 picks tight or default limits, bytes 1..8 the sizes of the pieces
//    (cycled); the rest is the stream;
//  - fed in those pieces, whole and byte by byte, the same requests complete
//    and the same runs end in an error;
//  - an error has one of the documented statuses and a reason, and sticks;
//  - every completed request has a method and a path, respects the limits,
//    and goes through accept_websocket and serialize without trouble.

#include "protocols/http/request_parser.hpp"
#include "protocols/http/response.hpp"
#include "protocols/http/websocket.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace centralita::http;

namespace {

struct outcome {
  std::vector<request> requests;
  bool failed = false;
};

void check_request(const request& r, const parser_limits& l) {
  if (r.method.empty() || r.path.empty() || r.target.empty()) std::abort();
  if (r.target.size() > l.max_target || r.headers.size() > l.max_headers || r.body.size() > l.max_body)
    std::abort();
  if (r.http_major != 1) std::abort();
  for (const header& h : r.headers) {
    if (h.name.empty()) std::abort();
    if (!h.value.empty() && (h.value.front() == ' ' || h.value.back() == ' ')) std::abort();
  }
  for (const auto& [k, v] : r.query)
    if (k.find('\0') != std::string::npos || v.find('\0') != std::string::npos) std::abort();
  const handshake h = accept_websocket(r);
  if (h.ok != (h.answer.status == 101)) std::abort();
  if (serialize(h.answer, r.keep_alive, r.method == "HEAD").empty()) std::abort();
}

outcome parse(std::string_view stream, const std::vector<std::size_t>& sizes, const parser_limits& l) {
  request_parser p(l);
  outcome out;
  std::string pending;
  std::size_t k = 0;
  while (!stream.empty()) {
    const std::size_t n = std::min(stream.size(), sizes[k++ % sizes.size()]);
    pending.append(stream.substr(0, n));
    stream.remove_prefix(n);
    for (;;) {
      const auto o = p.feed(pending);
      if (o.consumed > pending.size()) std::abort();
      pending.erase(0, o.consumed);
      if (o.st == request_parser::state::error) {
        const int s = p.error_status();
        if (s != 400 && s != 413 && s != 414 && s != 431 && s != 501 && s != 505) std::abort();
        if (p.error_reason().empty()) std::abort();
        if (p.feed("GET / HTTP/1.1\r\n\r\n").st != request_parser::state::error) std::abort();
        (void)serialize(json_error(s, p.error_reason()), false);
        out.failed = true;
        return out;
      }
      if (o.st != request_parser::state::complete) {
        if (!pending.empty()) std::abort();  // need_more uses everything
        break;
      }
      if (p.mid_request()) std::abort();
      out.requests.push_back(p.take());
      check_request(out.requests.back(), l);
    }
  }
  return out;
}

bool same(const request& a, const request& b) {
  if (a.method != b.method || a.target != b.target || a.path != b.path || a.query != b.query ||
      a.body != b.body || a.keep_alive != b.keep_alive || a.upgrade != b.upgrade ||
      a.headers.size() != b.headers.size())
    return false;
  for (std::size_t i = 0; i < a.headers.size(); ++i)
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  parser_limits l;
  if (data[0] & 1) {
    // Tight limits, so that short inputs reach every refusal.
    l.max_target = 32;
    l.max_header_bytes = 128;
    l.max_headers = 4;
    l.max_body = 16;
  }
  std::vector<std::size_t> sizes;
  for (int i = 1; i <= 8; ++i) sizes.push_back(std::size_t{data[i]} + 1);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 9, size - 9);

  const outcome split = parse(stream, sizes, l);
  const outcome whole = parse(stream, {stream.size() + 1}, l);
  const outcome bytes = parse(stream, {1}, l);
  for (const outcome* o : {&whole, &bytes}) {
    if (o->failed != split.failed || o->requests.size() != split.requests.size()) std::abort();
    for (std::size_t i = 0; i < split.requests.size(); ++i)
      if (!same(o->requests[i], split.requests[i])) std::abort();
  }
  return 0;
}
