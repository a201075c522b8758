// RTP/RTCP framing: parse_rtp on real (sipp) and hand-built headers with
// CSRCs, extension and padding, every way a header can be invalid; RTCP
// demultiplexing (RFC 5761 §4) and parse_rtcp per packet type; the in-place
// rewriting helpers; wrap-aware sequence/timestamp arithmetic.

#include "protocols/rtp/rtp_packet.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

using namespace centralita::rtp;

namespace {

using bytes = std::vector<uint8_t>;

bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The first packet of sipp's dtmf_2833_1.pcap: PT 101 with the marker bit,
// seq 7984, ts 13280, SSRC 0x0e05384e, telephone-event payload for '1'.
const bytes sipp_first = {0x80, 0xe5, 0x1f, 0x30, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e,
                          0x01, 0x0a, 0x00, 0x00};

const bytes fixed_no_marker = {0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0xde, 0xad, 0xbe, 0xef};

TEST(parse_rtp, sipp_packet) {
  auto h = parse_rtp(sipp_first);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->padding);
  EXPECT_FALSE(h->extension);
  EXPECT_TRUE(h->marker);
  EXPECT_EQ(h->csrc_count, 0);
  EXPECT_EQ(h->payload_type, 101);
  EXPECT_EQ(h->sequence, 7984);
  EXPECT_EQ(h->timestamp, 13280u);
  EXPECT_EQ(h->ssrc, 0x0e05384eu);
  EXPECT_EQ(h->payload_offset, 12);
  EXPECT_EQ(h->payload_size, 4);
}

TEST(parse_rtp, header_only_has_empty_payload) {
  auto h = parse_rtp(fixed_no_marker);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->marker);
  EXPECT_EQ(h->payload_type, 0);
  EXPECT_EQ(h->sequence, 1);
  EXPECT_EQ(h->timestamp, 160u);
  EXPECT_EQ(h->ssrc, 0xdeadbeefu);
  EXPECT_EQ(h->payload_offset, 12);
  EXPECT_EQ(h->payload_size, 0);
}

TEST(parse_rtp, csrcs_are_skipped) {
  // CC=2: two CSRCs between the fixed header and the payload (RFC 3550 §5.1).
  bytes p = concat({{0x82, 0x08, 0x12, 0x34, 0x00, 0x01, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44},
                    {0, 0, 0, 1, 0, 0, 0, 2},
                    {0xaa, 0xbb, 0xcc}});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->csrc_count, 2);
  EXPECT_EQ(h->payload_type, 8);
  EXPECT_EQ(h->payload_offset, 20);
  EXPECT_EQ(h->payload_size, 3);
  EXPECT_EQ(p[h->payload_offset], 0xaa);
}

TEST(parse_rtp, extension_is_skipped) {
  // X=1: profile 0xBEDE (RFC 8285 one-byte form), length 2 words.
  bytes p = concat({{0x90, 0x60, 0, 9, 0, 0, 1, 0, 1, 2, 3, 4},
                    {0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8},
                    {0x55, 0x66}});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->extension);
  EXPECT_EQ(h->payload_offset, 24);
  EXPECT_EQ(h->payload_size, 2);
  EXPECT_EQ(p[h->payload_offset], 0x55);
}

TEST(parse_rtp, extension_of_zero_words) {
  bytes p = concat({{0x90, 0x60, 0, 9, 0, 0, 1, 0, 1, 2, 3, 4}, {0x10, 0x00, 0x00, 0x00}, {7}});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->payload_offset, 16);
  EXPECT_EQ(h->payload_size, 1);
}

TEST(parse_rtp, padding_is_excluded) {
  // P=1: 3 payload bytes then 4 padding bytes whose last one is the count.
  bytes p = concat({{0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, {1, 2, 3}, {0, 0, 0, 4}});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->padding);
  EXPECT_EQ(h->payload_offset, 12);
  EXPECT_EQ(h->payload_size, 3);
}

TEST(parse_rtp, padding_may_fill_the_whole_payload) {
  bytes p = concat({{0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, {0, 2}});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->payload_size, 0);
}

