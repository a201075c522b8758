#pragma once
// Deleters for std::unique_ptr over the OpenSSL objects the push code holds
// (keys, BIOs, digest contexts). Private to protocols/push/.

#include <openssl/bio.h>
#include <openssl/evp.h>

namespace centralita::push::detail {

struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

} // namespace centralita::push::detail
