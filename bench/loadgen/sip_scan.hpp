#pragma once

// What the load generator reads of a SIP response, found by a hand scan of the
// bytes instead of a full parse (protocols/sip's sofia-backed parser costs more
// CPU per message than the whole client side of a transaction should): the
// status code, the top Via's branch (the client transaction key, RFC 3261
// §17.1.3), the CSeq, and any digest challenges. Views point into the datagram
// and live as long as it. Anything that does not scan is an error value, which
// the engine counts as `malformed`: never a crash, never an exception.
//
// Also here: the branch format of our own transactions (format_branch /
// parse_branch), so a response is matched to its transaction without a hash map.

#include "protocols/util/result.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace centralita::loadgen {

/// The parts of a response the generator uses.
struct scanned_response {
  int status = 0;                 ///< 100..699
  std::string_view branch;        ///< the top Via's branch parameter
  uint32_t cseq = 0;
  std::string_view cseq_method;   ///< "OPTIONS", "REGISTER", ...
  /// WWW-Authenticate (401) or Proxy-Authenticate (407) values, in order
  /// (RFC 8760 §2.4: one per algorithm); the first `challenge_count` are set.
  std::array<std::string_view, 4> challenges{};
  uint8_t challenge_count = 0;
  bool proxy_challenge = false;   ///< the challenges came in Proxy-Authenticate
};

/// Scans one datagram as a SIP response (RFC 3261 §7.2): "SIP/2.0 NNN" status
/// line, then header lines up to the blank line (folded lines and compact
/// names understood; bare LF line ends tolerated). Errors (errc::parse_error)
/// name what is wrong: not a response, bad status code, no Via, no branch, no
/// or bad CSeq, no end of headers.
result<scanned_response> scan_response(std::string_view bytes);

/// Our branch for a transaction: "z9hG4bK" (RFC 3261 §8.1.1.7) + "-lg" + the
/// run's id (8 hex digits, random per run, so two runs never collide) + "." +
/// slot + "." + generation (hex). Unique per transaction within a run: a slot's
/// generation grows with every transaction it starts.
struct branch_key {
  uint32_t slot = 0;
  uint32_t generation = 0;
  bool operator==(const branch_key&) const = default;
};

/// Longest branch format_branch writes.
inline constexpr std::size_t max_branch_length = 7 + 3 + 8 + 1 + 8 + 1 + 8;

/// Writes the branch into `out` (at least max_branch_length bytes); returns its length.
std::size_t format_branch(char* out, uint32_t run_id, branch_key key) noexcept;

/// The key of one of our branches of this run; nullopt for anything else
/// (another run's, another client's, a mangled one).
std::optional<branch_key> parse_branch(std::string_view branch, uint32_t run_id) noexcept;

} // namespace centralita::loadgen
