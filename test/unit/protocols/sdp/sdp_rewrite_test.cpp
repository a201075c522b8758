// rewrite_sdp: addresses and ports to the relay's, codec filtering and adding,
// direction, o= version, and everything else passing through byte for byte.

#include "protocols/sdp/sdp_rewrite.hpp"

#include "protocols/sdp/sdp_document.hpp"
#include "sdp_samples.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::sdp;

namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t eol = s.find_first_of("\r\n", pos);
    if (eol == std::string::npos) eol = s.size();
    if (eol > pos) out.push_back(s.substr(pos, eol - pos));
    pos = eol;
    while (pos < s.size() && (s[pos] == '\r' || s[pos] == '\n')) ++pos;
  }
  return out;
}

bool has_line(const std::string& sdp, const std::string& line) {
  for (const auto& l : lines_of(sdp))
    if (l == line) return true;
  return false;
}

bool has_prefix_line(const std::string& sdp, const std::string& prefix) {
  for (const auto& l : lines_of(sdp))
    if (l.rfind(prefix, 0) == 0) return true;
  return false;
}

/// Every "\n" is preceded by "\r", and the text ends with CRLF.
bool crlf_only(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
  }
  return s.size() >= 2 && s.substr(s.size() - 2) == "\r\n";
}

sdp_rewrite relay(std::string address = "10.0.0.1", uint16_t port = 30000) {
  sdp_rewrite r;
  r.connection_address = std::move(address);
  media_rewrite m;
  m.port = port;
  m.rtcp_port = static_cast<uint16_t>(port + 1);
  r.media.push_back(m);
  return r;
}

std::string rewrite_ok(const std::string& body, const sdp_rewrite& r) {
  auto out = rewrite_sdp(body, r);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.err().reason);
  if (!out.ok()) return {};
  EXPECT_TRUE(crlf_only(*out)) << *out;
  EXPECT_TRUE(parse_sdp(*out).ok()) << *out;
  return *out;
}

session_description reparse(const std::string& s) {
  auto r = parse_sdp(s);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason) << "\n" << s;
  return r.ok() ? *r : session_description{};
}

} // namespace

TEST(sdp_rewrite, sipp_offer_to_relay_exact_text) {
  auto r = relay();
  r.session_version = 2353687638u;  // RFC 3264 §8: one more than before
  EXPECT_EQ(rewrite_ok(samples::sipp_uac_pcap, r),
            "v=0\r\n"
            "o=user1 53655765 2353687638 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "c=IN IP4 10.0.0.1\r\n"
            "t=0 0\r\n"
            "m=audio 30000 RTP/AVP 8 101\r\n"
            "a=rtpmap:8 PCMA/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n"
            "a=fmtp:101 0-11,16\r\n"
            "a=sendrecv\r\n"
            "a=rtcp:30001 IN IP4 10.0.0.1\r\n");
}

TEST(sdp_rewrite, origin_fields_and_version_bump) {
  sdp_rewrite r = relay();
  r.origin_username = "centralita";
  r.session_id = 77;
  r.session_version = 1612358426u;
  r.origin_address = "2001:db8::1";
  auto out = rewrite_ok(samples::baresip_offer, r);
  EXPECT_TRUE(has_line(out, "o=centralita 77 1612358426 IN IP6 2001:db8::1")) << out;
  auto sd = reparse(out);
  EXPECT_EQ(sd.session_version, 1612358426u);
  // Nothing asked: o= untouched.
  auto same = rewrite_ok(samples::baresip_offer, sdp_rewrite{});
  EXPECT_TRUE(has_line(same, "o=- 1612358424 1612358425 IN IP4 192.168.1.20")) << same;
}

