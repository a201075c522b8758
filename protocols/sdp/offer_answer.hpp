#pragma once

// Offer/answer helpers (RFC 3264 §6.1): which of the offered formats the answerer
// can take, and finding a codec by name in a media description.

#include "protocols/sdp/session_description.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace centralita::sdp {

/// True when `a` and `b` are the same encoding: two static payload types (0-95)
/// by number (RFC 3551 §6 fixes their encoding); otherwise the encoding name
/// (case-insensitive, RFC 4855 §3), clock rate and channel count.
bool same_encoding(const codec& a, const codec& b) noexcept;

/// RFC 3264 §6.1: the offered codecs the answerer can use, in the OFFER's order,
/// with the offer's payload type numbers and fmtp (the answer must use the
/// offerer's numbers for the formats it shares). telephone-event (RFC 4733) is a
/// codec like any other: its clock rate must match. Each offered payload type
/// appears at most once.
std::vector<codec> common_codecs(const std::vector<codec>& offer,
                                 const std::vector<codec>& answer_capable);

/// The first codec of `m` named `name` (case-insensitive) with clock rate `rate`
/// (0: any rate); nullopt when there is none.
std::optional<codec> find_codec(const media_description& m, std::string_view name,
                                uint32_t rate = 0);

} // namespace centralita::sdp
