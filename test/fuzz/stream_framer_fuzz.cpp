// libFuzzer target: the stream framer fed in chunks whose sizes come from the
// input. First byte: the size limit selector; then (len, bytes) chunks.

#include "protocols/sip/stream_framer.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace centralita::sip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t limit = 64u + static_cast<size_t>(data[0]) * 16u;
  stream_framer f(limit);
  size_t pos = 1;
  size_t total_in = 0;
  size_t total_out = 0;
  while (pos < size) {
    size_t n = static_cast<size_t>(data[pos] % 32) + 1;
    ++pos;
    if (n > size - pos) n = size - pos;
    f.feed(std::string_view(reinterpret_cast<const char*>(data + pos), n));
    total_in += n;
    pos += n;
    while (auto fr = f.next()) {
      if (fr->kind == frame_kind::message) {
        if (fr->bytes.size() > limit) std::abort();  // never beyond the limit
        total_out += fr->bytes.size();
      }
      if (total_out > total_in) std::abort();
    }
    if (f.buffered() > limit + 64) std::abort();  // bounded memory
  }
  return 0;
}
