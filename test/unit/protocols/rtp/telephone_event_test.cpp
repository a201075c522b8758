// RFC 4733 telephone-events: the payload codec and key mapping; the detector
// on the exact packets sipp plays (dtmf_2833_*.pcap), and on the ways a real
// network mangles them (redundant ends, retransmissions, lost ends, reordering,
// long events in segments, timestamp wrap, SSRC change, expiry); the generator's
// packet sequence, read back by the detector.

#include "protocols/rtp/telephone_event.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::rtp;

namespace {

using packet = std::array<uint8_t, 16>;

// sipp's /usr/share/sip-tester/dtmf_2833_1.pcap, the RTP part of its ten UDP
// datagrams in order: '1' (event 1, volume 10) with PT 101, timestamp 13280,
// the marker on the first packet, durations 0, 320 ... 1920, then the end
// packet (E bit, duration 2240) three times with the same sequence number.
// (sipp grows the duration by 320 per 20 ms packet, i.e. as if the clock were
// 16 kHz; against the 8 kHz of its SDP the press is 280 ms long.)
constexpr packet sipp_1[] = {
    {0x80, 0xe5, 0x1f, 0x30, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x00, 0x00},
    {0x80, 0x65, 0x1f, 0x31, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x01, 0x40},
    {0x80, 0x65, 0x1f, 0x32, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x02, 0x80},
    {0x80, 0x65, 0x1f, 0x33, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x03, 0xc0},
    {0x80, 0x65, 0x1f, 0x34, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x05, 0x00},
    {0x80, 0x65, 0x1f, 0x35, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x06, 0x40},
    {0x80, 0x65, 0x1f, 0x36, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x0a, 0x07, 0x80},
    {0x80, 0x65, 0x1f, 0x37, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x8a, 0x08, 0xc0},
    {0x80, 0x65, 0x1f, 0x37, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x8a, 0x08, 0xc0},
    {0x80, 0x65, 0x1f, 0x37, 0x00, 0x00, 0x33, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x01, 0x8a, 0x08, 0xc0},
};

// dtmf_2833_pound.pcap: the same shape for '#' (event 11) at timestamp 92640.
constexpr packet sipp_pound[] = {
    {0x80, 0xe5, 0x20, 0xf4, 0x00, 0x01, 0x69, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x0b, 0x0a, 0x00, 0x00},
    {0x80, 0x65, 0x20, 0xf5, 0x00, 0x01, 0x69, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x0b, 0x0a, 0x01, 0x40},
    {0x80, 0x65, 0x20, 0xf6, 0x00, 0x01, 0x69, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x0b, 0x0a, 0x02, 0x80},
    {0x80, 0x65, 0x20, 0xf7, 0x00, 0x01, 0x69, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x0b, 0x0a, 0x03, 0xc0},
    {0x80, 0x65, 0x20, 0xf8, 0x00, 0x01, 0x69, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x0b, 0x0a, 0x05, 0x00},
    {0x80, 0x65, 0x20, 0xf9, 0x00, 0x01, 0x69, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x0b, 0x0a, 0x06, 0x40},
    {0x80, 0x65, 0x20, 0xfa, 0x00, 0x01, 0x69, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x0b, 0x0a, 0x07, 0x80},
    {0x80, 0x65, 0x20, 0xfb, 0x00, 0x01, 0x69, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x0b, 0x8a, 0x08, 0xc0},
    {0x80, 0x65, 0x20, 0xfb, 0x00, 0x01, 0x69, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x0b, 0x8a, 0x08, 0xc0},
    {0x80, 0x65, 0x20, 0xfb, 0x00, 0x01, 0x69, 0xe0, 0x0e, 0x05, 0x38, 0x4e, 0x0b, 0x8a, 0x08, 0xc0},
};

/// Feeds one whole RTP packet as the relay would: parse_rtp, then the payload.
detected_digits feed_packet(telephone_event_detector& det, const packet& p, uint32_t clock = 8000) {
  auto h = parse_rtp(p);
  EXPECT_TRUE(h);
  if (!h) return {};
  auto ev = parse_telephone_event(std::span<const uint8_t>(p).subspan(h->payload_offset, h->payload_size));
  EXPECT_TRUE(ev);
  if (!ev) return {};
  return det.feed(*h, *ev, clock);
}

/// A synthetic packet: only the fields the detector reads.
struct pkt {
  uint32_t ts;
  uint8_t event;
  uint16_t duration;
  bool end = false;
};

/// Feeds packets, collecting every digit reported.
struct harness {
  telephone_event_detector det;
  uint32_t clock = 8000;
  uint32_t ssrc = 0x1234;
  std::vector<detected_digit> got;

