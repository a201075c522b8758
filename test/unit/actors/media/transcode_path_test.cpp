// One direction of a transcoded call, measured: an Opus stream of a tone goes
// in, PCMA comes out, and the decoded output still holds the tone (frequency
// and SNR); telephone-events are carried across on the receiver's clock, or
// become tones when the receiver has no telephone-event; loss is concealed.
#include "actors/media/transcode_path.hpp"

#include "media/codec/g711.hpp"
#include "media/codec/opus_codec.hpp"
#include "media/dtmf/inband_detector.hpp"
#include "media/tone/tone.hpp"
#include "protocols/rtp/telephone_event.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

using namespace centralita;
using namespace centralita::actors;

namespace {

constexpr uint8_t opus_pt = 111;
constexpr uint8_t opus_te = 101;
constexpr uint8_t pcma_te = 100;

transcode_leg opus_leg(uint32_t api_rate, bool te) {
  transcode_leg l;
  l.codec = media::codec_spec{media::codec_id::opus, api_rate, 48000, opus_pt};
  if (te) {
    l.telephone_event_pt = opus_te;
    l.telephone_event_rate = 48000;
  }
  return l;
}

transcode_leg pcma_leg(bool te) {
  transcode_leg l;
  l.codec = media::codec_spec{media::codec_id::pcma, 8000, 8000, 8};
  if (te) {
    l.telephone_event_pt = pcma_te;
    l.telephone_event_rate = 8000;
  }
  return l;
}

std::vector<uint8_t> packet(uint8_t pt, uint16_t seq, uint32_t ts, std::span<const uint8_t> payload,
                            bool marker = false) {
  std::vector<uint8_t> p(12 + payload.size());
  rtp::rtp_header_fields f;
  f.payload_type = pt;
  f.sequence = seq;
  f.timestamp = ts;
  f.ssrc = 0x1234;
  f.marker = marker;
  rtp::write_rtp_header(p, f);
  std::copy(payload.begin(), payload.end(), p.begin() + 12);
  return p;
}

struct collected {
  std::vector<std::vector<uint8_t>> packets;
  transcode_path::emit_fn fn() {
    return [this](std::span<const uint8_t> b) { packets.emplace_back(b.begin(), b.end()); };
  }
};

/// `frames` 20 ms Opus frames of a `freq` tone encoded at `rate`.
std::vector<std::vector<uint8_t>> opus_tone(uint32_t rate, double freq, int frames) {
  auto enc = media::opus_encoder::create(rate);
  EXPECT_TRUE(enc);
  std::vector<std::vector<uint8_t>> out;
  double phase = 0;
  std::vector<int16_t> pcm(rate / 50);
  for (int i = 0; i < frames; ++i) {
    media::generate_sine(pcm, freq, media::dbm0_to_amplitude(-10), rate, phase);
    std::vector<uint8_t> buf(media::opus_max_packet_bytes);
    auto n = enc->encode(pcm, buf);
    EXPECT_TRUE(n);
    buf.resize(*n);
    out.push_back(std::move(buf));
  }
  return out;
}

/// Decodes the PCMA audio packets (payload type 8) of `c`, in order.
std::vector<int16_t> decode_pcma(const collected& c) {
  std::vector<int16_t> pcm;
  for (auto& p : c.packets) {
    auto h = rtp::parse_rtp(p);
    if (!h || h->payload_type != 8)
      continue;
    std::vector<int16_t> f(h->payload_size);
    media::alaw_decode(std::span<const uint8_t>(p).subspan(h->payload_offset, h->payload_size), f);
    pcm.insert(pcm.end(), f.begin(), f.end());
  }
  return pcm;
}

} // namespace

