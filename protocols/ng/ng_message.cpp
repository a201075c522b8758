#include "protocols/ng/ng_message.hpp"

namespace centralita::ng {

result<datagram_parts> split_datagram(std::string_view datagram) {
  auto sp = datagram.find(' ');
  if (sp == std::string_view::npos)
    return error{errc::parse_error, "ng: no space after the cookie"};
  if (sp == 0)
    return error{errc::parse_error, "ng: empty cookie"};
  if (sp > max_cookie_size)
    return error{errc::parse_error, "ng: cookie longer than " + std::to_string(max_cookie_size)
                                      + " bytes"};
  for (std::size_t i = 0; i < sp; ++i) {
    auto c = static_cast<unsigned char>(datagram[i]);
    if (c < 0x21 || c == 0x7f)
      return error{errc::parse_error, "ng: control byte in the cookie at byte "
                                        + std::to_string(i)};
  }
  return datagram_parts{datagram.substr(0, sp), datagram.substr(sp + 1)};
}

result<value> decode_body(std::string_view body, const decode_limits& limits) {
  auto v = decode(body, limits);
  if (!v)
    return v;
  if (!v->is_dict())
    return error{errc::parse_error, "ng: the message is not a dictionary"};
  return v;
}

const char* to_string(command c) noexcept {
  switch (c) {
    case command::ping: return "ping";
    case command::offer: return "offer";
    case command::answer: return "answer";
    case command::del: return "delete";
    case command::query: return "query";
    case command::list: return "list";
  }
  return "?";
}

namespace {

result<command> command_of(std::string_view name) {
  for (auto c : {command::ping, command::offer, command::answer, command::del, command::query,
                 command::list})
    if (name == to_string(c))
      return c;
  // The reason is echoed to the client: keep it printable and short.
  std::string shown;
  for (char ch : name.substr(0, 32))
    shown += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
  return error{errc::unsupported, "unknown command '" + shown + "'"};
}

/// The string value of `key`; an error when it is absent (and `required`) or
/// not a byte string.
result<std::string> string_key(const value& body, std::string_view key, bool required) {
  auto* v = body.find(key);
  if (v == nullptr) {
    if (required)
      return error{errc::parse_error, "missing key '" + std::string(key) + "'"};
    return std::string{};
  }
  if (!v->is_string())
    return error{errc::parse_error, "key '" + std::string(key) + "' is not a string"};
  if (required && v->as_string().empty())
    return error{errc::parse_error, "empty key '" + std::string(key) + "'"};
  return v->as_string();
}

/// "PCMA/8000" names PCMA: the relay's codec list takes encoding names.
std::string codec_name(std::string_view s) { return std::string(s.substr(0, s.find('/'))); }

void add_codec(std::vector<std::string>& out, std::string name) {
  if (name.empty())
    return;
  for (auto& n : out)
    if (n == name)
      return;
  out.push_back(std::move(name));
}

void read_transcode(const value& body, request& r) {
  if (auto* codec = body.find("codec"); codec != nullptr && codec->is_dict()) {
    if (auto* t = codec->find("transcode"); t != nullptr && t->is_list())
      for (auto& c : t->as_list())
        if (c.is_string())
          add_codec(r.transcode, codec_name(c.as_string()));
    if (auto* m = codec->find("mask"); m != nullptr && m->is_list())
      for (auto& c : m->as_list())
        if (c.is_string())
          add_codec(r.mask, codec_name(c.as_string()));
  }
  if (auto* flags = body.find("flags"); flags != nullptr && flags->is_list()) {
    constexpr std::string_view prefix = "transcode-";
    for (auto& f : flags->as_list())
      if (f.is_string() && f.as_string().starts_with(prefix))
        add_codec(r.transcode, codec_name(std::string_view(f.as_string()).substr(prefix.size())));
  }
}

} // namespace

result<request> parse_request(const value& body) {
  if (!body.is_dict())
    return error{errc::parse_error, "the message is not a dictionary"};
  auto* cmd = body.find("command");
  if (cmd == nullptr)
    return error{errc::parse_error, "missing key 'command'"};
  if (!cmd->is_string())
    return error{errc::parse_error, "key 'command' is not a string"};
  auto c = command_of(cmd->as_string());
  if (!c)
    return c.err();
  request r;
  r.cmd = *c;
  if (r.cmd == command::ping || r.cmd == command::list)
    return r;
  // Every call command names the call; offer and answer carry the SDP and
  // the tags that say which party sent it (rtpengine: from-tag is the
  // sender's in an offer, to-tag the sender's in an answer).
  const bool sdp_command = r.cmd == command::offer || r.cmd == command::answer;
  auto call_id = string_key(body, "call-id", true);
  if (!call_id)
    return call_id.err();
  r.call_id = std::move(call_id.value());
  auto from_tag = string_key(body, "from-tag", sdp_command);
  if (!from_tag)
    return from_tag.err();
  r.from_tag = std::move(from_tag.value());
  auto to_tag = string_key(body, "to-tag", r.cmd == command::answer);
  if (!to_tag)
    return to_tag.err();
  r.to_tag = std::move(to_tag.value());
  if (sdp_command) {
    auto sdp = string_key(body, "sdp", true);
    if (!sdp)
      return sdp.err();
    r.sdp = std::move(sdp.value());
    read_transcode(body, r);
  }
  return r;
}

value ok_reply() {
  value v{dict{}};
  v.set("result", "ok");
  return v;
}

value error_reply(std::string_view reason) {
  value v{dict{}};
  v.set("result", "error");
  v.set("error-reason", reason);
  return v;
}

std::string build_reply(std::string_view cookie, const value& body) {
  std::string out;
  out.reserve(cookie.size() + 1 + 64);
  out.append(cookie);
  out += ' ';
  encode_into(out, body);
  return out;
}

} // namespace centralita::ng
