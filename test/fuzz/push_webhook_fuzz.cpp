// libFuzzer target: webhook_body with the input as the template (up to the
// first NUL) and the rest as field values. On top of "no crash, no leak, no UB":
//  - an accepted body parses as JSON;
//  - a refusal is invalid_argument with a printable reason.

#include "protocols/push/push.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace centralita;
using namespace centralita::push;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string_view tmpl = in.substr(0, nul);
  const std::string_view values = nul == std::string_view::npos ? std::string_view{} : in.substr(nul + 1);

  push_message m;
  m.provider = "webhook";
  m.prid = values;
  m.caller = values.substr(0, values.size() / 2);
  m.aor = values.substr(values.size() / 2);
  m.extra = {{std::string(values), std::string(tmpl)}};
  m.ttl_s = static_cast<int64_t>(size) - 100;

  auto body = webhook_body(tmpl, m);
  if (body) {
    if (nlohmann::json::parse(*body, nullptr, false).is_discarded()) std::abort();
  } else {
    if (body.err().code != centralita::errc::invalid_argument || body.err().reason.empty()) std::abort();
    for (char c : body.err().reason)
      if (c < 0x20 || c > 0x7e) std::abort();
  }
  return 0;
}