TEST(transcode_path, an_opus_tone_survives_into_pcma) {
  for (uint32_t rate : {8000u, 16000u, 48000u}) {
    auto path = transcode_path::create(opus_leg(rate, false), pcma_leg(false), 0xcafe);
    ASSERT_TRUE(path) << path.err().reason;
    collected out;
    auto frames = opus_tone(rate, 1000.0, 100);
    for (std::size_t i = 0; i < frames.size(); ++i)
      path->on_packet(packet(opus_pt, static_cast<uint16_t>(500 + i), static_cast<uint32_t>(9000 + i * 960),
                             frames[i]),
                      out.fn());
    ASSERT_EQ(out.packets.size(), 100u);
    // Our own stream: consecutive sequence numbers, 160 samples apart, our SSRC.
    for (std::size_t i = 1; i < out.packets.size(); ++i) {
      auto a = rtp::parse_rtp(out.packets[i - 1]);
      auto b = rtp::parse_rtp(out.packets[i]);
      ASSERT_TRUE(a && b);
      EXPECT_EQ(static_cast<uint16_t>(a->sequence + 1), b->sequence);
      EXPECT_EQ(b->timestamp - a->timestamp, 160u);
      EXPECT_EQ(b->ssrc, 0xcafeu);
      EXPECT_EQ(b->payload_size, 160);
    }
    auto pcm = decode_pcma(out);
    // Skip the codec's start-up (the first 100 ms).
    std::span<const int16_t> steady(pcm.data() + 800, pcm.size() - 800);
    double f = media::dominant_frequency(steady, 8000);
    double snr = media::snr_db(steady, 1000.0, 8000);
    std::printf("opus@%u -> PCMA: %.3f Hz, SNR %.2f dB\n", rate, f, snr);
    EXPECT_NEAR(f, 1000.0, 2.0);
    EXPECT_GT(snr, 20.0);
  }
}

