#include "protocols/sdp/offer_answer.hpp"

#include "protocols/util/ascii.hpp"

#include <bitset>

namespace centralita::sdp {

namespace {

/// RFC 3551 §3: 96-127 are dynamic; below that a number names an encoding.
constexpr bool is_static(uint8_t pt) noexcept { return pt < 96; }

/// RFC 4566 §6: absent encoding parameters mean one channel.
constexpr unsigned channels_of(const codec& c) noexcept { return c.channels == 0 ? 1 : c.channels; }

} // namespace

bool same_encoding(const codec& a, const codec& b) noexcept {
  // RFC 3551 §6: a static payload type number fixes the encoding.
  if (is_static(a.payload_type) && is_static(b.payload_type))
    return a.payload_type == b.payload_type;
  // RFC 4855 §3: encoding names are case-insensitive; RFC 3264 §6.1 matches the
  // whole rtpmap (name, rate, channels).
  return !a.name.empty() && ascii::iequals(a.name, b.name) && a.clock_rate == b.clock_rate &&
         channels_of(a) == channels_of(b);
}

std::vector<codec> common_codecs(const std::vector<codec>& offer,
                                 const std::vector<codec>& answer_capable) {
  std::vector<codec> out;
  std::bitset<128> taken;
  for (const auto& o : offer) {
    if (o.payload_type >= 128 || taken.test(o.payload_type)) continue;
    for (const auto& a : answer_capable) {
      if (!same_encoding(o, a)) continue;
      // RFC 3264 §6.1: the answer uses the offer's payload type numbers.
      out.push_back(o);
      taken.set(o.payload_type);
      break;
    }
  }
  return out;
}

std::optional<codec> find_codec(const media_description& m, std::string_view name, uint32_t rate) {
  for (const auto& c : m.codecs)
    if (ascii::iequals(c.name, name) && (rate == 0 || c.clock_rate == rate)) return c;
  return std::nullopt;
}

} // namespace centralita::sdp
