// libFuzzer target: base64url_decode on arbitrary bytes. On top of "no crash,
// no leak, no UB" it checks, for any bytes:
//  - what decodes is canonical: it encodes back to the input without padding;
//  - an error is a parse_error with a non-empty printable reason;
//  - the input itself, encoded, decodes back to the same bytes.

#include "protocols/push/push.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace centralita;
using namespace centralita::push;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  auto r = base64url_decode(in);
  if (r) {
    std::string_view unpadded = in;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
    if (base64url(*r) != unpadded) std::abort();
    if (r->size() != unpadded.size() * 3 / 4) std::abort();
  } else {
    if (r.err().code != errc::parse_error || r.err().reason.empty()) std::abort();
    for (char c : r.err().reason)
      if (c < 0x20 || c > 0x7e) std::abort();
  }

  auto back = base64url_decode(base64url(in));
  if (!back || *back != in) std::abort();
  return 0;
}
