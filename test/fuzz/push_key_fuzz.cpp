// libFuzzer target: signing_key::from_pem. The first byte picks how the rest is
// read: as PEM text as it is, or as DER wrapped in a PEM block (PRIVATE KEY,
// EC PRIVATE KEY or RSA PRIVATE KEY) so the fuzzer reaches the key decoders
// without having to find base64 first. On top of "no crash, no leak, no UB":
//  - a refusal is invalid_argument with a non-empty printable reason;
//  - an accepted key names its algorithm, and an ES256 signature it makes is
//    64 bytes (an RS256 one at least 256; RSA keys sign only when the first
//    byte's high bit is set, since that costs milliseconds a run).

#include "protocols/push/push.hpp"

#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace centralita;
using namespace centralita::push;

namespace {

std::string pem_of(std::string_view label, std::string_view der) {
  std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(der.data()), static_cast<int>(der.size()));
  b64.resize(n > 0 ? static_cast<size_t>(n) : 0);
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END " + std::string(label) + "-----\n";
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 16384) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string pem;
  switch (data[0] % 4) {
  case 0: pem = rest; break;
  case 1: pem = pem_of("PRIVATE KEY", rest); break;
  case 2: pem = pem_of("EC PRIVATE KEY", rest); break;
  default: pem = pem_of("RSA PRIVATE KEY", rest); break;
  }

  auto key = signing_key::from_pem(pem);
  if (!key) {
    if (key.err().code != errc::invalid_argument || key.err().reason.empty()) std::abort();
    for (char c : key.err().reason)
      if (c < 0x20 || c > 0x7e) std::abort();
    return 0;
  }
  const bool es = key->alg() == signing_key::algorithm::es256;
  if (key->alg_name() != (es ? "ES256" : "RS256")) std::abort();
  // A decodable but inconsistent key may fail to sign: that is an error value.
  // RSA signing costs milliseconds, so only inputs with the high bit set sign.
  if (!es && (data[0] & 0x80) == 0) return 0;
  auto sig = key->sign("fuzz");
  if (sig && (es ? sig->size() != 64 : sig->size() < 256)) std::abort();
  return 0;
}
