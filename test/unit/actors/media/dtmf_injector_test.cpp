// Key presses played into a relayed stream: the audio packets on their way
// are replaced one for one. What comes out must read back as the same keys,
// through the same detectors the switch uses on what it receives.
#include "actors/media/dtmf_injector.hpp"

#include "media/codec/g711.hpp"
#include "media/dtmf/inband_detector.hpp"
#include "protocols/rtp/telephone_event.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::actors;

namespace {

/// A 20 ms PCMA (or PCMU) packet of near-silence: seq n, ts n * 160.
std::vector<uint8_t> audio(uint16_t seq, uint8_t pt = 8, uint32_t ssrc = 0xabcdef01) {
  std::vector<uint8_t> p(12 + 160, pt == 0 ? 0xff : 0xd5);
  p[0] = 0x80;
  p[1] = pt;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  uint32_t ts = 1000u + seq * 160u;
  for (int i = 0; i < 4; ++i) {
    p[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
    p[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  }
  return p;
}

struct stream_out {
  std::vector<std::vector<uint8_t>> packets;
};

/// Runs `count` audio packets through the injector, keeping what it forwards.
stream_out run(dtmf_injector& inj, int count, uint8_t pt = 8) {
  stream_out out;
  for (int i = 0; i < count; ++i) {
    auto p = audio(static_cast<uint16_t>(i), pt);
    auto h = rtp::parse_rtp(p);
    EXPECT_TRUE(h);
    auto len = inj.apply(p, p.size(), *h);
    p.resize(len);
    out.packets.push_back(std::move(p));
  }
  return out;
}

std::string detect_rfc4733(const stream_out& s, uint8_t te_pt, std::vector<uint32_t>* durations = nullptr) {
  rtp::telephone_event_detector det;
  std::string digits;
  for (auto& p : s.packets) {
    auto h = rtp::parse_rtp(p);
    if (!h || h->payload_type != te_pt)
      continue;
    auto ev = rtp::parse_telephone_event(std::span<const uint8_t>(p).subspan(h->payload_offset, h->payload_size));
    if (!ev)
      continue;
    for (auto& d : det.feed(*h, *ev, 8000)) {
      digits += d.digit;
      if (durations)
        durations->push_back(d.duration_ms);
    }
  }
  return digits;
}

} // namespace

TEST(dtmf_injector, idle_leaves_packets_alone) {
  dtmf_injector inj;
  auto out = run(inj, 10);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(out.packets[static_cast<std::size_t>(i)], audio(static_cast<uint16_t>(i)));
}

TEST(dtmf_injector, rfc4733_presses_read_back_as_the_same_keys) {
  dtmf_injector inj;
  dtmf_injection_target t;
  t.telephone_event_pt = 101;
  t.pcma_pt = 8;
  inj.set_target(t);
  inj.queue("1#9", 100, false);
  auto out = run(inj, 60);
  std::vector<uint32_t> durations;
  EXPECT_EQ(detect_rfc4733(out, 101, &durations), "1#9");
  for (auto d : durations)
    EXPECT_NEAR(static_cast<double>(d), 100.0, 20.0);
  EXPECT_EQ(inj.played(), 3u);
  EXPECT_TRUE(inj.idle());
  // The stream stays the stream: every packet keeps its sequence number and
  // SSRC; event packets are 16 bytes, the first of each press has the marker.
  int markers = 0;
  for (std::size_t i = 0; i < out.packets.size(); ++i) {
    auto h = rtp::parse_rtp(out.packets[i]);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->sequence, i);
    EXPECT_EQ(h->ssrc, 0xabcdef01u);
    if (h->payload_type == 101) {
      EXPECT_EQ(out.packets[i].size(), 16u);
      markers += h->marker ? 1 : 0;
    } else {
      EXPECT_EQ(out.packets[i].size(), 172u);
    }
  }
  EXPECT_EQ(markers, 3);
  // After the presses, audio flows again.
  EXPECT_EQ(out.packets.back(), audio(59));
}

TEST(dtmf_injector, inband_when_the_party_has_no_telephone_event) {
  for (uint8_t pt : {uint8_t{0}, uint8_t{8}}) {
    dtmf_injector inj;
    dtmf_injection_target t;
    (pt == 0 ? t.pcmu_pt : t.pcma_pt) = pt;
    inj.set_target(t);
    inj.queue("42", 120, false);
    auto out = run(inj, 40, pt);
    media::inband_dtmf_detector det;
    std::string digits;
    for (auto& p : out.packets) {
      ASSERT_EQ(p.size(), 172u);  // same length: the tone replaces the audio
      std::array<media::detected_tone, 4> tones{};
      auto n = det.feed_g711(pt == 0 ? media::codec_id::pcmu : media::codec_id::pcma,
                             std::span<const uint8_t>(p).subspan(12), tones);
      for (std::size_t i = 0; i < n; ++i) {
        digits += tones[i].digit;
        EXPECT_NEAR(static_cast<double>(tones[i].duration_ms), 120.0, 25.0);
      }
    }
    EXPECT_EQ(digits, "42") << "pt " << int(pt);
  }
}

TEST(dtmf_injector, inband_forced_even_with_telephone_event) {
  dtmf_injector inj;
  dtmf_injection_target t;
  t.telephone_event_pt = 101;
  t.pcma_pt = 8;
  inj.set_target(t);
  inj.queue("7", 100, true);
  auto out = run(inj, 20);
  EXPECT_EQ(detect_rfc4733(out, 101), "");
  media::inband_dtmf_detector det;
  std::string digits;
  for (auto& p : out.packets) {
    std::array<media::detected_tone, 4> tones{};
    auto n = det.feed_g711(media::codec_id::pcma, std::span<const uint8_t>(p).subspan(12), tones);
    for (std::size_t i = 0; i < n; ++i)
      digits += tones[i].digit;
  }
  EXPECT_EQ(digits, "7");
}

TEST(dtmf_injector, tones_are_not_written_into_a_codec_we_cannot_encode) {
  dtmf_injector inj;
  dtmf_injection_target t;
  t.pcma_pt = 8;
  inj.set_target(t);
  inj.queue("5", 100, false);
  auto out = run(inj, 10, 111);  // an Opus stream: left alone
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(out.packets[static_cast<std::size_t>(i)], audio(static_cast<uint16_t>(i), 111));
}

TEST(dtmf_injector, queued_jobs_play_in_order) {
  dtmf_injector inj;
  dtmf_injection_target t;
  t.telephone_event_pt = 96;
  inj.set_target(t);
  inj.queue("12", 60, false);
  inj.queue("3", 60, false);
  auto out = run(inj, 80);
  EXPECT_EQ(detect_rfc4733(out, 96), "123");
}
