#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "protocols/util/result.hpp"

namespace centralita::media {

/// In-band DTMF generation (issue 8: "generating DTMF into a leg ... in-band") with
/// spandsp's dtmf_tx, as 8 kHz PCM that the caller encodes for the leg (G.711, or
/// Opus through an encoder at 8 kHz). Each `queue` call keeps its own on/off
/// timing (spandsp's is per generator, so digits are handed to it one at a time).
/// Move-only; allocates only at construction.
class inband_dtmf_generator {
public:
  /// Level of each of the two tones in dBm0 (Q.23 allows -3 .. -15 or so; -10 is
  /// the usual default) and the twist (high group minus low group, in dB).
  explicit inband_dtmf_generator(int level_dbm0 = -10, int twist_db = 0);
  ~inband_dtmf_generator();
  inband_dtmf_generator(inband_dtmf_generator&&) noexcept;
  inband_dtmf_generator& operator=(inband_dtmf_generator&&) noexcept;

  /// Appends `digits` ('0'-'9', '*', '#', 'A'-'D', case-insensitive), each a tone of
  /// `on_ms` followed by `off_ms` of silence. Fails with `invalid_argument` (and
  /// queues nothing) on another character, a zero or over-10 s time, or when the
  /// queue (64 digits) would overflow.
  result<void> queue(std::string_view digits, uint32_t on_ms = 100, uint32_t off_ms = 60);

  /// Fills `pcm8k`: queued tones and gaps first, then silence (zeros). Returns the
  /// samples that came from the generator (tone and inter-digit gap), so a caller
  /// that only overlays DTMF on a leg while busy knows where it ended.
  std::size_t generate(std::span<int16_t> pcm8k);

  /// True while a digit or its gap is still being played or digits wait. When the
  /// last gap ends exactly at the end of a `generate` buffer, this turns false
  /// only on the next call (spandsp cannot be asked whether it is done).
  bool busy() const noexcept;

  /// Drops the queued digits (the one being played finishes).
  void clear() noexcept;

  static constexpr std::size_t max_queued = 64;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace centralita::media
