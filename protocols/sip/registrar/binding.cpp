#include "protocols/sip/registrar/binding.hpp"
#include "protocols/util/ascii.hpp"

#include <algorithm>

namespace centralita::sip {

namespace {

using ascii::iequals;

/// A SIP URI cut into scheme, user part (with '@'), host, and the rest (port,
/// parameters, headers). `ok` is false for anything that is not sip:/sips:.
struct uri_parts {
  bool ok = false;
  std::string_view scheme, user, host, rest;
};

uri_parts split_uri(std::string_view uri) noexcept {
  uri_parts p;
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos) return p;
  p.scheme = uri.substr(0, colon);
  if (!iequals(p.scheme, "sip") && !iequals(p.scheme, "sips")) return p;
  std::string_view tail = uri.substr(colon + 1);
  // RFC 3261 §19.1.1: the userinfo ends at the first '@'; it cannot hold one unescaped.
  size_t at = tail.find('@');
  size_t host_begin = 0;
  if (at != std::string_view::npos) {
    p.user = tail.substr(0, at);
    host_begin = at + 1;
  }
  std::string_view hostport = tail.substr(host_begin);
  size_t host_end;
  if (!hostport.empty() && hostport.front() == '[') {
    host_end = hostport.find(']');
    host_end = host_end == std::string_view::npos ? hostport.size() : host_end + 1;
  } else {
    host_end = hostport.find_first_of(":;?");
    if (host_end == std::string_view::npos) host_end = hostport.size();
  }
  p.host = hostport.substr(0, host_end);
  p.rest = hostport.substr(host_end);
  p.ok = !p.host.empty();
  return p;
}

} // namespace

binding::binding(const binding& other, const binding::allocator_type& alloc)
  : expires_at(other.expires_at), connection(other.connection), cseq(other.cseq),
    reg_id(other.reg_id), q(other.q), q_given(other.q_given), pnsreg(other.pnsreg), text_(other.text_, alloc),
    ends_(other.ends_) {}

binding::binding(binding&& other, const binding::allocator_type& alloc)
  : expires_at(other.expires_at), connection(other.connection), cseq(other.cseq),
    reg_id(other.reg_id), q(other.q), q_given(other.q_given), pnsreg(other.pnsreg), text_(std::move(other.text_), alloc),
    ends_(other.ends_) {}

std::string_view binding::get(field f) const noexcept {
  auto i = static_cast<size_t>(f);
  uint32_t begin = i == 0 ? 0 : ends_[i - 1];
  return std::string_view(text_).substr(begin, ends_[i] - begin);
}

void binding::set(field f, std::string_view value) {
  auto i = static_cast<size_t>(f);
  uint32_t begin = i == 0 ? 0 : ends_[i - 1];
  uint32_t old_len = ends_[i] - begin;
  text_.replace(begin, old_len, value);
  auto delta = static_cast<int64_t>(value.size()) - static_cast<int64_t>(old_len);
  for (size_t k = i; k < field_count; ++k)
    ends_[k] = static_cast<uint32_t>(static_cast<int64_t>(ends_[k]) + delta);
}

std::vector<std::string_view> binding::path() const {
  std::vector<std::string_view> out;
  std::string_view all = get(field::path);
  while (!all.empty()) {
    size_t nl = all.find('\n');
    out.push_back(all.substr(0, nl));
    if (nl == std::string_view::npos) break;
    all.remove_prefix(nl + 1);
  }
  return out;
}

void binding::set_path(const std::vector<std::string>& values) {
  std::string joined;
  for (const auto& v : values) {
    if (!joined.empty()) joined.push_back('\n');
    joined.append(v);
  }
  set(field::path, joined);
}

uint32_t binding::remaining(int64_t now) const noexcept {
  if (expires_at <= now) return 0;
  int64_t left = expires_at - now;
  return left > int64_t{UINT32_MAX} ? UINT32_MAX : static_cast<uint32_t>(left);
}

size_t binding::heap_bytes() const noexcept {
  // libstdc++ and libc++ keep up to 15 (22) characters inline.
  return text_.capacity() > 15 ? text_.capacity() + 1 : 0;
}

result<std::string> normalize_aor(std::string_view uri) {
  uri_parts p = split_uri(uri);
  if (!p.ok) return error{errc::bad_header, "Bad address-of-record URI"};
  std::string out;
  out.reserve(p.user.size() + 1 + p.host.size());
  if (!p.user.empty()) out.append(p.user).push_back('@');
  // RFC 3261 §10.3 step 5 / §19.1.4: the host compares case-insensitively, the user not.
  out += ascii::to_lower(p.host);
  return out;
}

bool same_contact_uri(std::string_view a, std::string_view b) noexcept {
  if (a == b) return true;
  // Case-insensitive parts keep their length: different lengths never match.
  if (a.size() != b.size()) return false;
  uri_parts pa = split_uri(a);
  uri_parts pb = split_uri(b);
  // RFC 3261 §19.1.4: scheme and host are case-insensitive; user and the rest exact.
  return pa.ok && pb.ok && iequals(pa.scheme, pb.scheme) && pa.user == pb.user
         && iequals(pa.host, pb.host) && pa.rest == pb.rest;
}

} // namespace centralita::sip
