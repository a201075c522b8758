// A push to a self-hosted gateway: a JSON body from a template with {{name}}
// placeholders, posted to a configured URL.

#include "protocols/push/push.hpp"

#include "protocols/push/detail.hpp"
#include "protocols/util/ascii.hpp"

namespace centralita::push {

namespace {

/// The text a placeholder stands for, or nothing for an unknown name.
std::optional<std::string> value_of(std::string_view name, const push_message& m) {
  // Strings are escaped for a JSON string but left unquoted: the template
  // decides whether "{{prid}}" sits inside quotes.
  if (name == "provider") return detail::escape(m.provider);
  if (name == "prid") return detail::escape(m.prid);
  if (name == "param") return detail::escape(m.param);
  if (name == "aor") return detail::escape(m.aor);
  if (name == "caller") return detail::escape(m.caller);
  if (name == "call_id") return detail::escape(m.call_id);
  if (name == "push_id") return detail::escape(m.push_id);
  if (name == "kind") return std::string(to_string(m.kind));
  if (name == "ttl") return std::to_string(m.ttl_s);
  if (name == "payload") return payload_json(m);  // a JSON object, unquoted
  return std::nullopt;
}

/// RFC 9110 §5.1: a field name is a token.
bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string_view trim_spaces(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The body for the empty template.
std::string default_body(const push_message& m) {
  detail::ordered_json body = {{"provider", m.provider}, {"prid", m.prid}, {"param", m.param}};
  detail::ordered_json payload = detail::ordered_json::object();
  detail::add_payload(payload, m);
  body["payload"] = std::move(payload);
  return detail::dump(body);
}

} // namespace

result<std::string> webhook_body(std::string_view body_template, const push_message& m) {
  if (body_template.empty()) return default_body(m);
  std::string out;
  out.reserve(body_template.size() + 256);
  size_t pos = 0;
  // One pass, left to right: substituted text is never scanned again, so a
  // value holding "{{" stays as it is.
  while (pos < body_template.size()) {
    const size_t open = body_template.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(body_template.substr(pos));
      break;
    }
    out.append(body_template.substr(pos, open - pos));
    const size_t close = body_template.find("}}", open + 2);
    if (close == std::string_view::npos)
      return detail::invalid("webhook template: \"{{\" at offset " + std::to_string(open) + " is not closed");
    const std::string_view name = trim_spaces(body_template.substr(open + 2, close - open - 2));
    auto value = value_of(name, m);
    if (!value)
      return detail::invalid("webhook template: unknown placeholder {{" + detail::printable(name, 40) + "}}");
    out += *value;
    pos = close + 2;
  }
  if (!detail::parse(out)) return detail::invalid("webhook template: the result is not JSON");
  return out;
}

result<http_call> webhook_request(const webhook_settings& s, const push_message& m) {
  if (s.url.empty()) return detail::invalid("webhook: no url");
  if (!detail::header_safe(s.url)) return detail::invalid("webhook: the url has control or non-ASCII characters");
  auto body = webhook_body(s.body_template, m);
  if (!body) return body.err();

  http_call c;
  c.method = "POST";
  c.url = s.url;
  bool has_type = false;
  for (const auto& [name, value] : s.headers) {
    if (!is_token(name) || !detail::header_safe(value))
      return detail::invalid("webhook: header \"" + detail::printable(name, 40) + "\" cannot be sent as is");
    has_type = has_type || ascii::iequals(name, "content-type");
  }
  // A configured Content-Type replaces ours (a gateway may want a vendor type).
  if (!has_type) c.headers.emplace_back("Content-Type", "application/json");
  c.headers.insert(c.headers.end(), s.headers.begin(), s.headers.end());
  c.body = *std::move(body);
  return c;
}

} // namespace centralita::push
