// The app-facing payload every push carries, and the JSON helpers around
// nlohmann-json that never throw (its parser and dump() do by default).

#include "protocols/push/push.hpp"

#include "protocols/push/detail.hpp"

namespace centralita::push {

namespace detail {

std::string dump(const ordered_json& j) {
  // error_handler_t::replace: a string that is not UTF-8 (a pn-prid or a
  // script value can be any bytes) would make the default dump() throw.
  return j.dump(-1, ' ', false, nlohmann::detail::error_handler_t::replace);
}

std::string escape(std::string_view s) {
  std::string quoted = dump(ordered_json(std::string(s)));
  return quoted.substr(1, quoted.size() - 2);
}

std::string utf8(std::string_view s) {
  bool ascii = true;
  for (char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return std::string(s);
  // The same replacement dump() makes, so a key compares as it will be written.
  auto back = parse(dump(ordered_json(std::string(s))));
  return back && back->is_string() ? back->get<std::string>() : std::string();
}

std::optional<json> parse(std::string_view text) {
  try {
    json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  } catch (const std::exception&) {
    // Only allocation failure is left once allow_exceptions is off.
    return std::nullopt;
  }
}

std::string string_member(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

} // namespace detail

std::string_view to_string(push_kind k) noexcept {
  switch (k) {
  case push_kind::call:
    return "call";
  case push_kind::message:
    return "message";
  case push_kind::refresh:
    return "refresh";
  case push_kind::purr:
    return "purr";
  }
  return "call";
}

namespace detail {

/// The payload fields into `out` (an object): the fixed ones first, then each
/// `extra` pair whose key is not taken yet (by a fixed field or an earlier pair).
void add_payload(ordered_json& out, const push_message& m) {
  out["aor"] = m.aor;
  out["caller"] = m.caller;
  out["call_id"] = m.call_id;
  out["push_id"] = m.push_id;
  out["kind"] = std::string(to_string(m.kind));
  for (const auto& [key, value] : m.extra) {
    std::string k = utf8(key);  // two keys that differ only in bad bytes would clash in the text
    if (!out.contains(k)) out[k] = value;
  }
}

} // namespace detail

std::string payload_json(const push_message& m) {
  detail::ordered_json j = detail::ordered_json::object();
  detail::add_payload(j, m);
  return detail::dump(j);
}

} // namespace centralita::push
