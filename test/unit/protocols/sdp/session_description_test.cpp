// parse_sdp on real-world bodies, its errors, static payload types, and build_sdp.

#include "protocols/sdp/session_description.hpp"

#include "sdp_samples.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::sdp;

namespace {

session_description parse_ok(const std::string& body) {
  auto r = parse_sdp(body);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason) << "\n" << body;
  return r.ok() ? *r : session_description{};
}

std::string lf_only(std::string s) {
  std::string out;
  for (char c : s)
    if (c != '\r') out.push_back(c);
  return out;
}

/// Replaces the first occurrence of `from` with `to`.
std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

} // namespace

TEST(session_description, sipp_uac_pcap_offer) {
  auto sd = parse_ok(samples::sipp_uac_pcap);
  EXPECT_EQ(sd.origin_username, "user1");
  EXPECT_EQ(sd.session_id, 53655765u);
  EXPECT_EQ(sd.session_version, 2353687637u);
  EXPECT_EQ(sd.origin_address, "127.0.0.1");
  EXPECT_EQ(sd.connection_address, "127.0.0.1");
  ASSERT_EQ(sd.media.size(), 1u);
  const auto& m = sd.media[0];
  EXPECT_EQ(m.type, "audio");
  EXPECT_EQ(m.port, 6000);
  EXPECT_EQ(m.port_count, 1);
  EXPECT_EQ(m.proto, "RTP/AVP");
  ASSERT_EQ(m.codecs.size(), 2u);
  EXPECT_EQ(m.codecs[0], (codec{8, "PCMA", 8000, 1, ""}));
  EXPECT_EQ(m.codecs[1], (codec{101, "telephone-event", 8000, 1, "0-11,16"}));
  EXPECT_EQ(m.dir, direction::sendrecv);
  EXPECT_EQ(m.connection_address, "127.0.0.1");
  EXPECT_FALSE(m.ipv6);
  EXPECT_FALSE(m.rtcp_port);
  EXPECT_FALSE(m.rtcp_mux);
  EXPECT_EQ(m.ptime, 0u);
  EXPECT_TRUE(m.formats.empty());
}

TEST(session_description, sipp_body_with_trailing_blank_line_and_lf_only) {
  auto sd = parse_ok(lf_only(samples::sipp_uac_pcap) + "\n");
  ASSERT_EQ(sd.media.size(), 1u);
  EXPECT_EQ(sd.media[0].codecs.size(), 2u);
}

TEST(session_description, baresip_offer) {
  auto sd = parse_ok(samples::baresip_offer);
  EXPECT_EQ(sd.origin_username, "-");
  ASSERT_EQ(sd.media.size(), 1u);
  const auto& m = sd.media[0];
  ASSERT_EQ(m.codecs.size(), 5u);
  EXPECT_EQ(m.codecs[0], (codec{96, "opus", 48000, 2, "stereo=1;sprop-stereo=1"}));
  EXPECT_EQ(m.codecs[1], (codec{0, "PCMU", 8000, 1, ""}));
  EXPECT_EQ(m.codecs[2], (codec{8, "PCMA", 8000, 1, ""}));
  EXPECT_EQ(m.codecs[3], (codec{101, "telephone-event", 48000, 1, "0-15"}));
  EXPECT_EQ(m.codecs[4], (codec{102, "telephone-event", 8000, 1, "0-15"}));
  EXPECT_EQ(m.ptime, 20u);
  EXPECT_EQ(m.dir, direction::sendrecv);
}