TEST(parse_rtp, everything_at_once) {
  // CC=1, X=1 (1 word), P=1 (2 bytes), marker, PT 0.
  bytes p = concat({{0xb1, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 7},
                    {0xca, 0xfe, 0xba, 0xbe},
                    {0, 1, 0, 1, 9, 9, 9, 9},
                    {0x42, 0x43, 0x44},
                    {0xee, 2}});
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->padding);
  EXPECT_TRUE(h->extension);
  EXPECT_TRUE(h->marker);
  EXPECT_EQ(h->csrc_count, 1);
  EXPECT_EQ(h->sequence, 0xffff);
  EXPECT_EQ(h->timestamp, 0xffffffffu);
  EXPECT_EQ(h->payload_offset, 24);
  EXPECT_EQ(h->payload_size, 3);
}

TEST(parse_rtp, bad_version) {
  for (uint8_t v : {0x00, 0x40, 0xc0}) {
    bytes p = fixed_no_marker;
    p[0] = v;
    EXPECT_FALSE(parse_rtp(p)) << "first byte " << int(v);
  }
}

TEST(parse_rtp, truncated) {
  EXPECT_FALSE(parse_rtp({}));
  for (std::size_t n = 0; n < 12; ++n)
    EXPECT_FALSE(parse_rtp(std::span<const uint8_t>(fixed_no_marker.data(), n))) << n << " bytes";
}

TEST(parse_rtp, csrc_list_past_the_end) {
  bytes p = fixed_no_marker;
  p[0] = 0x83;  // CC=3 needs 12 more bytes
  p.insert(p.end(), 8, 0);
  EXPECT_FALSE(parse_rtp(p));
  p.insert(p.end(), 4, 0);
  EXPECT_TRUE(parse_rtp(p));
}

TEST(parse_rtp, extension_past_the_end) {
  bytes p = fixed_no_marker;
  p[0] = 0x90;
  EXPECT_FALSE(parse_rtp(p)) << "no room for the extension header";
  p.insert(p.end(), {0xbe, 0xde, 0x00});
  EXPECT_FALSE(parse_rtp(p)) << "extension header cut";
  p.push_back(0x02);  // 2 words announced
  p.insert(p.end(), 7, 0);
  EXPECT_FALSE(parse_rtp(p)) << "extension body cut";
  p.push_back(0);
  EXPECT_TRUE(parse_rtp(p));
}

TEST(parse_rtp, bad_padding_count) {
  bytes p = concat({{0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, {1, 2, 3, 0}});
  EXPECT_FALSE(parse_rtp(p)) << "count 0";
  p.back() = 5;
  EXPECT_FALSE(parse_rtp(p)) << "count larger than the payload";
  p.back() = 4;
  EXPECT_TRUE(parse_rtp(p));
  bytes only_header = fixed_no_marker;
  only_header[0] = 0xa0;  // P set but nothing after the header: the count is in the header
  EXPECT_FALSE(parse_rtp(only_header));
}

TEST(parse_rtp, padding_cannot_reach_into_the_extension) {
  bytes p = concat({{0xb0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, {0, 0, 0, 1, 0, 0, 0, 0}, {0, 2}});
  EXPECT_TRUE(parse_rtp(p));
  p.back() = 3;
  EXPECT_FALSE(parse_rtp(p));
}

TEST(parse_rtp, too_long) {
  bytes p(max_rtp_packet_size + 1, 0);
  p[0] = 0x80;
  EXPECT_FALSE(parse_rtp(p));
  p.pop_back();
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->payload_size, max_rtp_packet_size - 12);
}

// --- RTCP -------------------------------------------------------------------

// RR with no report blocks: V=2, RC=0, PT=201, length 1 (8 bytes).
const bytes rr_empty = {0x80, 0xc9, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78};

bytes sender_report(uint8_t rc) {
  const std::size_t len = 28 + 24 * std::size_t{rc};
  bytes p(len, 0);
  p[0] = static_cast<uint8_t>(0x80 | rc);
  p[1] = 200;
  p[2] = static_cast<uint8_t>((len / 4 - 1) >> 8);
  p[3] = static_cast<uint8_t>(len / 4 - 1);
  p[4] = 0xaa; p[5] = 0xbb; p[6] = 0xcc; p[7] = 0xdd;
  return p;
}

TEST(is_rtcp, demultiplexes_by_the_second_byte) {
  EXPECT_TRUE(is_rtcp(rr_empty));
  EXPECT_TRUE(is_rtcp(sender_report(1)));
  EXPECT_FALSE(is_rtcp(sipp_first)) << "PT 101 + marker = 229";
  EXPECT_FALSE(is_rtcp(fixed_no_marker));
  bytes p = fixed_no_marker;
  p[1] = 0x80 | 96;  // 224: first dynamic PT with the marker bit stays RTP
  EXPECT_FALSE(is_rtcp(p));
  p[1] = 0x80 | 95;  // 223: the range RFC 5761 reserves for RTCP
  p[2] = 0; p[3] = 2;
  EXPECT_TRUE(is_rtcp(p));
  p[1] = 0x80 | 63;  // 191
  EXPECT_FALSE(is_rtcp(p));
}

TEST(is_rtcp, needs_version_2_and_a_length_that_fits) {
  bytes p = rr_empty;
  p[0] = 0x40;
  EXPECT_FALSE(is_rtcp(p));
  p = rr_empty;
  p[3] = 2;  // 12 bytes announced, 8 present
  EXPECT_FALSE(is_rtcp(p));
  p = rr_empty;
  p[3] = 0;  // 4 bytes announced: shorter than the datagram is fine (compound)
  EXPECT_TRUE(is_rtcp(p));
  EXPECT_FALSE(is_rtcp(std::span<const uint8_t>(rr_empty.data(), 3)));
}

TEST(parse_rtcp, receiver_report) {
  auto r = parse_rtcp(rr_empty);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->packet_type, 201);
  EXPECT_EQ(r->sender_ssrc, 0x12345678u);
  bytes p = rr_empty;
  p[0] = 0x81;  // one report block announced, none present
  EXPECT_FALSE(parse_rtcp(p));
}

