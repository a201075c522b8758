// Properties of the SIP message layer (rapidcheck):
//  1. parse(serialize(m)) keeps every header we touch, for generated requests and
//     after random sequences of edits;
//  2. any byte string (and mutations of valid messages) parses or yields an error;
//  3. the stream framer yields the same messages whatever chunk split is used.

#include "protocols/sip/message.hpp"
#include "protocols/sip/routing_key.hpp"
#include "protocols/sip/stream_framer.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::sip;

namespace {

rc::Gen<std::string> token(size_t min = 1, size_t max = 12) {
  static const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+'~";
  return rc::gen::mapcat(rc::gen::inRange(min, max + 1), [](size_t n) {
    return rc::gen::container<std::string>(n, rc::gen::elementOf(alphabet));
  });
}

rc::Gen<std::string> word(size_t min = 1, size_t max = 10) {
  static const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return rc::gen::mapcat(rc::gen::inRange(min, max + 1), [](size_t n) {
    return rc::gen::container<std::string>(n, rc::gen::elementOf(alphabet));
  });
}

rc::Gen<std::string> text(size_t max = 40) {
  static const std::string alphabet = "abcdefghijklmnopqrstuvwxyz ABC0123456789.,;=/@";
  return rc::gen::mapcat(rc::gen::inRange<size_t>(0, max + 1), [](size_t n) {
    return rc::gen::container<std::string>(n, rc::gen::elementOf(alphabet));
  });
}

struct generated {
  std::string method, ruri, from_tag, branch, call_id, hvalue, body;
  uint32_t cseq;
  std::string bytes;
};

rc::Gen<generated> request() {
  return rc::gen::apply(
      [](std::string m, std::string user, std::string host, std::string tag, std::string branch,
         std::string cid, uint32_t cseq, std::string hv, std::string body) {
        generated g;
        g.method = m;
        g.ruri = "sip:" + user + "@" + host + ".example";
        g.from_tag = tag;
        g.branch = "z9hG4bK" + branch;
        g.call_id = cid;
        g.cseq = cseq;
        // Leading/trailing spaces of a value are not significant (RFC 3261 §7.3.1).
        auto b = hv.find_first_not_of(' ');
        auto e = hv.find_last_not_of(' ');
        g.hvalue = b == std::string::npos ? "x" : hv.substr(b, e - b + 1);
        g.body = body;
        g.bytes = m + " " + g.ruri + " SIP/2.0\r\nVia: SIP/2.0/UDP " + host + ".example:5060;branch=" +
                  g.branch + "\r\nMax-Forwards: 70\r\nFrom: <sip:a@" + host + ".example>;tag=" + tag +
                  "\r\nTo: <" + g.ruri + ">\r\nCall-ID: " + cid + "\r\nCSeq: " + std::to_string(cseq) +
                  " " + m + "\r\nX-Gen: " + g.hvalue + "\r\nContent-Type: text/plain\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body;
        return g;
      },
      rc::gen::elementOf(std::vector<std::string>{"INVITE", "OPTIONS", "REGISTER", "BYE", "MESSAGE",
                                                  "SUBSCRIBE", "NOTIFY", "INFO", "XFOO"}),
      word(), word(), token(), token(4, 20), token(1, 30),
      rc::gen::inRange<uint32_t>(0, 2147483647u), text(), text(200));
}

} // namespace

RC_GTEST_PROP(sip_message_prop, generated_requests_round_trip, ()) {
  auto g = *request();
  auto r = message::parse(g.bytes);
  RC_ASSERT(r.ok());
  RC_ASSERT(r->method_name() == g.method);
  RC_ASSERT(r->request_uri() == g.ruri);
  RC_ASSERT(r->call_id() == g.call_id);
  RC_ASSERT(r->cseq() == g.cseq);
  RC_ASSERT(r->from().tag == g.from_tag);
  RC_ASSERT(r->top_via().branch == g.branch);
  RC_ASSERT(r->header("X-Gen") == std::optional<std::string>(g.hvalue));
  RC_ASSERT(r->body() == g.body);
  RC_ASSERT(scan_call_id(g.bytes) == std::optional<std::string_view>(g.call_id));
  auto again = message::parse(r->serialize());
  RC_ASSERT(again.ok());
  RC_ASSERT(again->call_id() == g.call_id);
  RC_ASSERT(again->body() == g.body);
}