TEST(session_description, webrtc_offer_other_rtp_profile) {
  // sofia leaves UDP/TLS/RTP/SAVPF formats as text: the codecs come out all the same.
  auto sd = parse_ok(samples::webrtc_offer);
  EXPECT_EQ(sd.session_id, 4611731400430051336u);
  EXPECT_EQ(sd.connection_address, "");
  ASSERT_EQ(sd.media.size(), 1u);
  const auto& m = sd.media[0];
  EXPECT_EQ(m.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(m.connection_address, "203.0.113.7");
  ASSERT_EQ(m.codecs.size(), 6u);
  EXPECT_EQ(m.codecs[0], (codec{111, "opus", 48000, 2, "minptime=10;useinbandfec=1"}));
  EXPECT_EQ(m.codecs[1], (codec{63, "red", 48000, 2, "111/111"}));
  EXPECT_EQ(m.codecs[2], (codec{9, "G722", 8000, 1, ""}));
  EXPECT_EQ(m.codecs[5], (codec{110, "telephone-event", 48000, 1, ""}));
  ASSERT_TRUE(m.rtcp_port);
  EXPECT_EQ(*m.rtcp_port, 9);
  EXPECT_EQ(m.rtcp_address, "0.0.0.0");
  EXPECT_TRUE(m.rtcp_mux);
  EXPECT_EQ(m.dir, direction::sendrecv);
  EXPECT_TRUE(m.formats.empty());
}

TEST(session_description, static_payload_types_without_rtpmap) {
  auto sd = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0 8 9 18 3 13 10 96\r\n");
  const auto& c = sd.media.at(0).codecs;
  ASSERT_EQ(c.size(), 8u);
  EXPECT_EQ(c[0], (codec{0, "PCMU", 8000, 1, ""}));
  EXPECT_EQ(c[1], (codec{8, "PCMA", 8000, 1, ""}));
  // RFC 3551 §4.5.2: G.722's RTP clock rate is 8000 although it samples at 16 kHz.
  EXPECT_EQ(c[2], (codec{9, "G722", 8000, 1, ""}));
  EXPECT_EQ(c[3], (codec{18, "G729", 8000, 1, ""}));
  EXPECT_EQ(c[4], (codec{3, "GSM", 8000, 1, ""}));
  EXPECT_EQ(c[5], (codec{13, "CN", 8000, 1, ""}));
  EXPECT_EQ(c[6], (codec{10, "L16", 44100, 2, ""}));
  // A dynamic type without a=rtpmap: nothing known.
  EXPECT_EQ(c[7], (codec{96, "", 0, 1, ""}));
}

TEST(session_description, static_codec_table) {
  EXPECT_EQ(static_codec(0), (codec{0, "PCMU", 8000, 1, ""}));
  EXPECT_EQ(static_codec(9), (codec{9, "G722", 8000, 1, ""}));
  EXPECT_EQ(static_codec(18), (codec{18, "G729", 8000, 1, ""}));
  EXPECT_FALSE(static_codec(96));
  EXPECT_FALSE(static_codec(20));
  EXPECT_FALSE(static_codec(200));
}

TEST(session_description, ipv6_and_rtcp_with_address) {
  auto sd = parse_ok(samples::ipv6_rtcp);
  EXPECT_EQ(sd.origin_address, "::1");
  EXPECT_EQ(sd.connection_address, "::1");
  const auto& m = sd.media.at(0);
  EXPECT_TRUE(m.ipv6);
  EXPECT_EQ(m.connection_address, "::1");
  ASSERT_TRUE(m.rtcp_port);
  EXPECT_EQ(*m.rtcp_port, 7079);
  EXPECT_EQ(m.rtcp_address, "::1");
}

TEST(session_description, rtcp_port_only) {
  auto sd = parse_ok(replace(samples::sipp_uac_pcap, "a=fmtp:101 0-11,16\r\n",
                             "a=fmtp:101 0-11,16\r\na=rtcp:6001\r\n"));
  ASSERT_TRUE(sd.media.at(0).rtcp_port);
  EXPECT_EQ(*sd.media[0].rtcp_port, 6001);
  EXPECT_EQ(sd.media[0].rtcp_address, "");
}

TEST(session_description, session_level_vs_media_level_connection) {
  auto sd = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\n"
      "m=audio 4002 RTP/AVP 0\r\nc=IN IP6 2001:db8::2\r\n"
      "m=video 4004 RTP/AVP 31\r\nc=IN IP4 224.2.1.1/127\r\n");
  ASSERT_EQ(sd.media.size(), 3u);
  EXPECT_EQ(sd.media[0].connection_address, "10.0.0.1");
  EXPECT_FALSE(sd.media[0].ipv6);
  EXPECT_EQ(sd.media[1].connection_address, "2001:db8::2");
  EXPECT_TRUE(sd.media[1].ipv6);
  EXPECT_EQ(sd.media[2].connection_address, "224.2.1.1");  // TTL cut off
}

