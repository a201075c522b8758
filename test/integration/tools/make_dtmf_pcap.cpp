// make_dtmf_pcap: writes a pcap of one G.711 RTP stream carrying in-band DTMF
// tones, for sipp's play_pcap_audio (test/integration/test_media_bridge.py).
//
//   make_dtmf_pcap [--codec pcma|pcmu] [--lead-ms N] [--on-ms N] [--off-ms N]
//                  [--tail-ms N] [--level DBM0] OUTPUT.pcap DIGITS
//
// The stream is silence for --lead-ms, then each digit of DIGITS as a tone of
// --on-ms followed by --off-ms of silence (spandsp's dtmf_tx through
// media::inband_dtmf_generator), then silence for --tail-ms: one RTP packet
// per 20 ms (160 samples, PCMA payload type 8 or PCMU 0), timestamped 20 ms
// apart in the capture so a replay keeps real time. Every record is a whole
// Ethernet + IPv4 + UDP + RTP frame, as sipp's pcap reader expects.
//
// The pcap file format (libpcap's "savefile": a 24-byte global header, then a
// 16-byte header per record) is written by hand in little-endian order, which
// readers recognise by the magic number.

#include "media/codec/g711.hpp"
#include "media/dtmf/inband_generator.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t frame_samples = 160;  // 20 ms at 8 kHz (RFC 3551 §4.5: G.711 ptime 20)
constexpr uint32_t frame_us = 20000;

struct options {
  bool pcmu = false;
  uint32_t lead_ms = 400;
  uint32_t on_ms = 100;
  uint32_t off_ms = 100;
  uint32_t tail_ms = 400;
  int level_dbm0 = -10;
  std::string output;
  std::string digits;
};

void put16le(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}

