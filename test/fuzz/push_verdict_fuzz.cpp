// libFuzzer target: classify_apns / classify_fcm / classify_webhook. The input
// is read like an HTTP answer: a first line with the status (digits, possibly
// negative), header lines "name: value" up to an empty line, then the body
// (also passed as the transport error). On top of "no crash, no leak, no UB":
//  - delivered exactly for a 2xx, transient for no answer (status <= 0);
//  - the reason is non-empty printable ASCII;
//  - retry_after_s, when set, is not negative.

#include "protocols/push/push.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace centralita::push;

namespace {

std::string_view next_line(std::string_view& in) {
  const size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

int status_of(std::string_view s) {
  bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  long v = 0;
  for (char c : s.substr(0, 6)) {
    if (c < '0' || c > '9') break;
    v = v * 10 + (c - '0');
  }
  return static_cast<int>(negative ? -v : v);
}

void check(const verdict& v, int status) {
  if ((v.what == outcome::delivered) != (status >= 200 && status <= 299)) std::abort();
  if (status <= 0 && v.what != outcome::transient) std::abort();
  if (v.reason.empty()) std::abort();
  for (char c : v.reason)
    if (c < 0x20 || c > 0x7e) std::abort();
  if (v.retry_after_s && *v.retry_after_s < 0) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const int status = status_of(next_line(in));
  std::vector<std::pair<std::string, std::string>> headers;
  while (!in.empty()) {
    const std::string_view line = next_line(in);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  check(classify_apns(status, headers, in, in), status);
  check(classify_fcm(status, headers, in, in), status);
  check(classify_webhook(status, headers, in, in), status);
  return 0;
}
