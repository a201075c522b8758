#pragma once

// DTMF carried in the body of a SIP INFO request (RFC 6086 leaves the body to
// the "Info Package"; the two bodies seen in the wild predate it):
//
//   application/dtmf-relay   Cisco's format, one "Key=Value" per line:
//                              Signal=5
//                              Duration=160
//                            keys are case-insensitive, whitespace around '='
//                            is allowed, lines end in CRLF or bare LF, lines we
//                            do not know (and lines without '=') are ignored.
//   application/dtmf         the body is the signal itself ("5"), surrounding
//                            whitespace allowed.
//
// A signal is a key (0-9 * # A-D, letters in any case; '!' is hook flash, as
// Asterisk sends it) or an RFC 4733 §3.2 event number (0-16: 10 is '*', 11 '#',
// 12-15 'A'-'D', 16 flash). Pure: no I/O, no allocation on success.

#include "protocols/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace centralita::sip {

/// One key press received in an INFO body.
struct dtmf_digit {
  char digit = '0';          ///< one of 0-9 * # A-D (upper case), or 'F' for flash (event 16)
  uint32_t duration_ms = 0;  ///< 0 when not given

  friend bool operator==(const dtmf_digit&, const dtmf_digit&) = default;
};

/// The longest Duration accepted (one day); anything above is an error.
inline constexpr uint32_t max_dtmf_duration_ms = 86'400'000;

/// Parses an INFO body. `content_type` is the Content-Type value: its media
/// type decides the format (case-insensitive; parameters such as
/// ";charset=..." are ignored). A dtmf-relay body may carry Signal and
/// Duration at most once each. Errors, each with a short reason fit for a 400
/// reason phrase (any echoed input is cut to 32 printable ASCII characters):
///   errc::unsupported   any other content type ("Unsupported DTMF Content-Type 'text/plain'")
///   errc::parse_error   no Signal / empty body ("Missing DTMF Signal"), a signal that is
///                       not a key or an event number 0-16 ("Bad DTMF Signal 'x'"), a
///                       Duration that is not a decimal number ("Bad DTMF Duration 'x'")
///                       or is above max_dtmf_duration_ms ("DTMF Duration over 86400000
///                       ms"), Signal or Duration twice ("Multiple DTMF Signal lines").
result<dtmf_digit> parse_dtmf_info(std::string_view content_type, std::string_view body);

/// The application/dtmf-relay body for `d`: "Signal=5\r\nDuration=160\r\n"
/// (flash is written as event number 16, which Cisco and Asterisk read).
/// parse_dtmf_info("application/dtmf-relay", format_dtmf_relay(d)) == d for
/// every valid `d`.
std::string format_dtmf_relay(const dtmf_digit& d);

} // namespace centralita::sip