void put32le(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put16be(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void put32be(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

/// RFC 791 §3.1 / RFC 1071: the one's complement of the one's complement sum
/// of the header's 16-bit words.
uint16_t ipv4_checksum(const uint8_t* h, std::size_t n) {
  uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<uint32_t>(h[i] << 8 | h[i + 1]);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

class pcap_writer {
public:
  explicit pcap_writer(bool pcmu) : pt_(pcmu ? 0 : 8) {
    // Global header: magic, version 2.4, thiszone 0, sigfigs 0, snaplen,
    // link type 1 (Ethernet).
    put32le(out_, 0xa1b2c3d4u);
    put16le(out_, 2);
    put16le(out_, 4);
    put32le(out_, 0);
    put32le(out_, 0);
    put32le(out_, 65535);
    put32le(out_, 1);
  }

  /// One RTP packet with a 160-octet payload, 20 ms after the previous one.
  void add(const std::array<uint8_t, frame_samples>& payload, bool marker) {
    constexpr std::size_t rtp_len = 12 + frame_samples;
    constexpr std::size_t udp_len = 8 + rtp_len;
    constexpr std::size_t ip_len = 20 + udp_len;
    constexpr std::size_t frame_len = 14 + ip_len;
    std::array<uint8_t, frame_len> f{};
    // Ethernet II: locally administered MACs, EtherType IPv4.
    const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
    const uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
    std::memcpy(f.data(), dst_mac, 6);
    std::memcpy(f.data() + 6, src_mac, 6);
    put16be(f.data() + 12, 0x0800);
    // IPv4 (RFC 791): version 4, IHL 5, no fragments, TTL 64, protocol 17
    // (UDP), 192.0.2.1 -> 192.0.2.2 (RFC 5737 documentation addresses).
    uint8_t* ip = f.data() + 14;
    ip[0] = 0x45;
    put16be(ip + 2, static_cast<uint16_t>(ip_len));
    put16be(ip + 4, static_cast<uint16_t>(seq_));
    put16be(ip + 6, 0x4000);  // DF
    ip[8] = 64;
    ip[9] = 17;
    const uint8_t src_ip[4] = {192, 0, 2, 1};
    const uint8_t dst_ip[4] = {192, 0, 2, 2};
    std::memcpy(ip + 12, src_ip, 4);
    std::memcpy(ip + 16, dst_ip, 4);
    put16be(ip + 10, ipv4_checksum(ip, 20));
    // UDP (RFC 768): checksum 0 = not computed, allowed over IPv4.
    uint8_t* udp = ip + 20;
    put16be(udp, 6000);
    put16be(udp + 2, 6002);
    put16be(udp + 4, static_cast<uint16_t>(udp_len));
    // RTP (RFC 3550 §5.1): V=2, the marker on the first packet of a talkspurt.
    uint8_t* rtp = udp + 8;
    rtp[0] = 0x80;
    rtp[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | pt_);
    put16be(rtp + 2, static_cast<uint16_t>(seq_));
    put32be(rtp + 4, timestamp_);
    put32be(rtp + 8, ssrc_);
    std::memcpy(rtp + 12, payload.data(), payload.size());

    const uint64_t t_us = uint64_t{seq_} * frame_us;
    put32le(out_, static_cast<uint32_t>(base_s_ + t_us / 1000000));
    put32le(out_, static_cast<uint32_t>(t_us % 1000000));
    put32le(out_, static_cast<uint32_t>(frame_len));
    put32le(out_, static_cast<uint32_t>(frame_len));
    out_.insert(out_.end(), f.begin(), f.end());
    ++seq_;
    timestamp_ += frame_samples;
  }

  bool write(const std::string& path) const {
    std::FILE* fp = std::fopen(path.c_str(), "wb");
    if (fp == nullptr)
      return false;
    bool ok = std::fwrite(out_.data(), 1, out_.size(), fp) == out_.size();
    ok = std::fclose(fp) == 0 && ok;
    return ok;
  }

  uint32_t packets() const { return seq_; }

private:
  std::vector<uint8_t> out_;
  uint8_t pt_;
  uint32_t seq_ = 0;
  uint32_t timestamp_ = 0x1000;
  uint32_t ssrc_ = 0x6d646331;  // "mdc1"
  uint32_t base_s_ = 1700000000;
};

bool parse_uint(std::string_view s, uint32_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

bool parse_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--codec pcma|pcmu] [--lead-ms N] [--on-ms N] [--off-ms N] "
               "[--tail-ms N] [--level DBM0] OUTPUT.pcap DIGITS\n",
               argv0);
  return 2;
}

bool parse(int argc, char** argv, options& o) {
  std::vector<std::string_view> positional;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.rfind("--", 0) != 0) {
      positional.push_back(a);
      continue;
    }
    if (i + 1 >= argc)
      return false;
    std::string_view v = argv[++i];
    bool ok = true;
    if (a == "--codec") {
      if (v != "pcma" && v != "pcmu")
        return false;
      o.pcmu = v == "pcmu";
    } else if (a == "--lead-ms") {
      ok = parse_uint(v, o.lead_ms);
    } else if (a == "--on-ms") {
      ok = parse_uint(v, o.on_ms);
    } else if (a == "--off-ms") {
      ok = parse_uint(v, o.off_ms);
    } else if (a == "--tail-ms") {
      ok = parse_uint(v, o.tail_ms);
    } else if (a == "--level") {
      ok = parse_int(v, o.level_dbm0);
    } else {
      return false;
    }
    if (!ok)
      return false;
  }
  if (positional.size() != 2)
    return false;
  o.output = positional[0];
  o.digits = positional[1];
  return true;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o))
    return usage(argv[0]);

  centralita::media::inband_dtmf_generator gen(o.level_dbm0);
  if (auto q = gen.queue(o.digits, o.on_ms, o.off_ms); !q) {
    std::fprintf(stderr, "make_dtmf_pcap: %s\n", q.err().reason.c_str());
    return 2;
  }

  pcap_writer w(o.pcmu);
  std::array<int16_t, frame_samples> pcm{};
  std::array<uint8_t, frame_samples> octets{};
  auto encode = [&] {
    if (o.pcmu)
      centralita::media::ulaw_encode(pcm, octets);
    else
      centralita::media::alaw_encode(pcm, octets);
  };

  // Leading silence (at least one packet, so the stream starts before the tones).
  const uint32_t lead = std::max<uint32_t>(1, (o.lead_ms + 19) / 20);
  pcm.fill(0);
  encode();
  for (uint32_t i = 0; i < lead; ++i)
    w.add(octets, i == 0);

  // The tones and their gaps: as many frames as they take, rounded up.
  const uint64_t tone_ms = uint64_t{o.on_ms + o.off_ms} * o.digits.size();
  const uint64_t tone_frames = (tone_ms + 19) / 20;
  for (uint64_t i = 0; i < tone_frames; ++i) {
    gen.generate(pcm);
    encode();
    w.add(octets, false);
  }

  pcm.fill(0);
  encode();
  const uint32_t tail = (o.tail_ms + 19) / 20;
  for (uint32_t i = 0; i < tail; ++i)
    w.add(octets, false);

  if (!w.write(o.output)) {
    std::fprintf(stderr, "make_dtmf_pcap: cannot write %s: %s\n", o.output.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::printf("%s: %u packets, %s, digits %s\n", o.output.c_str(), w.packets(),
              o.pcmu ? "PCMU" : "PCMA", o.digits.c_str());
  return 0;
}
