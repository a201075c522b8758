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
  // What a UAC needs of an INVITE's answer to build its ACK and BYE (RFC 3261
  // §12.1.2): the To tag, the remote target and the route set.
  std::string_view to_tag;        ///< empty when the To header has no tag
  std::string_view contact_uri;   ///< the first Contact's URI, without <>
  /// Record-Route header values in message order (each may hold several
  /// comma-separated entries); the first `record_route_count` are set.
  std::array<std::string_view, 8> record_routes{};
  uint8_t record_route_count = 0;
};

/// Scans one datagram as a SIP response (RFC 3261 §7.2): "SIP/2.0 NNN" status
/// line, then header lines up to the blank line (folded lines and compact
/// names understood; bare LF line ends tolerated). Errors (errc::parse_error)
/// name what is wrong: not a response, bad status code, no Via, no branch, no
/// or bad CSeq, no end of headers.
result<scanned_response> scan_response(std::string_view bytes);

/// The parts of a request the built-in UAS (uas.hpp) uses to answer it.
struct scanned_request {
  std::string_view method;        ///< "INVITE", "ACK", "BYE", ...
  std::string_view request_uri;
  std::string_view call_id;
  std::string_view branch;        ///< the top Via's branch
  uint32_t cseq = 0;
  std::string_view cseq_method;
  std::string_view to_tag;
  /// Whole header lines ("Via: ...") a response copies (RFC 3261 §8.2.6.2:
  /// every Via in order, From, To, Call-ID, CSeq; §12.1.1: Record-Route), in
  /// message order; the first `echo_count` are set.
  std::array<std::string_view, 24> echo{};
  uint8_t echo_count = 0;
  uint8_t to_index = 0;           ///< which of `echo` is the To line
  uint32_t record_route_mask = 0; ///< bit i: echo[i] is a Record-Route line
};

/// Scans one datagram as a SIP request (RFC 3261 §7.1): "METHOD URI SIP/2.0"
/// and the headers above; Via, From, To, Call-ID and CSeq are required.
/// More header lines to echo than `echo` holds is an error, never a crash.
result<scanned_request> scan_request(std::string_view bytes);

/// Splits a Record-Route / Route header value into its entries ("<sip:a;lr>,
/// <sip:b;lr>" -> "<sip:a;lr>", "<sip:b;lr>"), commas inside <> or quotes kept.
template <typename Fn>
void for_each_route_entry(std::string_view value, Fn&& fn) {
  std::size_t start = 0;
  bool in_angle = false, in_quote = false;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    char c = i < value.size() ? value[i] : ',';
    if (c == '"' && !in_angle)
      in_quote = !in_quote;
    else if (c == '<' && !in_quote)
      in_angle = true;
    else if (c == '>' && !in_quote)
      in_angle = false;
    else if (c == ',' && !in_angle && !in_quote) {
      auto entry = value.substr(start, i - start);
      while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
        entry.remove_prefix(1);
      while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t'))
        entry.remove_suffix(1);
      if (!entry.empty())
        fn(entry);
      start = i + 1;
    }
  }
}

/// host and port of a SIP URI ("sip:user@10.0.0.1:5070;lr" -> "10.0.0.1", 5070;
/// "<sip:[::1]>" -> "::1", 5060). False when it is not a sip: URI.
bool uri_host_port(std::string_view uri, std::string_view& host, uint16_t& port) noexcept;

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
