// libFuzzer target: bencode decode and the ng datagram layer on arbitrary
// bytes. Invariants: decode never crashes (the depth limit holds off a deep
// nesting); whatever it accepts re-encodes to exactly the input (one
// spelling per value) and decodes back to an equal value; as an ng datagram,
// every refusal has a printable one-line reason, and the error reply built
// from it decodes to {result: error, error-reason: that reason}.

#include "protocols/ng/bencode.hpp"
#include "protocols/ng/ng_message.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace centralita;
using namespace centralita::ng;

namespace {

void check_reason(const std::string& reason) {
  if (reason.empty()) std::abort();
  for (char c : reason)
    if (c < 0x20 || c >= 0x7f) std::abort();  // becomes an error-reason on the wire
}

void check_error_reply(std::string_view cookie, const std::string& reason) {
  check_reason(reason);
  auto reply = build_reply(cookie, error_reply(reason));
  auto parts = split_datagram(reply);
  if (!parts.ok() || parts->cookie != cookie) std::abort();
  auto v = decode_body(parts->body);
  if (!v.ok() || v->find_string("result") != "error" || v->find_string("error-reason") != reason)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // 1. The codec alone.
  auto v = decode(bytes);
  if (v.ok()) {
    auto again = encode(*v);
    if (again != bytes) std::abort();
    auto back = decode(again);
    if (!back.ok() || !(*back == *v)) std::abort();
  } else {
    check_reason(v.err().reason);
    if (v.err().reason.find(" at byte ") == std::string::npos) std::abort();
  }

  // 2. As an ng datagram, the way the listener reads it.
  auto parts = split_datagram(bytes);
  if (!parts.ok()) {
    check_reason(parts.err().reason);
    return 0;
  }
  auto body = decode_body(parts->body);
  if (!body.ok()) {
    check_error_reply(parts->cookie, body.err().reason);
    return 0;
  }
  auto req = parse_request(*body);
  if (!req.ok()) {
    check_error_reply(parts->cookie, req.err().reason);
    return 0;
  }
  // What a request needs is there.
  bool call = req->cmd != command::ping && req->cmd != command::list;
  if (call && req->call_id.empty()) std::abort();
  if ((req->cmd == command::offer || req->cmd == command::answer) && req->from_tag.empty())
    std::abort();
  if (req->cmd == command::answer && req->to_tag.empty()) std::abort();
  auto ok = ok_reply();
  ok.set("sdp", req->sdp);
  auto reply = build_reply(parts->cookie, ok);
  auto rp = split_datagram(reply);
  if (!rp.ok() || !decode_body(rp->body).ok()) std::abort();
  return 0;
}
