#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace centralita::media {

/// Tone synthesis and analysis on 16-bit PCM: used by the unit tests, and by
/// integration tools that check what came out of a call (frequency, level, SNR).
/// Nothing allocates.

/// Peak amplitude of a sine at `dbm0`. G.711's overload point (a full-scale sine)
/// is +3.14 dBm0 (A-law; µ-law's is +3.17, spandsp uses 3.14 for both), mapped to
/// the 16-bit full scale 32767.
double dbm0_to_amplitude(double dbm0) noexcept;

/// Power of `pcm` in dBm0 (the same reference); -inf for silence.
double power_dbm0(std::span<const int16_t> pcm) noexcept;

/// Writes a sine of `freq_hz` and peak `amplitude` (linear, saturated to int16) at
/// `rate`; `phase` (radians) carries over between calls so frames join smoothly.
void generate_sine(std::span<int16_t> out, double freq_hz, double amplitude, uint32_t rate,
                   double& phase) noexcept;

/// Like `generate_sine` but adds to what `out` holds (saturating), for tone pairs.
void add_sine(std::span<int16_t> out, double freq_hz, double amplitude, uint32_t rate,
              double& phase) noexcept;

/// |DTFT|² of `pcm` at `freq_hz` (Goertzel; any frequency, not only bin centres).
double goertzel_power(std::span<const int16_t> pcm, double freq_hz, uint32_t rate) noexcept;

/// The frequency of the strongest spectral peak between `min_hz` and `max_hz`
/// (0: rate / 2), in Hz. A coarse Hann-windowed Goertzel scan over the first 4096
/// samples, then finer scans over up to 8× longer prefixes around the peak, then
/// parabolic interpolation: for a 1 s tone the error is far below 1 Hz, and the
/// cost is linear in the length. Returns 0 for fewer than 64 samples.
double dominant_frequency(std::span<const int16_t> pcm, uint32_t rate, double min_hz = 20.0,
                          double max_hz = 0.0) noexcept;

/// Signal-to-noise ratio of a tone at `freq_hz`, in dB: a least-squares fit of
/// a·cos + b·sin (+ a DC term) at that frequency, its power against the power of
/// what the fit leaves (noise, distortion, other tones). Needs the exact frequency
/// (the codec does not shift it); phase and delay do not matter.
double snr_db(std::span<const int16_t> pcm, double freq_hz, uint32_t rate) noexcept;

} // namespace centralita::media