TEST(session_description, media_level_direction_overrides_session_level) {
  auto sd = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendonly\r\n"
      "m=audio 4000 RTP/AVP 0\r\n"
      "m=audio 4002 RTP/AVP 0\r\na=recvonly\r\n"
      "m=audio 4004 RTP/AVP 0\r\na=inactive\r\n"
      "m=audio 4006 RTP/AVP 0\r\na=sendrecv\r\n");
  ASSERT_EQ(sd.media.size(), 4u);
  EXPECT_EQ(sd.media[0].dir, direction::sendonly);
  EXPECT_EQ(sd.media[1].dir, direction::recvonly);
  EXPECT_EQ(sd.media[2].dir, direction::inactive);
  EXPECT_EQ(sd.media[3].dir, direction::sendrecv);
}

TEST(session_description, rfc2543_hold_address_reported_as_is) {
  auto sd = parse_ok(replace(samples::sipp_uac_pcap, "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0"));
  EXPECT_EQ(sd.media.at(0).connection_address, "0.0.0.0");
  EXPECT_EQ(sd.media[0].dir, direction::sendrecv);  // not turned into sendonly
}

TEST(session_description, disabled_video_stream) {
  auto sd = parse_ok(samples::audio_video_disabled);
  ASSERT_EQ(sd.media.size(), 2u);
  EXPECT_EQ(sd.media[0].port, 49170);
  EXPECT_EQ(sd.media[0].codecs.size(), 3u);
  EXPECT_EQ(sd.media[0].codecs[2], (codec{97, "iLBC", 8000, 1, ""}));
  EXPECT_EQ(sd.media[1].type, "video");
  EXPECT_EQ(sd.media[1].port, 0);
  EXPECT_EQ(sd.media[1].dir, direction::inactive);
  EXPECT_EQ(sd.media[1].codecs.size(), 2u);
}

TEST(session_description, rejected_stream_needs_no_connection) {
  auto sd = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.1\r\n"
      "m=video 0 RTP/AVP 31\r\n");
  EXPECT_EQ(sd.media.at(1).connection_address, "");
}

TEST(session_description, port_count_ptime_and_non_rtp_formats) {
  auto sd = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
      "m=audio 4000/2 RTP/AVP 0\r\na=ptime:30\r\n"
      "m=image 4002 udptl t38\r\na=T38FaxVersion:0\r\n");
  ASSERT_EQ(sd.media.size(), 2u);
  EXPECT_EQ(sd.media[0].port_count, 2);
  EXPECT_EQ(sd.media[0].ptime, 30u);
  EXPECT_EQ(sd.media[1].type, "image");
  EXPECT_EQ(sd.media[1].proto, "udptl");
  EXPECT_TRUE(sd.media[1].codecs.empty());
  EXPECT_EQ(sd.media[1].formats, std::vector<std::string>{"t38"});
}

TEST(session_description, unreadable_ptime_is_ignored) {
  auto sd = parse_ok(samples::sipp_uac_pcap + "a=ptime:twenty\r\n");
  EXPECT_EQ(sd.media.at(0).ptime, 0u);
}

struct bad_case {
  std::string body;
  std::string reason;  // expected substring
};

