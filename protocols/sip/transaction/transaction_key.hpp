#pragma once

// Transaction matching keys: which transaction a message belongs to.
//  - client_key, RFC 3261 §17.1.3: a response matches the client transaction whose
//    request had the same top Via branch and the same CSeq method.
//  - server_key, RFC 3261 §17.2.3: with a branch starting with the magic cookie
//    "z9hG4bK": branch + top Via sent-by + method (an ACK matches its INVITE).
//    Without the cookie (RFC 2543 peers): Request-URI, To tag, From tag, Call-ID,
//    CSeq and the top Via (§17.2.3, third paragraph).
//  - cancel_target, RFC 3261 §9.2: the server_key of the transaction a CANCEL cancels.
//
// A key is one string of its fields joined by a separator (0x1f) that no parsed
// field can hold (fields holding it are refused): one allocation, a cheap hash and
// ==, 32 bytes in a map entry. Keys are values: compare with ==, hash with `hasher`
// (or std::hash).

#include "protocols/sip/message.hpp"
#include "protocols/util/result.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace centralita::sip::txn {

/// The RFC 3261 §17.2.3 magic cookie that starts a branch of an RFC 3261 element.
inline constexpr std::string_view magic_cookie = "z9hG4bK";

/// RFC 3261 §17.1.3: the key of a client transaction (top Via branch + CSeq method).
class client_key {
public:
  /// The key of a request we send or of a response we receive. Errors:
  /// `errc::bad_header` when the top Via has no branch (nothing of ours can match).
  static result<client_key> of(const message& m);

  friend bool operator==(const client_key&, const client_key&) = default;
  /// The encoded key (fields separated by 0x1f).
  std::string_view str() const noexcept { return k_; }
  /// Readable form for logs ("z9hG4bK74bf9 INVITE").
  std::string brief() const;

  /// Hash for unordered containers.
  struct hasher {
    size_t operator()(const client_key& k) const noexcept {
      return std::hash<std::string_view>{}(k.k_);
    }
  };

private:
  explicit client_key(std::string k) noexcept : k_(std::move(k)) {}
  std::string k_;
};

/// RFC 3261 §17.2.3: the key of a server transaction.
class server_key {
public:
  /// The key of a received request. An ACK gets the key of the INVITE it
  /// acknowledges (for a non-2xx final response, whose ACK reuses the branch, or for
  /// RFC 2543 peers). Errors: `errc::invalid_argument` for a response,
  /// `errc::bad_header` for a field holding the separator byte.
  ///
  /// RFC 2543 fallback (no magic cookie): Request-URI (as printed), From tag,
  /// Call-ID, CSeq number and method (ACK counted as INVITE), the top Via (sent
  /// protocol, sent-by, branch), and the To tag for methods other than INVITE and
  /// ACK. §17.2.3 matches an ACK's To tag against the tag of the *response* the
  /// server sent, which the INVITE's own To does not carry; leaving the To tag out
  /// for INVITE and ACK lets a plain key lookup do that match (an INVITE retransmission
  /// repeats the original To anyway).
  static result<server_key> of(const message& request);

  /// True when the key came from a branch with the magic cookie (RFC 3261 peers).
  bool rfc3261() const noexcept { return !k_.empty() && k_[0] == '3'; }

  friend bool operator==(const server_key&, const server_key&) = default;
  /// The encoded key (fields separated by 0x1f).
  std::string_view str() const noexcept { return k_; }
  /// Readable form for logs (separators shown as spaces).
  std::string brief() const;

  /// Hash for unordered containers.
  struct hasher {
    size_t operator()(const server_key& k) const noexcept {
      return std::hash<std::string_view>{}(k.k_);
    }
  };

private:
  friend result<server_key> cancel_target(const message&, std::string_view);
  static result<server_key> make(const message& request, std::string_view as_method);
  explicit server_key(std::string k) noexcept : k_(std::move(k)) {}
  std::string k_;
};

/// RFC 3261 §9.2: the key of the server transaction a CANCEL cancels, found by
/// "assuming that the request method is anything but CANCEL or ACK and applying
/// the transaction matching procedures of Section 17.2.3" — by default INVITE, the
/// only method worth cancelling. Errors: `errc::invalid_argument` when `cancel` is
/// not a CANCEL request, and those of `server_key::of`.
result<server_key> cancel_target(const message& cancel, std::string_view method = "INVITE");

} // namespace centralita::sip::txn

template <>
struct std::hash<centralita::sip::txn::client_key> : centralita::sip::txn::client_key::hasher {};
template <>
struct std::hash<centralita::sip::txn::server_key> : centralita::sip::txn::server_key::hasher {};
