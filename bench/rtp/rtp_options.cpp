#include "bench/rtp/rtp_options.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace centralita::rtp_load {
namespace {

constexpr const char* help_text =
    R"(usage: centralita-rtp-load --calls N [options]

A bounded RTP generator/receiver for N calls through a relay. Prints its 2N socket
addresses as one JSON line, reads one JSON line with the relay addresses from stdin,
sends and receives for --seconds, prints one JSON report line.

  --calls N            calls (2N sockets, 2N streams)                   required
  --seconds S          seconds of traffic (1..1200)                     default 10
  --codec C            pcma or opus, both sides                         default pcma
  --caller-codec C     what the caller side sends (overrides --codec)
  --callee-codec C     what the callee side sends (overrides --codec)
  --opus-pt PT         payload type of Opus                             default 96
  --opus-bitrate BPS   Opus encoder bitrate (constant)                  default 24000
  --host IP            address to bind                                  default 127.0.0.1
  --drain-ms MS        wait after the last send for late packets        default 500
  --setup-timeout S    how long to wait for the stdin line              default 120
  --seed N             seed of the SSRCs and first sequence numbers     default 1
  --stall MS           once, halfway through, freeze the sender for MS ms; it then
                       catches up (sends the missed packets at once)     default 0

stdin:  {"calls":[{"caller_to":"127.0.0.1:30016","callee_to":"127.0.0.1:30000"},...]}
stdout: {"calls":[{"caller":"127.0.0.1:p","callee":"127.0.0.1:q"},...]}
        {"started":<unix ms>}
        {"sent":...,"received":...,"lost":...,...}
exit 0 when the report was printed, 1 on a runtime error, 2 on bad usage.
)";


template <typename T>
T parse_number(std::string_view flag, std::string_view text, T lo, T hi) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v < lo || v > hi)
    usage_error(std::string(flag) + " wants a number in " + std::to_string(lo) + ".."
                + std::to_string(hi) + ", got '" + std::string(text) + "'");
  return v;
}

} // namespace

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "centralita-rtp-load: %s (see --help)\n", message.c_str());
  std::exit(2);
}

options parse_options(int argc, char** argv) {
  options o;
  bool codec_both = false;
  bool caller_set = false;
  bool callee_set = false;
  codec both = codec::pcma;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(help_text, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc)
      usage_error("unknown option or missing value: " + std::string(flag));
    std::string_view v = argv[++i];
    auto want_codec = [&](codec& out) {
      if (!parse_codec(v, out))
        usage_error(std::string(flag) + " wants pcma or opus, got '" + std::string(v) + "'");
    };
    if (flag == "--calls")
      o.calls = parse_number<uint32_t>(flag, v, 1, 30000);
    else if (flag == "--seconds")
      o.seconds = parse_number<uint32_t>(flag, v, 1, 1200);
    else if (flag == "--codec") {
      want_codec(both);
      codec_both = true;
    } else if (flag == "--caller-codec") {
      want_codec(o.caller_codec);
      caller_set = true;
    } else if (flag == "--callee-codec") {
      want_codec(o.callee_codec);
      callee_set = true;
    } else if (flag == "--opus-pt")
      o.opus_pt = parse_number<uint8_t>(flag, v, 96, 127);  // RFC 3551 §3: dynamic range
    else if (flag == "--opus-bitrate")
      o.opus_bitrate = parse_number<int>(flag, v, 6000, 510000);
    else if (flag == "--host")
      o.host = std::string(v);
    else if (flag == "--drain-ms")
      o.drain_ms = parse_number<uint32_t>(flag, v, 0, 60000);
    else if (flag == "--setup-timeout")
      o.setup_timeout_s = parse_number<uint32_t>(flag, v, 1, 3600);
    else if (flag == "--seed")
      o.seed = parse_number<uint32_t>(flag, v, 0, UINT32_MAX);
    else if (flag == "--stall")
      o.stall_ms = parse_number<uint32_t>(flag, v, 0, 10000);
    else
      usage_error("unknown option " + std::string(flag));
  }
  if (o.calls == 0)
    usage_error("--calls is required");
  if (codec_both) {
    if (!caller_set)
      o.caller_codec = both;
    if (!callee_set)
      o.callee_codec = both;
  }
  return o;
}

} // namespace centralita::rtp_load
