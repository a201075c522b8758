#include "protocols/sip/message.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace centralita;
using namespace centralita::sip;

namespace {

const std::string options =
    "OPTIONS sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc;rport\r\n"
    "Via: SIP/2.0/TCP proxy.example.net;branch=z9hG4bKdef;received=198.51.100.7\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:alice@example.org>;tag=1928301774\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: a84b4c76e66710@pc33.example.org\r\n"
    "CSeq: 63104 OPTIONS\r\n"
    "X-Custom: hello world\r\n"
    "Content-Length: 0\r\n\r\n";

const std::string invite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    "Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n\r\n"
    "v=0\n";

message must_parse(const std::string& s) {
  auto r = message::parse(s);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason) << "\n" << s;
  return std::move(r).value();
}

message reparse(const message& m) {
  auto s = m.serialize();
  auto r = message::parse(s);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason) << "\n" << s;
  return std::move(r).value();
}

} // namespace

TEST(sip_method, names_round_trip) {
  for (auto m : {method::invite, method::ack, method::bye, method::cancel, method::options,
                 method::register_, method::info, method::prack, method::update, method::subscribe,
                 method::notify, method::refer, method::message, method::publish})
    EXPECT_EQ(parse_method(to_string(m)), m);
  EXPECT_EQ(parse_method("invite"), method::unknown);  // RFC 3261 §7.1: case-sensitive
  EXPECT_EQ(parse_method("FOO"), method::unknown);
}

TEST(sip_message, parses_options_accessors) {
  auto m = must_parse(options);
  EXPECT_TRUE(m.is_request());
  EXPECT_FALSE(m.is_response());
  EXPECT_EQ(m.request_method(), method::options);
  EXPECT_EQ(m.method_name(), "OPTIONS");
  EXPECT_EQ(m.request_uri(), "sip:bob@example.com");
  EXPECT_EQ(m.call_id(), "a84b4c76e66710@pc33.example.org");
  EXPECT_EQ(m.cseq(), 63104u);
  EXPECT_EQ(m.cseq_method(), method::options);
  EXPECT_EQ(m.cseq_method_name(), "OPTIONS");
  EXPECT_EQ(m.max_forwards(), 70u);
  EXPECT_EQ(m.from().display, "Alice");
  EXPECT_EQ(m.from().uri, "sip:alice@example.org");
  EXPECT_EQ(m.from().tag, "1928301774");
  EXPECT_EQ(m.to().uri, "sip:bob@example.com");
  EXPECT_EQ(m.to().tag, "");
  ASSERT_EQ(m.via_count(), 2u);
  auto v = m.vias();
  EXPECT_EQ(v[0].protocol, "SIP/2.0/UDP");
  EXPECT_EQ(v[0].transport, "UDP");
  EXPECT_EQ(v[0].host, "192.0.2.1");
  EXPECT_EQ(v[0].port, "5060");
  EXPECT_EQ(v[0].branch, "z9hG4bKabc");
  ASSERT_TRUE(v[0].rport.has_value());
  EXPECT_EQ(*v[0].rport, "");
  EXPECT_EQ(v[1].transport, "TCP");
  EXPECT_EQ(v[1].port, "");
  EXPECT_EQ(v[1].received, "198.51.100.7");
  EXPECT_FALSE(v[1].rport.has_value());
  EXPECT_EQ(m.top_via().branch, "z9hG4bKabc");
  EXPECT_EQ(m.header("x-custom"), "hello world");
  EXPECT_EQ(m.header("i"), "a84b4c76e66710@pc33.example.org");
  EXPECT_EQ(m.header("Call-ID"), m.header("call-id"));
  EXPECT_FALSE(m.header("Subject").has_value());
  EXPECT_FALSE(m.header("X-Absent").has_value());
  EXPECT_EQ(m.header_values("Via").size(), 2u);
  EXPECT_TRUE(m.body().empty());
  EXPECT_EQ(m.brief(), "OPTIONS sip:bob@example.com cid=a84b4c76e66710@pc33.example.org cseq=63104 OPTIONS");
}

TEST(sip_message, parses_invite_with_body_and_record_route) {
  auto m = must_parse(invite);
  EXPECT_EQ(m.request_method(), method::invite);
  EXPECT_EQ(m.body(), "v=0\n");
  auto rr = m.record_routes();
  ASSERT_EQ(rr.size(), 2u);
  EXPECT_EQ(rr[0], "<sip:p2.example.com;lr>");
  EXPECT_EQ(rr[1], "<sip:p1.example.com;lr>");
  EXPECT_EQ(m.routes().size(), 0u);
  ASSERT_TRUE(m.contact().has_value());
  EXPECT_EQ(m.contact()->uri, "sip:alice@pc33.atlanta.example.com");
  EXPECT_EQ(m.to().display, "Bob");
  EXPECT_EQ(m.header("Content-Type"), "application/sdp");
  EXPECT_EQ(m.header("c"), "application/sdp");
}