TEST(parse_rtcp, sender_report_first_in_a_compound) {
  bytes p = concat({sender_report(1), {0x81, 0xca, 0x00, 0x01, 0xaa, 0xbb, 0xcc, 0xdd}});
  auto r = parse_rtcp(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->packet_type, static_cast<uint8_t>(rtcp_type::sr));
  EXPECT_EQ(r->sender_ssrc, 0xaabbccddu);
  bytes cut = sender_report(2);
  cut[0] = 0x83;  // three blocks announced in room for two
  EXPECT_FALSE(parse_rtcp(cut));
  bytes tiny = {0x80, 200, 0x00, 0x01, 1, 2, 3, 4};  // SR without sender info
  EXPECT_FALSE(parse_rtcp(tiny));
}

TEST(parse_rtcp, sdes_bye_app_and_feedback) {
  bytes sdes = {0x81, 202, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00};
  auto r = parse_rtcp(sdes);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->packet_type, 202);
  EXPECT_EQ(r->sender_ssrc, 0x01020304u);

  bytes bye_none = {0x80, 203, 0x00, 0x00};
  r = parse_rtcp(bye_none);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->packet_type, 203);
  EXPECT_EQ(r->sender_ssrc, 0u);
  bytes bye_cut = {0x81, 203, 0x00, 0x00, 1, 2, 3, 4};  // SC=1 but length says 4 bytes
  EXPECT_FALSE(parse_rtcp(bye_cut));

  bytes app = {0x80, 204, 0x00, 0x02, 9, 9, 9, 9, 'n', 'a', 'm', 'e'};
  r = parse_rtcp(app);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sender_ssrc, 0x09090909u);
  app[3] = 1;
  EXPECT_FALSE(parse_rtcp(app)) << "APP without its name";

  bytes pli = {0x81, 206, 0x00, 0x02, 0, 0, 0, 5, 0, 0, 0, 6};  // RFC 4585 PLI
  r = parse_rtcp(pli);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->packet_type, 206);
  EXPECT_EQ(r->sender_ssrc, 5u);
}