  void feed(const pkt& p) {
    rtp_header h;
    h.timestamp = p.ts;
    h.ssrc = ssrc;
    h.payload_type = 101;
    for (const auto& d : det.feed(h, telephone_event{p.event, p.end, 10, p.duration}, clock)) got.push_back(d);
  }
  void feed(std::initializer_list<pkt> ps) {
    for (const auto& p : ps) feed(p);
  }
  /// One whole press the RFC way: updates every 160, the end three times.
  void press(uint32_t ts, uint8_t event, uint16_t final_duration, uint16_t step = 160) {
    for (uint32_t d = step; d < final_duration; d += step) feed({ts, event, static_cast<uint16_t>(d)});
    for (int i = 0; i < 3; ++i) feed({ts, event, final_duration, true});
  }
  std::string digits() const {
    std::string s;
    for (const auto& d : got) s.push_back(d.digit);
    return s;
  }
};

// --- payload ----------------------------------------------------------------

TEST(telephone_event_payload, parses_sipp_blocks) {
  auto ev = parse_telephone_event(std::span<const uint8_t>(sipp_1[7]).subspan(12));
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->event, 1);
  EXPECT_TRUE(ev->end);
  EXPECT_EQ(ev->volume, 10);
  EXPECT_EQ(ev->duration, 2240);
  ev = parse_telephone_event(std::span<const uint8_t>(sipp_1[0]).subspan(12));
  ASSERT_TRUE(ev);
  EXPECT_FALSE(ev->end);
  EXPECT_EQ(ev->duration, 0);
}

TEST(telephone_event_payload, reserved_bit_is_ignored) {
  const uint8_t with_r[] = {0x05, 0x40 | 0x80 | 0x3f, 0xff, 0xfe};
  auto ev = parse_telephone_event(with_r);
  ASSERT_TRUE(ev);
  EXPECT_EQ(*ev, (telephone_event{5, true, 63, 0xfffe}));
}

TEST(telephone_event_payload, sizes) {
  const uint8_t b[12] = {0x0b, 0x0a, 0x01, 0x40, 0x0c, 0x8a, 0, 0, 1, 1, 1, 1};
  EXPECT_FALSE(parse_telephone_event(std::span<const uint8_t>(b, 0)));
  EXPECT_FALSE(parse_telephone_event(std::span<const uint8_t>(b, 3)));
  EXPECT_FALSE(parse_telephone_event(std::span<const uint8_t>(b, 5)));
  EXPECT_FALSE(parse_telephone_event(std::span<const uint8_t>(b, 7)));
  auto ev = parse_telephone_event(std::span<const uint8_t>(b, 8));
  ASSERT_TRUE(ev) << "two blocks: the first is read";
  EXPECT_EQ(*ev, (telephone_event{11, false, 10, 320}));
  EXPECT_TRUE(parse_telephone_event(std::span<const uint8_t>(b, 12)));
}

