#pragma once

// RFC 4028 session timers as a B2BUA leg keeps them: the Session-Expires
// value (delta-seconds and who refreshes), and when to refresh or give up.
// Pure.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace centralita::sip::dialog {

enum class refresher { unspecified, uac, uas };

struct session_expires {
  std::chrono::seconds interval{0};
  refresher who = refresher::unspecified;
};

/// RFC 4028 §4: `delta-seconds *(;se-params)`, refresher=uac|uas (any case);
/// nullopt for anything else (no digits, zero, over a day, a bad refresher).
std::optional<session_expires> parse_session_expires(std::string_view value);

/// The header value: "1800;refresher=uac".
std::string format_session_expires(const session_expires& se);

/// RFC 4028 §5: Min-SE is delta-seconds; nullopt when it is not.
std::optional<std::chrono::seconds> parse_min_se(std::string_view value);

/// RFC 4028 §10: the refresher sends its refresh half-way through.
inline std::chrono::seconds refresh_after(std::chrono::seconds interval) { return interval / 2; }

/// RFC 4028 §10: the other side gives up (BYE) when no refresh came by the
/// interval minus the lesser of 32 seconds and a third of it.
inline std::chrono::seconds expire_after(std::chrono::seconds interval) {
  auto margin = std::min(std::chrono::seconds{32}, interval / 3);
  return interval - margin;
}

/// True when a comma-separated option-tag list (Supported, Require) holds `tag`.
bool has_option_tag(std::string_view list, std::string_view tag);

} // namespace centralita::sip::dialog
