#include "actors/sip/call_entry.hpp"

namespace centralita::actors {

call_entry::call_entry(const sip::message& invite, const peer_info& caller,
                       clock::time_point now)
    : caller_peer(caller), caller_cseq(invite.cseq()), started(now) {
  auto from = invite.from();
  auto to = invite.to();
  auto contact_uri = invite.contact() ? invite.contact()->uri : std::string{};
  auto uri = invite.request_uri();
  auto route = sip::dialog::caller_route(invite);
  std::size_t size = from.uri.size() + from.display.size() + from.tag.size() + contact_uri.size()
                     + to.uri.size() + to.display.size() + uri.size() + index::count;
  for (auto& r : route)
    size += r.size() + 1;
  text_.reserve(size);
  for (std::string_view f : {std::string_view(from.uri), std::string_view(from.display),
                             std::string_view(from.tag), std::string_view(contact_uri),
                             std::string_view(to.uri), std::string_view(to.display),
                             std::string_view(uri)}) {
    text_ += f;
    text_ += '\0';
  }
  for (auto& r : route) {
    text_ += r;
    text_ += '\0';
  }
}

std::string_view call_entry::field(unsigned i) const {
  std::string_view rest = text_;
  for (; i > 0; --i)
    rest.remove_prefix(rest.find('\0') + 1);
  return rest.substr(0, rest.find('\0'));
}

sip::dialog::party call_entry::caller() const {
  sip::dialog::party p{std::string(field(from_uri)), std::string(field(from_display)),
                       std::string(field(from_tag)), std::string(field(contact)), {}};
  std::string_view rest = text_;
  for (unsigned i = 0; i < index::count; ++i)
    rest.remove_prefix(rest.find('\0') + 1);
  while (!rest.empty()) {
    auto end = rest.find('\0');
    p.route.emplace_back(rest.substr(0, end));
    rest.remove_prefix(end + 1);
  }
  return p;
}

sip::dialog::party call_entry::callee() const {
  sip::dialog::party p{std::string(field(to_uri)), std::string(field(to_display)), {}, {}, {}};
  if (answer_) {
    p.tag = answer_->tag;
    p.contact = answer_->contact;
    p.route = answer_->route;
  }
  return p;
}

bool call_entry::answer(call_outcome& o, clock::time_point now) {
  if (answer_)
    return false;
  answer_ = std::make_unique<answer_part>(answer_part{std::move(o.to_tag),
                                                      std::move(o.callee_contact),
                                                      std::move(o.callee_route),
                                                      o.callee_transport, o.callee_flow,
                                                      o.callee_conn, now});
  return true;
}

} // namespace centralita::actors
