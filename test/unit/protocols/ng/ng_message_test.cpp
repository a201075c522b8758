// ng datagrams: cookie and body, the requests the relay runs (keys, what is
// required per command, transcoding wishes), and the replies' exact bytes.

#include "protocols/ng/ng_message.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace centralita;
using namespace centralita::ng;

namespace {

result<request> req(std::string_view body) {
  auto v = decode_body(body);
  if (!v)
    return v.err();
  return parse_request(*v);
}

std::string why(std::string_view body) {
  auto r = req(body);
  EXPECT_FALSE(r.ok()) << body;
  return r.ok() ? "" : r.err().reason;
}

} // namespace

TEST(ng_message, splits_cookie_and_body) {
  auto p = split_datagram("5323_1 d7:command4:pinge");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->cookie, "5323_1");
  EXPECT_EQ(p->body, "d7:command4:pinge");
  // Only the first space separates: the body may hold spaces.
  auto q = split_datagram("c d3:sdp3:a bee");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->body, "d3:sdp3:a bee");
}

TEST(ng_message, refuses_datagrams_without_a_usable_cookie) {
  EXPECT_EQ(split_datagram("d7:command4:pinge").err().reason, "ng: no space after the cookie");
  EXPECT_EQ(split_datagram(" d7:command4:pinge").err().reason, "ng: empty cookie");
  EXPECT_FALSE(split_datagram(std::string(129, 'c') + " de").ok());
  EXPECT_TRUE(split_datagram(std::string(128, 'c') + " de").ok());
  EXPECT_EQ(split_datagram(std::string("a\nb de")).err().reason,
            "ng: control byte in the cookie at byte 1");
}

TEST(ng_message, body_must_be_a_dictionary) {
  EXPECT_EQ(decode_body("l4:pinge").err().reason, "ng: the message is not a dictionary");
  EXPECT_EQ(decode_body("d7:command").err().reason, "bencode: truncated input at byte 10");
  EXPECT_TRUE(decode_body("d7:command4:pinge").ok());
}

TEST(ng_message, reads_each_command) {
  EXPECT_EQ(req("d7:command4:pinge")->cmd, command::ping);
  EXPECT_EQ(req("d7:command4:liste")->cmd, command::list);
  auto o = req("d7:command5:offer7:call-id3:abc8:from-tag2:ft3:sdp3:v=0"
               "5:flagsl13:trust-addresse7:replacel6:origine3:ICE6:removee");
  ASSERT_TRUE(o.ok()) << o.err().reason;
  EXPECT_EQ(o->cmd, command::offer);
  EXPECT_EQ(o->call_id, "abc");
  EXPECT_EQ(o->from_tag, "ft");
  EXPECT_EQ(o->to_tag, "");
  EXPECT_EQ(o->sdp, "v=0");
  EXPECT_TRUE(o->transcode.empty());

  auto a = req("d7:command6:answer7:call-id3:abc8:from-tag2:ft6:to-tag2:tt3:sdp3:v=0e");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->cmd, command::answer);
  EXPECT_EQ(a->to_tag, "tt");

  auto d = req("d7:command6:delete7:call-id3:abce");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->cmd, command::del);
  EXPECT_EQ(d->from_tag, "");
  EXPECT_EQ(req("d7:command5:query7:call-id3:abce")->cmd, command::query);
}

TEST(ng_message, names_what_is_missing_or_wrong) {
  EXPECT_EQ(why("de"), "missing key 'command'");
  EXPECT_EQ(why("d7:commandi1ee"), "key 'command' is not a string");
  EXPECT_EQ(why("d7:command7:destroye"), "unknown command 'destroy'");
  EXPECT_EQ(req("d7:command7:destroye").err().code, errc::unsupported);
  EXPECT_EQ(why("d7:command6:delete8:from-tag1:ae"), "missing key 'call-id'");
  EXPECT_EQ(why("d7:command5:offer7:call-id1:c3:sdp3:v=0e"), "missing key 'from-tag'");
  EXPECT_EQ(why("d7:command5:offer7:call-id1:c8:from-tag1:fe"), "missing key 'sdp'");
  EXPECT_EQ(why("d7:command5:offer7:call-id1:c8:from-tag1:f3:sdpi0ee"), "key 'sdp' is not a string");
  EXPECT_EQ(why("d7:command5:offer7:call-id0:8:from-tag1:f3:sdp1:xe"), "empty key 'call-id'");
  EXPECT_EQ(why("d7:command6:answer7:call-id1:c8:from-tag1:f3:sdp1:xe"), "missing key 'to-tag'");
  // An unprintable command name is shown safely, and shortened.
  EXPECT_EQ(why("d7:command3:a\nbe"), "unknown command 'a?b'");
  EXPECT_EQ(why("d7:command40:" + std::string(40, 'x') + "e"),
            "unknown command '" + std::string(32, 'x') + "'");
}

TEST(ng_message, reads_transcoding_wishes) {
  auto o = req("d7:command5:offer7:call-id1:c8:from-tag1:f3:sdp1:x"
               "5:codecd4:maskl4:opuse9:transcodel9:PCMA/80004:PCMUee"
               "5:flagsl14:transcode-opus14:transcode-PCMA7:SIP-srcee");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->transcode, (std::vector<std::string>{"PCMA", "PCMU", "opus"}));
  EXPECT_EQ(o->mask, (std::vector<std::string>{"opus"}));
}

TEST(ng_message, builds_replies_result_first) {
  EXPECT_EQ(build_reply("ck", ok_reply()), "ck d6:result2:oke");
  EXPECT_EQ(build_reply("ck", error_reply("unknown call-id")),
            "ck d6:result5:error12:error-reason15:unknown call-ide");
  auto r = ok_reply();
  r.set("sdp", "v=0\r\n");
  EXPECT_EQ(build_reply("1_2", r), "1_2 d6:result2:ok3:sdp5:v=0\r\ne");
}

TEST(ng_message, command_names_round_trip) {
  for (auto c : {command::ping, command::offer, command::answer, command::del, command::query,
                 command::list}) {
    auto body = std::string("d7:command") + std::to_string(std::string(to_string(c)).size()) + ":"
                + to_string(c) + "7:call-id1:c8:from-tag1:f6:to-tag1:t3:sdp1:xe";
    auto r = req(body);
    ASSERT_TRUE(r.ok()) << body;
    EXPECT_EQ(r->cmd, c);
  }
}