RC_GTEST_PROP(sip_message_prop, edit_sequences_keep_touched_headers, ()) {
  auto g = *request();
  auto r = message::parse(g.bytes);
  RC_ASSERT(r.ok());
  message m = std::move(*r);
  id_generator ids(*rc::gen::arbitrary<uint64_t>());
  // The model: what each touched header must read after the edits.
  std::vector<std::string> branches{g.branch};
  std::vector<std::string> rr;
  std::vector<std::string> route;
  unsigned mf = 70;
  std::string ruri = g.ruri, to_tag, body = g.body;
  std::optional<std::string> xh = g.hvalue;
  auto steps = *rc::gen::inRange(1, 12);
  for (int i = 0; i < steps; ++i) {
    switch (*rc::gen::inRange(0, 9)) {
    case 0: branches.insert(branches.begin(), m.push_via("udp", "10.0.0." + std::to_string(i), 5060, ids)); break;
    case 1:
      if (branches.size() > 1) {
        m.pop_via();
        branches.erase(branches.begin());
      }
      break;
    case 2: {
      bool ok = m.decrement_max_forwards();
      RC_ASSERT(ok == (mf > 0));
      if (mf > 0) --mf;
      break;
    }
    case 3: {
      auto u = "sip:" + *word() + ".example;lr";
      m.add_record_route(u);
      rr.insert(rr.begin(), "<" + u + ">");
      break;
    }
    case 4: {
      auto u = "sip:" + *word() + ".example;lr";
      m.push_route(u);
      route.insert(route.begin(), "<" + u + ">");
      break;
    }
    case 5:
      m.pop_route();
      if (!route.empty()) route.erase(route.begin());
      break;
    case 6: ruri = "sip:" + *word() + "@" + *word() + ".example"; m.set_request_uri(ruri); break;
    case 7: to_tag = *token(); m.set_to_tag(to_tag); break;
    case 8: body = *text(100); m.set_body("text/plain", body); break;
    default: m.remove_header("X-Gen"); xh.reset(); break;
    }
  }
  auto p = message::parse(m.serialize());
  RC_ASSERT(p.ok());
  auto vias = p->vias();
  RC_ASSERT(vias.size() == branches.size());
  for (size_t i = 0; i < vias.size(); ++i) RC_ASSERT(vias[i].branch == branches[i]);
  RC_ASSERT(p->record_routes() == rr);
  RC_ASSERT(p->routes() == route);
  RC_ASSERT(p->max_forwards() == std::optional<unsigned>(mf));
  RC_ASSERT(p->request_uri() == ruri);
  RC_ASSERT(p->to().tag == to_tag);
  RC_ASSERT(p->body() == body);
  RC_ASSERT(p->header("X-Gen") == xh);
  RC_ASSERT(p->call_id() == g.call_id);
  RC_ASSERT(p->cseq() == g.cseq);
}

RC_GTEST_PROP(sip_message_prop, arbitrary_bytes_never_crash, (const std::string& bytes)) {
  auto r = message::parse(bytes);
  if (r.ok()) {
    RC_ASSERT(message::parse(r->serialize()).ok());
  } else {
    RC_ASSERT(!r.err().reason.empty());
    (void)make_error_response(bytes, 400, r.err().reason);
  }
}

RC_GTEST_PROP(sip_message_prop, mutations_never_crash, ()) {
  auto g = *request();
  std::string s = g.bytes;
  auto n = *rc::gen::inRange(1, 6);
  for (int i = 0; i < n && !s.empty(); ++i) {
    size_t pos = *rc::gen::inRange<size_t>(0, s.size());
    switch (*rc::gen::inRange(0, 4)) {
    case 0: s.resize(pos); break;                                           // truncation
    case 1: s[pos] = static_cast<char>(s[pos] ^ *rc::gen::inRange(1, 256)); break;  // byte flip
    case 2: s.insert(pos, 1, *rc::gen::elementOf(std::string("\r\n\0", 3))); break;  // CR/LF/NUL
    default: s.insert(pos, *rc::gen::elementOf(std::vector<std::string>{",", ";", "<", ">", "\"", ":", " "})); break;
    }
  }
  auto r = message::parse(s);
  if (r.ok()) {
    auto again = message::parse(r->serialize());
    RC_ASSERT(again.ok());
    id_generator ids(1);
    r->push_via("tcp", "h.example", 5060, ids);
    r->add_record_route("sip:h.example;lr");
    RC_ASSERT(message::parse(r->serialize()).ok());
  } else {
    (void)make_error_response(s, 400, r.err().reason);
  }
}

RC_GTEST_PROP(stream_framer_prop, any_split_gives_same_messages, ()) {
  auto count = *rc::gen::inRange(1, 5);
  std::string stream;
  std::vector<std::string> want;
  for (int i = 0; i < count; ++i) {
    auto g = *request();
    if (*rc::gen::inRange(0, 3) == 0) stream += "\r\n";  // stray CRLF, skipped
    stream += g.bytes;
    want.push_back(g.bytes);
  }
  auto cuts = *rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(1, 64));
  stream_framer f(1 << 16);
  std::vector<std::string> got;
  size_t pos = 0, k = 0;
  while (pos < stream.size()) {
    size_t n = cuts.empty() ? stream.size() : cuts[k++ % cuts.size()];
    n = std::min(n, stream.size() - pos);
    f.feed(std::string_view(stream).substr(pos, n));
    pos += n;
    while (auto fr = f.next()) {
      RC_ASSERT(fr->kind == frame_kind::message);
      got.push_back(fr->bytes);
    }
  }
  RC_ASSERT(got == want);
}
