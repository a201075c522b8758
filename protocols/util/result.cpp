#include "protocols/util/result.hpp"

namespace centralita {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::parse_error: return "parse_error";
    case errc::bad_header: return "bad_header";
    case errc::missing_header: return "missing_header";
    case errc::unsupported: return "unsupported";
    case errc::too_large: return "too_large";
    case errc::invalid_argument: return "invalid_argument";
    case errc::io_error: return "io_error";
  }
  return "unknown";
}

} // namespace centralita
