// libFuzzer target: parse_service_account and parse_token_response on arbitrary
// bytes (the token answer read as a 200, a 400 and a 0). On top of "no crash,
// no leak, no UB":
//  - an accepted service account has client_email, private key and project id,
//    and a token_uri;
//  - an accepted token is non-empty, header-safe, with expires_in >= 0; only a
//    2xx is ever accepted;
//  - every error carries a non-empty printable reason.

#include "protocols/push/push.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace centralita;
using namespace centralita::push;

namespace {

void check_reason(const error& e) {
  if (e.reason.empty()) std::abort();
  for (char c : e.reason)
    if (c < 0x20 || c > 0x7e) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto sa = parse_service_account(in)) {
    if (sa->client_email.empty() || sa->private_key_pem.empty() || sa->project_id.empty() || sa->token_uri.empty())
      std::abort();
  } else {
    if (sa.err().code != errc::parse_error && sa.err().code != errc::invalid_argument) std::abort();
    check_reason(sa.err());
  }

  for (int status : {200, 400, 0}) {
    auto t = parse_token_response(status, in);
    if (t) {
      if (status != 200 || t->token.empty() || t->expires_in_s < 0) std::abort();
      for (char c : t->token)
        if ((c < 0x20 || c > 0x7e) && c != '\t') std::abort();
    } else {
      if (status != 200 && t.err().code != errc::unsupported) std::abort();
      check_reason(t.err());
    }
  }
  return 0;
}
