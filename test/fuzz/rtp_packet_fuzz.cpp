// libFuzzer target: parse_rtp, is_rtcp and parse_rtcp on arbitrary bytes (one
// datagram per input; the corpus in corpus/rtp_packet/ holds real and
// hand-built RTP and RTCP packets). On top of "no crash, no UB" it checks:
//  - a parsed RTP header describes the bytes: version 2, payload_offset at
//    least 12 + 4*CC (+ 4 with an extension), payload_offset + payload_size
//    within the input, equal to it without padding and short of it by the
//    padding count with; the fields read back from the bytes;
//  - rewriting a parsed packet with its own SSRC, sequence number, timestamp
//    and payload type changes no byte, and write_rtp_header of its fields
//    gives back the same first 12 bytes when there is no CSRC/X/P;
//  - is_rtcp only for version 2 with a second byte of 192..223 and a length
//    that fits; parse_rtcp only for version 2, a type of 200..207, and a
//    length that fits.

#include "protocols/rtp/rtp_packet.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

using namespace centralita::rtp;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

uint32_t load32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);

  if (auto h = parse_rtp(in)) {
    check(size >= 12 && size <= max_rtp_packet_size);
    check((data[0] >> 6) == 2);
    std::size_t min_offset = 12 + 4 * std::size_t{h->csrc_count} + (h->extension ? 4 : 0);
    check(h->payload_offset >= min_offset);
    check(std::size_t{h->payload_offset} + h->payload_size <= size);
    if (h->padding) {
      check(data[size - 1] != 0);
      check(std::size_t{h->payload_offset} + h->payload_size + data[size - 1] == size);
    } else {
      check(std::size_t{h->payload_offset} + h->payload_size == size);
    }
    check(h->csrc_count == (data[0] & 0x0f));
    check(h->marker == ((data[1] & 0x80) != 0));
    check(h->payload_type == (data[1] & 0x7f));
    check(h->sequence == ((data[2] << 8) | data[3]));
    check(h->timestamp == load32(data + 4));
    check(h->ssrc == load32(data + 8));

    std::vector<uint8_t> copy(in.begin(), in.end());
    set_ssrc(copy, h->ssrc);
    set_sequence(copy, h->sequence);
    set_timestamp(copy, h->timestamp);
    set_payload_type(copy, h->payload_type);
    check(std::memcmp(copy.data(), data, size) == 0);

    uint8_t fixed[12];
    check(write_rtp_header(fixed, {h->payload_type, h->marker, h->sequence, h->timestamp, h->ssrc}) == 12);
    if (!h->padding && !h->extension && h->csrc_count == 0) check(std::memcmp(fixed, data, 12) == 0);
    auto back = parse_rtp(fixed);
    check(back.has_value());
    check(back->payload_type == h->payload_type && back->marker == h->marker &&
          back->sequence == h->sequence && back->timestamp == h->timestamp && back->ssrc == h->ssrc);
  }

  if (is_rtcp(in)) {
    check(size >= 4 && (data[0] >> 6) == 2);
    check(data[1] >= 192 && data[1] <= 223);
    check((static_cast<std::size_t>((data[2] << 8) | data[3]) + 1) * 4 <= size);
  }

  if (auto r = parse_rtcp(in)) {
    check(size >= 4 && (data[0] >> 6) == 2);
    check(r->packet_type == data[1] && r->packet_type >= 200 && r->packet_type <= 207);
    check((static_cast<std::size_t>((data[2] << 8) | data[3]) + 1) * 4 <= size);
    check(is_rtcp(in));
    if (size >= 8 && r->sender_ssrc != 0) check(r->sender_ssrc == load32(data + 4));
  }
  return 0;
}