TEST(session_description, errors_name_what_is_wrong) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
  const std::vector<bad_case> cases = {
      {"", "missing v= line"},
      {"hello world", "missing v= line"},
      {"\r\nv=0\r\n", "missing v= line"},
      {"o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n", "missing v= line"},
      {"v=1\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n", "unsupported SDP version"},
      {"v=0\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "missing o= line"},
      {head, "missing m= line"},
      {head + "m=audio 70000 RTP/AVP 0\r\n", "bad port in m= line 1"},
      {head + "m=audio 4000 RTP/AVP 0\r\nm=audio 99999999999 RTP/AVP 0\r\n", "bad port in m= line 2"},
      {head + "m=audio 4000/70000 RTP/AVP 0\r\n", "bad port count in m= line 1"},
      {head + "m=audio x RTP/AVP 0\r\n", "bad port in m= line 1"},
      {head + "m=audio 4000/x RTP/AVP 0\r\n", "bad port count in m= line 1"},
      {head + "m=au:dio 4000 RTP/AVP 0\r\n", "malformed m= line 1"},
      {head + "m=audio 4000 RTP/AVP:x 0\r\n", "bad transport in m= line 1"},
      {head + "m=audio 4000/0 /RTP/AVP 0\r\n", "bad transport in m= line 1"},
      {head + "m=audio 4000 RTP//AVP 0\r\n", "bad transport in m= line 1"},
      // sofia 1.12.11 would loop forever allocating on these two.
      {head + "m=image 4000 udptl t38 :x\r\n", "bad format in m= line 1"},
      {head + "m=audio 4000 RTP/AVP 0\r\nm=image 5x /udptl t38\r\n", "bad port in m= line 2"},
      {head + "m=audio 4000 RTP/AVP\r\n", "no formats in m= line 1"},
      {head + "m=audio 4000 RTP/AVP 200\r\n", "bad SDP: "},
      {head + "m=audio 4000 RTP/SAVPF 0 abc\r\n", "bad payload type in m= line 1"},
      {head + "m=audio 4000 RTP/SAVPF 96\r\na=rtpmap:96 opus\r\n", "bad a=rtpmap in m= line 1"},
      {head + "m=audio 4000 RTP/AVP 0\r\na=rtcp:abc\r\n", "bad a=rtcp in m= line 1"},
      {head + "m=audio 4000 RTP/AVP 0\r\na=rtcp:70000\r\n", "bad a=rtcp in m= line 1"},
      {head + "m=audio 4000 RTP/AVP 0\r\na=rtcp:5 IN IP4\r\n", "bad a=rtcp in m= line 1"},
      {"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
       "no connection address for m= line 1"},
      {head + "x=foo\r\nm=audio 4000 RTP/AVP 0\r\n", "unknown line type 'x' (line 6)"},
      {head + "m=audio 4000 RTP/AVP 0\r\nt=0 0\r\n", "t= line inside a media description (line 7)"},
      {head + "o=- 1 1 IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n", "more than one o= line"},
      {head + "v=0\r\nm=audio 4000 RTP/AVP 0\r\n", "more than one v= line"},
      {head + "m=audio 4000 RTP/AVP 0\r\nx\r\n", "malformed line 7"},
      {head + "m=audio 4000 RTP/AVP 0\r\n a=sendonly\r\n", "malformed line 7"},
      {head + "m=audio 4000 RTP/AVP 0\r\nc=XX IP4 1.2.3.4\r\n", "bad SDP: "},
      {"v=0\r\no=- 1 1 IN IP4 10.0.0.1/3\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n",
       "bad o= line"},
      {std::string("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\n") + '\0' + "m=audio 4 RTP/AVP 0\r\n",
       "NUL byte in SDP"},
      {head + "m=audio 4000 RTP/AVP 0\r\na=x\x01\xff\r\nq=\x7f\r\n", "unknown line type 'q'"},
  };
  for (const auto& c : cases) {
    auto r = parse_sdp(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.err().code, errc::parse_error) << c.body;
    EXPECT_NE(r.err().reason.find(c.reason), std::string::npos)
        << "got '" << r.err().reason << "' for:\n" << c.body;
    // The reason may become a SIP reason phrase: printable ASCII, one line.
    for (char ch : r.err().reason) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << r.err().reason;
  }
}

