#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "media/codec/audio_codec.hpp"

namespace centralita::media {

/// One key press heard in the audio, reported when the key is released.
struct detected_tone {
  char digit;           ///< '0'..'9', '*', '#', 'A'..'D'
  uint32_t duration_ms; ///< how long the tone lasted (measured error within ±13 ms)
};

/// In-band DTMF detection (issue 8: on G.711 legs that negotiated no
/// telephone-event) with spandsp's dtmf_rx, a Goertzel detector that follows
/// ITU-T Q.23/Q.24 (tones of 40 ms or more, gaps of 50 ms or more, twist and
/// talk-off checks). Works on 8 kHz PCM in any chunk size. Move-only (a moved-from
/// detector may only be destroyed or assigned to); allocates only at construction.
class inband_dtmf_detector {
public:
  inband_dtmf_detector();
  ~inband_dtmf_detector();
  inband_dtmf_detector(inband_dtmf_detector&&) noexcept;
  inband_dtmf_detector& operator=(inband_dtmf_detector&&) noexcept;

  /// Feeds 8 kHz PCM; writes each key press released in it to `out` and returns
  /// how many. Releases that do not fit in `out` are kept (up to 16) and returned
  /// by the next call.
  std::size_t feed(std::span<const int16_t> pcm8k, std::span<detected_tone> out);

  /// The same for a G.711 payload (`id` PCMU or PCMA; Opus payloads return 0:
  /// decode them first, e.g. through `transcoder::pcm_tap()`).
  std::size_t feed_g711(codec_id id, std::span<const uint8_t> payload,
                        std::span<detected_tone> out);

  /// The key held down right now ('\0' when none): lets the caller start RFC 4733
  /// events at the tone's onset (RFC 4733 §2.5.1.2) rather than at its end.
  char pressed() const noexcept;

  /// Key presses dropped because `out` was too small and the backlog full.
  uint64_t overflows() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace centralita::media