TEST(telephone_event_payload, write_round_trips) {
  for (const telephone_event& ev : {telephone_event{0, false, 0, 0}, telephone_event{16, true, 63, 65535},
                                    telephone_event{11, true, 10, 2240}, telephone_event{255, false, 1, 1}}) {
    std::array<uint8_t, 4> b{};
    write_telephone_event(b, ev);
    EXPECT_EQ(b[1] & 0x40, 0) << "R sent as 0";
    auto back = parse_telephone_event(b);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, ev);
  }
  std::array<uint8_t, 4> b{};
  write_telephone_event(b, {1, true, 10, 2240});
  EXPECT_EQ(b, (std::array<uint8_t, 4>{0x01, 0x8a, 0x08, 0xc0})) << "sipp's end packet";
  write_telephone_event(b, {1, false, 0xff, 0});
  EXPECT_EQ(b[1], 0x3f) << "volume keeps 6 bits";
}

TEST(telephone_event_digits, every_code) {
  const std::string keys = "0123456789*#ABCDF";
  for (uint8_t e = 0; e < keys.size(); ++e) {
    EXPECT_EQ(event_digit(e), keys[e]) << int(e);
    EXPECT_EQ(digit_event(keys[e]), e) << keys[e];
  }
  for (int e = 17; e < 256; ++e) EXPECT_EQ(event_digit(static_cast<uint8_t>(e)), 0) << e;
  EXPECT_EQ(digit_event('a'), 12);
  EXPECT_EQ(digit_event('d'), 15);
  EXPECT_EQ(digit_event('f'), 16);
  for (char c : std::string("eEgG !xX+-/\0", 12)) EXPECT_FALSE(digit_event(c)) << int(c);
}

// --- detector: sipp -----------------------------------------------------------

TEST(telephone_event_detector, sipp_press_is_one_digit_at_the_first_end) {
  telephone_event_detector det;
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_TRUE(feed_packet(det, sipp_1[i]).empty()) << "packet " << i;
    EXPECT_TRUE(det.pending());
  }
  auto r = feed_packet(det, sipp_1[7]);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], (detected_digit{'1', 280, 13280, true}));
  EXPECT_FALSE(det.pending());
  EXPECT_TRUE(feed_packet(det, sipp_1[8]).empty()) << "second copy of the end";
  EXPECT_TRUE(feed_packet(det, sipp_1[9]).empty()) << "third copy of the end";
  EXPECT_FALSE(det.expire());
}

TEST(telephone_event_detector, sipp_presses_in_a_row) {
  telephone_event_detector det;
  std::vector<detected_digit> got;
  for (const auto* seq : {sipp_1, sipp_pound})
    for (std::size_t i = 0; i < 10; ++i)
      for (const auto& d : feed_packet(det, seq[i])) got.push_back(d);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (detected_digit{'1', 280, 13280, true}));
  EXPECT_EQ(got[1], (detected_digit{'#', 280, 92640, true}));
}

TEST(telephone_event_detector, sipp_press_whose_ends_are_lost) {
  // The first seven packets of '1', then '#' arrives: '1' is reported first
  // with the longest duration seen (1920 = 240 ms at 8 kHz).
  telephone_event_detector det;
  for (std::size_t i = 0; i < 7; ++i) feed_packet(det, sipp_1[i]);
  auto r = feed_packet(det, sipp_pound[0]);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], (detected_digit{'1', 240, 13280, false}));
  // Late ends of '1' after '#' started: older timestamp, ignored.
  EXPECT_TRUE(feed_packet(det, sipp_1[7]).empty());
  EXPECT_TRUE(det.pending());
}

TEST(telephone_event_detector, sipp_retransmissions_after_the_end) {
  telephone_event_detector det;
  int reported = 0;
  for (std::size_t i = 0; i < 10; ++i) reported += static_cast<int>(feed_packet(det, sipp_1[i]).size());
  for (std::size_t i = 0; i < 10; ++i) reported += static_cast<int>(feed_packet(det, sipp_1[i]).size());
  EXPECT_EQ(reported, 1);
}

// --- detector: synthetic streams -------------------------------------------------

TEST(telephone_event_detector, retransmitted_start_and_updates) {
  harness t;
  t.feed({{1000, 5, 160}, {1000, 5, 160}, {1000, 5, 320}, {1000, 5, 160}, {1000, 5, 320}, {1000, 5, 480}});
  EXPECT_TRUE(t.got.empty());
  t.feed({1000, 5, 640, true});
  t.feed({{1000, 5, 160}, {1000, 5, 640, true}, {1000, 5, 480}});
  ASSERT_EQ(t.got.size(), 1u);
  EXPECT_EQ(t.got[0], (detected_digit{'5', 80, 1000, true}));
}

