#include <array>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "media/codec/g711.hpp"
#include "media/dtmf/inband_detector.hpp"
#include "media/dtmf/inband_generator.hpp"

namespace centralita::media {
namespace {

struct key_press {
  char digit;
  uint32_t on_ms;
  uint32_t off_ms;
};

// Any digit string with any Q.24-compliant timing (tones of 50..300 ms, gaps of
// 50..200 ms), generated in-band and carried over PCMA in 20 ms packets, is
// detected exactly: the same digits in order, each duration within ±20 ms.
RC_GTEST_PROP(inband_dtmf_detector_prop, random_digits_through_pcma_are_detected_exactly, ()) {
  const std::string keys = "0123456789*#ABCD";
  const auto count = *rc::gen::inRange(1, 9);
  std::vector<key_press> presses;
  for (int i = 0; i < count; ++i)
    presses.push_back({*rc::gen::elementOf(keys), *rc::gen::inRange<uint32_t>(50, 301),
                       *rc::gen::inRange<uint32_t>(50, 201)});

  inband_dtmf_generator gen;
  for (const auto& p : presses)
    RC_ASSERT(gen.queue(std::string(1, p.digit), p.on_ms, p.off_ms).ok());

  inband_dtmf_detector det;
  std::array<int16_t, 160> pcm{};
  std::array<uint8_t, 160> payload{};
  std::array<detected_tone, 4> out{};
  std::vector<detected_tone> found;
  // Leading silence of a random length shifts the tones against the detector's
  // analysis blocks; 200 ms of trailing silence lets the last key be released.
  const auto lead_frames = *rc::gen::inRange(0, 5);
  int idle_frames = 0;
  for (int frame = 0; idle_frames < 10; ++frame) {
    if (frame < lead_frames)
      pcm.fill(0);
    else if (gen.generate(pcm) == 0)
      ++idle_frames;
    alaw_encode(pcm, payload);
    const std::size_t n = det.feed_g711(codec_id::pcma, payload, out);
    found.insert(found.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
  }

  std::string sent;
  std::string heard;
  for (const auto& p : presses)
    sent += p.digit;
  for (const auto& t : found)
    heard += t.digit;
  RC_ASSERT(heard == sent);
  for (std::size_t i = 0; i < presses.size(); ++i) {
    const int err = static_cast<int>(found[i].duration_ms) - static_cast<int>(presses[i].on_ms);
    RC_ASSERT(std::abs(err) <= 20);
  }
}

} // namespace
} // namespace centralita::media
