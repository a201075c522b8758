#pragma once

// Helpers shared by the store tests: a temporary directory and sample bindings.

#include "protocols/sip/registrar/binding.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace centralita::test {

/// A fresh directory under /tmp, removed with everything in it at scope end.
class temp_dir {
public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "centralita-store-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    path_ = p != nullptr ? tmpl : std::string();
  }
  ~temp_dir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const noexcept { return path_; }

private:
  std::string path_;
};

/// A binding with every field set.
inline sip::binding sample_binding(std::string_view aor, std::string_view contact,
                                   int64_t expires_at, uint32_t cseq = 1) {
  using f = sip::binding::field;
  sip::binding b;
  b.expires_at = expires_at;
  b.connection = 0x8000'0000'0000'0001ull;  // high bit set: survives the signed column
  b.cseq = cseq;
  b.reg_id = 2;
  b.q = 500;
  b.q_given = true;
  b.set(f::aor, aor);
  b.set(f::contact, contact);
  b.set(f::call_id, "cid-1@host");
  b.set_path({"<sip:edge1.example.net;lr>", "<sip:edge2.example.net;lr>"});
  b.set(f::received, "192.0.2.7:40000");
  b.set(f::transport, "tcp");
  b.set(f::instance, "<urn:uuid:0001>");
  b.set(f::user_agent, "phone/1.0");
  b.set(f::pn_provider, "apns");
  b.set(f::pn_prid, "token");
  b.set(f::pn_param, "ABC.voip");
  return b;
}

} // namespace centralita::test