TEST(sdp_rewrite, unknown_attributes_survive_byte_for_byte) {
  auto out = rewrite_ok(samples::baresip_offer, relay());
  for (const char* line : {"b=AS:512", "b=TIAS:64000", "a=rtcp-rsize", "a=label:1",
                           "a=ssrc:3928834283 cname:1e9f23bc-5ee9-4c5b", "a=mid:audio", "a=ptime:20",
                           "a=fmtp:96 stereo=1;sprop-stereo=1", "a=fmtp:101 0-15",
                           "a=rtpmap:96 opus/48000/2", "a=rtpmap:102 telephone-event/8000", "a=sendrecv"})
    EXPECT_TRUE(has_line(out, line)) << line << "\n" << out;
  EXPECT_TRUE(has_line(out, "m=audio 30000 RTP/AVP 96 0 8 101 102")) << out;
}

TEST(sdp_rewrite, empty_rewrite_keeps_every_line) {
  // With nothing to change every line comes back (sofia may move a=rtpmap/a=fmtp
  // and the direction up within an m= section, nothing else).
  struct sample {
    const std::string* body;
    size_t added;  // a=sendrecv made explicit where the input had no direction
  };
  for (auto [body, added] : {sample{&samples::sipp_uac_pcap, 1}, sample{&samples::baresip_offer, 0},
                             sample{&samples::webrtc_offer, 0}, sample{&samples::audio_video_disabled, 1},
                             sample{&samples::ipv6_rtcp, 1}}) {
    auto out = rewrite_ok(*body, sdp_rewrite{});
    auto in_lines = lines_of(*body);
    EXPECT_EQ(lines_of(out).size(), in_lines.size() + added) << out;
    for (const auto& l : in_lines) EXPECT_TRUE(has_line(out, l)) << l << "\n" << out;
  }
}

TEST(sdp_rewrite, lines_sofia_would_lose_print_as_written) {
  // sofia 1.12.11 would print "b=TIAS:64000" as "b=AS:64000", "k=prompt" as
  // "k=prompt:" and drop media-level i=; the document puts the text back.
  const std::string body =
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\ni=session info\r\nc=IN IP4 10.0.0.1\r\nb=CT:128\r\n"
      "b=X-YZ:5\r\nt=0 0\r\nk=prompt\r\nm=audio 4000 RTP/AVP 0\r\ni=voice\r\nb=RR:0\r\nb=RS:0\r\n"
      "m=video 4002 RTP/AVP 31\r\ni=camera 1\r\nb=as:64\r\nb=TIAS:64000\r\n";
  auto out = rewrite_ok(body, relay());
  for (const char* line : {"i=session info", "b=CT:128", "b=X-YZ:5", "k=prompt", "i=voice", "b=RR:0",
                           "b=RS:0", "i=camera 1", "b=as:64", "b=TIAS:64000"})
    EXPECT_TRUE(has_line(out, line)) << line << "\n" << out;
}

TEST(sdp_rewrite, removed_payload_types_lose_rtpmap_and_fmtp) {
  sdp_rewrite r = relay();
  r.media[0].keep_payload_types = std::vector<uint8_t>{0, 102};
  auto out = rewrite_ok(samples::baresip_offer, r);
  EXPECT_TRUE(has_line(out, "m=audio 30000 RTP/AVP 0 102")) << out;
  EXPECT_FALSE(has_prefix_line(out, "a=rtpmap:96")) << out;
  EXPECT_FALSE(has_prefix_line(out, "a=fmtp:96")) << out;
  EXPECT_FALSE(has_prefix_line(out, "a=rtpmap:101")) << out;
  EXPECT_FALSE(has_prefix_line(out, "a=fmtp:101")) << out;
  EXPECT_FALSE(has_prefix_line(out, "a=rtpmap:8 ")) << out;
  EXPECT_TRUE(has_line(out, "a=rtpmap:0 PCMU/8000")) << out;
  EXPECT_TRUE(has_line(out, "a=rtpmap:102 telephone-event/8000")) << out;
  EXPECT_TRUE(has_line(out, "a=fmtp:102 0-15")) << out;
  auto sd = reparse(out);
  ASSERT_EQ(sd.media.at(0).codecs.size(), 2u);
  EXPECT_EQ(sd.media[0].codecs[1], (codec{102, "telephone-event", 8000, 1, "0-15"}));
}

