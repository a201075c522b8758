#include "protocols/sip/message.hpp"
#include "protocols/util/ascii.hpp"

#include "protocols/sip/message_impl.hpp"

#include <sofia-sip/hostdomain.h>
#include <sofia-sip/msg_buffer.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/url.h>

#include <array>
#include <cctype>
#include <cstring>

namespace centralita::sip {

// ---------------------------------------------------------------- methods

namespace {
struct method_name_entry {
  method m;
  std::string_view name;
};
constexpr std::array<method_name_entry, 14> method_names{{
    {method::invite, "INVITE"},     {method::ack, "ACK"},
    {method::bye, "BYE"},           {method::cancel, "CANCEL"},
    {method::options, "OPTIONS"},   {method::register_, "REGISTER"},
    {method::info, "INFO"},         {method::prack, "PRACK"},
    {method::update, "UPDATE"},     {method::subscribe, "SUBSCRIBE"},
    {method::notify, "NOTIFY"},     {method::refer, "REFER"},
    {method::message, "MESSAGE"},   {method::publish, "PUBLISH"},
}};
} // namespace

method parse_method(std::string_view name) noexcept {
  // RFC 3261 §7.1: method names are case-sensitive.
  for (const auto& e : method_names)
    if (e.name == name) return e.m;
  return method::unknown;
}

const char* to_string(method m) noexcept {
  for (const auto& e : method_names)
    if (e.m == m) return e.name.data();
  return "UNKNOWN";
}

// ---------------------------------------------------------------- helpers

namespace detail {

std::string print_value(const msg_header_t* h) {
  if (h == nullptr) return {};
  char stack[512];
  issize_t n = msg_header_field_e(stack, sizeof stack, h, 0);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < sizeof stack) return std::string(stack, static_cast<size_t>(n));
  std::string out(static_cast<size_t>(n) + 1, '\0');
  n = msg_header_field_e(out.data(), static_cast<isize_t>(out.size()), h, 0);
  if (n < 0) return {};
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string print_url(const url_t* url) {
  if (url == nullptr) return {};
  char stack[256];
  issize_t n = url_e(stack, sizeof stack, url);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < sizeof stack) return std::string(stack, static_cast<size_t>(n));
  std::string out(static_cast<size_t>(n) + 1, '\0');
  n = url_e(out.data(), static_cast<isize_t>(out.size()), url);
  if (n < 0) return {};
  out.resize(static_cast<size_t>(n));
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept { return ascii::iequals(a, b); }

bool is_token(std::string_view s) noexcept {
  // RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::strchr("-.!%*_+`'~", c) != nullptr;
    if (!ok || c == '\0') return false;
  }
  return true;
}

bool is_line_safe(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

msg_hclass_t* find_class(std::string_view name) {
  if (!is_token(name) || name.size() > 127) return nullptr;
  char buf[128];
  std::memcpy(buf, name.data(), name.size());
  buf[name.size()] = '\0';
  const msg_mclass_t* mc = sip_default_mclass();
  const msg_href_t* hr = msg_find_hclass(mc, buf, nullptr);
  if (hr == nullptr || hr == mc->mc_unknown || hr->hr_class == nullptr) return nullptr;
  return hr->hr_class;
}

msg_header_t** find_list(const message::impl& m, std::string_view name, bool& known) {
  known = false;
  if (!is_token(name) || name.size() > 127) return nullptr;
  char buf[128];
  std::memcpy(buf, name.data(), name.size());
  buf[name.size()] = '\0';
  const msg_mclass_t* mc = sip_default_mclass();
  const msg_href_t* hr = msg_find_hclass(mc, buf, nullptr);
  if (hr == nullptr || hr == mc->mc_unknown || hr->hr_class == nullptr) return nullptr;
  known = true;
  return reinterpret_cast<msg_header_t**>(reinterpret_cast<char*>(m.sip) + hr->hr_offset);
}

} // namespace detail

using detail::print_url;
using detail::print_value;

namespace {

error fail(errc code, std::string reason) { return error{code, std::move(reason)}; }

/// The name of an entry of sip_error: sofia puts there both headers that failed
/// to parse (class msg_error, name in er_name) and surplus instances of singleton
/// headers (their own class, so er_name is *not* a string: read the class name).
std::string_view error_entry_name(const sip_error_t* e) {
  const msg_hclass_t* hc = e->er_common->h_class;
  if (hc == sip_error_class) return e->er_name != nullptr ? e->er_name : "";
  return hc != nullptr && hc->hc_name != nullptr ? hc->hc_name : "";
}

/// Headers whose damage makes the message unusable for a proxy or registrar: the
/// §8.1.1 mandatory ones plus those routing and framing depend on. Damage in other
/// headers is tolerated (RFC 4475 §3.1.2.12: a proxy forwards a bad Date).
bool is_essential(std::string_view name) {
  static constexpr std::array<std::string_view, 11> names{
      "Via", "From", "To", "Call-ID", "CSeq", "Content-Length", "Max-Forwards",
      "Contact", "Route", "Record-Route", "Content-Type"};
  for (auto n : names)
    if (detail::iequals(n, name)) return true;
  return false;
}

/// RFC 3261 §7.1/§7.2: "SIP/2.0" only; anything else is answered 505.
bool is_sip20(const char* version) {
  return version != nullptr && std::strcmp(version, "SIP/2.0") == 0;
}

std::string_view first_line(std::string_view bytes) {
  auto eol = bytes.find_first_of("\r\n");
  return bytes.substr(0, eol == std::string_view::npos ? bytes.size() : eol);
}

/// Reason for a message sofia refused as a whole (msg_extract() < 0).
error classify_extract_failure(std::string_view bytes, const sip_t* sip) {
  if (sip != nullptr) {
    for (const sip_error_t* e = sip->sip_error; e != nullptr; e = e->er_next) {
      auto name = error_entry_name(e);
      if (detail::iequals(name, "Content-Length"))
        return fail(errc::bad_header, "Bad Content-Length");
    }
    if (sip->sip_content_length != nullptr)
      // RFC 3261 §18.3: fewer body bytes than Content-Length in a datagram.
      return fail(errc::bad_header, "Bad Content-Length");
  }
  auto line = first_line(bytes);
  if (line.size() >= 4 && line.substr(0, 4) == "SIP/") {
    auto sp = line.find(' ');
    if (sp != std::string_view::npos && line.substr(0, sp) != "SIP/2.0")
      return fail(errc::unsupported, "Unsupported SIP version");
    return fail(errc::parse_error, "Malformed status line");
  }
  auto last_sp = line.rfind(' ');
  if (last_sp != std::string_view::npos) {
    auto ver = line.substr(last_sp + 1);
    if (ver.size() > 4 && ver.substr(0, 4) == "SIP/" && ver != "SIP/2.0")
      return fail(errc::unsupported, "Unsupported SIP version");
  }
  return fail(errc::parse_error, "Malformed request line");
}

/// The checks sofia leaves to us, in the order a 400 should name them.
/// sofia parses some sip/sips URIs it cannot print back parseably: a "path"
/// ("sip:x@h/2", found by fuzzing) or a fragment, which RFC 3261 §19.1.1 does
/// not allow, or a host that is no host. Edits re-print URIs: refuse them.
bool liberal_host(const char* h) {
  if (h == nullptr) return false;
  if (host_is_valid(h)) return true;
  // RFC 5118 §4.7: accept the "[2001:db8:::192.0.2.1]" form the RFC 3261 ABNF
  // bug produced: a bracketed reference of hex digits, colons and dots.
  std::string_view v(h);
  if (v.size() < 3 || v.front() != '[' || v.back() != ']') return false;
  for (char c : v.substr(1, v.size() - 2))
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
  return true;
}

// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool valid_scheme(const char* s) {
  if (s == nullptr || !std::isalpha(static_cast<unsigned char>(*s))) return false;
  for (; *s != 0; ++s)
    if (!std::isalnum(static_cast<unsigned char>(*s)) && *s != '+' && *s != '-' && *s != '.')
      return false;
  return true;
}

// RFC 3986 §2 / RFC 3261 §25.1: a URI is 7-bit, printable, without spaces,
// quotes or angle brackets (they delimit it). sofia stores some such bytes in
// URI parts and cannot re-print them parseably (found by fuzzing).
bool uri_part_ok(const char* p) {
  if (p == nullptr) return true;
  for (; *p != 0; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"') return false;
  }
  return true;
}

bool sip_url_sane(const url_t* u) {
  if (u == nullptr) return false;
  for (const char* part : {u->url_user, u->url_password, u->url_host, u->url_port, u->url_path,
                           u->url_params, u->url_headers, u->url_fragment})
    if (!uri_part_ok(part)) return false;
  // sofia takes anything before the first colon as a scheme (found by fuzzing:
  // "<siIP/2.0/UDP h;bran:x@y>"), and cannot always print it back.
  if (u->url_type != url_sip && u->url_type != url_sips)
    return u->url_type == url_any || valid_scheme(u->url_scheme);
  return u->url_path == nullptr && u->url_fragment == nullptr && liberal_host(u->url_host);
}

std::optional<error> validate(const sip_t* sip, su_home_t* home) {
  if (sip->sip_request == nullptr && sip->sip_status == nullptr)
    return fail(errc::parse_error, "Malformed start line");
  if (sip->sip_request != nullptr && !is_sip20(sip->sip_request->rq_version))
    return fail(errc::unsupported, "Unsupported SIP version");
  if (sip->sip_status != nullptr) {
    if (!is_sip20(sip->sip_status->st_version))
      return fail(errc::unsupported, "Unsupported SIP version");
    // RFC 3261 §7.2: Status-Code is 3DIGIT, 1xx to 6xx.
    if (sip->sip_status->st_status < 100 || sip->sip_status->st_status > 699)
      return fail(errc::parse_error, "Malformed status line");
  }
  for (const sip_error_t* e = sip->sip_error; e != nullptr; e = e->er_next) {
    auto name = error_entry_name(e);
    if (!is_essential(name)) continue;
    if (e->er_common->h_class != sip_error_class)
      // RFC 3261 §7.3.1: a single-valued header appears at most once (RFC 4475 §3.3.8).
      return fail(errc::bad_header, "Multiple " + std::string(name) + " headers");
    return fail(errc::bad_header, "Malformed " + std::string(name) + " header");
  }
  // RFC 3261 §8.1.1: the mandatory header fields.
  if (sip->sip_via == nullptr) return fail(errc::missing_header, "Missing Via header");
  if (sip->sip_from == nullptr) return fail(errc::missing_header, "Missing From header");
  if (sip->sip_to == nullptr) return fail(errc::missing_header, "Missing To header");
  if (sip->sip_call_id == nullptr) return fail(errc::missing_header, "Missing Call-ID header");
  if (sip->sip_cseq == nullptr) return fail(errc::missing_header, "Missing CSeq header");
  if (sip->sip_from->a_url->url_type == url_invalid || sip->sip_to->a_url->url_type == url_invalid ||
      !sip_url_sane(sip->sip_from->a_url) || !sip_url_sane(sip->sip_to->a_url))
    return fail(errc::bad_header, "Malformed From or To header");
  for (const sip_contact_t* c = sip->sip_contact; c != nullptr; c = c->m_next)
    if (c->m_url->url_type != url_any && !sip_url_sane(c->m_url))  // "*" is url_any
      return fail(errc::bad_header, "Malformed Contact header");
  for (const sip_route_t* r = sip->sip_route; r != nullptr; r = r->r_next)
    if (!sip_url_sane(r->r_url)) return fail(errc::bad_header, "Malformed Route header");
  for (const sip_record_route_t* r = sip->sip_record_route; r != nullptr; r = r->r_next)
    if (!sip_url_sane(r->r_url)) return fail(errc::bad_header, "Malformed Record-Route header");
  // sofia accepts some odd URIs it cannot print back in a parseable form (found by
  // fuzzing: "<sip/UP :x@y>"); edits re-print From/To, so refuse those up front.
  // Only URIs outside sip/sips/tel pay for this check.
  for (const sip_addr_t* a : {sip->sip_from, sip->sip_to}) {
    auto type = a->a_url->url_type;
    // RFC 3261 §25.1: display-name = *(token LWS) / quoted-string; only a
    // quoted string may carry UTF-8 or separators (fuzzing found unquoted
    // 8-bit display names that print back as something else).
    if (a->a_display != nullptr && a->a_display[0] != '"')
      for (const char* c = a->a_display; *c != 0; ++c)
        if (!(std::isalnum(static_cast<unsigned char>(*c)) || std::strchr("-.!%*_+`'~ \t", *c)))
          return fail(errc::bad_header, "Malformed From or To header");
    if (type == url_sip || type == url_sips || type == url_tel) continue;
    std::string printed = print_value(reinterpret_cast<const msg_header_t*>(a));
    auto* again = reinterpret_cast<sip_addr_t*>(msg_header_make(home, a->a_common->h_class, printed.c_str()));
    if (again == nullptr || again->a_url->url_type != type)
      return fail(errc::bad_header, "Malformed From or To header");
  }
  // Every Via must print back parseably, since edits re-print the Via list:
  // sofia accepts some sent-by values it cannot (found by fuzzing:
  // "SIP/2.0/UDP$[2001:db8::1]"). RFC 3261 §20.42: sent-by is a host (name,
  // IPv4 or [IPv6]) and the protocol is three tokens.
  for (const sip_via_t* v = sip->sip_via; v != nullptr; v = v->v_next) {
    if (v->v_host == nullptr || v->v_protocol == nullptr || !liberal_host(v->v_host))
      return fail(errc::bad_header, "Malformed Via header");
    for (const char* c = v->v_protocol; *c != 0; ++c)
      if (!(std::isalnum(static_cast<unsigned char>(*c)) || std::strchr("/.-!%*_+`'~", *c)))
        return fail(errc::bad_header, "Malformed Via header");
  }
  // RFC 3261 §20.22: Max-Forwards is 0-255 in practice (RFC 4475 §3.1.2.4).
  if (sip->sip_max_forwards != nullptr && sip->sip_max_forwards->mf_count > 255)
    return fail(errc::bad_header, "Malformed Max-Forwards header");
  if (sip->sip_request != nullptr) {
    const sip_request_t* rq = sip->sip_request;
    // RFC 3261 §8.1.1.5: the CSeq method matches the request method.
    if (rq->rq_method_name == nullptr || sip->sip_cseq->cs_method_name == nullptr ||
        std::strcmp(rq->rq_method_name, sip->sip_cseq->cs_method_name) != 0)
      return fail(errc::bad_header, "CSeq method does not match request method");
    const url_t* ru = rq->rq_url;
    if (ru == nullptr || ru->url_type == url_invalid || ru->url_scheme == nullptr ||
        !sip_url_sane(ru))
      return fail(errc::parse_error, "Malformed Request-URI");
    // RFC 3261 §19.1.5: a Request-URI never carries headers (RFC 4475 §3.1.2.11).
    if ((ru->url_type == url_sip || ru->url_type == url_sips) && ru->url_headers != nullptr)
      return fail(errc::parse_error, "Malformed Request-URI");
  }
  if (sip_sanity_check(sip) < 0) return fail(errc::parse_error, "Malformed message");
  return std::nullopt;
}

name_addr to_name_addr(const sip_addr_t* a) {
  name_addr out;
  if (a == nullptr) return out;
  if (a->a_display != nullptr) {
    std::string_view d = a->a_display;
    if (d.size() >= 2 && d.front() == '"' && d.back() == '"') d = d.substr(1, d.size() - 2);
    out.display.assign(d);
  }
  out.uri = print_url(a->a_url);
  if (a->a_tag != nullptr) out.tag = a->a_tag;
  return out;
}

via to_via(const sip_via_t* v) {
  via out;
  if (v == nullptr) return out;
  if (v->v_protocol != nullptr) {
    out.protocol = v->v_protocol;
    auto slash = out.protocol.rfind('/');
    out.transport = slash == std::string::npos ? out.protocol : out.protocol.substr(slash + 1);
  }
  if (v->v_host != nullptr) out.host = v->v_host;
  if (v->v_port != nullptr) out.port = v->v_port;
  if (v->v_branch != nullptr) out.branch = v->v_branch;
  if (v->v_received != nullptr) out.received = v->v_received;
  if (v->v_rport != nullptr) out.rport = std::string(v->v_rport);
  return out;
}

} // namespace