TEST(session_description, sofia_errors_are_sanitized) {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n";
  auto r = parse_sdp(head + "m=audio 4000 RTP/AVP 0\r\nc=IN IPX \x01\xfe\r\n");
  ASSERT_FALSE(r.ok());
  for (char ch : r.err().reason) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << r.err().reason;
  EXPECT_LT(r.err().reason.size(), 120u);
}

TEST(session_description, too_large) {
  std::string body = samples::sipp_uac_pcap;
  while (body.size() <= 65535) body += "a=x-pad:0123456789012345678901234567890123456789\r\n";
  auto r = parse_sdp(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::too_large);
}

TEST(session_description, direction_names) {
  EXPECT_STREQ(to_string(direction::sendrecv), "sendrecv");
  EXPECT_STREQ(to_string(direction::sendonly), "sendonly");
  EXPECT_STREQ(to_string(direction::recvonly), "recvonly");
  EXPECT_STREQ(to_string(direction::inactive), "inactive");
}

TEST(session_description, build_prints_a_complete_sdp) {
  session_description sd;
  sd.origin_username = "centralita";
  sd.session_id = 42;
  sd.session_version = 7;
  sd.origin_address = "192.0.2.1";
  sd.connection_address = "192.0.2.1";
  media_description m;
  m.type = "audio";
  m.port = 30000;
  m.proto = "RTP/AVP";
  m.codecs = {{0, "PCMU", 8000, 1, ""}, {96, "opus", 48000, 2, "useinbandfec=1"},
              {101, "telephone-event", 8000, 1, "0-16"}};
  m.connection_address = "192.0.2.1";
  m.rtcp_port = 30001;
  m.ptime = 20;
  m.dir = direction::sendonly;
  sd.media.push_back(m);
  media_description v;
  v.type = "video";
  v.port = 0;
  v.proto = "RTP/AVP";
  v.codecs = {{31, "H261", 90000, 1, ""}};
  v.connection_address = "2001:db8::7";
  v.ipv6 = true;
  v.dir = direction::inactive;
  sd.media.push_back(v);

  EXPECT_EQ(build_sdp(sd),
            "v=0\r\n"
            "o=centralita 42 7 IN IP4 192.0.2.1\r\n"
            "s=-\r\n"
            "c=IN IP4 192.0.2.1\r\n"
            "t=0 0\r\n"
            "m=audio 30000 RTP/AVP 0 96 101\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:96 opus/48000/2\r\n"
            "a=fmtp:96 useinbandfec=1\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n"
            "a=fmtp:101 0-16\r\n"
            "a=ptime:20\r\n"
            "a=rtcp:30001\r\n"
            "a=sendonly\r\n"
            "m=video 0 RTP/AVP 31\r\n"
            "c=IN IP6 2001:db8::7\r\n"
            "a=rtpmap:31 H261/90000\r\n"
            "a=inactive\r\n");
  EXPECT_EQ(parse_ok(build_sdp(sd)), sd);
}

TEST(session_description, build_drops_line_breaks_from_values) {
  session_description sd;
  sd.origin_address = "192.0.2.1";
  sd.connection_address = "192.0.2.1\r\na=evil";
  media_description m;
  m.type = "audio";
  m.port = 4000;
  m.proto = "RTP/AVP";
  m.codecs = {{0, "PCMU", 8000, 1, "x\ny"}};
  sd.media.push_back(m);
  auto text = build_sdp(sd);
  EXPECT_EQ(text.find("\r\na=evil"), std::string::npos);
  EXPECT_NE(text.find("a=fmtp:0 xy\r\n"), std::string::npos);
}
