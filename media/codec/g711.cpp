#include "media/codec/g711.hpp"

#include <algorithm>

#include <spandsp.h>

namespace centralita::media {

namespace {

// The four directions differ only in the per-sample function; spandsp's
// linear_to_ulaw & co. are static inline, so this loop compiles to straight code.
template <class In, class Out, class Fn>
std::size_t convert(std::span<const In> in, std::span<Out> out, Fn fn) noexcept {
  const std::size_t n = std::min(in.size(), out.size());
  for (std::size_t i = 0; i < n; ++i)
    out[i] = fn(in[i]);
  return n;
}

} // namespace

std::size_t ulaw_encode(std::span<const int16_t> pcm, std::span<uint8_t> out) noexcept {
  return convert(pcm, out, [](int16_t s) { return ::linear_to_ulaw(s); });
}

std::size_t ulaw_decode(std::span<const uint8_t> octets, std::span<int16_t> out) noexcept {
  return convert(octets, out, [](uint8_t o) { return ::ulaw_to_linear(o); });
}

std::size_t alaw_encode(std::span<const int16_t> pcm, std::span<uint8_t> out) noexcept {
  return convert(pcm, out, [](int16_t s) { return ::linear_to_alaw(s); });
}

std::size_t alaw_decode(std::span<const uint8_t> octets, std::span<int16_t> out) noexcept {
  return convert(octets, out, [](uint8_t o) { return ::alaw_to_linear(o); });
}

std::size_t ulaw_to_alaw(std::span<const uint8_t> ulaw, std::span<uint8_t> out) noexcept {
  return convert(ulaw, out, [](uint8_t o) { return ::ulaw_to_alaw(o); });
}

std::size_t alaw_to_ulaw(std::span<const uint8_t> alaw, std::span<uint8_t> out) noexcept {
  return convert(alaw, out, [](uint8_t o) { return ::alaw_to_ulaw(o); });
}

} // namespace centralita::media