TEST(telephone_event_detector, reordered_updates_keep_the_longest) {
  harness t;
  t.feed({{500, 9, 480}, {500, 9, 160}, {500, 9, 800}, {500, 9, 320}, {500, 9, 640}});
  auto e = t.det.expire();
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, (detected_digit{'9', 100, 500, false}));
  EXPECT_FALSE(t.det.expire()) << "reported once";
  t.feed({{500, 9, 960}, {500, 9, 960, true}});
  EXPECT_TRUE(t.got.empty()) << "packets of an expired event are ignored";
}

TEST(telephone_event_detector, end_before_the_updates) {
  harness t;
  t.feed({700, 2, 800, true});
  ASSERT_EQ(t.got.size(), 1u) << "an end packet alone is a press";
  EXPECT_EQ(t.got[0], (detected_digit{'2', 100, 700, true}));
  t.feed({{700, 2, 160}, {700, 2, 320}, {700, 2, 800, true}});
  EXPECT_EQ(t.got.size(), 1u);
}

TEST(telephone_event_detector, lost_ends_reported_by_the_next_event) {
  harness t;
  t.feed({{1000, 1, 160}, {1000, 1, 320}, {1000, 1, 480}});
  t.press(3000, 2, 640);
  t.press(5000, 2, 800);  // the same key again: a new timestamp, a new press
  ASSERT_EQ(t.got.size(), 3u);
  EXPECT_EQ(t.got[0], (detected_digit{'1', 60, 1000, false}));
  EXPECT_EQ(t.got[1], (detected_digit{'2', 80, 3000, true}));
  EXPECT_EQ(t.got[2], (detected_digit{'2', 100, 5000, true}));
}

TEST(telephone_event_detector, two_reports_from_one_packet) {
  // '1' without end, then only the end packet of '2' arrives.
  harness t;
  t.feed({{1000, 1, 160}, {1000, 1, 320}});
  rtp_header h;
  h.timestamp = 2000;
  h.ssrc = t.ssrc;
  auto r = t.det.feed(h, {2, true, 10, 480}, 8000);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], (detected_digit{'1', 40, 1000, false}));
  EXPECT_EQ(r[1], (detected_digit{'2', 60, 2000, true}));
  std::string order;
  for (const auto& d : r) order.push_back(d.digit);
  EXPECT_EQ(order, "12");
}

TEST(telephone_event_detector, same_timestamp_other_code_is_a_new_event) {
  harness t;
  t.feed({{1000, 3, 160}, {1000, 3, 320}, {1000, 4, 160}, {1000, 4, 320, true}});
  ASSERT_EQ(t.digits(), "34");
  EXPECT_FALSE(t.got[0].end_seen);
  EXPECT_TRUE(t.got[1].end_seen);
  // Late packets of either code at that timestamp change nothing.
  t.feed({{1000, 3, 480, true}, {1000, 4, 320, true}, {1000, 3, 160}});
  EXPECT_EQ(t.digits(), "34");
  EXPECT_FALSE(t.det.pending());
}

TEST(telephone_event_detector, late_packets_of_older_events_are_ignored) {
  harness t;
  t.press(1000, 1, 480);
  t.press(2000, 2, 480);
  t.feed({{1000, 1, 160}, {1000, 7, 160}, {1999, 8, 160, true}, {1500, 9, 480, true}});
  EXPECT_EQ(t.digits(), "12");
  EXPECT_FALSE(t.det.pending());
}