TEST(transcode_path, a_pcma_tone_survives_into_opus) {
  auto path = transcode_path::create(pcma_leg(false), opus_leg(48000, false), 0xbeef);
  ASSERT_TRUE(path);
  collected out;
  double phase = 0;
  std::vector<int16_t> pcm(160);
  std::vector<uint8_t> g(160);
  for (int i = 0; i < 100; ++i) {
    media::generate_sine(pcm, 440.0, media::dbm0_to_amplitude(-10), 8000, phase);
    media::alaw_encode(pcm, g);
    path->on_packet(packet(8, static_cast<uint16_t>(i), static_cast<uint32_t>(i * 160), g), out.fn());
  }
  ASSERT_EQ(out.packets.size(), 100u);
  auto dec = media::opus_decoder::create(48000);
  ASSERT_TRUE(dec);
  std::vector<int16_t> all;
  for (std::size_t i = 0; i < out.packets.size(); ++i) {
    auto h = rtp::parse_rtp(out.packets[i]);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->payload_type, opus_pt);
    if (i > 0) {
      auto prev = rtp::parse_rtp(out.packets[i - 1]);
      EXPECT_EQ(h->timestamp - prev->timestamp, 960u);  // RFC 7587: 48 kHz clock
    }
    std::vector<int16_t> f(960);
    auto n = dec->decode(std::span<const uint8_t>(out.packets[i]).subspan(12), f);
    ASSERT_TRUE(n);
    all.insert(all.end(), f.begin(), f.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  std::span<const int16_t> steady(all.data() + 4800, all.size() - 4800);
  double f = media::dominant_frequency(steady, 48000);
  double snr = media::snr_db(steady, 440.0, 48000);
  std::printf("PCMA -> opus@48k: %.3f Hz, SNR %.2f dB\n", f, snr);
  EXPECT_NEAR(f, 440.0, 2.0);
  EXPECT_GT(snr, 15.0);
}

TEST(transcode_path, telephone_events_move_to_the_receivers_clock) {
  auto path = transcode_path::create(opus_leg(48000, true), pcma_leg(true), 0x1);
  ASSERT_TRUE(path);
  collected out;
  auto frames = opus_tone(48000, 700.0, 10);
  uint32_t ts = 48000;
  uint16_t seq = 1;
  for (auto& f : frames) {
    path->on_packet(packet(opus_pt, seq++, ts, f), out.fn());
    ts += 960;
  }
  // A 100 ms press of 5 at 48 kHz: start, updates, three ends.
  rtp::telephone_event_generator gen;
  ASSERT_TRUE(gen.start('5', 100, ts, 48000));
  std::array<uint8_t, 4> block{};
  bool marker = false;
  uint32_t ets = 0;
  while (gen.next(block, marker, ets))
    path->on_packet(packet(opus_te, seq++, ets, block, marker), out.fn());
  rtp::telephone_event_detector det;
  std::string digits;
  uint32_t duration = 0;
  for (auto& p : out.packets) {
    auto h = rtp::parse_rtp(p);
    if (!h || h->payload_type != pcma_te)
      continue;
    auto ev = rtp::parse_telephone_event(std::span<const uint8_t>(p).subspan(12, 4));
    ASSERT_TRUE(ev);
    for (auto& d : det.feed(*h, *ev, 8000)) {
      digits += d.digit;
      duration = d.duration_ms;
    }
  }
  EXPECT_EQ(digits, "5");
  EXPECT_NEAR(static_cast<double>(duration), 100.0, 20.0);
  EXPECT_EQ(path->events_carried(), 1u);
}

TEST(transcode_path, telephone_events_become_tones_without_telephone_event) {
  auto path = transcode_path::create(opus_leg(48000, true), pcma_leg(false), 0x2);
  ASSERT_TRUE(path);
  collected out;
  auto frames = opus_tone(48000, 0.0, 60);  // silence carrier
  uint32_t ts = 0;
  uint16_t seq = 1;
  std::size_t i = 0;
  for (; i < 10; ++i, ts += 960)
    path->on_packet(packet(opus_pt, seq++, ts, frames[i]), out.fn());
  rtp::telephone_event_generator gen;
  ASSERT_TRUE(gen.start('8', 120, ts, 48000));
  std::array<uint8_t, 4> block{};
  bool marker = false;
  uint32_t ets = 0;
  while (gen.next(block, marker, ets))
    path->on_packet(packet(opus_te, seq++, ets, block, marker), out.fn());
  for (; i < frames.size(); ++i, ts += 960)
    path->on_packet(packet(opus_pt, seq++, ts, frames[i]), out.fn());
  media::inband_dtmf_detector det;
  std::string digits;
  for (auto& p : out.packets) {
    std::array<media::detected_tone, 4> tones{};
    auto n = det.feed_g711(media::codec_id::pcma, std::span<const uint8_t>(p).subspan(12), tones);
    for (std::size_t k = 0; k < n; ++k)
      digits += tones[k].digit;
  }
  EXPECT_EQ(digits, "8");
}

TEST(transcode_path, played_presses_and_loss) {
  auto path = transcode_path::create(opus_leg(48000, false), pcma_leg(true), 0x3);
  ASSERT_TRUE(path);
  collected out;
  auto frames = opus_tone(48000, 500.0, 40);
  path->play('#', 80);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (i == 20 || i == 21)
      continue;  // two packets lost
    path->on_packet(packet(opus_pt, static_cast<uint16_t>(i), static_cast<uint32_t>(i * 960), frames[i]), out.fn());
  }
  // Every 20 ms slot is filled (38 packets arrived, 2 were concealed).
  EXPECT_EQ(out.packets.size(), 40u);
  EXPECT_EQ(path->stats().concealed + path->stats().recovered, 2u);
  rtp::telephone_event_detector det;
  std::string digits;
  for (auto& p : out.packets) {
    auto h = rtp::parse_rtp(p);
    if (!h || h->payload_type != pcma_te)
      continue;
    auto ev = rtp::parse_telephone_event(std::span<const uint8_t>(p).subspan(12, 4));
    for (auto& d : det.feed(*h, *ev, 8000))
      digits += d.digit;
  }
  EXPECT_EQ(digits, "#");
}
