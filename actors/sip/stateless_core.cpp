#include "actors/sip/stateless_core.hpp"

#include "protocols/sip/message.hpp"
#include "protocols/sip/proxy/sip_uri.hpp"
#include "protocols/sip/routing_key.hpp"
#include "protocols/util/ascii.hpp"

#include <algorithm>
#include <charconv>
#include <cctype>

namespace centralita::actors {

namespace {

// A stateless To tag must be the same for a retransmission of the request
// (RFC 3261 §16.11 stateless proxies; §8.2.6.2): derive it from the
// transaction's identity rather than drawing a random one.
std::string tag_from_hash(uint64_t h) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string tag = "sl";
  for (int i = 0; i < 12; ++i) {
    tag += digits[h & 15];
    h >>= 4;
  }
  return tag;
}

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

constexpr uint64_t fnv_basis = 1469598103934665603ull;

std::string stateless_tag(std::string_view call_id, std::string_view branch, uint32_t cseq) {
  return tag_from_hash(fnv1a(fnv1a(fnv1a(fnv_basis, call_id), branch), std::to_string(cseq)));
}

} // namespace

drivers::endpoint response_destination(const sip::via& top, const drivers::endpoint& source,
                                       drivers::transport_kind transport) {
  if (transport == drivers::transport_kind::tcp)
    return source;
  uint16_t port = 5060;
  if (top.rport.has_value()) {
    port = source.port();  // RFC 3581 §4
  } else if (!top.port.empty()) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(top.port.data(), top.port.data() + top.port.size(), v);
    if (ec == std::errc{} && v > 0 && v <= 65535)
      port = static_cast<uint16_t>(v);
  }
  // RFC 3261 §18.2.2: to the address the request came from ("received").
  auto dest = drivers::endpoint::from(source.address(), port);
  return dest ? *dest : source;
}

stateless_core::stateless_core(local_identity id) : id_(std::move(id)) {
  for (auto& d : id_.domains)
    d = ascii::to_lower(d);
  if (std::find(id_.domains.begin(), id_.domains.end(), "localhost") == id_.domains.end())
    id_.domains.push_back("localhost");
}

bool stateless_core::is_local(std::string_view host, uint16_t port) const {
  std::string h = ascii::to_lower(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']')
    h = h.substr(1, h.size() - 2);
  if (std::find(id_.domains.begin(), id_.domains.end(), h) == id_.domains.end())
    return false;
  if (port == 0 || id_.ports.empty())
    return true;
  return std::find(id_.ports.begin(), id_.ports.end(), port) != id_.ports.end();
}

std::optional<std::string> stateless_core::error_response(std::string_view raw, int status,
                                                          std::string_view reason,
                                                          const drivers::endpoint& source) const {
  // A retransmission is byte-identical, so a tag hashed from the bytes is the
  // same for it (RFC 3261 §8.2.6.2).
  auto answer = sip::make_error_response(raw, status, reason, tag_from_hash(fnv1a(fnv_basis, raw)),
                                         source.address(), source.port());
  if (answer && !id_.server_header.empty()) {
    static constexpr std::string_view tail = "Content-Length: 0\r\n\r\n";
    if (answer->size() >= tail.size())
      answer->insert(answer->size() - tail.size(), "Server: " + id_.server_header + "\r\n");
  }
  return answer;
}

std::optional<std::string> stateless_core::too_large(std::string_view headers,
                                                     const drivers::endpoint& source) const {
  return error_response(headers, 513, "Message Too Large", source);
}

