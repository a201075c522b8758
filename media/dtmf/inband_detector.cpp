#include "media/dtmf/inband_detector.hpp"

#include <algorithm>
#include <array>
#include <new>

#include <spandsp.h>

#include "media/codec/g711.hpp"

namespace centralita::media {

namespace {

// spandsp confirms a key down after two analysis blocks (102 samples each) with a
// hit, and a key up after two without; its state duration counts whole blocks, and
// the partial blocks at the tone's edges rarely count as hits. So the raw duration
// is short by 0 to 2 blocks, 8.5 ms on average (measured over tones of 40..300 ms
// at every block offset). Adding the mean centres the error: ±13 ms instead of
// -21..+4 ms.
constexpr int edge_correction_samples = 68;

} // namespace

struct inband_dtmf_detector::impl {
  // spandsp calls back with `this` as user data, so the state lives on the heap
  // where moving the detector does not move it.
  dtmf_rx_state_t* rx = nullptr;
  char pressed = '\0';
  // Releases found during one dtmf_rx() call, waiting to be copied out.
  std::array<detected_tone, 16> backlog{};
  std::size_t backlog_len = 0;
  uint64_t overflows = 0;

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    if (rx != nullptr)
      dtmf_rx_free(rx);
  }

  // spandsp's realtime callback: `code` is the digit's ASCII on key down and 0 on
  // key up; `duration` is the samples spent in the previous state (counted in
  // spandsp's analysis blocks, independent of how the audio was chunked), so at
  // key up it is the length of the tone.
  static void on_state_change(void* user, int code, int /*level*/, int duration) {
    auto* self = static_cast<impl*>(user);
    if (code != 0) {
      self->pressed = static_cast<char>(code);
      return;
    }
    if (self->pressed == '\0')
      return;
    if (self->backlog_len == self->backlog.size()) {
      ++self->overflows;
    } else {
      const int samples = std::max(duration, 0) + edge_correction_samples;
      self->backlog[self->backlog_len++] =
          detected_tone{self->pressed, static_cast<uint32_t>((samples + 4) / 8)};
    }
    self->pressed = '\0';
  }

  std::size_t drain(std::span<detected_tone> out) {
    const std::size_t n = std::min(out.size(), backlog_len);
    std::copy_n(backlog.begin(), n, out.begin());
    std::copy(backlog.begin() + static_cast<std::ptrdiff_t>(n),
              backlog.begin() + static_cast<std::ptrdiff_t>(backlog_len), backlog.begin());
    backlog_len -= n;
    return n;
  }
};

inband_dtmf_detector::inband_dtmf_detector() : impl_(std::make_unique<impl>()) {
  impl_->rx = dtmf_rx_init(nullptr, nullptr, nullptr);
  if (impl_->rx == nullptr)
    throw std::bad_alloc(); // construction only: spandsp fails just on OOM
  dtmf_rx_set_realtime_callback(impl_->rx, &impl::on_state_change, impl_.get());
}

inband_dtmf_detector::~inband_dtmf_detector() = default;
inband_dtmf_detector::inband_dtmf_detector(inband_dtmf_detector&&) noexcept = default;
inband_dtmf_detector& inband_dtmf_detector::operator=(inband_dtmf_detector&&) noexcept = default;

std::size_t inband_dtmf_detector::feed(std::span<const int16_t> pcm8k,
                                       std::span<detected_tone> out) {
  if (!pcm8k.empty())
    dtmf_rx(impl_->rx, pcm8k.data(), static_cast<int>(pcm8k.size()));
  return impl_->drain(out);
}

std::size_t inband_dtmf_detector::feed_g711(codec_id id, std::span<const uint8_t> payload,
                                            std::span<detected_tone> out) {
  if (!is_g711(id))
    return impl_->drain(out);
  // Decode in 20 ms chunks through a stack buffer: any payload length, no heap.
  std::array<int16_t, 160> pcm;
  while (!payload.empty()) {
    const auto chunk = payload.first(std::min(payload.size(), pcm.size()));
    const std::size_t n = id == codec_id::pcmu ? ulaw_decode(chunk, pcm) : alaw_decode(chunk, pcm);
    dtmf_rx(impl_->rx, pcm.data(), static_cast<int>(n));
    payload = payload.subspan(n);
  }
  return impl_->drain(out);
}

char inband_dtmf_detector::pressed() const noexcept { return impl_->pressed; }

uint64_t inband_dtmf_detector::overflows() const noexcept { return impl_->overflows; }

} // namespace centralita::media
