// libFuzzer target: verify_jwt. The input is checked as a JWT against a fixed
// EC P-256 and a fixed RSA public key; when it holds a newline, the text before
// it is also checked against the text after it as the public key PEM. On top
// of "no crash, no leak, no UB":
//  - a refusal is parse_error or invalid_argument with a printable reason;
//  - what verifies returns the JWT's middle part decoded, a JSON object.

#include "protocols/push/push.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace centralita;
using namespace centralita::push;

namespace {

// Public halves of throwaway keys (openssl genpkey / pkey -pubout); the corpus
// holds JWTs signed by their private halves, so the success path is reached.
constexpr const char* ec_public = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfDrfnRcbNqA322XPiXrjOn4VqoYh
J6td6MEkLuj9WAGQMOAp5UKXbLTWrgIf02jD0myYEnTEiZR9l1cEUvPF6A==
-----END PUBLIC KEY-----
)";
constexpr const char* rsa_public = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvMRPFghRM7+fWEgVH9EM
lwkAQvoYwmLBWaWPfC5HtkuPLH6dVT4kRUbTZBxARds3ypxpR9eySz3K2HTxWSzL
ThpFj5gU1TwgLqcIMQevAeCO6lcbMdl08ZcaCJG3pBLT3UZcpxBcP1aBh7OssvAr
AQBnCNIzLnne9qAsdAmvIo4Om8fW1tmrDLeNLZ4pKo5P2vuaePE9A0iq/eZ3hcYJ
UUZW56GBbI7IF2RUptO7R1uiRTsEt20DgMsdkspFGYePYJ2nutSnIsIzdzxMdye9
8rLv2zcGV2r8grcQC1EMSY/DUzFholS6bZitum2kL5k/fJdE1CXfu+l5g834s71m
nQIDAQAB
-----END PUBLIC KEY-----
)";

void check(std::string_view jwt, std::string_view pem) {
  auto r = verify_jwt(jwt, pem);
  if (!r) {
    if (r.err().code != errc::parse_error && r.err().code != errc::invalid_argument) std::abort();
    if (r.err().reason.empty()) std::abort();
    for (char c : r.err().reason)
      if (c < 0x20 || c > 0x7e) std::abort();
    return;
  }
  const size_t d1 = jwt.find('.');
  const size_t d2 = jwt.rfind('.');
  auto claims = base64url_decode(jwt.substr(d1 + 1, d2 - d1 - 1));
  if (!claims || *claims != *r) std::abort();
  const auto j = nlohmann::json::parse(*r, nullptr, false);
  if (j.is_discarded() || !j.is_object()) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check(in, ec_public);
  check(in, rsa_public);
  if (const size_t nl = in.find('\n'); nl != std::string_view::npos) check(in.substr(0, nl), in.substr(nl + 1));
  return 0;
}