TEST(parse_rtcp, unknown_types_and_bad_headers) {
  bytes ij = {0x80, 195, 0x00, 0x00};  // RFC 5450 IJ: no sender SSRC
  EXPECT_TRUE(is_rtcp(ij));
  EXPECT_FALSE(parse_rtcp(ij));
  EXPECT_FALSE(parse_rtcp(sipp_first));
  EXPECT_FALSE(parse_rtcp({}));
  bytes v1 = rr_empty;
  v1[0] = 0x41;
  EXPECT_FALSE(parse_rtcp(v1));
}

// --- rewriting --------------------------------------------------------------

TEST(rewrite, set_fields_in_place) {
  bytes p = sipp_first;
  set_ssrc(p, 0x01020304);
  set_sequence(p, 0xfffe);
  set_timestamp(p, 0xa0b0c0d0);
  set_payload_type(p, 96);
  auto h = parse_rtp(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->ssrc, 0x01020304u);
  EXPECT_EQ(h->sequence, 0xfffe);
  EXPECT_EQ(h->timestamp, 0xa0b0c0d0u);
  EXPECT_EQ(h->payload_type, 96);
  EXPECT_TRUE(h->marker) << "the marker bit survives a PT change";
  EXPECT_EQ(p[12], 0x01) << "payload untouched";

  set_payload_type(p, 0xff);  // only 7 bits land
  EXPECT_EQ(p[1], 0xff);
  bytes q = fixed_no_marker;
  set_payload_type(q, 101);
  EXPECT_EQ(q[1], 101) << "no marker invented";
}

TEST(rewrite, short_span_is_left_alone) {
  bytes p(11, 0x5a);
  set_ssrc(p, 1);
  set_sequence(p, 1);
  set_timestamp(p, 1);
  set_payload_type(p, 1);
  EXPECT_EQ(p, bytes(11, 0x5a));
}

TEST(rewrite, write_header_round_trips) {
  uint8_t buf[16] = {};
  rtp_header_fields f{101, true, 65535, 0xfffffff0, 0xcafef00d};
  ASSERT_EQ(write_rtp_header(buf, f), 12u);
  auto h = parse_rtp(std::span<const uint8_t>(buf, 12));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->payload_type, 101);
  EXPECT_TRUE(h->marker);
  EXPECT_EQ(h->sequence, 65535);
  EXPECT_EQ(h->timestamp, 0xfffffff0u);
  EXPECT_EQ(h->ssrc, 0xcafef00du);
  EXPECT_FALSE(h->padding || h->extension || h->csrc_count);
  EXPECT_EQ(write_rtp_header(std::span<uint8_t>(buf, 11), f), 0u);

  // The sipp header, rebuilt from its fields, is byte for byte the same.
  write_rtp_header(buf, {101, true, 7984, 13280, 0x0e05384e});
  EXPECT_EQ(bytes(buf, buf + 12), bytes(sipp_first.begin(), sipp_first.begin() + 12));
}

// --- wrap-aware arithmetic ----------------------------------------------------

TEST(wrap, sequence_numbers) {
  EXPECT_EQ(seq_delta(65535, 0), 1);
  EXPECT_EQ(seq_delta(0, 65535), 65535);
  EXPECT_EQ(seq_diff(65535, 0), 1);
  EXPECT_EQ(seq_diff(0, 65535), -1);
  EXPECT_EQ(seq_diff(100, 100), 0);
  EXPECT_EQ(seq_diff(0, 32767), 32767);
  EXPECT_EQ(seq_diff(0, 32768), -32768);
  EXPECT_TRUE(seq_newer(3, 65530));
  EXPECT_FALSE(seq_newer(65530, 3));
  EXPECT_FALSE(seq_newer(7, 7));
}

TEST(wrap, timestamps) {
  EXPECT_EQ(ts_delta(0xffffff00u, 0x100u), 0x200u);
  EXPECT_EQ(ts_diff(0xffffff00u, 0x100u), 0x200);
  EXPECT_EQ(ts_diff(0x100u, 0xffffff00u), -0x200);
  EXPECT_EQ(ts_diff(0, 0x7fffffffu), 0x7fffffff);
  EXPECT_EQ(ts_diff(0, 0x80000000u), INT32_MIN);
  EXPECT_TRUE(ts_newer(5, 0xfffffff0u));
  EXPECT_FALSE(ts_newer(0xfffffff0u, 5));
  EXPECT_FALSE(ts_newer(9, 9));
}

} // namespace
