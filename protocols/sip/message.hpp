#pragma once

// A SIP message (RFC 3261 §7) as an owning RAII value over sofia-sip's parser.
// sofia's types never leave protocols/sip/: the message holds them behind a pimpl.
// A message has one owner at a time (sofia's reference counts are not thread-safe):
// move it across actors, never share it.

#include "protocols/sip/id_generator.hpp"
#include "protocols/util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace centralita::sip {

/// SIP request methods we know by name (RFC 3261 §7.1 plus extensions); `unknown`
/// for any other token (the name is still available through `method_name()`).
enum class method {
  invite, ack, bye, cancel, options, register_, info, prack, update,
  subscribe, notify, refer, message, publish, unknown
};

/// Method from its (case-sensitive, RFC 3261 §7.1) name; `method::unknown` otherwise.
method parse_method(std::string_view name) noexcept;
/// The method's wire name ("INVITE", ...); "UNKNOWN" for `method::unknown`.
const char* to_string(method m) noexcept;

/// A From/To/Contact-like value (RFC 3261 §20.20, §20.39): display name without
/// quotes, URI printed without angle brackets, and the tag parameter (empty if none).
struct name_addr {
  std::string display;
  std::string uri;
  std::string tag;
};

/// One Via value (RFC 3261 §20.42, RFC 3581 for rport).
struct via {
  std::string protocol;              ///< "SIP/2.0/UDP"
  std::string transport;             ///< "UDP"
  std::string host;                  ///< host as written (IPv6 references keep brackets)
  std::string port;                  ///< may be empty
  std::string branch;                ///< may be empty (RFC 2543 peers)
  std::string received;              ///< may be empty
  std::optional<std::string> rport;  ///< absent: nullopt; present without value: ""
};

/// A parsed SIP request or response that can be inspected, edited and printed.
///
/// Views (`std::string_view`) returned by accessors point into the message and
/// stay valid while the message lives and is not edited.
class message {
public:
  /// RFC 3261 §7: parses one whole message (a UDP datagram, or one message cut out
  /// of a TCP stream by `stream_framer`). Via, From, To, Call-ID and CSeq are
  /// mandatory (§8.1.1). Errors carry a reason usable as a 400 reason phrase
  /// ("Missing Call-ID header", "Malformed CSeq header", "Bad Content-Length", ...);
  /// `errc::unsupported` means "answer 505" (a SIP version other than 2.0).
  static result<message> parse(std::string_view bytes);

  message(message&&) noexcept;
  message& operator=(message&&) noexcept;
  ~message();
  message(const message&) = delete;
  message& operator=(const message&) = delete;

  /// A deep, independent copy (re-parsed from the serialized bytes).
  message clone() const;

  /// True for a request (RFC 3261 §7.1).
  bool is_request() const;
  /// True for a response (RFC 3261 §7.2).
  bool is_response() const;

  /// The request's method (`method::unknown` for a response or an extension method).
  method request_method() const;
  /// The request's method as written (empty for a response).
  std::string_view method_name() const;
  /// The Request-URI, printed (empty for a response).
  std::string request_uri() const;

  /// The response's status code (0 for a request).
  int status() const;
  /// The response's reason phrase (empty for a request).
  std::string reason_phrase() const;

  /// The Call-ID value (RFC 3261 §20.8).
  std::string_view call_id() const;
  /// The CSeq number (RFC 3261 §20.16).
  uint32_t cseq() const;
  /// The CSeq method.
  method cseq_method() const;
  /// The CSeq method as written.
  std::string cseq_method_name() const;
  /// Max-Forwards (RFC 3261 §20.22); nullopt when absent.
  std::optional<unsigned> max_forwards() const;

  /// The From header (RFC 3261 §20.20).
  name_addr from() const;
  /// The To header (RFC 3261 §20.39).
  name_addr to() const;
  /// The Contact header's first value, if any (RFC 3261 §20.10).
  std::optional<name_addr> contact() const;

  /// Every Via value, topmost first, including values sharing one line.
  std::vector<via> vias() const;
  /// The topmost Via (an empty `via` if there is none, which parse() rejects).
  via top_via() const;
  /// The number of Via values.
  size_t via_count() const;

  /// Record-Route values, topmost first, each one name-addr printed ("<sip:p;lr>").
  std::vector<std::string> record_routes() const;
  /// Route values, topmost first, each one name-addr printed.
  std::vector<std::string> routes() const;

  /// Any header by name (case-insensitive, compact forms work: "i" == "Call-ID");
  /// the first value, printed. nullopt when absent.
  std::optional<std::string> header(std::string_view name) const;
  /// Every value of a header, in order (values sharing one line are split for the
  /// list headers sofia knows, e.g. Via, Route).
  std::vector<std::string> header_values(std::string_view name) const;

  /// The message body (empty when none).
  std::string_view body() const;

  // ---- edits: each keeps the message serializable and re-parseable ----

