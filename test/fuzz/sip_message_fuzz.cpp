// libFuzzer target: message::parse on arbitrary bytes; when it parses, every
// accessor, proxy edits, serialize and a re-parse that must succeed; make_response;
// make_error_response on failures.

#include "protocols/sip/message.hpp"
#include "protocols/sip/routing_key.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace centralita::sip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)scan_call_id(bytes);
  (void)looks_like_response(bytes);
  auto r = message::parse(bytes);
  if (!r.ok()) {
    (void)make_error_response(bytes, 400, r.err().reason);
    return 0;
  }
  message& m = *r;
  (void)m.is_request();
  (void)m.request_method();
  (void)m.method_name();
  (void)m.request_uri();
  (void)m.status();
  (void)m.reason_phrase();
  (void)m.call_id();
  (void)m.cseq();
  (void)m.cseq_method();
  (void)m.max_forwards();
  (void)m.from();
  (void)m.to();
  (void)m.contact();
  (void)m.vias();
  (void)m.record_routes();
  (void)m.routes();
  (void)m.header("Call-ID");
  (void)m.header_values("Via");
  (void)m.header("X-Unknown");
  (void)m.body();
  (void)m.brief();
  if (m.is_request()) {
    auto resp = make_response(m, 200, {}, "fuzztag");
    if (!resp.ok()) std::abort();  // a parsed request can always be answered
    (void)resp->serialize();
    (void)make_response(m, 487, "x\r\ny");
  }
  auto first = message::parse(m.serialize());
  if (!first.ok()) std::abort();  // an unedited parsed message must round-trip
  id_generator ids(size);
  m.push_via("UDP", "192.0.2.1", 5060, ids);
  m.decrement_max_forwards();
  m.add_record_route("sip:192.0.2.1;lr");
  m.set_top_via_received("198.51.100.1", 1234);
  if (m.is_request()) m.set_request_uri("sip:fuzz@example.com");
  m.set_to_tag("t1");
  m.add_header("X-Fuzz", "1");
  m.remove_header("Subject");
  auto again = message::parse(m.serialize());
  if (!again.ok()) std::abort();  // edits keep the message re-parseable
  m.pop_via();
  m.set_body("text/plain", "body");
  auto third = message::parse(m.serialize());
  if (!third.ok()) std::abort();
  (void)m.clone();
  return 0;
}
