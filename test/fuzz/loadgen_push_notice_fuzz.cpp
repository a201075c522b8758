// libFuzzer target: the push-wake gateway's reading of a webhook body (a
// switch under test may send anything). Never crashes; what it accepts has
// a token.
#include "bench/loadgen/webhook.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto n = centralita::loadgen::parse_push(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (n && n->prid.empty())
    std::abort();
  return 0;
}
