// libFuzzer target: parse_dtmf_info on arbitrary bytes. The input's first line
// (up to the first '\n') is the Content-Type value, the rest the INFO body
// (the corpus in corpus/dtmf_info/ is written that way). On top of "no crash,
// no leak, no UB" it checks, for any bytes:
//  - a parsed digit is one of 0-9 * # A-D F with a duration within the cap,
//    and format_dtmf_relay() of it parses back to the same digit;
//  - an error carries a non-empty reason of printable ASCII (it may become a
//    400 reason phrase), and unsupported is reported only for a content type
//    that is neither format.

#include "protocols/sip/dtmf_info.hpp"

#include "protocols/util/ascii.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace centralita;
using namespace centralita::sip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = in.find('\n');
  const std::string_view content_type = in.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);

  auto r = parse_dtmf_info(content_type, body);
  if (r) {
    if (std::string_view("0123456789*#ABCDF").find(r->digit) == std::string_view::npos) std::abort();
    if (r->duration_ms > max_dtmf_duration_ms) std::abort();
    auto back = parse_dtmf_info("application/dtmf-relay", format_dtmf_relay(*r));
    if (!back || *back != *r) std::abort();
    return 0;
  }
  const std::string& why = r.err().reason;
  if (why.empty()) std::abort();
  for (char c : why)
    if (c < 0x20 || c > 0x7e) std::abort();
  if (r.err().code == errc::unsupported) {
    // Only an unknown media type is unsupported; a known one fails as a parse error.
    std::string_view media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && (media.front() == ' ' || media.front() == '\t' || media.front() == '\r'))
      media.remove_prefix(1);
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t' || media.back() == '\r'))
      media.remove_suffix(1);
    if (ascii::iequals(media, "application/dtmf") || ascii::iequals(media, "application/dtmf-relay")) std::abort();
  } else if (r.err().code != errc::parse_error) {
    std::abort();
  }
  return 0;
}