TEST(telephone_event_detector, long_event_in_two_segments_is_one_press) {
  // RFC 4733 §2.5.1.3: 10 s at 8 kHz = 80000 units: a first segment up to
  // 0xFFFF at ts 100, a second at 100 + 0xFFFF with the remaining 14465.
  harness t;
  for (uint32_t d = 160; d < 65535; d += 160) t.feed({100, 4, static_cast<uint16_t>(d)});
  t.feed({100, 4, 65535});
  EXPECT_TRUE(t.got.empty()) << "no end bit on the first segment";
  const uint32_t seg2 = 100 + 65535;
  t.feed({{seg2, 4, 160}, {100, 4, 65535}, {seg2, 4, 14465, true}, {seg2, 4, 14465, true}});
  ASSERT_EQ(t.got.size(), 1u);
  EXPECT_EQ(t.got[0], (detected_digit{'4', 10000, 100, true}));
}

TEST(telephone_event_detector, long_event_tolerates_lost_updates_at_a_segment_end) {
  // The first segment's last updates (up to 0xFFFF) were lost: the second
  // segment starts 400 units after the longest duration seen.
  harness t;
  t.feed({{100, 4, 64800}, {100, 4, 65135}});
  t.feed({{100 + 65535, 4, 800}, {100 + 65535, 4, 800, true}});
  ASSERT_EQ(t.got.size(), 1u);
  EXPECT_EQ(t.got[0], (detected_digit{'4', (65535 + 800) / 8, 100, true}));
}

TEST(telephone_event_detector, same_key_after_a_short_press_is_not_a_segment) {
  // Two presses of '6' whose ends were lost, the second starting right where
  // the first stopped: not a long event (the first is far from 0xFFFF).
  harness t;
  t.feed({{1000, 6, 160}, {1000, 6, 800}, {1800, 6, 160}, {1800, 6, 320}});
  ASSERT_EQ(t.got.size(), 1u);
  EXPECT_EQ(t.got[0], (detected_digit{'6', 100, 1000, false}));
  auto e = t.det.expire();
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, (detected_digit{'6', 40, 1800, false}));
}

TEST(telephone_event_detector, segment_too_far_is_a_new_press) {
  harness t;
  t.feed({100, 4, 65535});
  t.feed({100 + 65535 + 2000, 4, 160, true});  // 250 ms after the segment's end
  ASSERT_EQ(t.got.size(), 2u);
  EXPECT_EQ(t.got[0].rtp_timestamp, 100u);
  EXPECT_FALSE(t.got[0].end_seen);
  EXPECT_EQ(t.got[1].rtp_timestamp, 100u + 65535 + 2000);
}

TEST(telephone_event_detector, timestamps_wrap_across_2_to_the_32) {
  harness t;
  t.press(0xfffffe00u, 7, 640);
  t.feed({0xffffff00u, 7, 160});  // newer: the same key pressed again
  t.feed({0xffffff00u, 7, 320, true});
  t.press(0x00000100u, 8, 480);  // after the wrap: newer
  t.feed({0xfffffe00u, 7, 640, true});  // late, from before the wrap
  t.feed({0xffffff00u, 7, 320, true});
  ASSERT_EQ(t.digits(), "778");
  EXPECT_EQ(t.got[1].rtp_timestamp, 0xffffff00u);
  EXPECT_EQ(t.got[2].rtp_timestamp, 0x100u);
  EXPECT_EQ(t.got[2].duration_ms, 60u);
}

TEST(telephone_event_detector, long_event_segments_across_the_wrap) {
  harness t;
  t.clock = 48000;
  const uint32_t s1 = 0xffff8000u;
  const uint32_t s2 = s1 + 65535;  // wraps
  t.feed({{s1, 12, 960}, {s1, 12, 65535}, {s2, 12, 960}, {s2, 12, 30465, true}});
  ASSERT_EQ(t.got.size(), 1u);
  EXPECT_EQ(t.got[0], (detected_digit{'A', 2000, s1, true}));
}

TEST(telephone_event_detector, clock_rate_48000) {
  harness t;
  t.clock = 48000;
  t.press(10, 0, 4800, 960);
  ASSERT_EQ(t.got.size(), 1u);
  EXPECT_EQ(t.got[0].duration_ms, 100u);
}