// ---------------------------------------------------------------- lifetime

message::message(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
message::message(message&&) noexcept = default;
message& message::operator=(message&&) noexcept = default;
message::~message() = default;

result<message> message::parse(std::string_view bytes) {
  if (bytes.empty()) return fail(errc::parse_error, "Empty message");
  // A datagram may end right after its last header line, without the empty line
  // (sofia accepts that at end of stream). Complete it, or that last line would be
  // printed glued to whatever an edit appends after it.
  std::string completed;
  if (bytes.find("\n\r\n") == std::string_view::npos && bytes.find("\n\n") == std::string_view::npos) {
    completed.reserve(bytes.size() + 4);
    completed.assign(bytes);
    if (completed.back() == '\r') completed.push_back('\n');
    else if (completed.back() != '\n') completed.append("\r\n");
    completed.append("\r\n");
    bytes = completed;
  }
  auto p = std::make_unique<impl>();
  // EXTRACT_COPY keeps each header's original bytes, so unedited headers print as
  // received (and fast); edits must clear the fragment (see message_edit.cpp).
  p->msg = msg_create(sip_default_mclass(), MSG_FLG_EXTRACT_COPY);
  if (p->msg == nullptr) return fail(errc::too_large, "Out of memory");
  void* buf = msg_buf_alloc(p->msg, bytes.size() + 1);
  if (buf == nullptr) return fail(errc::too_large, "Message too large");
  std::memcpy(buf, bytes.data(), bytes.size());
  // eos = 1: a datagram (or a framed stream message) is complete (RFC 3261 §18.3).
  msg_buf_commit(p->msg, bytes.size(), 1);
  int r = msg_extract(p->msg);
  p->sip = sip_object(p->msg);
  if (r < 0) return classify_extract_failure(bytes, p->sip);
  if (r == 0 || p->sip == nullptr) return fail(errc::parse_error, "Truncated message");
  if (auto e = validate(p->sip, p->home())) return *e;
  // Start lines are re-encoded on output: the sender's extra spaces (RFC 4475
  // §3.1.2.9, §3.1.2.10) must not be forwarded.
  if (p->sip->sip_request != nullptr) msg_fragment_clear(p->sip->sip_request->rq_common);
  if (p->sip->sip_status != nullptr) msg_fragment_clear(p->sip->sip_status->st_common);
  return message(std::move(p));
}

message message::clone() const {
  auto copy = parse(serialize());
  if (copy.ok()) return std::move(copy).value();
  // Unreachable for messages parse() produced and our edits keep valid; keep a
  // deep copy of the structure anyway rather than fail.
  auto p = std::make_unique<impl>();
  p->msg = msg_dup(impl_->msg);
  p->sip = sip_object(p->msg);
  return message(std::move(p));
}

// ---------------------------------------------------------------- accessors

bool message::is_request() const { return impl_->sip->sip_request != nullptr; }
bool message::is_response() const { return impl_->sip->sip_status != nullptr; }

method message::request_method() const { return parse_method(method_name()); }

std::string_view message::method_name() const {
  const sip_request_t* rq = impl_->sip->sip_request;
  return rq != nullptr && rq->rq_method_name != nullptr ? rq->rq_method_name : "";
}

std::string message::request_uri() const {
  const sip_request_t* rq = impl_->sip->sip_request;
  return rq != nullptr ? print_url(rq->rq_url) : std::string();
}

int message::status() const {
  const sip_status_t* st = impl_->sip->sip_status;
  return st != nullptr ? st->st_status : 0;
}

std::string message::reason_phrase() const {
  const sip_status_t* st = impl_->sip->sip_status;
  return st != nullptr && st->st_phrase != nullptr ? st->st_phrase : "";
}

std::string_view message::call_id() const {
  const sip_call_id_t* i = impl_->sip->sip_call_id;
  return i != nullptr && i->i_id != nullptr ? i->i_id : "";
}

uint32_t message::cseq() const {
  const sip_cseq_t* cs = impl_->sip->sip_cseq;
  return cs != nullptr ? cs->cs_seq : 0;
}

method message::cseq_method() const { return parse_method(cseq_method_name()); }

std::string message::cseq_method_name() const {
  const sip_cseq_t* cs = impl_->sip->sip_cseq;
  return cs != nullptr && cs->cs_method_name != nullptr ? cs->cs_method_name : "";
}

std::optional<unsigned> message::max_forwards() const {
  const sip_max_forwards_t* mf = impl_->sip->sip_max_forwards;
  if (mf == nullptr) return std::nullopt;
  return static_cast<unsigned>(mf->mf_count);
}

name_addr message::from() const { return to_name_addr(impl_->sip->sip_from); }
name_addr message::to() const { return to_name_addr(impl_->sip->sip_to); }

std::optional<name_addr> message::contact() const {
  const sip_contact_t* m = impl_->sip->sip_contact;
  if (m == nullptr) return std::nullopt;
  name_addr out;
  if (m->m_display != nullptr) {
    std::string_view d = m->m_display;
    if (d.size() >= 2 && d.front() == '"' && d.back() == '"') d = d.substr(1, d.size() - 2);
    out.display.assign(d);
  }
  out.uri = print_url(m->m_url);
  return out;
}

std::vector<via> message::vias() const {
  std::vector<via> out;
  for (const sip_via_t* v = impl_->sip->sip_via; v != nullptr; v = v->v_next)
    out.push_back(to_via(v));
  return out;
}

via message::top_via() const { return to_via(impl_->sip->sip_via); }

size_t message::via_count() const {
  size_t n = 0;
  for (const sip_via_t* v = impl_->sip->sip_via; v != nullptr; v = v->v_next) ++n;
  return n;
}

std::vector<std::string> message::record_routes() const {
  std::vector<std::string> out;
  for (const sip_record_route_t* r = impl_->sip->sip_record_route; r != nullptr; r = r->r_next)
    out.push_back(print_value(reinterpret_cast<const msg_header_t*>(r)));
  return out;
}

std::vector<std::string> message::routes() const {
  std::vector<std::string> out;
  for (const sip_route_t* r = impl_->sip->sip_route; r != nullptr; r = r->r_next)
    out.push_back(print_value(reinterpret_cast<const msg_header_t*>(r)));
  return out;
}

std::optional<std::string> message::header(std::string_view name) const {
  bool known = false;
  msg_header_t** list = detail::find_list(*impl_, name, known);
  if (known) {
    if (list == nullptr || *list == nullptr) return std::nullopt;
    return print_value(*list);
  }
  for (const sip_unknown_t* u = impl_->sip->sip_unknown; u != nullptr; u = u->un_next)
    if (u->un_name != nullptr && detail::iequals(u->un_name, name))
      return std::string(u->un_value != nullptr ? u->un_value : "");
  return std::nullopt;
}

std::vector<std::string> message::header_values(std::string_view name) const {
  std::vector<std::string> out;
  bool known = false;
  msg_header_t** list = detail::find_list(*impl_, name, known);
  if (known) {
    if (list == nullptr) return out;
    for (const msg_header_t* h = *list; h != nullptr; h = h->sh_next) out.push_back(print_value(h));
    return out;
  }
  for (const sip_unknown_t* u = impl_->sip->sip_unknown; u != nullptr; u = u->un_next)
    if (u->un_name != nullptr && detail::iequals(u->un_name, name))
      out.emplace_back(u->un_value != nullptr ? u->un_value : "");
  return out;
}

std::string_view message::body() const {
  const sip_payload_t* pl = impl_->sip->sip_payload;
  if (pl == nullptr || pl->pl_data == nullptr) return {};
  return {pl->pl_data, static_cast<size_t>(pl->pl_len)};
}

std::string message::brief() const {
  std::string out;
  if (is_request()) {
    out.append(method_name()).append(" ").append(request_uri());
  } else {
    out.append(std::to_string(status())).append(" ").append(reason_phrase());
  }
  out.append(" cid=").append(call_id());
  out.append(" cseq=").append(std::to_string(cseq())).append(" ").append(cseq_method_name());
  return out;
}

// ---- registrar accessors ----

std::vector<message::contact_value> message::contacts() const {
  std::vector<contact_value> out;
  for (const sip_contact_t* m = impl_->sip->sip_contact; m != nullptr; m = m->m_next) {
    contact_value c;
    if (m->m_display != nullptr) {
      std::string_view d = m->m_display;
      if (d.size() >= 2 && d.front() == '"' && d.back() == '"') d = d.substr(1, d.size() - 2);
      c.display.assign(d);
    }
    // RFC 3261 §10.2.2: sofia parses the wildcard as a URL of type url_any.
    c.star = m->m_url->url_type == url_any;
    c.uri = c.star ? std::string("*") : print_url(m->m_url);
    for (msg_param_t const* p = m->m_params; p != nullptr && *p != nullptr; ++p) {
      std::string_view param = *p;
      size_t eq = param.find('=');
      if (eq == std::string_view::npos)
        c.params.emplace_back(std::string(param), std::string());
      else
        c.params.emplace_back(std::string(param.substr(0, eq)), std::string(param.substr(eq + 1)));
    }
    out.push_back(std::move(c));
  }
  return out;
}

// ---- proxy edits ----

bool message::push_via_with_branch(std::string_view transport, std::string_view host,
                                   uint16_t port, std::string_view branch, bool rport) {
  if (!detail::is_token(transport) || !detail::is_line_safe(host) || host.empty() ||
      !detail::is_token(branch))
    return false;
  std::string value = "SIP/2.0/";
  for (char c : transport) value.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
  // RFC 3261 §19.1.1 / RFC 5118 §4: an IPv6 literal sent-by is bracketed.
  bool bare_v6 = host.find(':') != std::string_view::npos && host.front() != '[';
  value.append(" ").append(bare_v6 ? "[" : "").append(host).append(bare_v6 ? "]" : "");
  if (port != 0) value.append(":").append(std::to_string(port));
  if (rport) value.append(";rport");  // RFC 3581 §3
  value.append(";branch=").append(branch);
  sip_via_t* v = sip_via_make(impl_->home(), value.c_str());
  if (v == nullptr) return false;
  // As in push_via: re-encode the old values, then sofia prepends the new one.
  for (sip_via_t* old = impl_->sip->sip_via; old != nullptr; old = old->v_next)
    msg_fragment_clear(old->v_common);
  return msg_header_insert(impl_->msg, impl_->pub(), reinterpret_cast<msg_header_t*>(v)) >= 0;
}

} // namespace centralita::sip