TEST(sdp_rewrite, keep_order_is_the_callers_and_unknown_types_are_skipped) {
  sdp_rewrite r = relay();
  r.media[0].keep_payload_types = std::vector<uint8_t>{8, 99, 0, 8};
  auto out = rewrite_ok(samples::baresip_offer, r);
  EXPECT_TRUE(has_line(out, "m=audio 30000 RTP/AVP 8 0")) << out;
}

TEST(sdp_rewrite, add_codecs_for_transcoding) {
  sdp_rewrite r = relay();
  r.media[0].keep_payload_types = std::vector<uint8_t>{8};
  r.media[0].add_codecs = {{0, "PCMU", 8000, 1, ""}, {96, "opus", 48000, 2, "useinbandfec=1"},
                           {101, "telephone-event", 8000, 1, "0-16"}};
  auto out = rewrite_ok(samples::sipp_uac_pcap, r);
  EXPECT_TRUE(has_line(out, "m=audio 30000 RTP/AVP 8 0 96 101")) << out;
  EXPECT_TRUE(has_line(out, "a=rtpmap:0 PCMU/8000")) << out;
  EXPECT_TRUE(has_line(out, "a=rtpmap:96 opus/48000/2")) << out;
  EXPECT_TRUE(has_line(out, "a=fmtp:96 useinbandfec=1")) << out;
  EXPECT_TRUE(has_line(out, "a=fmtp:101 0-16")) << out;
  EXPECT_FALSE(has_line(out, "a=fmtp:101 0-11,16")) << out;
  auto sd = reparse(out);
  ASSERT_EQ(sd.media.at(0).codecs.size(), 4u);
  EXPECT_EQ(sd.media[0].codecs[2], (codec{96, "opus", 48000, 2, "useinbandfec=1"}));
}

TEST(sdp_rewrite, codec_edit_errors) {
  {
    sdp_rewrite r = relay();
    r.media[0].add_codecs = {{101, "telephone-event", 8000, 1, ""}};  // 101 is still there
    auto out = rewrite_sdp(samples::sipp_uac_pcap, r);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.err().code, errc::invalid_argument);
    EXPECT_EQ(out.err().reason, "payload type 101 already in m= line 1");
  }
  {
    sdp_rewrite r = relay();
    r.media[0].keep_payload_types = std::vector<uint8_t>{};
    auto out = rewrite_sdp(samples::sipp_uac_pcap, r);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.err().reason, "no format left in m= line 1");
  }
  for (codec bad : {codec{96, "", 8000, 1, ""}, codec{96, "op us", 8000, 1, ""},
                    codec{96, "opus", 0, 1, ""}, codec{96, "opus", 48000, 2, "a\r\nb=x"},
                    codec{200, "opus", 48000, 2, ""}}) {
    sdp_rewrite r = relay();
    r.media[0].add_codecs = {bad};
    auto out = rewrite_sdp(samples::sipp_uac_pcap, r);
    ASSERT_FALSE(out.ok()) << bad.name;
    EXPECT_EQ(out.err().code, errc::invalid_argument);
  }
  {
    sdp_rewrite r = relay();
    r.media[0].keep_payload_types = std::vector<uint8_t>{0};
    auto out = rewrite_sdp(
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=image 4002 udptl t38\r\n", r);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.err().reason, "codec edit on the non-RTP m= line 1");
  }
}

