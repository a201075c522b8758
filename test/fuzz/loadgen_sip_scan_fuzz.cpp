// libFuzzer target: the load generator's response and request scanners (the
// built-in UAS reads requests) on arbitrary bytes (a target under load may
// answer anything), the route-set helpers, and the UAS's answers built from
// whatever scanned. It never crashes; when it
// accepts a response, what it returns points into the input and is sane; our
// own branches parse back to the key they were written from.

#include "bench/loadgen/sip_scan.hpp"
#include "bench/loadgen/uas.hpp"

#include <string>

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace centralita::loadgen;

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data()
                          && part.data() + part.size() <= whole.data() + whole.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = scan_response(in);
  if (r) {
    if (r->status < 100 || r->status > 699 || r->challenge_count > r->challenges.size())
      std::abort();
    if (!inside(r->branch, in) || !inside(r->cseq_method, in))
      std::abort();
    for (unsigned i = 0; i < r->challenge_count; ++i)
      if (!inside(r->challenges[i], in))
        std::abort();
    parse_branch(r->branch, 0x1234abcd);
    if (r->record_route_count > r->record_routes.size() || !inside(r->to_tag, in)
        || !inside(r->contact_uri, in))
      std::abort();
    for (unsigned i = 0; i < r->record_route_count; ++i)
      for_each_route_entry(r->record_routes[i], [&](std::string_view e) {
        std::string_view host;
        uint16_t port = 0;
        if (!inside(e, in) || (uri_host_port(e, host, port) && (host.empty() || port == 0)))
          std::abort();
      });
  }
  if (auto q = scan_request(in)) {
    if (q->echo_count > q->echo.size() || q->to_index >= q->echo_count || q->call_id.empty())
      std::abort();
    for (unsigned i = 0; i < q->echo_count; ++i)
      if (!inside(q->echo[i], in))
        std::abort();
    std::string out;
    build_response(out, *q, 200, "OK", "t", "<sip:uas@127.0.0.1:5090>", true);
    if (out.compare(0, 12, "SIP/2.0 200 ") != 0)
      std::abort();
  }
  if (size >= 12) {  // a key from the first bytes must round-trip
    uint32_t run = 0, slot = 0, gen = 0;
    __builtin_memcpy(&run, data, 4);
    __builtin_memcpy(&slot, data + 4, 4);
    __builtin_memcpy(&gen, data + 8, 4);
    char out[max_branch_length];
    auto n = format_branch(out, run, {slot, gen});
    auto back = parse_branch(std::string_view(out, n), run);
    if (!back || !(*back == branch_key{slot, gen}))
      std::abort();
  }
  return 0;
}