TEST(sip_message, parses_register_and_response) {
  auto reg = must_parse(
      "REGISTER sip:registrar.example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP bobspc.example.com:5060;branch=z9hG4bKnashds7\r\n"
      "Max-Forwards: 70\r\nTo: Bob <sip:bob@example.com>\r\n"
      "From: Bob <sip:bob@example.com>;tag=456248\r\nCall-ID: 843817637684230@998sdasdh09\r\n"
      "CSeq: 1826 REGISTER\r\nContact: <sip:bob@192.0.2.4>;expires=7200\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(reg.request_method(), method::register_);
  EXPECT_EQ(reg.header("Contact"), "<sip:bob@192.0.2.4>;expires=7200");
  auto resp = must_parse(
      "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=x\r\n"
      "To: <sip:c@d>;tag=y\r\nCall-ID: r1\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(resp.is_response());
  EXPECT_EQ(resp.status(), 180);
  EXPECT_EQ(resp.reason_phrase(), "Ringing");
  EXPECT_EQ(resp.to().tag, "y");
  EXPECT_EQ(resp.cseq_method(), method::invite);
  EXPECT_EQ(resp.request_method(), method::unknown);
  EXPECT_EQ(resp.method_name(), "");
  EXPECT_EQ(resp.brief(), "180 Ringing cid=r1 cseq=2 INVITE");
}

TEST(sip_message, compact_headers_and_multi_valued_via) {
  auto m = must_parse(
      "INVITE sip:x@y SIP/2.0\r\n"
      "v: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/TCP b.example:5070;branch=z9hG4bK2\r\n"
      "f: <sip:a@b>;tag=9\r\nt: <sip:x@y>\r\ni: compact-1\r\nCSeq: 1 INVITE\r\n"
      "c: text/plain\r\nl: 2\r\n\r\nhi");
  EXPECT_EQ(m.call_id(), "compact-1");
  ASSERT_EQ(m.via_count(), 2u);
  EXPECT_EQ(m.vias()[1].host, "b.example");
  EXPECT_EQ(m.vias()[1].port, "5070");
  EXPECT_EQ(m.body(), "hi");
  // Editing the first value of a shared line keeps the second one on the wire.
  m.set_top_via_received("203.0.113.9", 4000);
  auto r = reparse(m);
  ASSERT_EQ(r.via_count(), 2u);
  EXPECT_EQ(r.top_via().received, "203.0.113.9");
  EXPECT_EQ(r.top_via().rport, "4000");
  EXPECT_EQ(r.vias()[1].branch, "z9hG4bK2");
  m.pop_via();
  auto r2 = reparse(m);
  ASSERT_EQ(r2.via_count(), 1u);
  EXPECT_EQ(r2.top_via().branch, "z9hG4bK2");
}

TEST(sip_message, proxy_edits_round_trip) {
  auto m = must_parse(invite);
  id_generator ids(42);
  auto branch = m.push_via("udp", "10.0.0.1", 5060, ids);
  EXPECT_EQ(branch.rfind("z9hG4bK", 0), 0u);
  EXPECT_GE(branch.size(), 7u + 16u);
  EXPECT_TRUE(m.decrement_max_forwards());
  m.add_record_route("sip:10.0.0.1;lr");
  auto r = reparse(m);
  ASSERT_EQ(r.via_count(), 2u);
  EXPECT_EQ(r.top_via().branch, branch);
  EXPECT_EQ(r.top_via().host, "10.0.0.1");
  EXPECT_EQ(r.top_via().port, "5060");
  EXPECT_EQ(r.top_via().transport, "UDP");
  EXPECT_EQ(r.top_via().rport, "");
  EXPECT_EQ(r.vias()[1].branch, "z9hG4bK776asdhds");
  EXPECT_EQ(r.max_forwards(), 69u);
  auto rr = r.record_routes();
  ASSERT_EQ(rr.size(), 3u);
  EXPECT_EQ(rr[0], "<sip:10.0.0.1;lr>");
  EXPECT_EQ(rr[1], "<sip:p2.example.com;lr>");
  EXPECT_EQ(r.body(), "v=0\n");
  EXPECT_EQ(r.call_id(), m.call_id());
}

TEST(sip_message, ipv6_via_is_bracketed) {
  auto m = must_parse(options);
  id_generator ids(1);
  m.push_via("TCP", "2001:db8::1", 5061, ids, false);
  auto r = reparse(m);
  EXPECT_EQ(r.top_via().host, "[2001:db8::1]");
  EXPECT_FALSE(r.top_via().rport.has_value());
}

TEST(sip_message, max_forwards_rules) {
  auto m = must_parse(
      "OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
      "To: <sip:x@y>\r\nCall-ID: mf\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(m.max_forwards().has_value());  // absent is accepted
  EXPECT_TRUE(m.decrement_max_forwards());     // §16.6 step 3: adds 69
  EXPECT_EQ(reparse(m).max_forwards(), 69u);
  auto z = must_parse(
      "OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
      "To: <sip:x@y>\r\nCall-ID: mf\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 0\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(z.decrement_max_forwards());
  EXPECT_EQ(reparse(z).max_forwards(), 0u);
}

TEST(sip_message, route_edits) {
  auto m = must_parse(options);
  m.push_route("sip:b.example;lr");
  m.push_route("sip:a.example;lr");
  auto r = reparse(m);
  ASSERT_EQ(r.routes().size(), 2u);
  EXPECT_EQ(r.routes()[0], "<sip:a.example;lr>");
  m.pop_route();
  auto r2 = reparse(m);
  ASSERT_EQ(r2.routes().size(), 1u);
  EXPECT_EQ(r2.routes()[0], "<sip:b.example;lr>");
  m.pop_route();
  EXPECT_TRUE(reparse(m).routes().empty());
  m.pop_route();  // no-op when empty
}

TEST(sip_message, request_uri_to_tag_headers_body) {
  auto m = must_parse(options);
  m.set_request_uri("sip:bob@192.0.2.44:5062;transport=tcp");
  m.set_to_tag("as83kd9");
  EXPECT_TRUE(m.add_header("X-Trace", "abc 123"));
  EXPECT_TRUE(m.add_header("Subject", "lunch"));
  EXPECT_FALSE(m.add_header("X-Bad", "a\r\nInjected: yes"));
  EXPECT_FALSE(m.add_header("Bad Name", "v"));
  m.remove_header("x-custom");
  m.set_body("text/plain", "hello");
  auto r = reparse(m);
  EXPECT_EQ(r.request_uri(), "sip:bob@192.0.2.44:5062;transport=tcp");
  EXPECT_EQ(r.to().tag, "as83kd9");
  EXPECT_EQ(r.header("X-Trace"), "abc 123");
  EXPECT_EQ(r.header("s"), "lunch");
  EXPECT_FALSE(r.header("Injected").has_value());
  EXPECT_FALSE(r.header("X-Custom").has_value());
  EXPECT_EQ(r.body(), "hello");
  EXPECT_EQ(r.header("Content-Length"), "5");
  EXPECT_EQ(r.header("Content-Type"), "text/plain");
  m.set_to_tag("second");
  EXPECT_EQ(reparse(m).to().tag, "second");
  m.set_body("", "");
  auto r3 = reparse(m);
  EXPECT_TRUE(r3.body().empty());
  EXPECT_FALSE(r3.header("Content-Type").has_value());
  EXPECT_EQ(r3.header("Content-Length"), "0");
  m.remove_header("Via");
  EXPECT_FALSE(message::parse(m.serialize()).ok());
}

TEST(sip_message, clone_is_independent) {
  auto m = must_parse(options);
  auto c = m.clone();
  m.set_to_tag("changed");
  EXPECT_EQ(c.to().tag, "");
  EXPECT_EQ(c.call_id(), m.call_id());
}

TEST(sip_message, serialize_keeps_crlf_and_length) {
  auto m = must_parse(invite);
  auto s = m.serialize();
  EXPECT_NE(s.find("\r\n\r\nv=0\n"), std::string::npos);
  EXPECT_EQ(s.find("\n\n"), std::string::npos);
}

TEST(sip_message, make_response_per_8_2_6) {
  auto req = must_parse(options);
  auto r = make_response(req, 200, {}, "totag1");
  ASSERT_TRUE(r.ok()) << r.err().reason;
  EXPECT_TRUE(r->is_response());
  EXPECT_EQ(r->status(), 200);
  EXPECT_EQ(r->reason_phrase(), "OK");
  ASSERT_EQ(r->via_count(), 2u);
  EXPECT_EQ(r->vias()[0].branch, "z9hG4bKabc");
  EXPECT_EQ(r->vias()[1].branch, "z9hG4bKdef");
  EXPECT_EQ(r->vias()[1].received, "198.51.100.7");
  EXPECT_EQ(r->to().tag, "totag1");
  EXPECT_EQ(r->from().tag, "1928301774");
  EXPECT_EQ(r->call_id(), req.call_id());
  EXPECT_EQ(r->cseq(), 63104u);
  EXPECT_EQ(r->cseq_method(), method::options);
  EXPECT_EQ(r->header("Content-Length"), "0");
  EXPECT_FALSE(r->header("X-Custom").has_value());
  auto custom = make_response(req, 486, "Busy\r\nEvil: 1");
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(custom->reason_phrase(), "Busy  Evil: 1");
  EXPECT_EQ(custom->to().tag, "");
  auto tagged = must_parse(reparse(must_parse(options)).serialize());
  tagged.set_to_tag("existing");
  auto keep = make_response(tagged, 200, {}, "other");
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(keep->to().tag, "existing");  // an existing tag is kept
  EXPECT_FALSE(make_response(*r, 200).ok());
  EXPECT_FALSE(make_response(req, 99).ok());
}

TEST(sip_message, make_error_response_from_raw) {
  std::string bad =
      "INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKq\r\n"
      "f: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
  auto parsed = message::parse(bad);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.err().code, errc::missing_header);
  EXPECT_EQ(parsed.err().reason, "Missing Call-ID header");
  auto resp = make_error_response(bad, 400, parsed.err().reason);
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->rfind("SIP/2.0 400 Missing Call-ID header\r\n", 0), 0u);
  EXPECT_NE(resp->find("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKq\r\n"), std::string::npos);
  EXPECT_NE(resp->find("From: <sip:a@b>;tag=1\r\n"), std::string::npos);
  EXPECT_NE(resp->find("Content-Length: 0\r\n\r\n"), std::string::npos);
  auto weird = make_error_response(bad, 400, "bad\r\nX: \x01y");
  ASSERT_TRUE(weird.has_value());
  EXPECT_EQ(weird->find("\r\nX:"), std::string::npos);
  EXPECT_FALSE(make_error_response("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", 400, "x"));
  EXPECT_FALSE(make_error_response("INVITE sip:x@y SIP/2.0\r\nFrom: <sip:a@b>\r\n\r\n", 400, "x"));
  EXPECT_FALSE(make_error_response("", 400, "x"));
}

struct bad_case {
  const char* name;
  std::string bytes;
  errc code;
  const char* reason;
};

TEST(sip_message, errors_name_the_problem) {
  const std::string ok_tail = "Content-Length: 0\r\n\r\n";
  const std::string via = "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n";
  const std::string from = "From: <sip:a@b>;tag=1\r\n";
  const std::string to = "To: <sip:x@y>\r\n";
  const std::string cid = "Call-ID: e1\r\n";
  const std::string cseq = "CSeq: 1 OPTIONS\r\n";
  const std::string rl = "OPTIONS sip:x@y SIP/2.0\r\n";
  std::vector<bad_case> cases{
      {"no via", rl + from + to + cid + cseq + ok_tail, errc::missing_header, "Missing Via header"},
      {"no from", rl + via + to + cid + cseq + ok_tail, errc::missing_header, "Missing From header"},
      {"no to", rl + via + from + cid + cseq + ok_tail, errc::missing_header, "Missing To header"},
      {"no call-id", rl + via + from + to + cseq + ok_tail, errc::missing_header, "Missing Call-ID header"},
      {"no cseq", rl + via + from + to + cid + ok_tail, errc::missing_header, "Missing CSeq header"},
      {"bad cseq", rl + via + from + to + cid + "CSeq: abc OPTIONS\r\n" + ok_tail, errc::bad_header,
       "Malformed CSeq header"},
      {"cseq mismatch", rl + via + from + to + cid + "CSeq: 1 INVITE\r\n" + ok_tail, errc::bad_header,
       "CSeq method does not match request method"},
      {"version", "OPTIONS sip:x@y SIP/3.0\r\n" + via + from + to + cid + cseq + ok_tail,
       errc::unsupported, "Unsupported SIP version"},
      {"short body", rl + via + from + to + cid + cseq + "Content-Length: 10\r\n\r\nabc",
       errc::bad_header, "Bad Content-Length"},
      {"garbage", "hello\r\n\r\n", errc::parse_error, nullptr},
      {"empty", "", errc::parse_error, "Empty message"},
  };
  for (const auto& c : cases) {
    auto r = message::parse(c.bytes);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.err().code, c.code) << c.name << ": " << r.err().reason;
    if (c.reason != nullptr) {
      EXPECT_EQ(r.err().reason, c.reason) << c.name;
    }
  }
}

TEST(sip_message, ids_are_unique_and_shaped) {
  id_generator a(7), b(7), c(8);
  auto x = a.branch();
  EXPECT_EQ(x, b.branch());
  EXPECT_NE(x, c.branch());
  EXPECT_NE(a.branch(), x);
  auto t = a.tag();
  EXPECT_GE(t.size(), 8u);
  for (char ch : t) EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '2' && ch <= '7'));
}
