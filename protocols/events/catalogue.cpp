#include "protocols/events/catalogue.hpp"

#include "protocols/util/ascii.hpp"

#include <array>

namespace centralita::events {

namespace {

using namespace std::string_view_literals;

// docs/events.md describes each attribute; keep the two in step.
constexpr std::array registration_attrs{
    "aor"sv,       "contact"sv,    "expires"sv,  "source_ip"sv, "source_port"sv,
    "transport"sv, "user_agent"sv, "instance"sv, "reg_id"sv,    "pn_provider"sv,
    "pn_prid"sv,   "pn_param"sv,   "call_id"sv};

constexpr std::array call_attrs{
    "call_id"sv, "from"sv, "to"sv, "ruri"sv, "code"sv, "reason"sv, "duration_ms"sv,
    "mode"sv, "leg_a"sv, "leg_b"sv};

constexpr std::array transaction_timeout_attrs{"call_id"sv, "method"sv, "ruri"sv, "destination"sv};

/// source: info (SIP INFO), rfc4733 (RTP telephone-event) or inband (audio).
constexpr std::array dtmf_attrs{"call_id"sv, "digit"sv, "duration_ms"sv, "source"sv, "leg"sv};

constexpr std::array media_timeout_attrs{"call_id"sv, "leg"sv, "timeout_s"sv};

constexpr std::array heartbeat_attrs{"active_calls"sv, "registrations"sv,      "transactions"sv,
                                     "cps"sv,          "suspended_routings"sv, "cpu_idle"sv,
                                     "max_sessions"sv, "uptime_ms"sv,          "version"sv};

/// Push notifications (RFC 8599; docs/push.md). Every attribute is present on
/// each of the three, empty where it does not apply.
constexpr std::array push_attrs{"push_id"sv, "provider"sv, "aor"sv,    "pn_prid"sv, "call_id"sv,
                                "kind"sv,    "attempts"sv, "latency_ms"sv, "status"sv,
                                "reason"sv,  "gone"sv,     "delay_ms"sv, "contact"sv};

constexpr std::array<event_kind, 14> kinds{{
    {"REGISTER", registration_attrs, false, "a binding was added or refreshed"},
    {"UNREGISTER", registration_attrs, false, "a binding was removed by its owner (Expires: 0)"},
    {"EXPIRED", registration_attrs, false, "a binding timed out without a refresh"},
    {"CALL_START", call_attrs, false, "an INVITE that starts a dialog was routed"},
    {"CALL_ANSWER", call_attrs, false, "a call was answered (2xx to the initial INVITE)"},
    {"CALL_END", call_attrs, false, "a call ended (BYE, CANCEL or a final error)"},
    {"TRANSACTION_TIMEOUT", transaction_timeout_attrs, false,
     "a client transaction got no final response (Timer B or F)"},
    {"DTMF", dtmf_attrs, false, "a DTMF digit was received (SIP INFO, RFC 4733 or in-band)"},
    {"MEDIA_TIMEOUT", media_timeout_attrs, false,
     "no RTP from a party of a bridged call for media.inactivity_timeout: the call is hung up"},
    {"HEARTBEAT", heartbeat_attrs, false, "periodic node status: load, counts and version"},
    {"CUSTOM", {}, true, "published by a script; its 'subclass' attribute names the event"},
    {"PUSH_SENT", push_attrs, false, "a push provider accepted a push notification"},
    {"PUSH_FAILED", push_attrs, false,
     "a push notification failed for good (gone: the provider says the device token is dead)"},
    {"PUSH_WOKE", push_attrs, false, "a device re-registered after a push (delay_ms since the push)"},
}};

} // namespace

std::span<const event_kind> catalogue() noexcept { return kinds; }

const event_kind* find_kind(std::string_view name) noexcept {
  for (const auto& k : kinds)
    if (ascii::iequals(k.name, name))
      return &k;
  return nullptr;
}

bool has_attribute(const event_kind& kind, std::string_view attr) noexcept {
  if (kind.open)
    return true;
  for (auto a : kind.attributes)
    if (ascii::iequals(a, attr))
      return true;
  return false;
}

} // namespace centralita::events