TEST(sdp_rewrite, webrtc_offer_loses_ice_and_keeps_the_rest) {
  sdp_rewrite r = relay();
  r.media[0].keep_payload_types = std::vector<uint8_t>{0, 8, 110};
  auto out = rewrite_ok(samples::webrtc_offer, r);
  // RFC 8445: no candidate or ICE credential may pass the anchoring relay.
  for (const char* p : {"a=candidate", "a=ice-ufrag", "a=ice-pwd", "a=ice-options"})
    EXPECT_FALSE(has_prefix_line(out, p)) << p << "\n" << out;
  for (const char* line :
       {"a=group:BUNDLE 0", "a=msid-semantic: WMS stream1", "a=setup:actpass", "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level", "a=msid:stream1 track1",
        "a=rtcp-mux", "a=ssrc:1001 cname:abcdefgh", "a=rtpmap:110 telephone-event/48000",
        "a=fingerprint:sha-256 49:66:12:17:0D:1C:91:AE:57:4C:C6:36:DD:D5:97:D2:7D:62:C9:9A:7F:B9:A3:"
        "F4:70:03:E7:43:91:73:23:5E"})
    EXPECT_TRUE(has_line(out, line)) << line << "\n" << out;
  EXPECT_TRUE(has_line(out, "m=audio 30000 UDP/TLS/RTP/SAVPF 0 8 110")) << out;
  // Only media-level c= came in: the session level gets one, every m= keeps its own.
  EXPECT_TRUE(has_line(out, "c=IN IP4 10.0.0.1")) << out;
  EXPECT_FALSE(has_line(out, "c=IN IP4 203.0.113.7")) << out;
  // a=rtcp replaced in place, opus and red gone with their rtcp-fb and fmtp lines.
  EXPECT_TRUE(has_line(out, "a=rtcp:30001 IN IP4 10.0.0.1")) << out;
  EXPECT_FALSE(has_line(out, "a=rtcp:9 IN IP4 0.0.0.0")) << out;
  for (const char* p : {"a=rtpmap:111", "a=fmtp:111", "a=rtcp-fb:111", "a=rtpmap:63", "a=fmtp:63"})
    EXPECT_FALSE(has_prefix_line(out, p)) << p << "\n" << out;
  auto sd = reparse(out);
  EXPECT_EQ(sd.connection_address, "10.0.0.1");
  EXPECT_EQ(sd.media.at(0).connection_address, "10.0.0.1");
  EXPECT_EQ(sd.media[0].rtcp_port, 30001);
  EXPECT_TRUE(sd.media[0].rtcp_mux);
}

TEST(sdp_rewrite, empty_address_keeps_addresses_and_ice) {
  sdp_rewrite r;
  media_rewrite m;
  m.port = 30000;
  m.rtcp_port = 30001;
  r.media.push_back(m);
  auto out = rewrite_ok(samples::webrtc_offer, r);
  EXPECT_TRUE(has_line(out, "c=IN IP4 203.0.113.7")) << out;
  EXPECT_TRUE(has_prefix_line(out, "a=candidate:1467250027")) << out;
  EXPECT_TRUE(has_line(out, "a=rtcp:30001")) << out;  // RFC 3605: port only, address from c=
}

TEST(sdp_rewrite, media_level_connections_are_rewritten_per_media) {
  const std::string body =
      "v=0\r\no=- 1 1 IN IP4 10.9.9.9\r\ns=-\r\nc=IN IP4 10.9.9.9\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\n"
      "m=audio 4002 RTP/AVP 0\r\nc=IN IP4 10.8.8.8\r\n";
  sdp_rewrite r = relay("192.0.2.10");
  r.media.push_back(media_rewrite{40002, std::nullopt, std::nullopt, {}, std::nullopt, false});
  auto out = rewrite_ok(body, r);
  EXPECT_FALSE(has_line(out, "c=IN IP4 10.9.9.9")) << out;
  EXPECT_FALSE(has_line(out, "c=IN IP4 10.8.8.8")) << out;
  auto sd = reparse(out);
  ASSERT_EQ(sd.media.size(), 2u);
  EXPECT_EQ(sd.connection_address, "192.0.2.10");
  for (const auto& m : sd.media) EXPECT_EQ(m.connection_address, "192.0.2.10");
  EXPECT_EQ(sd.media[0].port, 30000);
  EXPECT_EQ(sd.media[1].port, 40002);
  EXPECT_FALSE(sd.media[1].rtcp_port);
  // Session-level only: no c= is added to the media sections.
  auto out2 = rewrite_ok(samples::baresip_offer, relay());
  size_t count = 0;
  for (const auto& l : lines_of(out2)) count += l.rfind("c=", 0) == 0;
  EXPECT_EQ(count, 1u) << out2;
}

