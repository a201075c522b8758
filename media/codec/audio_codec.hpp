#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "media/codec/opus_codec.hpp"
#include "protocols/util/result.hpp"

namespace centralita::media {

/// The audio codecs the switch bridges (issue 8).
enum class codec_id : uint8_t {
  pcmu, ///< G.711 µ-law, RFC 3551 §4.5.14, static payload type 0
  pcma, ///< G.711 A-law, RFC 3551 §4.5.14, static payload type 8
  opus, ///< RFC 6716 / RFC 7587, dynamic payload type
};

/// The SDP encoding name ("PCMU", "PCMA", "opus").
const char* to_string(codec_id id) noexcept;

/// One negotiated codec of a leg.
struct codec_spec {
  codec_id id;
  /// The rate PCM is handled at (the codec API rate): always 8000 for G.711; for
  /// Opus 8000, 12000, 16000, 24000 or 48000, chosen by us (e.g. from the peer's
  /// maxplaybackrate, RFC 7587 §6.1), since every Opus stream decodes at any rate.
  uint32_t sample_rate;
  /// The RTP timestamp clock: 8000 for G.711 (RFC 3551 §4.5.14), always 48000 for
  /// Opus (RFC 7587 §4.1).
  uint32_t rtp_clock_rate;
  uint8_t payload_type;

  friend bool operator==(const codec_spec&, const codec_spec&) = default;
};

/// The spec for an rtpmap entry `name/clock_rate` with payload type `pt` (name
/// compared case-insensitively, RFC 4566 §6: encoding names are case-insensitive).
/// nullopt for an unknown codec or a clock rate the codec cannot have (G.711 is
/// 8000, Opus is 48000 per RFC 7587 §7). Opus gets the API rate 48000; lower it in
/// the returned spec when the peer asks for less.
std::optional<codec_spec> codec_spec_from(std::string_view name, uint32_t clock_rate, uint8_t pt);

/// True for a G.711 codec.
constexpr bool is_g711(codec_id id) noexcept { return id != codec_id::opus; }

/// Decodes one leg's payloads into PCM at a chosen rate, with loss concealment:
/// spandsp's PLC for G.711 (it keeps the last pitch periods and fades), libopus's
/// PLC and in-band FEC for Opus. Move-only; allocates only in `create`.
class audio_decoder {
public:
  /// `pcm_rate` must be 8000 for G.711 and an Opus API rate for Opus.
  static result<audio_decoder> create(codec_id id, uint32_t pcm_rate);

  /// Decodes `payload` into `pcm_out` (capacity); returns the samples written.
  result<std::size_t> decode(std::span<const uint8_t> payload, std::span<int16_t> pcm_out);
  /// Synthesises `pcm_out.size()` samples for a lost packet.
  result<std::size_t> conceal(std::span<int16_t> pcm_out);
  /// Rebuilds the lost packet just before `next_payload` (`pcm_out.size()` samples):
  /// Opus in-band FEC (RFC 6716 §2.1.7) when that packet has it, else concealment.
  /// `next_payload` must still be passed to `decode` afterwards.
  result<std::size_t> recover(std::span<const uint8_t> next_payload, std::span<int16_t> pcm_out);

  codec_id id() const noexcept { return id_; }
  uint32_t pcm_rate() const noexcept { return pcm_rate_; }

private:
  // spandsp's plc_state_t is an anonymous struct (no forward declaration
  // possible); it lives in this box, defined in the .cpp, so that users of this
  // header do not see spandsp.
  struct plc_box;
  struct plc_deleter {
    void operator()(plc_box* b) const noexcept;
  };
  audio_decoder(codec_id id, uint32_t rate) : id_(id), pcm_rate_(rate) {}

  codec_id id_;
  uint32_t pcm_rate_;
  std::unique_ptr<plc_box, plc_deleter> plc_; // G.711 only
  std::optional<opus_decoder> opus_;              // Opus only
};

/// Encodes PCM at a chosen rate into one leg's payloads. Move-only; allocates only
/// in `create`.
class audio_encoder {
public:
  /// `pcm_rate` must be 8000 for G.711 and an Opus API rate for Opus;
  /// `opus_bitrate_bps` 0 takes `opus_encoder::default_bitrate`.
  static result<audio_encoder> create(codec_id id, uint32_t pcm_rate, int32_t opus_bitrate_bps = 0);

  /// Encodes one frame; `out` should hold `opus_max_packet_bytes` for Opus and
  /// `pcm.size()` octets for G.711. Returns the payload length.
  result<std::size_t> encode(std::span<const int16_t> pcm, std::span<uint8_t> out);

  codec_id id() const noexcept { return id_; }
  uint32_t pcm_rate() const noexcept { return pcm_rate_; }
  /// The Opus encoder (bitrate changes), or nullptr for G.711.
  opus_encoder* opus() noexcept { return opus_ ? &*opus_ : nullptr; }

private:
  audio_encoder(codec_id id, uint32_t rate) : id_(id), pcm_rate_(rate) {}

  codec_id id_;
  uint32_t pcm_rate_;
  std::optional<opus_encoder> opus_; // Opus only
};

} // namespace centralita::media
