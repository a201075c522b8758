#include "protocols/sip/dialog/hangup.hpp"

#include "protocols/sip/proxy/sip_uri.hpp"

namespace centralita::sip::dialog {

namespace {

error invalid(std::string why) {
  return error{errc::invalid_argument, std::move(why)};
}

std::string name_addr(const party& p) {
  std::string out;
  if (!p.display.empty()) {
    out += '"';
    for (char c : p.display) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += "\" ";
  }
  out += '<' + p.uri + ">;tag=" + p.tag;
  return out;
}

bool clean(std::string_view s) {
  return s.find_first_of("\r\n", 0) == std::string_view::npos && s.find('\0') == std::string_view::npos;
}

} // namespace

std::vector<std::string> caller_route(const message& invite) {
  return invite.record_routes();
}

std::vector<std::string> callee_route(const message& ok, const proxy::proxy_identity& us) {
  auto rr = ok.record_routes();
  std::size_t ours = rr.size();
  for (std::size_t i = 0; i < rr.size(); ++i) {
    if (us.is_us(rr[i])) {
      ours = i;
      break;
    }
  }
  if (ours == rr.size())
    return {};
  // rr[0] is nearest the callee, rr[ours - 1] nearest us.
  return {std::make_reverse_iterator(rr.begin() + static_cast<std::ptrdiff_t>(ours)),
          rr.rend()};
}

result<message> make_bye(const party& from, const party& to, std::string_view call_id,
                         uint32_t cseq, std::string_view transport, std::string_view branch,
                         const proxy::proxy_identity& us, std::string_view reason) {
  if (from.tag.empty() || to.tag.empty())
    return invalid("dialog without both tags");
  if (call_id.empty())
    return invalid("dialog without a Call-ID");
  auto target = proxy::sip_uri::parse(to.contact);
  if (!target || !target->is_sip())
    return invalid("remote target is not a SIP URI");
  for (auto* s : {&from.uri, &from.display, &from.tag, &to.uri, &to.display, &to.tag, &to.contact})
    if (!clean(*s))
      return invalid("dialog field holds CR, LF or NUL");
  if (!clean(call_id) || !clean(reason) || !clean(branch) || !clean(transport))
    return invalid("dialog field holds CR, LF or NUL");
  std::string text;
  text.reserve(512);
  text += "BYE " + to.contact + " SIP/2.0\r\n";
  text += "Via: SIP/2.0/" + std::string(transport) + ' ' + us.via_host + ':'
          + std::to_string(us.via_port) + ";branch=" + std::string(branch) + ";rport\r\n";
  text += "Max-Forwards: 70\r\n";
  for (auto& r : to.route) {
    if (!clean(r))
      return invalid("route value holds CR, LF or NUL");
    text += "Route: " + (r.front() == '<' || r.find('<') != std::string::npos ? r : '<' + r + '>')
            + "\r\n";
  }
  text += "From: " + name_addr(from) + "\r\n";
  text += "To: " + name_addr(to) + "\r\n";
  text += "Call-ID: " + std::string(call_id) + "\r\n";
  text += "CSeq: " + std::to_string(cseq) + " BYE\r\n";
  if (!reason.empty())
    text += "Reason: " + std::string(reason) + "\r\n";
  text += "Content-Length: 0\r\n\r\n";
  auto m = message::parse(text);
  if (!m)
    return invalid("BYE does not parse: " + m.err().reason);
  return m;
}

} // namespace centralita::sip::dialog
