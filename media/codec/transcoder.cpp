#include "media/codec/transcoder.hpp"

#include <algorithm>

#include "media/codec/g711.hpp"

namespace centralita::media {

namespace {

// The rate PCM flows at between the decoder and the encoder; see the header for
// why it makes a resampler unnecessary.
uint32_t work_rate_for(const codec_spec& from, const codec_spec& to) noexcept {
  if (is_g711(from.id) || is_g711(to.id))
    return 8000;
  return to.sample_rate;
}

} // namespace

result<transcoder> transcoder::create(const codec_spec& from, const codec_spec& to,
                                      int32_t opus_bitrate_bps) {
  const uint32_t rate = work_rate_for(from, to);
  auto dec = audio_decoder::create(from.id, rate);
  if (!dec)
    return dec.err();
  auto enc = audio_encoder::create(to.id, rate, opus_bitrate_bps);
  if (!enc)
    return enc.err();
  return transcoder(from, to, rate, std::move(dec).value(), std::move(enc).value());
}

std::span<const uint8_t> transcoder::transcode(std::span<const uint8_t> payload_in) {
  auto decoded = dec_.decode(payload_in, pcm_);
  if (!decoded) {
    pcm_len_ = 0;
    ++stats_.rejected;
    return {};
  }
  const std::size_t n = *decoded;
  pcm_len_ = n;
  if (is_g711(from_.id) && is_g711(to_.id) && !after_loss_) {
    // G.711 → G.711: map the octets themselves (ITU-T G.711 Tables 3 and 4), which
    // is what the standard prescribes rather than decode + re-encode. After a loss
    // the PLC has cross-faded into this frame's PCM, so that path encodes the PCM.
    if (from_.id == to_.id)
      std::copy(payload_in.begin(), payload_in.end(), out_.begin());
    else if (from_.id == codec_id::pcmu)
      ulaw_to_alaw(payload_in, out_);
    else
      alaw_to_ulaw(payload_in, out_);
    last_frame_ = n;
    ++stats_.frames;
    return {out_.data(), n};
  }
  auto out = encode_pcm(n, false);
  if (!out.empty())
    ++stats_.frames;
  return out;
}

std::span<const uint8_t> transcoder::conceal() {
  auto synthesised = dec_.conceal(std::span<int16_t>(pcm_).first(last_frame_));
  if (!synthesised) {
    pcm_len_ = 0;
    ++stats_.rejected;
    return {};
  }
  pcm_len_ = *synthesised;
  auto out = encode_pcm(pcm_len_, true);
  if (!out.empty())
    ++stats_.concealed;
  return out;
}

std::span<const uint8_t> transcoder::recover(std::span<const uint8_t> next_payload) {
  auto rebuilt = dec_.recover(next_payload, std::span<int16_t>(pcm_).first(last_frame_));
  if (!rebuilt) {
    pcm_len_ = 0;
    ++stats_.rejected;
    return {};
  }
  pcm_len_ = *rebuilt;
  auto out = encode_pcm(pcm_len_, true);
  if (!out.empty())
    ++stats_.recovered;
  return out;
}

std::span<const uint8_t> transcoder::encode_pcm(std::size_t samples, bool after_loss) {
  // An Opus encoder takes only 2.5..60 ms frames (RFC 6716 §2.1.4); it says so.
  auto written = enc_.encode(std::span<const int16_t>(pcm_).first(samples), out_);
  if (!written) {
    ++stats_.rejected;
    return {};
  }
  last_frame_ = samples;
  after_loss_ = after_loss;
  return {out_.data(), *written};
}

} // namespace centralita::media