TEST(telephone_event_detector, ignores_non_dtmf_events_and_zero_clock) {
  harness t;
  t.feed({{100, 17, 160}, {100, 32, 160, true}, {100, 255, 320, true}});
  EXPECT_TRUE(t.got.empty());
  EXPECT_FALSE(t.det.pending());
  EXPECT_FALSE(t.det.newest_timestamp());
  t.clock = 0;
  t.feed({100, 1, 320, true});
  EXPECT_TRUE(t.got.empty());
}

TEST(telephone_event_detector, flash_is_reported_as_F) {
  harness t;
  t.press(100, 16, 1600);
  ASSERT_EQ(t.digits(), "F");
}

TEST(telephone_event_detector, ssrc_change_starts_afresh) {
  harness t;
  t.feed({{5000, 1, 160}, {5000, 1, 320}});
  t.ssrc = 0x9999;
  // The new sender's clock is behind the old one; its press still counts.
  t.press(40, 2, 480);
  ASSERT_EQ(t.digits(), "12");
  EXPECT_FALSE(t.got[0].end_seen);
  EXPECT_EQ(t.det.discontinuities(), 1u);
}

TEST(telephone_event_detector, far_backward_jump_is_a_discontinuity) {
  harness t;
  t.press(8000u * 100, 3, 480);
  t.feed({8000u * 100 - 8000u * 59, 4, 160, true});  // 59 s behind: a late packet
  EXPECT_EQ(t.digits(), "3");
  t.press(8000u * 100 - 8000u * 61, 4, 480);  // 61 s behind: the clock jumped
  EXPECT_EQ(t.digits(), "34");
  EXPECT_EQ(t.det.discontinuities(), 1u);
}

TEST(telephone_event_detector, reset_forgets_everything) {
  harness t;
  t.press(100, 1, 480);
  t.feed({200, 2, 160});
  t.det.reset();
  EXPECT_FALSE(t.det.pending());
  EXPECT_FALSE(t.det.expire());
  t.press(100, 1, 480);
  EXPECT_EQ(t.digits(), "11");
}