  /// RFC 3261 §16.6 step 8: pushes a new topmost Via for this hop and returns its
  /// branch ("z9hG4bK" + unique). `rport` adds an empty rport parameter (RFC 3581).
  std::string push_via(std::string_view transport, std::string_view host, uint16_t port,
                       id_generator& ids, bool rport = true);
  /// RFC 3261 §16.7 step 3: removes the topmost Via value.
  void pop_via();
  /// RFC 3261 §18.2.1 / RFC 3581 §4: sets received (and rport when given) on the
  /// topmost Via.
  void set_top_via_received(std::string_view ip, std::optional<uint16_t> rport);
  /// RFC 3261 §16.6 step 3: decrements Max-Forwards, adding "Max-Forwards: 69" if
  /// absent. Returns false (and changes nothing) when it was already 0.
  bool decrement_max_forwards();
  /// RFC 3261 §16.6 step 4: pushes "<uri>" on top of Record-Route.
  void add_record_route(std::string_view uri);
  /// Pushes "<uri>" on top of Route (RFC 3261 §16.6 step 7 for strict routers and
  /// §8.1.2 for a preloaded route set).
  void push_route(std::string_view uri);
  /// RFC 3261 §16.4: removes the topmost Route value.
  void pop_route();
  /// RFC 3261 §16.6 step 6: replaces the Request-URI (requests only).
  void set_request_uri(std::string_view uri);
  /// RFC 3261 §8.2.6.2 / §12.1.1: sets (or replaces) the To tag.
  void set_to_tag(std::string_view tag);
  /// Adds a header `name: value` (any header, compact names accepted). A singleton
  /// header known to sofia (Call-ID, CSeq, ...) replaces the existing one. Values
  /// with CR, LF or NUL, and names that are not tokens, are refused (returns false).
  bool add_header(std::string_view name, std::string_view value);
  /// Removes every instance of a header (case-insensitive, compact names accepted).
  void remove_header(std::string_view name);
  /// Replaces the body and Content-Type (removed when `content_type` is empty) and
  /// sets Content-Length (RFC 3261 §20.14).
  void set_body(std::string_view content_type, std::string_view body);

  /// The bytes on the wire: CRLF line ends, correct Content-Length.
  std::string serialize() const;
  /// One line for debug logs: "OPTIONS sip:x@y cid=... cseq=1 OPTIONS" / "200 OK cid=...".
  std::string brief() const;

  // ---- registrar accessors (RFC 3261 §10.3; added for protocols/sip/registrar/) ----

  /// One Contact value with its parameters as written (RFC 3261 §20.10, §10.2.1).
  struct contact_value {
    std::string display;  ///< without quotes
    std::string uri;      ///< printed without angle brackets; "*" for the wildcard
    bool star = false;    ///< the special value "*" (RFC 3261 §10.2.2)
    /// contact-params in order: name as written, value as written ("" when none;
    /// quotes kept, e.g. +sip.instance="<urn:uuid:...>").
    std::vector<std::pair<std::string, std::string>> params;
  };
  /// Every Contact value, in order, including values sharing one line.
  std::vector<contact_value> contacts() const;

  // ---- proxy edits (RFC 3261 §16.6; added for protocols/sip/proxy/) ----

  /// RFC 3261 §16.6 step 8: like `push_via`, with a branch the caller built (the
  /// proxy's branch embeds its loop-detection hash). Returns false, changing nothing,
  /// when the transport is not a token, the host is empty, or the branch is not a token.
  bool push_via_with_branch(std::string_view transport, std::string_view host, uint16_t port,
                            std::string_view branch, bool rport = true);

  /// Opaque: the sofia side, defined only inside protocols/sip/ (message_impl.hpp).
  struct impl;

private:
  explicit message(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;

  static result<message> build_response(const message& request, int status, std::string_view reason,
                                        std::string_view to_tag, bool printed);
  friend result<message> make_response(const message&, int, std::string_view,
                                       std::string_view);
};

/// RFC 3261 §8.2.6: a response to `request`: copies every Via (in order), From, To
/// (adding `to_tag` if given and To has none), Call-ID and CSeq; status line with
/// `reason` (sanitized) or the default phrase when empty; Content-Length: 0.
/// Errors: `errc::invalid_argument` when `request` is a response or the status is
/// outside 100..699.
result<message> make_response(const message& request, int status,
                              std::string_view reason = {}, std::string_view to_tag = {});

/// Best effort for requests that failed `message::parse`: the serialized error
/// response (e.g. 400 with the parse error's reason) built from the raw bytes, with
/// the Via, From, To, Call-ID and CSeq lines as far as present (RFC 3261 §8.2.6).
/// nullopt when the bytes are a response or hold no Via to address the answer.
/// The reason phrase is sanitized (printable, no CR/LF). A final response gets
/// `to_tag` on its To header when the request's To has no tag (§8.2.6.2); the
/// top Via gets `received` and, when it has a bare rport, `rport` (RFC 3581 §4).
std::optional<std::string> make_error_response(std::string_view raw, int status,
                                               std::string_view reason,
                                               std::string_view to_tag = {},
                                               std::string_view received = {},
                                               uint16_t rport = 0);

/// The default reason phrase of a status code (RFC 3261 §21), "Unknown" otherwise.
const char* default_reason_phrase(int status) noexcept;

} // namespace centralita::sip
