// Properties of the RFC 4733 generator and detector (rapidcheck): any digit
// string the generator sends (random keys, durations 40..2000 ms, clock rates
// 8000/48000, ptime 10/20/30, random start timestamps, often across 2^32)
// comes out of the detector as the same string, once per key, with the
// durations within a packet interval, however the network
//  1. duplicates packets (copies delivered up to a few packets late) and drops
//     some but not all of each press's three end packets;
//  2. drops every end packet of some presses (then the next press, or expire()
//     at the end, reports them).
//
// Rapidcheck draws the structure (keys, durations, gaps, losses); a seeded
// PRNG (seed also drawn) decides the per-packet duplication so that a case
// does not need hundreds of draws. The seed and case count come from ctest
// (RC_PARAMS in test/CMakeLists.txt).

#include "protocols/rtp/telephone_event.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::rtp;

namespace {

const std::string keys = "0123456789*#ABCDF";

struct press {
  char digit;
  uint32_t duration_ms;
  uint32_t start_ts;
  bool all_ends_lost;
};

struct wire_packet {
  uint32_t ts;
  telephone_event ev;
};

struct scenario {
  uint32_t clock = 8000;
  uint32_t ptime = 20;
  std::vector<press> presses;
  std::vector<wire_packet> stream;
};

/// A start timestamp: anywhere, or just before the 2^32 wrap.
rc::Gen<uint32_t> start_timestamp() {
  return rc::gen::oneOf(rc::gen::arbitrary<uint32_t>(),
                        rc::gen::map(rc::gen::inRange<uint32_t>(0, 400000),
                                     [](uint32_t x) { return 0xffffffffu - x; }));
}

/// Generates the presses and the packets the generator sends for them, with
/// end packets dropped: `lose_all` false → 0..2 of each press's 3 ends are
/// lost; true → some presses lose all 3 (and the gap between presses is over
/// the detector's segment tolerance, so a lost end is never taken for a long
/// event's next segment).
scenario make_scenario(bool lose_all) {
  scenario s;
  s.clock = *rc::gen::element(8000u, 48000u);
  s.ptime = *rc::gen::element(10u, 20u, 30u);
  const int n = *rc::gen::inRange(1, 9);
  uint32_t ts = *start_timestamp();
  for (int i = 0; i < n; ++i) {
    press p{};
    p.digit = *rc::gen::elementOf(keys);
    p.duration_ms = *rc::gen::inRange<uint32_t>(40, 2001);
    p.start_ts = ts;
    // Which of the three end packets are lost: a mask of 3 bits, never all
    // three unless the press loses all on purpose.
    uint32_t lost_mask = *rc::gen::inRange<uint32_t>(0, 7);
    if (lose_all) {
      p.all_ends_lost = *rc::gen::arbitrary<bool>();
      if (p.all_ends_lost) lost_mask = 7;
    }
    s.presses.push_back(p);

    telephone_event_generator g;
    RC_ASSERT(g.start(p.digit, p.duration_ms, p.start_ts, s.clock, 10, s.ptime).ok());
    std::array<uint8_t, 4> b{};
    bool marker = false;
    uint32_t pts = 0;
    int end_index = 0;
    while (g.next(b, marker, pts)) {
      auto ev = parse_telephone_event(b);
      RC_ASSERT(ev.has_value());
      if (ev->end && (lost_mask >> end_index++ & 1) != 0) continue;
      s.stream.push_back({pts, *ev});
    }
    RC_ASSERT(end_index == 3);

    const uint32_t min_gap_ms = lose_all ? telephone_event_detector::segment_tolerance_ms + 50 : 40;
    const uint32_t gap_ms = *rc::gen::inRange<uint32_t>(min_gap_ms, 501);
    ts += static_cast<uint32_t>((uint64_t{p.duration_ms} + gap_ms) * s.clock / 1000);
  }
  return s;
}

/// Duplicates packets at random: each copy lands 0..3 packets after its original.
std::vector<wire_packet> duplicate(const std::vector<wire_packet>& in, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<wire_packet> out;
  std::vector<std::pair<std::size_t, wire_packet>> delayed;  // (deliver after index, packet)
  for (std::size_t i = 0; i < in.size(); ++i) {
    out.push_back(in[i]);
    for (std::size_t k = 0; k < delayed.size();) {
      if (delayed[k].first <= i) {
        out.push_back(delayed[k].second);
        delayed.erase(delayed.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        ++k;
      }
    }
    if (rng() % 4 == 0) delayed.push_back({i + rng() % 4, in[i]});
  }
  for (const auto& d : delayed) out.push_back(d.second);
  return out;
}

std::vector<detected_digit> detect(const scenario& s, const std::vector<wire_packet>& stream) {
  telephone_event_detector det;
  std::vector<detected_digit> got;
  for (const auto& p : stream) {
    rtp_header h;
    h.timestamp = p.ts;
    h.ssrc = 0x5eed;
    h.payload_type = 101;
    const auto r = det.feed(h, p.ev, s.clock);
    RC_ASSERT(r.size() <= 2u);
    if (r.size() == 2) RC_ASSERT(!r[0].end_seen);  // the first of two is always a flushed one
    for (const auto& d : r) got.push_back(d);
  }
  if (auto e = det.expire()) got.push_back(*e);
  RC_ASSERT(!det.expire());
  return got;
}

std::string digits_of(const std::vector<press>& ps) {
  std::string s;
  for (const auto& p : ps) s.push_back(p.digit);
  return s;
}

std::string digits_of(const std::vector<detected_digit>& ds) {
  std::string s;
  for (const auto& d : ds) s.push_back(d.digit);
  return s;
}

RC_GTEST_PROP(telephone_event_prop, generated_digits_survive_duplicates_and_some_lost_ends, ()) {
  const scenario s = make_scenario(false);
  const auto stream = duplicate(s.stream, *rc::gen::arbitrary<uint64_t>());
  const auto got = detect(s, stream);
  RC_ASSERT(digits_of(got) == digits_of(s.presses));
  for (std::size_t i = 0; i < got.size(); ++i) {
    RC_ASSERT(got[i].end_seen);
    RC_ASSERT(got[i].rtp_timestamp == s.presses[i].start_ts);
    const int64_t diff = int64_t{got[i].duration_ms} - int64_t{s.presses[i].duration_ms};
    RC_ASSERT(std::llabs(diff) <= int64_t{s.ptime});
  }
}

RC_GTEST_PROP(telephone_event_prop, presses_without_any_end_are_reported_by_what_follows, ()) {
  const scenario s = make_scenario(true);
  const auto stream = duplicate(s.stream, *rc::gen::arbitrary<uint64_t>());
  const auto got = detect(s, stream);
  RC_ASSERT(digits_of(got) == digits_of(s.presses));
  for (std::size_t i = 0; i < got.size(); ++i) {
    RC_ASSERT(got[i].end_seen == !s.presses[i].all_ends_lost);
    RC_ASSERT(got[i].rtp_timestamp == s.presses[i].start_ts);
    const int64_t diff = int64_t{s.presses[i].duration_ms} - int64_t{got[i].duration_ms};
    // Without the end, the longest update seen is at most one interval short;
    // two when the last update seen closed a segment at 0xFFFF (the segment
    // was full, the time past it is only in the lost packets).
    RC_ASSERT(diff >= 0);
    RC_ASSERT(diff <= int64_t{s.ptime} * (s.presses[i].all_ends_lost ? 2 : 0));
  }
}

RC_GTEST_PROP(telephone_event_prop, generator_packets_are_well_formed, ()) {
  const char digit = *rc::gen::elementOf(keys);
  const uint32_t clock = *rc::gen::element(8000u, 16000u, 48000u);
  const uint32_t ptime = *rc::gen::element(10u, 20u, 30u, 40u);
  const uint32_t ms = *rc::gen::inRange<uint32_t>(1, 5000);
  const uint32_t start = *start_timestamp();
  telephone_event_generator g;
  RC_ASSERT(g.start(digit, ms, start, clock, 10, ptime).ok());
  const uint64_t total = std::max<uint64_t>(1, uint64_t{ms} * clock / 1000);
  std::array<uint8_t, 4> b{};
  bool marker = false;
  uint32_t ts = 0;
  std::size_t count = 0, ends = 0;
  uint64_t segment_base = 0;  // units covered by earlier segments
  uint32_t segment_ts = start;
  uint16_t last_duration = 0;
  while (g.next(b, marker, ts)) {
    auto ev = parse_telephone_event(b);
    RC_ASSERT(ev.has_value());
    RC_ASSERT(ev->event == *digit_event(digit));
    RC_ASSERT(marker == (count == 0));  // RFC 4733 §2.5.1.2
    if (ts != segment_ts) {
      // RFC 4733 §2.5.1.3: a new segment starts at the old one's timestamp + 0xFFFF
      // after a packet with the full 0xFFFF.
      RC_ASSERT(ts == segment_ts + 0xffffu);
      RC_ASSERT(last_duration == 0xffff);
      segment_base += 0xffff;
      segment_ts = ts;
    } else {
      RC_ASSERT(ev->duration >= last_duration);
    }
    if (ev->end) ++ends;
    else RC_ASSERT(ends == 0);
    last_duration = ev->duration;
    ++count;
  }
  RC_ASSERT(ends == 3u);  // RFC 4733 §2.5.1.4
  RC_ASSERT(segment_base + last_duration == total);
}

} // namespace
