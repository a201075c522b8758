// libFuzzer target: the RFC 4733 detector fed an arbitrary packet sequence.
// The input is a list of 9-byte records (a trailing partial record is ignored):
//
//   byte 0      control: bit 0 switches the SSRC, bit 1 calls expire() before
//               the packet, bits 2-3 pick the clock rate (8000, 16000, 44100,
//               48000)
//   bytes 1-4   timestamp delta, big-endian, added modulo 2^32 to the
//               previous packet's timestamp (the first one starts at
//               0xfffff000, so the 2^32 wrap is close)
//   bytes 5-8   the telephone-event payload (RFC 4733 §2.3)
//
// The corpus in corpus/telephone_event/ holds sipp's dtmf_2833_*.pcap
// sequences and hand-written edge cases in that form. Checks, on top of "no
// crash, no UB":
//  - every digit reported is one of 0-9 * # A-D F;
//  - no key press is reported twice: the same (timestamp, digit) never comes
//    back while the detector still holds that timestamp at or before its
//    newest one, until it starts afresh (discontinuities());
//  - when one packet yields two reports, the first is a press without end;
//  - a duration is bounded by what the packets fed so far can add up to
//    (each segment at most 0xFFFF plus the joining tolerance, at 8 kHz);
//  - the payload codec round-trips (R bit aside).

#include "protocols/rtp/telephone_event.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <span>
#include <string_view>
#include <utility>

using namespace centralita::rtp;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr uint32_t clocks[] = {8000, 16000, 44100, 48000};

struct checker {
  telephone_event_detector det;
  std::set<std::pair<uint32_t, char>> reported;  // (rtp_timestamp, digit) still protected
  uint32_t epoch = 0;
  uint64_t fed = 0;

  /// Drops the reports the detector no longer protects: those whose
  /// timestamp is not at or before its newest one (it went round by half the
  /// timestamp space), or all of them when it has no newest timestamp.
  void prune() {
    const auto newest = det.newest_timestamp();
    for (auto it = reported.begin(); it != reported.end();) {
      if (!newest || ts_diff(it->first, *newest) < 0) it = reported.erase(it);
      else ++it;
    }
  }

  void seen(const detected_digit& d, bool record) {
    check(d.digit != 0 && std::string_view("0123456789*#ABCDF").find(d.digit) != std::string_view::npos);
    // Each segment adds at most 0xFFFF + the tolerance (100 ms at 48 kHz), the
    // last one at most 0xFFFF; the slowest clock is 8000.
    const uint64_t max_samples = (fed + 1) * (0xffffu + 4800u);
    check(uint64_t{d.duration_ms} <= max_samples * 1000 / 8000);
    if (!record) return;
    check(reported.insert({d.rtp_timestamp, d.digit}).second);
  }

  void after_call(const detected_digits& r) {
    check(r.size() <= 2);
    if (r.size() == 2) check(!r[0].end_seen);
    if (det.discontinuities() != epoch) {
      // Started afresh during this call: a first report is the previous
      // stream's pending press (not recorded); the last one, if the packet
      // ended a press of the new stream at once, is.
      epoch = det.discontinuities();
      reported.clear();
      if (r.size() == 2) {
        seen(r[0], false);
        seen(r[1], true);
      } else if (r.size() == 1) {
        seen(r[0], !det.pending());
      }
      return;
    }
    for (const auto& d : r) seen(d, true);
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  checker c;
  uint32_t ts = 0xfffff000u;
  uint32_t ssrc = 0x1000;
  for (size_t off = 0; off + 9 <= size; off += 9) {
    const uint8_t* rec = data + off;
    const uint8_t ctl = rec[0];
    if (ctl & 1) ++ssrc;
    const uint32_t clock = clocks[(ctl >> 2) & 3];
    ts += (uint32_t{rec[1]} << 24) | (uint32_t{rec[2]} << 16) | (uint32_t{rec[3]} << 8) | rec[4];

    const auto ev = parse_telephone_event(std::span<const uint8_t>(rec + 5, 4));
    check(ev.has_value());
    std::array<uint8_t, 4> back{};
    write_telephone_event(back, *ev);
    check(back[0] == rec[5] && back[1] == (rec[6] & 0xbf) && back[2] == rec[7] && back[3] == rec[8]);

    c.prune();
    if (ctl & 2) {
      if (auto e = c.det.expire()) c.seen(*e, true);
      check(!c.det.pending());
    }
    rtp_header h;
    h.timestamp = ts;
    h.ssrc = ssrc;
    h.payload_type = 101;
    ++c.fed;
    c.after_call(c.det.feed(h, *ev, clock));
  }
  if (auto e = c.det.expire()) c.seen(*e, true);
  check(!c.det.expire());
  return 0;
}