std::optional<stateless_reply> stateless_core::handle(std::string_view bytes,
                                                      const drivers::endpoint& source,
                                                      drivers::transport_kind transport,
                                                      sip_counters& counters) const {
  auto parsed = sip::message::parse(bytes);
  if (!parsed) {
    if (sip::looks_like_response(bytes)) {
      counters.bad_responses.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;  // nobody to tell: a broken response is dropped
    }
    // RFC 3261 §21.4.1: 400 with a reason phrase naming the problem.
    auto answer = error_response(bytes, 400, parsed.err().reason, source);
    if (!answer) {
      counters.unanswerable_requests.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    counters.bad_requests.fetch_add(1, std::memory_order_relaxed);
    counters.count_response_sent(400);
    // The Via could not be read reliably: answer the packet's source.
    return stateless_reply{std::move(*answer), source, 400};
  }
  return answer_parsed(*parsed, source, transport, counters);
}

std::optional<stateless_reply> stateless_core::ping(sip::message& msg,
                                                    const drivers::endpoint& source,
                                                    drivers::transport_kind transport,
                                                    sip_counters& counters) const {
  // The keep-alive fast path: an OPTIONS for the switch itself (no user
  // part) is answered statelessly, as Kamailio's sl_send_reply does: no
  // transaction, no actor beyond the shard (RFC 3261 §11; a retransmission
  // just gets the same answer, To tag included).
  if (msg.request_method() != sip::method::options)
    return std::nullopt;
  auto uri = sip::proxy::sip_uri::parse(msg.request_uri());
  if (!uri || !uri->is_sip() || !uri->user.empty() || !is_local(uri->host, uri->port.value_or(0)))
    return std::nullopt;
  return answer_parsed(msg, source, transport, counters);
}

std::optional<stateless_reply> stateless_core::answer_parsed(sip::message& msg,
                                                             const drivers::endpoint& source,
                                                             drivers::transport_kind transport,
                                                             sip_counters& counters) const {
  if (msg.is_response()) {
    counters.count_response_received(msg.status());
    counters.stray_responses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;  // no transactions yet: nothing to match (§18.1.2)
  }
  auto m = msg.request_method();
  counters.count_request(m);
  if (m == sip::method::ack) {
    // §17.2.1: the ACK for a non-2xx answer ends a server transaction; we
    // answered statelessly, so there is nothing to do.
    counters.acks_absorbed.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }

  int status = 0;
  std::string_view reason;
  auto uri = sip::proxy::sip_uri::parse(msg.request_uri());
  bool ours = uri && uri->is_sip() && is_local(uri->host, uri->port.value_or(0));
  auto mf = msg.max_forwards();
  if (mf && *mf == 0) {
    status = 483;  // §16.3 step 3 (and §8.2.2 for a UAS)
  } else if (m == sip::method::cancel) {
    status = 481;  // §9.2: no transaction to cancel
  } else if (m == sip::method::options && ours) {
    status = 200;  // §11.2
  } else if (m == sip::method::unknown || m == sip::method::register_
             || m == sip::method::publish) {
    status = 501;  // §8.2.1: a method we do not implement (yet)
  } else if (!ours) {
    status = 404;
    reason = "Not Found (no route to that domain)";
  } else {
    status = 404;  // no location service yet: no user is known
  }

  auto top = msg.top_via();
  // RFC 3581 §4 / RFC 3261 §18.2.1: record where the request came from.
  std::optional<uint16_t> rport;
  if (top.rport.has_value())
    rport = source.port();
  msg.set_top_via_received(source.address(), rport);

  std::string tag;
  if (msg.to().tag.empty() && status != 100)
    tag = stateless_tag(msg.call_id(), top.branch, msg.cseq());
  auto response = sip::make_response(msg, status, reason, tag);
  if (!response)
    return std::nullopt;
  if (!id_.server_header.empty())
    response->add_header("Server", id_.server_header);
  if (status == 200 || status == 501 || status == 405)
    response->add_header("Allow", allow);  // §20.5; required with 405, useful with 501
  if (status == 200) {
    response->add_header("Accept", "application/sdp");
    response->add_header("Accept-Encoding", "identity");
    response->add_header("Accept-Language", "en");
    response->add_header("Supported", "");  // no option tags yet (path, outbound come with the registrar)
  }
  counters.count_response_sent(status);
  return stateless_reply{response->serialize(), response_destination(top, source, transport),
                         status};
}

} // namespace centralita::actors