TEST(sdp_rewrite, ipv6_relay) {
  auto out = rewrite_ok(samples::sipp_uac_pcap, [] {
    sdp_rewrite r = relay("2001:db8::10");
    r.ipv6 = true;
    return r;
  }());
  EXPECT_TRUE(has_line(out, "c=IN IP6 2001:db8::10")) << out;
  EXPECT_TRUE(has_line(out, "a=rtcp:30001 IN IP6 2001:db8::10")) << out;
  auto sd = reparse(out);
  EXPECT_TRUE(sd.media.at(0).ipv6);
  // And from IPv6 to IPv4.
  auto back = rewrite_ok(samples::ipv6_rtcp, relay());
  EXPECT_TRUE(has_line(back, "c=IN IP4 10.0.0.1")) << back;
  EXPECT_TRUE(has_line(back, "a=rtcp:30001 IN IP4 10.0.0.1")) << back;
  EXPECT_FALSE(has_line(back, "a=rtcp:7079 IN IP6 ::1")) << back;
}

TEST(sdp_rewrite, rtcp_removed_when_not_wanted) {
  sdp_rewrite r = relay();
  r.media[0].rtcp_port = std::nullopt;
  auto out = rewrite_ok(samples::ipv6_rtcp, r);
  EXPECT_FALSE(has_prefix_line(out, "a=rtcp:")) << out;
  EXPECT_FALSE(reparse(out).media.at(0).rtcp_port);
}

TEST(sdp_rewrite, direction_override) {
  sdp_rewrite r = relay();
  r.media[0].dir = direction::sendonly;
  auto out = rewrite_ok(samples::baresip_offer, r);
  EXPECT_TRUE(has_line(out, "a=sendonly")) << out;
  EXPECT_FALSE(has_line(out, "a=sendrecv")) << out;
  EXPECT_EQ(reparse(out).media.at(0).dir, direction::sendonly);

  // A session-level direction stays; the media-level one written wins (RFC 4566 §6).
  const std::string body =
      "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=recvonly\r\n"
      "m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\n";
  sdp_rewrite r2 = relay();
  r2.media[0].dir = direction::inactive;
  auto sd = reparse(rewrite_ok(body, r2));
  EXPECT_EQ(sd.media.at(0).dir, direction::inactive);
  EXPECT_EQ(sd.media.at(1).dir, direction::recvonly);
}

TEST(sdp_rewrite, sendrecv_stays_explicit) {
  // DESIGN.md: sofia's printer drops a=sendrecv unless sdp_f_mode_always.
  auto out = rewrite_ok(samples::baresip_offer, relay());
  EXPECT_TRUE(has_line(out, "a=sendrecv")) << out;
}

TEST(sdp_rewrite, disable_a_stream) {
  sdp_rewrite r = relay();
  media_rewrite video;
  video.disable = true;
  video.port = 40000;
  video.rtcp_port = 40001;
  r.media.push_back(video);
  const std::string body =
      "v=0\r\no=- 1 1 IN IP4 10.9.9.9\r\ns=-\r\nc=IN IP4 10.9.9.9\r\nt=0 0\r\n"
      "m=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 31\r\na=rtcp:4003\r\na=sendrecv\r\n";
  auto out = rewrite_ok(body, r);
  EXPECT_TRUE(has_line(out, "m=video 0 RTP/AVP 31")) << out;
  EXPECT_FALSE(has_prefix_line(out, "a=rtcp:4")) << out;
  auto sd = reparse(out);
  EXPECT_EQ(sd.media.at(1).port, 0);
  EXPECT_EQ(sd.media[1].dir, direction::inactive);
  EXPECT_FALSE(sd.media[1].rtcp_port);
}

