#pragma once

#include "bench/rtp/rtp_payload.hpp"

#include <cstdint>
#include <string>

namespace centralita::rtp_load {

/// centralita-rtp-load's command line (see `help_text` in rtp_options.cpp).
struct options {
  uint32_t calls = 0;
  uint32_t seconds = 10;
  codec caller_codec = codec::pcma;
  codec callee_codec = codec::pcma;
  uint8_t opus_pt = 96;
  int opus_bitrate = 24000;
  std::string host = "127.0.0.1";
  uint32_t drain_ms = 500;
  uint32_t setup_timeout_s = 120;
  uint32_t seed = 1;
  uint32_t stall_ms = 0;  ///< once, halfway through, stop sending this long (tests catch-up)
};

/// Parses argv; prints the help and exits 0 for --help, prints the problem and exits 2
/// on bad usage (a benchmark driver tells the two apart by the exit code).
options parse_options(int argc, char** argv);

/// Prints "centralita-rtp-load: <message> (see --help)" and exits 2.
[[noreturn]] void usage_error(const std::string& message);

} // namespace centralita::rtp_load
