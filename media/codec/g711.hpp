#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace centralita::media {

/// G.711 (ITU-T G.711, RFC 3551 §4.5.14: PCMU = µ-law, PCMA = A-law) on whole frames,
/// through spandsp's table-free G.711 routines. One octet per sample at 8000 Hz; the
/// linear side is 16-bit (spandsp scales the 14-bit µ-law / 13-bit A-law range up to
/// it, so a full-scale µ-law sample decodes to ±32124 and A-law to ±32256).
///
/// Every function converts min(in.size(), out.size()) samples and returns that count;
/// callers size `out` like `in`. Nothing allocates.

/// PCM → µ-law octets.
std::size_t ulaw_encode(std::span<const int16_t> pcm, std::span<uint8_t> out) noexcept;
/// µ-law octets → PCM.
std::size_t ulaw_decode(std::span<const uint8_t> octets, std::span<int16_t> out) noexcept;
/// PCM → A-law octets.
std::size_t alaw_encode(std::span<const int16_t> pcm, std::span<uint8_t> out) noexcept;
/// A-law octets → PCM.
std::size_t alaw_decode(std::span<const uint8_t> octets, std::span<int16_t> out) noexcept;

/// µ-law → A-law directly, with G.711's own transcoding tables (ITU-T G.711 Tables 3
/// and 4), which are what a decode + re-encode would approximate.
std::size_t ulaw_to_alaw(std::span<const uint8_t> ulaw, std::span<uint8_t> out) noexcept;
/// A-law → µ-law directly (ITU-T G.711 Tables 3 and 4).
std::size_t alaw_to_ulaw(std::span<const uint8_t> alaw, std::span<uint8_t> out) noexcept;

} // namespace centralita::media
