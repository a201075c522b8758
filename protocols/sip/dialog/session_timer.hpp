#pragma once

// RFC 4028 session timers as a B2BUA leg keeps them: the Session-Expires
// value (delta-seconds and who refreshes), and when to refresh or give up.
// Pure.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// One dialog's session timer as a B2BUA leg keeps it: what was negotiated
/// with the party, which headers to send, and what to wait for next.
class session_timer_state {
public:
  using header_list = std::vector<std::pair<std::string, std::string>>;

  std::chrono::seconds interval() const { return interval_; }
  bool we_refresh() const { return we_refresh_; }
  bool party_supports_timer() const { return party_timer_; }
  bool party_allows_update() const { return party_update_; }

  /// The UAS side of a dialog (§9): the caller's INVITE decides: its
  /// Session-Expires (raised to `min_se`: the caller of this refused one
  /// below it with 422 already) and refresher; without one but with
  /// Supported: timer, `configured` with the caller refreshing; without
  /// support at all, `configured` with us refreshing (0: no timer).
  void plan_uas(std::string_view session_expires, std::string_view supported,
                std::string_view allow, std::chrono::seconds configured,
                std::chrono::seconds min_se);
  /// A 2xx to an INVITE/UPDATE we sent (§7.2). Without Session-Expires: no
  /// timer when `none_without` (the UAC side's initial INVITE), else kept.
  void on_answer(std::string_view session_expires, std::string_view allow, bool none_without);
  /// An INVITE/UPDATE from the party with a Session-Expires (§9).
  void on_request(std::string_view session_expires, std::chrono::seconds min_se);

  /// For a 2xx to the party's INVITE/UPDATE: Session-Expires (refresher
  /// named from the party's side: uac = the party) and Require: timer when
  /// the party supports it.
  header_list response_headers() const;
  /// For an INVITE/UPDATE we send: Supported and Session-Expires (refresher
  /// from our side: uac = us).
  header_list request_headers() const;

  enum class wait { none, refresh, expire };
  struct next_step {
    wait kind = wait::none;
    std::chrono::seconds after{0};
  };
  /// What to arm after a successful refresh either way.
  next_step next() const;

private:
  std::chrono::seconds interval_{0};
  bool we_refresh_ = false;
  bool party_timer_ = false;
  bool party_update_ = false;
};

} // namespace centralita::sip::dialog
