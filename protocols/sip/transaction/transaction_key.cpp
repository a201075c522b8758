#include "protocols/sip/transaction/transaction_key.hpp"
#include "protocols/util/ascii.hpp"

#include <algorithm>
#include <initializer_list>

namespace centralita::sip::txn {

namespace {

constexpr char sep = '\x1f';

char lower(char c) noexcept { return ascii::to_lower(c); }
char upper(char c) noexcept { return ascii::to_upper(c); }

std::string lowered(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), lower);
  return r;
}
std::string uppered(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), upper);
  return r;
}

/// Joins the fields; an error if one of them holds the separator (the encoding
/// would stop being one-to-one).
result<std::string> join(std::initializer_list<std::string_view> fields) {
  std::string k;
  size_t n = 0;
  for (auto f : fields) n += f.size() + 1;
  k.reserve(n);
  for (auto f : fields) {
    if (f.find(sep) != std::string_view::npos)
      return error{errc::bad_header, "Control character in a transaction key field"};
    if (!k.empty()) k.push_back(sep);
    k.append(f);
  }
  return k;
}

std::string readable(std::string_view k) {
  std::string r(k);
  std::replace(r.begin(), r.end(), sep, ' ');
  return r;
}

} // namespace

result<client_key> client_key::of(const message& m) {
  // RFC 3261 §17.1.3: the branch of the top Via and the CSeq method identify the
  // client transaction (the method tells a CANCEL from its INVITE).
  via top = m.top_via();
  if (top.branch.empty()) return error{errc::bad_header, "Via without branch"};
  auto k = join({top.branch, m.cseq_method_name()});
  if (!k) return k.err();
  return client_key(std::move(*k));
}

std::string client_key::brief() const { return readable(k_); }

result<server_key> server_key::of(const message& request) {
  if (!request.is_request())
    return error{errc::invalid_argument, "A server transaction key needs a request"};
  std::string_view m = request.method_name();
  // RFC 3261 §17.2.3: an ACK matches the INVITE transaction it acknowledges.
  return make(request, m == "ACK" ? std::string_view("INVITE") : m);
}

result<server_key> server_key::make(const message& request, std::string_view as_method) {
  via top = request.top_via();
  std::string host = lowered(top.host);  // host names compare case-insensitively
  if (top.branch.starts_with(magic_cookie)) {
    // RFC 3261 §17.2.3: branch, sent-by (host and port) and method.
    auto k = join({"3", top.branch, host, top.port, as_method});
    if (!k) return k.err();
    return server_key(std::move(*k));
  }
  // RFC 3261 §17.2.3, RFC 2543 fallback: Request-URI, To tag, From tag, Call-ID, CSeq
  // and top Via. The To tag is left out for INVITE/ACK (see the header).
  std::string to_tag = as_method == "INVITE" ? std::string() : request.to().tag;
  std::string uri = request.request_uri();
  std::string from_tag = request.from().tag;
  std::string cseq = std::to_string(request.cseq());
  std::string transport = uppered(top.transport);
  auto k = join({"2", uri, to_tag, from_tag, request.call_id(), cseq, as_method, transport, host,
                 top.port, top.branch});
  if (!k) return k.err();
  return server_key(std::move(*k));
}

std::string server_key::brief() const { return readable(k_); }

result<server_key> cancel_target(const message& cancel, std::string_view method) {
  if (!cancel.is_request() || cancel.method_name() != "CANCEL")
    return error{errc::invalid_argument, "cancel_target needs a CANCEL request"};
  // RFC 3261 §9.2: match as if the CANCEL had the method of the request it cancels;
  // §9.1 makes its Request-URI, Call-ID, To, From, CSeq number and top Via (branch
  // included) those of that request.
  return server_key::make(cancel, method);
}

} // namespace centralita::sip::txn
