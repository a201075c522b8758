// The B2BUA leg's dialog (RFC 3261 §12): UAS and UAC sides, in-dialog
// requests, CSeq checks and target refresh, responses that make a dialog.
#include "protocols/sip/dialog/dialog.hpp"

#include <gtest/gtest.h>

using namespace centralita::sip;
using namespace centralita::sip::dialog;

namespace {

message parse(std::string text) {
  auto m = message::parse(text);
  EXPECT_TRUE(m) << (m ? "" : m.err().reason);
  return std::move(m.value());
}

const char* invite_text =
  "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"
  "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
  "Record-Route: <sip:p2.example.com;lr>\r\n"
  "Record-Route: <sip:p1.example.com;lr>\r\n"
  "From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"
  "To: <sip:bob@example.com>\r\n"
  "Call-ID: call-1\r\n"
  "CSeq: 10 INVITE\r\n"
  "Contact: <sip:alice@127.0.0.1:5070>\r\n"
  "Max-Forwards: 70\r\n"
  "Content-Length: 0\r\n\r\n";

via_params our_via(std::string branch) {
  via_params v;
  v.host = "127.0.0.1";
  v.port = 5060;
  v.branch = std::move(branch);
  return v;
}

} // namespace

TEST(dialog, uas_side_from_the_invite) {
  auto inv = parse(invite_text);
  auto d = uas_dialog(inv, "b2b", "sip:centralita@127.0.0.1:5060");
  ASSERT_TRUE(d) << d.err().reason;
  EXPECT_EQ(d->call_id, "call-1");
  EXPECT_EQ(d->remote_tag, "a1");
  EXPECT_EQ(d->remote_display, "Alice");
  EXPECT_EQ(d->remote_target, "sip:alice@127.0.0.1:5070");
  EXPECT_EQ(d->local_tag, "b2b");
  ASSERT_EQ(d->route_set.size(), 2u);  // §12.1.1: in order
  EXPECT_NE(d->route_set[0].find("p2"), std::string::npos);
  EXPECT_EQ(*d->remote_cseq, 10u);

  // A BYE from us goes to the remote target through the route set.
  auto bye = make_request(*d, "BYE", our_via("z9hG4bK-bye"), {}, {}, {{"Reason", "SIP;cause=200"}});
  ASSERT_TRUE(bye) << bye.err().reason;
  EXPECT_EQ(bye->request_uri(), "sip:alice@127.0.0.1:5070");
  EXPECT_EQ(bye->from().tag, "b2b");
  EXPECT_EQ(bye->to().tag, "a1");
  EXPECT_EQ(bye->cseq(), 1u);
  ASSERT_EQ(bye->routes().size(), 2u);
  EXPECT_EQ(bye->header("Reason").value_or(""), "SIP;cause=200");
  EXPECT_FALSE(bye->contact());
  // The next one counts on; a re-INVITE carries our Contact and its body.
  auto re = make_request(*d, "INVITE", our_via("z9hG4bK-re"), "application/sdp", "v=0\r\n");
  ASSERT_TRUE(re);
  EXPECT_EQ(re->cseq(), 2u);
  ASSERT_TRUE(re->contact());
  EXPECT_EQ(re->contact()->uri, "sip:centralita@127.0.0.1:5060");
  EXPECT_EQ(re->body(), "v=0\r\n");
}

TEST(dialog, a_uas_needs_a_from_tag_and_a_contact) {
  std::string t = invite_text;
  auto no_tag = t;
  no_tag.replace(no_tag.find(";tag=a1"), 7, "");
  EXPECT_FALSE(uas_dialog(parse(no_tag), "x", "sip:x@h"));
  auto no_contact = t;
  no_contact.erase(no_contact.find("Contact:"), std::string("Contact: <sip:alice@127.0.0.1:5070>\r\n").size());
  EXPECT_FALSE(uas_dialog(parse(no_contact), "x", "sip:x@h"));
}

TEST(dialog, cseq_order_and_target_refresh) {
  auto d = uas_dialog(parse(invite_text), "b2b", "sip:c@127.0.0.1");
  ASSERT_TRUE(d);
  auto req = [](uint32_t cseq, const char* method, const char* contact) {
    std::string t = std::string(method) + " sip:c@127.0.0.1 SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-" + std::to_string(cseq) + "\r\n"
                    "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>;tag=b2b\r\n"
                    "Call-ID: call-1\r\nCSeq: " + std::to_string(cseq) + " " + method + "\r\n";
    if (contact)
      t += std::string("Contact: <") + contact + ">\r\n";
    t += "Content-Length: 0\r\n\r\n";
    return parse(t);
  };
  EXPECT_EQ(accept_request(*d, req(11, "INFO", nullptr)), request_check::ok);
  EXPECT_EQ(accept_request(*d, req(9, "INFO", nullptr)), request_check::cseq_too_low);
  EXPECT_EQ(accept_request(*d, req(12, "INVITE", "sip:alice@10.0.0.9:5080")), request_check::ok);
  EXPECT_EQ(d->remote_target, "sip:alice@10.0.0.9:5080");  // a re-INVITE refreshes the target
  EXPECT_EQ(accept_request(*d, req(12, "ACK", nullptr)), request_check::ok);
  EXPECT_EQ(accept_request(*d, req(13, "INFO", "sip:elsewhere@1.2.3.4")), request_check::ok);
  EXPECT_EQ(d->remote_target, "sip:alice@10.0.0.9:5080");  // INFO refreshes nothing
}

