#include "protocols/sip/dialog/session_timer.hpp"

#include "protocols/util/ascii.hpp"

#include <cstdint>

namespace centralita::sip::dialog {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::optional<uint32_t> delta_seconds(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 9)
    return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v;
}

} // namespace

std::optional<session_expires> parse_session_expires(std::string_view value) {
  auto semi = value.find(';');
  auto secs = delta_seconds(value.substr(0, semi));
  if (!secs || *secs == 0 || *secs > 86400)
    return std::nullopt;
  session_expires se;
  se.interval = std::chrono::seconds{*secs};
  while (semi != std::string_view::npos) {
    auto rest = value.substr(semi + 1);
    auto next = rest.find(';');
    auto param = trim(rest.substr(0, next));
    auto eq = param.find('=');
    auto name = trim(param.substr(0, eq));
    if (ascii::iequals(name, "refresher")) {
      if (eq == std::string_view::npos)
        return std::nullopt;
      auto v = trim(param.substr(eq + 1));
      if (ascii::iequals(v, "uac"))
        se.who = refresher::uac;
      else if (ascii::iequals(v, "uas"))
        se.who = refresher::uas;
      else
        return std::nullopt;
    }
    semi = next == std::string_view::npos ? next : semi + 1 + next;
  }
  return se;
}

std::string format_session_expires(const session_expires& se) {
  std::string out = std::to_string(se.interval.count());
  if (se.who == refresher::uac)
    out += ";refresher=uac";
  else if (se.who == refresher::uas)
    out += ";refresher=uas";
  return out;
}

std::optional<std::chrono::seconds> parse_min_se(std::string_view value) {
  auto semi = value.find(';');
  auto secs = delta_seconds(value.substr(0, semi));
  if (!secs)
    return std::nullopt;
  return std::chrono::seconds{*secs};
}

bool has_option_tag(std::string_view list, std::string_view tag) {
  while (!list.empty()) {
    auto comma = list.find(',');
    if (ascii::iequals(trim(list.substr(0, comma)), tag))
      return true;
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void session_timer_state::plan_uas(std::string_view session_expires, std::string_view supported,
                                   std::string_view allow, std::chrono::seconds configured,
                                   std::chrono::seconds min_se) {
  party_timer_ = has_option_tag(supported, "timer");
  party_update_ = has_option_tag(allow, "UPDATE");
  if (auto asked = parse_session_expires(session_expires)) {
    interval_ = std::max(asked->interval, min_se);
    // refresher=uas names us; unnamed, the caller refreshes if it can.
    we_refresh_ = asked->who == refresher::uas || (asked->who == refresher::unspecified && !party_timer_);
  } else if (configured.count() > 0) {
    interval_ = configured;
    we_refresh_ = !party_timer_;
  }
}

void session_timer_state::on_answer(std::string_view session_expires, std::string_view allow,
                                    bool none_without) {
  party_update_ = party_update_ || has_option_tag(allow, "UPDATE");
  auto got = parse_session_expires(session_expires);
  if (!got) {
    if (none_without)
      interval_ = std::chrono::seconds{0};
    return;
  }
  party_timer_ = true;
  interval_ = got->interval;
  we_refresh_ = got->who != refresher::uas;  // uac (or unnamed): us, the request's sender
}

void session_timer_state::on_request(std::string_view session_expires, std::chrono::seconds min_se) {
  auto asked = parse_session_expires(session_expires);
  if (!asked)
    return;
  interval_ = std::max(asked->interval, min_se);
  we_refresh_ = asked->who == refresher::uas;
  party_timer_ = true;
}

session_timer_state::header_list session_timer_state::response_headers() const {
  header_list h;
  if (interval_.count() == 0)
    return h;
  h.emplace_back("Session-Expires",
                 format_session_expires({interval_, we_refresh_ ? refresher::uas : refresher::uac}));
  if (party_timer_)
    h.emplace_back("Require", "timer");
  return h;
}

session_timer_state::header_list session_timer_state::request_headers() const {
  header_list h;
  if (interval_.count() == 0)
    return h;
  h.emplace_back("Supported", "timer");
  h.emplace_back("Session-Expires",
                 format_session_expires({interval_, we_refresh_ ? refresher::uac : refresher::uas}));
  return h;
}

session_timer_state::next_step session_timer_state::next() const {
  if (interval_.count() == 0)
    return {};
  if (we_refresh_)
    return {wait::refresh, refresh_after(interval_)};
  return {wait::expire, expire_after(interval_)};
}

} // namespace centralita::sip::dialog
