#pragma once

// Private to protocols/sip/: the sofia-sip side of `message`. Never include it
// from a public header.

#include "protocols/sip/message.hpp"

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include <string>
#include <string_view>

namespace centralita::sip {

/// Owns one msg_t (and through its home every header and buffer of the message).
struct message::impl {
  msg_t* msg = nullptr;
  sip_t* sip = nullptr;

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    if (msg != nullptr) msg_destroy(msg);
  }
  su_home_t* home() const noexcept { return msg_home(msg); }
  msg_pub_t* pub() const noexcept { return reinterpret_cast<msg_pub_t*>(sip); }
};

namespace detail {

/// The value of one header (without name and CRLF), as sofia encodes it.
std::string print_value(const msg_header_t* h);
/// A URL printed.
std::string print_url(const url_t* url);
/// The head of the header list called `name` (long or compact, case-insensitive);
/// nullptr when the name is unknown to sofia (then look in sip_unknown) or absent.
/// `known` tells which case applies.
msg_header_t** find_list(const message::impl& m, std::string_view name, bool& known);
/// The header class for a name (nullptr when sofia does not know it).
msg_hclass_t* find_class(std::string_view name);
/// True when `s` is a non-empty RFC 3261 §25.1 token.
bool is_token(std::string_view s) noexcept;
/// True when `s` holds no CR, LF or NUL (safe to put in a header line).
bool is_line_safe(std::string_view s) noexcept;
/// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b) noexcept;

} // namespace detail
} // namespace centralita::sip
