// libFuzzer target: the load generator's response scanner on arbitrary bytes
// (a target under load may answer anything). It never crashes; when it
// accepts a response, what it returns points into the input and is sane; our
// own branches parse back to the key they were written from.

#include "bench/loadgen/sip_scan.hpp"

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
