#include "protocols/sip/dialog/dialog.hpp"

#include "protocols/sip/proxy/sip_uri.hpp"
#include "protocols/util/ascii.hpp"

namespace centralita::sip::dialog {

namespace {

error invalid(std::string why) {
  return error{errc::invalid_argument, std::move(why)};
}

bool clean(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string name_addr(std::string_view display, std::string_view uri, std::string_view tag) {
  std::string out;
  if (!display.empty()) {
    out += '"';
    for (char c : display) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += "\" ";
  }
  out += '<';
  out += uri;
  out += '>';
  if (!tag.empty()) {
    out += ";tag=";
    out += tag;
  }
  return out;
}

std::string route_value(const std::string& r) {
  return r.find('<') != std::string::npos ? r : '<' + r + '>';
}

bool sip_uri_ok(std::string_view uri) {
  auto u = proxy::sip_uri::parse(uri);
  return u && u->is_sip();
}

void via_line(std::string& text, const via_params& v) {
  text += "Via: SIP/2.0/" + v.transport + ' ' + v.host + ':' + std::to_string(v.port)
          + ";branch=" + v.branch + ";rport\r\n";
}

void body_lines(std::string& text, std::string_view content_type, std::string_view body) {
  if (!body.empty() || !content_type.empty())
    text += "Content-Type: " + std::string(content_type) + "\r\n";
  text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  text += body;
}

bool headers_clean(const header_list& headers) {
  for (auto& [n, v] : headers)
    if (n.empty() || !clean(n) || !clean(v) || n.find(':') != std::string::npos)
      return false;
  return true;
}

} // namespace

result<dialog_state> uas_dialog(const message& invite, std::string local_tag,
                                std::string local_contact) {
  dialog_state d;
  d.call_id = std::string(invite.call_id());
  auto from = invite.from();
  auto to = invite.to();
  if (from.tag.empty())
    return invalid("the INVITE's From has no tag");
  d.remote_uri = from.uri;
  d.remote_display = from.display;
  d.remote_tag = from.tag;
  d.local_uri = to.uri;
  d.local_display = to.display;
  d.local_tag = std::move(local_tag);
  auto contact = invite.contact();
  if (!contact || !sip_uri_ok(contact->uri))
    return invalid("the INVITE has no SIP Contact");
  d.remote_target = contact->uri;
  // §12.1.1: the route set is the Record-Route list, in order.
  d.route_set = invite.record_routes();
  d.local_contact = std::move(local_contact);
  d.remote_cseq = invite.cseq();
  return d;
}

result<message> make_invite(const invite_params& p) {
  for (auto* s : {&p.request_uri, &p.to_uri, &p.from_uri})
    if (!sip_uri_ok(*s))
      return invalid("'" + *s + "' is not a SIP URI");
  for (auto* s : {&p.from_display, &p.from_tag, &p.to_display, &p.call_id, &p.contact,
                  &p.content_type, &p.via.host, &p.via.branch, &p.via.transport})
    if (!clean(*s))
      return invalid("an INVITE field holds CR, LF or NUL");
  if (p.call_id.empty() || p.from_tag.empty() || p.via.branch.empty())
    return invalid("an INVITE needs a Call-ID, a From tag and a branch");
  if (!headers_clean(p.headers))
    return invalid("an extra header is not a valid name/value");
  std::string text;
  text.reserve(768 + p.body.size());
  text += "INVITE " + p.request_uri + " SIP/2.0\r\n";
  via_line(text, p.via);
  text += "Max-Forwards: " + std::to_string(p.max_forwards) + "\r\n";
  for (auto& r : p.route) {
    if (!clean(r))
      return invalid("a Route value holds CR, LF or NUL");
    text += "Route: " + route_value(r) + "\r\n";
  }
  text += "From: " + name_addr(p.from_display, p.from_uri, p.from_tag) + "\r\n";
  text += "To: " + name_addr(p.to_display, p.to_uri, {}) + "\r\n";
  text += "Call-ID: " + p.call_id + "\r\n";
  text += "CSeq: " + std::to_string(p.cseq) + " INVITE\r\n";
  text += "Contact: <" + p.contact + ">\r\n";
  for (auto& [n, v] : p.headers)
    text += n + ": " + v + "\r\n";
  body_lines(text, p.content_type, p.body);
  auto m = message::parse(text);
  if (!m)
    return invalid("the INVITE does not parse: " + m.err().reason);
  return m;
}

result<dialog_state> uac_dialog(const invite_params& invite, const message& response) {
  auto to = response.to();
  if (to.tag.empty())
    return invalid("the response has no To tag");
  dialog_state d;
  d.call_id = invite.call_id;
  d.local_uri = invite.from_uri;
  d.local_display = invite.from_display;
  d.local_tag = invite.from_tag;
  d.remote_uri = invite.to_uri;
  d.remote_display = invite.to_display;
  d.remote_tag = to.tag;
  d.local_contact = invite.contact;
  d.local_cseq = invite.cseq;
  // §12.1.2: the remote target is the response's Contact; without one (a
  // broken 1xx), the Request-URI until a later response brings one.
  if (auto c = response.contact(); c && sip_uri_ok(c->uri))
    d.remote_target = c->uri;
  else
    d.remote_target = invite.request_uri;
  // §12.1.2: the Record-Route list in reverse order.
  auto rr = response.record_routes();
  d.route_set.assign(rr.rbegin(), rr.rend());
  if (d.route_set.empty())
    d.route_set = invite.route;  // a pre-loaded route still leads there
  d.confirmed = response.status() >= 200 && response.status() < 300;
  return d;
}

result<message> make_request(dialog_state& d, std::string_view method, const via_params& via,
                             std::string_view content_type, std::string_view body,
                             const header_list& headers, std::optional<uint32_t> cseq_override) {
  if (d.remote_tag.empty() && method != "CANCEL")
    return invalid("the dialog has no remote tag yet");
  if (!clean(method) || method.empty() || !clean(content_type) || !headers_clean(headers))
    return invalid("a request field holds CR, LF or NUL");
  uint32_t cseq;
  if (cseq_override)
    cseq = *cseq_override;
  else
    cseq = ++d.local_cseq;
  std::string text;
  text.reserve(640 + body.size());
  text += std::string(method) + ' ' + d.remote_target + " SIP/2.0\r\n";
  via_line(text, via);
  text += "Max-Forwards: 70\r\n";
  // §12.2.1.1: loose routing (every route entry has ;lr, as our peers put
  // them): Request-URI the remote target, Route the route set as is.
  for (auto& r : d.route_set)
    text += "Route: " + route_value(r) + "\r\n";
  text += "From: " + name_addr(d.local_display, d.local_uri, d.local_tag) + "\r\n";
  text += "To: " + name_addr(d.remote_display, d.remote_uri, d.remote_tag) + "\r\n";
  text += "Call-ID: " + d.call_id + "\r\n";
  text += "CSeq: " + std::to_string(cseq) + ' ' + std::string(method) + "\r\n";
  if (method == "INVITE" || method == "UPDATE" || method == "SUBSCRIBE" || method == "REFER")
    text += "Contact: <" + d.local_contact + ">\r\n";  // §12.2.1.1 target refresh
  for (auto& [n, v] : headers)
    text += n + ": " + v + "\r\n";
  body_lines(text, content_type, body);
  auto m = message::parse(text);
  if (!m)
    return invalid("the " + std::string(method) + " does not parse: " + m.err().reason);
  return m;
}

request_check accept_request(dialog_state& d, const message& request) {
  auto method = request.request_method();
  if (method == sip::method::ack || method == sip::method::cancel)
    return request_check::ok;
  // §12.2.2: a CSeq lower than the last one is out of order: 500.
  if (d.remote_cseq && request.cseq() < *d.remote_cseq)
    return request_check::cseq_too_low;
  d.remote_cseq = request.cseq();
  if (method == sip::method::invite || method == sip::method::update) {
    if (auto c = request.contact(); c && sip_uri_ok(c->uri))
      d.remote_target = c->uri;
  }
  return request_check::ok;
}

result<message> make_uas_response(const message& request, int status, std::string_view reason,
                                  std::string_view local_tag, std::string_view contact,
                                  std::string_view content_type, std::string_view body,
                                  const header_list& headers) {
  auto r = make_response(request, status, reason, status > 100 ? local_tag : std::string_view{});
  if (!r)
    return r;
  auto method = request.request_method();
  bool dialog_forming = method == sip::method::invite || method == sip::method::update
                        || method == sip::method::subscribe;
  if (dialog_forming && status > 100 && status < 300) {
    // §12.1.1: the UAS copies Record-Route into responses that make or
    // refresh a dialog, and gives its Contact.
    for (auto& rr : request.record_routes())
      r->add_header("Record-Route", route_value(rr));
    if (!contact.empty())
      r->add_header("Contact", "<" + std::string(contact) + ">");
  }
  for (auto& [n, v] : headers)
    if (!r->add_header(n, v))
      return invalid("header '" + n + "' is not valid");
  if (!body.empty())
    r->set_body(content_type, body);
  return r;
}

bool carries_sdp(const message& m) {
  if (m.body().empty())
    return false;
  auto ct = m.header("Content-Type");
  if (!ct)
    return false;
  std::string_view v = *ct;
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return ascii::iequals(v, "application/sdp");
}

} // namespace centralita::sip::dialog
