#pragma once
// Helpers shared by the push .cpp files; not part of the push API.

#include "protocols/util/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace centralita::push {
struct push_message;
}

namespace centralita::push::detail {

using json = nlohmann::json;
/// Keeps insertion order, so what we build reads in the order we wrote it.
using ordered_json = nlohmann::ordered_json;
using header_list = std::vector<std::pair<std::string, std::string>>;

inline error invalid(std::string reason) { return error{errc::invalid_argument, std::move(reason)}; }
inline error malformed(std::string reason) { return error{errc::parse_error, std::move(reason)}; }

/// JSON text of `j`, compact. Never throws: bytes that are not UTF-8 become
/// U+FFFD (JSON text is Unicode, RFC 8259 §8.1), everything else is escaped.
std::string dump(const ordered_json& j);

/// `s` as valid UTF-8: what dump() writes for it, read back.
std::string utf8(std::string_view s);

/// The JSON string `s` would become, without its surrounding quotes.
std::string escape(std::string_view s);

/// `text` parsed, or nothing when it is not JSON. Never throws.
std::optional<json> parse(std::string_view text);

/// `obj[key]` when `obj` is an object and that member is a string; else "".
std::string string_member(const json& obj, const char* key);

/// `s` cut to `cap` bytes with every byte outside printable ASCII as '?': text
/// from the network that ends up in a verdict reason or an error (and in logs).
std::string printable(std::string_view s, std::size_t cap = 200);

/// True when `v` may go into an HTTP header value or a request line as is: no
/// control characters (CR/LF would split the header), nothing outside ASCII.
bool header_safe(std::string_view v) noexcept;

/// `url` without trailing '/' characters, so "{base}/path" has one slash.
std::string_view without_trailing_slash(std::string_view url) noexcept;

/// True when every character of non-empty `s` is a hex digit, either case.
bool is_hex(std::string_view s) noexcept;

/// True for a canonical UUID: 8-4-4-4-12 hex digits, either case (RFC 9562 §4).
bool is_uuid(std::string_view s) noexcept;

/// application/x-www-form-urlencoded value: unreserved characters as they are,
/// every other byte as %XX (URL Standard §5.2; RFC 3986 §2.3 unreserved set).
std::string form_encode(std::string_view s);

/// The first value of header `name` (compared case-insensitively), if any.
std::optional<std::string_view> find_header(const header_list& headers, std::string_view name) noexcept;

/// Retry-After in its delay-seconds form (RFC 9110 §10.2.3); the HTTP-date form
/// and anything malformed give nothing.
std::optional<int64_t> retry_after(const header_list& headers) noexcept;

/// The payload_json() fields added to the object `out`.
void add_payload(ordered_json& out, const push_message& m);

/// a + b, held at the int64_t limits instead of overflowing.
int64_t add_saturated(int64_t a, int64_t b) noexcept;

/// "HTTP <status>".
std::string http_reason(int status);

// -- OpenSSL glue shared by key.cpp and jwt.cpp ---------------------------------

/// DER ECDSA-Sig-Value (what OpenSSL makes) to the 64-byte R||S of JWS
/// (RFC 7518 §3.4); empty when `der` is not such a signature for P-256.
std::string ecdsa_der_to_raw(std::string_view der);
/// 64-byte R||S to DER; empty when `raw` is not 64 bytes.
std::string ecdsa_raw_to_der(std::string_view raw);

} // namespace centralita::push::detail
