// message edits and printing. The one trap (measured): the message is parsed with
// MSG_FLG_EXTRACT_COPY, so each header keeps its received bytes and msg_prepare()
// prints those bytes, not the edited structure, until msg_fragment_clear() is called
// on it. Several values sharing one line ("Via: a, b") share one fragment: the first
// holds the line, the rest hold nothing, so an edit clears the whole list.

#include "protocols/sip/message.hpp"

#include "protocols/sip/message_impl.hpp"

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_string.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace centralita::sip {

using detail::print_value;

namespace {

/// Forget the received bytes of every header in a list, so all are re-encoded.
void clear_fragments(msg_header_t* h) {
  for (; h != nullptr; h = h->sh_next) msg_fragment_clear(h->sh_common);
}

msg_header_t* as_header(void* h) { return static_cast<msg_header_t*>(h); }

/// A bracketed host for IPv6 literals (RFC 3261 §19.1.1 / RFC 5118 §4).
std::string host_for_uri(std::string_view host) {
  if (host.find(':') != std::string_view::npos && !host.empty() && host.front() != '[')
    return "[" + std::string(host) + "]";
  return std::string(host);
}

/// A name-addr value for Route/Record-Route: "<uri>" unless already bracketed.
std::string bracketed(std::string_view uri) {
  if (!uri.empty() && uri.front() == '<') return std::string(uri);
  return "<" + std::string(uri) + ">";
}

/// Replaces the list `*list` of class `hc` by `first` followed by the old values,
/// as one header line. Used for Route/Record-Route, where sofia appends on insert
/// but RFC 3261 §16.6 step 4 and §16.12 want the new value on top.
void prepend_value(message::impl& m, msg_header_t** list, msg_hclass_t* hc, std::string_view first) {
  std::string joined(first);
  for (msg_header_t* h = *list; h != nullptr; h = h->sh_next) joined.append(", ").append(print_value(h));
  msg_header_t* fresh = msg_header_make(m.home(), hc, joined.c_str());
  if (fresh == nullptr) return;
  while (*list != nullptr) msg_header_remove(m.msg, m.pub(), *list);
  msg_header_insert(m.msg, m.pub(), fresh);
}

/// Removes the first value of a list header, keeping the others printable.
void pop_first(message::impl& m, msg_header_t** list) {
  if (*list == nullptr) return;
  clear_fragments(*list);
  msg_header_remove(m.msg, m.pub(), *list);
}

} // namespace

std::string message::push_via(std::string_view transport, std::string_view host, uint16_t port,
                              id_generator& ids, bool rport) {
  std::string branch = ids.branch();
  if (!detail::is_token(transport) || !detail::is_line_safe(host) || host.empty()) return branch;
  std::string value = "SIP/2.0/";
  for (char c : transport) value.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
  value.append(" ").append(host_for_uri(host));
  if (port != 0) value.append(":").append(std::to_string(port));
  // RFC 3581 §3: an empty rport asks the next hop to answer to our source port.
  if (rport) value.append(";rport");
  value.append(";branch=").append(branch);
  sip_via_t* v = sip_via_make(impl_->home(), value.c_str());
  if (v == nullptr) return branch;
  // RFC 3261 §16.6 step 8: the new Via goes on top; sofia prepends Via on insert.
  clear_fragments(as_header(impl_->sip->sip_via));
  msg_header_insert(impl_->msg, impl_->pub(), as_header(v));
  return branch;
}

void message::pop_via() {
  pop_first(*impl_, reinterpret_cast<msg_header_t**>(&impl_->sip->sip_via));
}

void message::set_top_via_received(std::string_view ip, std::optional<uint16_t> rport) {
  sip_via_t* v = impl_->sip->sip_via;
  if (v == nullptr || !detail::is_line_safe(ip) || ip.empty()) return;
  // RFC 3261 §18.2.1: received holds the source address; RFC 3581 §4: rport its port.
  // sofia keeps the parameter pointer: the string must live in the message's home.
  std::string p = "received=" + std::string(ip);
  msg_header_replace_param(impl_->home(), v->v_common, su_strdup(impl_->home(), p.c_str()));
  if (rport) {
    std::string r = "rport=" + std::to_string(*rport);
    msg_header_replace_param(impl_->home(), v->v_common, su_strdup(impl_->home(), r.c_str()));
  }
  clear_fragments(as_header(v));
}

bool message::decrement_max_forwards() {
  sip_max_forwards_t* mf = impl_->sip->sip_max_forwards;
  if (mf == nullptr) {
    // RFC 3261 §16.6 step 3: absent means add it with 70, minus this hop.
    auto* fresh = sip_max_forwards_make(impl_->home(), "69");
    if (fresh != nullptr) msg_header_insert(impl_->msg, impl_->pub(), as_header(fresh));
    return true;
  }
  if (mf->mf_count == 0) return false;  // RFC 3261 §16.3 step 2: 483 is the caller's job
  --mf->mf_count;
  msg_fragment_clear(mf->mf_common);
  return true;
}

void message::add_record_route(std::string_view uri) {
  if (!detail::is_line_safe(uri) || uri.empty()) return;
  prepend_value(*impl_, reinterpret_cast<msg_header_t**>(&impl_->sip->sip_record_route),
                sip_record_route_class, bracketed(uri));
}

void message::push_route(std::string_view uri) {
  if (!detail::is_line_safe(uri) || uri.empty()) return;
  prepend_value(*impl_, reinterpret_cast<msg_header_t**>(&impl_->sip->sip_route), sip_route_class,
                bracketed(uri));
}

void message::pop_route() {
  pop_first(*impl_, reinterpret_cast<msg_header_t**>(&impl_->sip->sip_route));
}

void message::set_request_uri(std::string_view uri) {
  sip_request_t* rq = impl_->sip->sip_request;
  if (rq == nullptr || uri.empty() || !detail::is_line_safe(uri) ||
      uri.find_first_of(" \t") != std::string_view::npos)
    return;
  std::string u(uri);
  sip_request_t* fresh = sip_request_create(impl_->home(), rq->rq_method, rq->rq_method_name,
                                            URL_STRING_MAKE(u.c_str()), rq->rq_version);
  if (fresh == nullptr) return;
  msg_header_replace(impl_->msg, impl_->pub(), as_header(rq), as_header(fresh));
}

void message::set_to_tag(std::string_view tag) {
  sip_to_t* to = impl_->sip->sip_to;
  if (to == nullptr || !detail::is_token(tag)) return;
  if (to->a_tag != nullptr) msg_header_remove_param(to->a_common, "tag");
  std::string t(tag);
  sip_to_tag(impl_->home(), to, t.c_str());
  msg_fragment_clear(to->a_common);
}

bool message::add_header(std::string_view name, std::string_view value) {
  if (!detail::is_token(name) || !detail::is_line_safe(value)) return false;
  std::string v(value);
  msg_header_t* h = nullptr;
  if (msg_hclass_t* hc = detail::find_class(name)) {
    if (hc == sip_request_class || hc == sip_status_class || hc == sip_payload_class ||
        hc == sip_separator_class || hc == sip_error_class)
      return false;
    h = msg_header_make(impl_->home(), hc, v.c_str());
  } else {
    std::string line = std::string(name) + ": " + v;
    h = msg_header_make(impl_->home(), sip_unknown_class, line.c_str());
  }
  if (h == nullptr) return false;
  return msg_header_insert(impl_->msg, impl_->pub(), h) >= 0;
}

void message::remove_header(std::string_view name) {
  bool known = false;
  msg_header_t** list = detail::find_list(*impl_, name, known);
  if (known) {
    if (list == nullptr || list == reinterpret_cast<msg_header_t**>(&impl_->sip->sip_request) ||
        list == reinterpret_cast<msg_header_t**>(&impl_->sip->sip_status))
      return;
    while (*list != nullptr) msg_header_remove(impl_->msg, impl_->pub(), *list);
    return;
  }
  std::vector<msg_header_t*> doomed;
  for (sip_unknown_t* u = impl_->sip->sip_unknown; u != nullptr; u = u->un_next)
    if (u->un_name != nullptr && detail::iequals(u->un_name, name)) doomed.push_back(as_header(u));
  for (msg_header_t* h : doomed) msg_header_remove(impl_->msg, impl_->pub(), h);
}

void message::set_body(std::string_view content_type, std::string_view body) {
  sip_t* sip = impl_->sip;
  sip_payload_t* pl = sip_payload_create(impl_->home(), body.data(), static_cast<isize_t>(body.size()));
  if (pl == nullptr) return;
  if (sip->sip_payload != nullptr)
    msg_header_replace(impl_->msg, impl_->pub(), as_header(sip->sip_payload), as_header(pl));
  else
    msg_header_insert(impl_->msg, impl_->pub(), as_header(pl));
  while (sip->sip_content_type != nullptr)
    msg_header_remove(impl_->msg, impl_->pub(), as_header(sip->sip_content_type));
  if (!content_type.empty() && detail::is_line_safe(content_type)) {
    std::string ct(content_type);
    if (auto* c = sip_content_type_make(impl_->home(), ct.c_str()))
      msg_header_insert(impl_->msg, impl_->pub(), as_header(c));
  }
  // RFC 3261 §20.14: Content-Length is the body's size in octets.
  auto* cl = sip_content_length_create(impl_->home(), static_cast<uint32_t>(body.size()));
  if (cl != nullptr) msg_header_insert(impl_->msg, impl_->pub(), as_header(cl));
}

std::string message::serialize() const {
  msg_t* m = impl_->msg;
  if (msg_prepare(m) < 0) return {};
  msg_iovec_t stack[64];
  isize_t n = msg_iovec(m, stack, 64);
  std::vector<msg_iovec_t> heap;
  msg_iovec_t* vec = stack;
  if (n > 64) {
    heap.resize(static_cast<size_t>(n));
    n = msg_iovec(m, heap.data(), n);
    vec = heap.data();
  }
  size_t total = 0;
  for (isize_t i = 0; i < n; ++i) total += vec[i].mv_len;
  std::string out;
  out.reserve(total);
  for (isize_t i = 0; i < n; ++i) out.append(static_cast<const char*>(vec[i].mv_base), vec[i].mv_len);
  return out;
}

} // namespace centralita::sip