TEST(telephone_event_detector, duration_saturates) {
  // Clock rate 1: each full segment is 65535 s. 70 of them pass 2^32 ms; the
  // 64-bit sum does not overflow and the report saturates.
  harness t;
  t.clock = 1;
  uint32_t ts = 0;
  for (int i = 0; i < 70; ++i, ts += 65535) t.feed({ts, 5, 65535});
  t.feed({ts, 5, 65535, true});
  ASSERT_EQ(t.got.size(), 1u);
  EXPECT_EQ(t.got[0].duration_ms, std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(t.got[0].rtp_timestamp, 0u);
}

// --- generator ---------------------------------------------------------------

struct generated {
  telephone_event ev;
  bool marker;
  uint32_t ts;
};

std::vector<generated> run(telephone_event_generator& g) {
  std::vector<generated> out;
  std::array<uint8_t, 4> b{};
  bool marker = false;
  uint32_t ts = 0;
  while (g.next(b, marker, ts)) {
    auto ev = parse_telephone_event(b);
    EXPECT_TRUE(ev);
    out.push_back({*ev, marker, ts});
    if (out.size() > 100000) break;
  }
  EXPECT_FALSE(g.active());
  EXPECT_FALSE(g.next(b, marker, ts));
  return out;
}

TEST(telephone_event_generator, packet_sequence) {
  telephone_event_generator g;
  ASSERT_TRUE(g.start('#', 100, 4242, 8000).ok());
  EXPECT_EQ(g.samples_per_packet(), 160u);
  auto p = run(g);
  ASSERT_EQ(p.size(), 7u);  // 160 320 480 640 800E x3
  const uint16_t want[] = {160, 320, 480, 640, 800, 800, 800};
  for (std::size_t i = 0; i < p.size(); ++i) {
    EXPECT_EQ(p[i].ev.event, 11);
    EXPECT_EQ(p[i].ev.volume, 10);
    EXPECT_EQ(p[i].ev.duration, want[i]) << i;
    EXPECT_EQ(p[i].ev.end, i >= 4) << i;
    EXPECT_EQ(p[i].marker, i == 0) << i;
    EXPECT_EQ(p[i].ts, 4242u);
  }
}

TEST(telephone_event_generator, duration_not_a_multiple_of_the_interval) {
  telephone_event_generator g;
  ASSERT_TRUE(g.start('7', 50, 0, 8000, 20, 20).ok());
  auto p = run(g);
  ASSERT_EQ(p.size(), 5u);  // 160 320 400E x3
  EXPECT_EQ(p[2].ev.duration, 400);
  EXPECT_TRUE(p[2].ev.end);
  EXPECT_EQ(p[0].ev.volume, 20);
}

TEST(telephone_event_generator, shorter_than_one_interval) {
  telephone_event_generator g;
  ASSERT_TRUE(g.start('1', 10, 9, 8000).ok());
  auto p = run(g);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_TRUE(p[0].marker);
  EXPECT_TRUE(p[0].ev.end);
  EXPECT_EQ(p[0].ev.duration, 80);
}

TEST(telephone_event_generator, long_press_is_split_into_segments) {
  // 2 s at 48 kHz: 96000 units, more than 0xFFFF.
  telephone_event_generator g;
  ASSERT_TRUE(g.start('A', 2000, 0xffff0000u, 48000).ok());
  auto p = run(g);
  ASSERT_FALSE(p.empty());
  const uint32_t s2 = 0xffff0000u + 65535;
  std::size_t close = 0;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i].ev.duration == 65535) close = i;
  EXPECT_EQ(p[close].ts, 0xffff0000u);
  EXPECT_FALSE(p[close].ev.end) << "no E bit on the first segment";
  EXPECT_EQ(p[close + 1].ts, s2);
  EXPECT_EQ(p.back().ts, s2);
  EXPECT_TRUE(p.back().ev.end);
  EXPECT_EQ(p.back().ev.duration, 96000 - 65535);
  EXPECT_EQ(p.size(), 100u + 2) << "one packet per 20 ms (the segment close is one of them), +2 end copies";

  telephone_event_detector det;
  std::vector<detected_digit> got;
  for (const auto& x : p) {
    rtp_header h;
    h.timestamp = x.ts;
    h.marker = x.marker;
    for (const auto& d : det.feed(h, x.ev, 48000)) got.push_back(d);
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (detected_digit{'A', 2000, 0xffff0000u, true}));
}

TEST(telephone_event_generator, rejects_bad_arguments) {
  telephone_event_generator g;
  auto expect_invalid = [](result<void> r) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.err().code, errc::invalid_argument);
    EXPECT_FALSE(r.err().reason.empty());
  };
  expect_invalid(g.start('x', 100, 0, 8000));
  expect_invalid(g.start('1', 0, 0, 8000));
  expect_invalid(g.start('1', 100, 0, 0));
  expect_invalid(g.start('1', 100, 0, 8000, 64));
  expect_invalid(g.start('1', 100, 0, 8000, 10, 0));
  expect_invalid(g.start('1', 100, 0, 48000, 10, 2000));  // 96000 units per packet
  EXPECT_FALSE(g.active());
  std::array<uint8_t, 4> b{};
  bool m = true;
  uint32_t ts = 0;
  EXPECT_FALSE(g.next(b, m, ts));
}

TEST(telephone_event_generator, restart_abandons_a_press) {
  telephone_event_generator g;
  ASSERT_TRUE(g.start('1', 1000, 0, 8000).ok());
  std::array<uint8_t, 4> b{};
  bool m = false;
  uint32_t ts = 0;
  ASSERT_TRUE(g.next(b, m, ts));
  ASSERT_TRUE(g.start('2', 40, 500, 8000).ok());
  auto p = run(g);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_TRUE(p[0].marker);
  EXPECT_EQ(p[0].ev.event, 2);
  EXPECT_EQ(p[0].ts, 500u);
}

} // namespace
