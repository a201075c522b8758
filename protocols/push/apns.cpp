// APNs over HTTP/2 with token-based authentication ("Sending notification
// requests to APNs", "Establishing a token-based connection to APNs"), for VoIP
// pushes to the bindings RFC 8599 §11 describes.

#include "protocols/push/push.hpp"

#include "protocols/push/detail.hpp"

namespace centralita::push {

namespace {

/// apns-topic: the setting, else RFC 8599 §11's pn-param "<Team ID>.<topic>"
/// without the team id.
std::string topic_for(const apns_settings& s, std::string_view param) {
  if (!s.topic.empty()) return s.topic;
  const size_t dot = param.find('.');
  if (dot == std::string_view::npos) return {};
  return std::string(param.substr(dot + 1));
}

} // namespace

result<std::string> apns_provider_token(const signing_key& key, const apns_settings& s, int64_t now_s) {
  if (key.alg() != signing_key::algorithm::es256)
    return detail::invalid("APNs provider token: the key must be EC P-256 (ES256)");
  if (s.team_id.empty()) return detail::invalid("APNs provider token: no team_id");
  if (s.key_id.empty()) return detail::invalid("APNs provider token: no key_id");
  detail::ordered_json header = {{"alg", "ES256"}, {"kid", s.key_id}};
  detail::ordered_json claims = {{"iss", s.team_id}, {"iat", now_s}};
  return make_jwt(key, detail::dump(header), detail::dump(claims));
}

result<http_call> apns_request(const apns_settings& s, std::string_view provider_token,
                               const push_message& m, int64_t now_s) {
  // RFC 8599 §11: the pn-prid is the device token, hexadecimal; it goes into
  // the path, so nothing else may pass.
  if (!detail::is_hex(m.prid)) return detail::invalid("APNs: pn-prid is not a hex device token");
  const std::string topic = topic_for(s, m.param);
  if (topic.empty())
    return detail::invalid("APNs: no topic (neither apns topic setting nor a pn-param \"<team id>.<topic>\")");
  // The topic may come from a REGISTER's pn-param: keep it from splitting a header.
  if (!detail::header_safe(topic)) return detail::invalid("APNs: the topic has characters a header cannot carry");
  if (!detail::header_safe(provider_token))
    return detail::invalid("APNs: the provider token has characters a header cannot carry");

  http_call c;
  c.method = "POST";
  c.url = std::string(detail::without_trailing_slash(s.base_url)) + "/3/device/" + m.prid;
  // HTTP/2 header names are lower case (RFC 9113 §8.2.1).
  c.headers.emplace_back("authorization", "bearer " + std::string(provider_token));
  c.headers.emplace_back("apns-topic", topic);
  c.headers.emplace_back("apns-push-type", "voip");
  c.headers.emplace_back("apns-priority", "10");
  // An expiration of 0 means "deliver once, do not store": what a zero TTL asks for.
  c.headers.emplace_back("apns-expiration", m.ttl_s > 0 ? std::to_string(detail::add_saturated(now_s, m.ttl_s)) : "0");
  // apns-id must be a canonical UUID; anything else would make APNs refuse the push.
  if (detail::is_uuid(m.push_id)) c.headers.emplace_back("apns-id", m.push_id);
  c.headers.emplace_back("content-type", "application/json");

  detail::ordered_json body = detail::ordered_json::object();
  // A VoIP push needs no alert; the empty "aps" keeps the body an APNs payload.
  body["aps"] = detail::ordered_json::object();
  detail::add_payload(body, m);
  c.body = detail::dump(body);
  return c;
}

} // namespace centralita::push
