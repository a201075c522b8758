#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::rtp_load {

enum class codec { pcma, opus };

/// "pcma" / "opus" (case as written); false for anything else.
bool parse_codec(std::string_view text, codec& out) noexcept;
std::string_view codec_name(codec c) noexcept;

/// RTP clock rate: 8000 for G.711 (RFC 3551 §4.5.14), 48000 for Opus (RFC 7587 §4.1).
uint32_t clock_rate(codec c) noexcept;

/// Pre-encoded 20 ms payloads of a 1 kHz tone, cycled by packet index: one 160-octet
/// A-law frame for PCMA (a 1 kHz tone repeats every 8 samples, so one frame loops
/// seamlessly), one second of Opus frames (1 kHz at 48 kHz: 1,000 whole periods).
/// Built once at start; `frame` returns a view that stays valid for the object's life.
class tone_payloads {
public:
  /// Fails (returns false, message in `error`) only if libopus refuses the encoder.
  bool build(codec c, int opus_bitrate_bps, std::string& error);
  std::span<const uint8_t> frame(uint32_t packet_index) const noexcept {
    const auto& f = frames_[packet_index % frames_.size()];
    return {bytes_.data() + f.offset, f.size};
  }
  std::size_t frame_count() const noexcept { return frames_.size(); }
  std::size_t max_frame_size() const noexcept;

private:
  struct slice {
    std::size_t offset;
    std::size_t size;
  };
  std::vector<uint8_t> bytes_;
  std::vector<slice> frames_;
};

} // namespace centralita::rtp_load