TEST(dialog, uac_side_invite_and_its_dialog) {
  invite_params p;
  p.request_uri = "sip:bob@127.0.0.1:5080";
  p.from_uri = "sip:alice@example.com";
  p.from_display = "Alice";
  p.from_tag = "f1";
  p.to_uri = "sip:bob@example.com";
  p.call_id = "leg-b";
  p.cseq = 1;
  p.contact = "sip:centralita@127.0.0.1:5060";
  p.via = our_via("z9hG4bK-inv");
  p.content_type = "application/sdp";
  p.body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
  p.headers = {{"Supported", "timer"}, {"Session-Expires", "1800"}};
  auto inv = make_invite(p);
  ASSERT_TRUE(inv) << inv.err().reason;
  EXPECT_EQ(inv->request_uri(), p.request_uri);
  EXPECT_EQ(inv->from().tag, "f1");
  EXPECT_TRUE(inv->to().tag.empty());
  EXPECT_EQ(inv->body(), p.body);
  EXPECT_EQ(inv->header("Session-Expires").value_or(""), "1800");

  auto ok = parse("SIP/2.0 200 OK\r\n"
                  "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-inv\r\n"
                  "Record-Route: <sip:near-callee;lr>\r\n"
                  "Record-Route: <sip:near-us;lr>\r\n"
                  "From: \"Alice\" <sip:alice@example.com>;tag=f1\r\n"
                  "To: <sip:bob@example.com>;tag=t9\r\n"
                  "Call-ID: leg-b\r\nCSeq: 1 INVITE\r\n"
                  "Contact: <sip:bob@127.0.0.1:5081>\r\nContent-Length: 0\r\n\r\n");
  auto d = uac_dialog(p, ok);
  ASSERT_TRUE(d) << d.err().reason;
  EXPECT_TRUE(d->confirmed);
  EXPECT_EQ(d->remote_tag, "t9");
  EXPECT_EQ(d->remote_target, "sip:bob@127.0.0.1:5081");
  ASSERT_EQ(d->route_set.size(), 2u);  // §12.1.2: reversed
  EXPECT_NE(d->route_set[0].find("near-us"), std::string::npos);
  // The ACK of the 2xx reuses the INVITE's CSeq number (§13.2.2.4).
  auto ack = make_request(*d, "ACK", our_via("z9hG4bK-ack"), {}, {}, {}, 1u);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->cseq(), 1u);
  EXPECT_EQ(ack->request_uri(), "sip:bob@127.0.0.1:5081");
  auto bye = make_request(*d, "BYE", our_via("z9hG4bK-bye"));
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->cseq(), 2u);
}

TEST(dialog, invite_fields_are_checked) {
  invite_params p;
  p.request_uri = "tel:+123";
  p.from_uri = "sip:a@h";
  p.to_uri = "sip:b@h";
  p.from_tag = "t";
  p.call_id = "c";
  p.via = our_via("z9hG4bK-x");
  EXPECT_FALSE(make_invite(p));  // not a SIP URI
  p.request_uri = "sip:b@h";
  p.call_id = "c\r\nX: y";
  EXPECT_FALSE(make_invite(p));
  p.call_id = "c";
  p.headers = {{"Bad:Name", "v"}};
  EXPECT_FALSE(make_invite(p));
}

TEST(dialog, uas_responses_carry_tag_contact_record_route_and_body) {
  auto inv = parse(invite_text);
  auto r = make_uas_response(inv, 200, {}, "b2b", "sip:c@127.0.0.1:5060", "application/sdp", "v=0\r\n");
  ASSERT_TRUE(r) << r.err().reason;
  EXPECT_EQ(r->status(), 200);
  EXPECT_EQ(r->to().tag, "b2b");
  ASSERT_TRUE(r->contact());
  EXPECT_EQ(r->contact()->uri, "sip:c@127.0.0.1:5060");
  EXPECT_EQ(r->record_routes().size(), 2u);
  EXPECT_EQ(r->body(), "v=0\r\n");
  auto trying = make_uas_response(inv, 100, {}, "b2b", "sip:c@127.0.0.1:5060");
  ASSERT_TRUE(trying);
  EXPECT_TRUE(trying->to().tag.empty());  // §8.2.6.1: no tag on 100
  EXPECT_FALSE(trying->contact());
  auto busy = make_uas_response(inv, 486, {}, "b2b", "sip:c@127.0.0.1:5060");
  ASSERT_TRUE(busy);
  EXPECT_FALSE(busy->contact());
  EXPECT_EQ(busy->to().tag, "b2b");
}

TEST(dialog, carries_sdp_by_media_type_and_body) {
  auto with = [](std::string_view content_type, std::string_view body) {
    std::string text = "INVITE sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\n"
                       "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c\r\n"
                       "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n";
    if (!content_type.empty())
      text += "Content-Type: " + std::string(content_type) + "\r\n";
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
    return carries_sdp(parse(text));
  };
  EXPECT_TRUE(with("application/sdp", "v=0\r\n"));
  EXPECT_TRUE(with("Application/SDP ; charset=utf-8", "v=0\r\n"));
  EXPECT_FALSE(with("application/sdp", ""));              // no body: no offer
  EXPECT_FALSE(with("", "v=0\r\n"));                      // no Content-Type
  EXPECT_FALSE(with("application/sdpx", "v=0\r\n"));      // another type
  EXPECT_FALSE(with("application/dtmf-relay", "Signal=1\r\nDuration=100\r\n"));
}
