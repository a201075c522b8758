#pragma once

// The client side of digest authentication, shared by the scenarios and the
// built-in UAS's registration (RFC 3261 §22.2; RFC 7616; RFC 8760 SHA-256).

#include "protocols/auth/challenge.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace centralita::loadgen {

/// Appends the Authorization (or, for a 407, Proxy-Authorization) header line
/// answering `ch` for `method` on `uri`, CRLF included: qop=auth with
/// `cnonce` and the nonce count `nc` when the challenge offers it
/// (RFC 7616 §3.4), the challenge's algorithm and opaque echoed.
void append_digest_authorization(std::string& out, const auth::challenge& ch, bool proxy,
                                 std::string_view user, std::string_view password,
                                 std::string_view uri, std::string_view method,
                                 std::string_view cnonce, uint32_t nc);

} // namespace centralita::loadgen