TEST(sdp_rewrite, rejected_stream_stays_rejected) {
  sdp_rewrite r = relay();
  media_rewrite video;
  video.port = 40000;
  video.rtcp_port = 40001;
  video.dir = direction::sendrecv;
  r.media.push_back(video);
  auto out = rewrite_ok(samples::audio_video_disabled, r);
  EXPECT_TRUE(has_line(out, "m=video 0 RTP/AVP 31 32")) << out;
  auto sd = reparse(out);
  EXPECT_EQ(sd.media.at(1).port, 0);
  EXPECT_FALSE(sd.media[1].rtcp_port);
}

TEST(sdp_rewrite, fewer_media_edits_leave_the_rest) {
  auto out = rewrite_ok(samples::audio_video_disabled, relay());
  auto sd = reparse(out);
  ASSERT_EQ(sd.media.size(), 2u);
  EXPECT_EQ(sd.media[0].port, 30000);
  EXPECT_EQ(sd.media[1].port, 0);
  EXPECT_EQ(sd.media[1].codecs.size(), 2u);
}

TEST(sdp_rewrite, lf_input_gives_crlf_output) {
  std::string lf;
  for (char c : samples::baresip_offer)
    if (c != '\r') lf.push_back(c);
  auto out = rewrite_ok(lf, relay());
  EXPECT_TRUE(crlf_only(out));
}

TEST(sdp_rewrite, errors) {
  {
    auto out = rewrite_sdp("garbage", relay());
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.err().code, errc::parse_error);
    EXPECT_EQ(out.err().reason, "missing v= line");
  }
  {
    auto out = rewrite_sdp("v=0\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\n", relay());
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.err().reason, "missing o= line");
  }
  {
    sdp_rewrite r = relay();
    r.media.resize(2);
    auto out = rewrite_sdp(samples::sipp_uac_pcap, r);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.err().code, errc::invalid_argument);
    EXPECT_EQ(out.err().reason, "more media edits than m= lines");
  }
  for (const char* addr : {"10.0.0.1 evil", "10.0.0.1\r\na=x", "a\tb"}) {
    auto out = rewrite_sdp(samples::sipp_uac_pcap, relay(addr));
    ASSERT_FALSE(out.ok()) << addr;
    EXPECT_EQ(out.err().code, errc::invalid_argument);
  }
  {
    sdp_rewrite r;
    r.origin_username = "two words";
    auto out = rewrite_sdp(samples::sipp_uac_pcap, r);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.err().code, errc::invalid_argument);
  }
}

TEST(sdp_document, edits_without_rewrite_struct) {
  auto doc = sdp_document::parse(samples::baresip_offer);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->media_count(), 1u);
  EXPECT_EQ(doc->description().media.at(0).codecs.size(), 5u);
  doc->set_port(0, 31000);
  doc->set_direction(0, direction::recvonly);
  ASSERT_TRUE(doc->set_codecs(0, std::vector<uint8_t>{96}, {}).ok());
  auto out = doc->print();
  ASSERT_TRUE(out.ok());
  auto sd = reparse(*out);
  EXPECT_EQ(sd.media.at(0).port, 31000);
  EXPECT_EQ(sd.media[0].dir, direction::recvonly);
  ASSERT_EQ(sd.media[0].codecs.size(), 1u);
  EXPECT_EQ(sd.media[0].codecs[0].name, "opus");
  // The view is the parse-time one.
  EXPECT_EQ(doc->description().media.at(0).port, 10256);
}
