#pragma once

// The frames of the switch's event stream (docs/api.md, "Frames"), as the
// `events` scenario reads them: only the top-level fields it counts. One SAX
// pass of nlohmann's parser, with no DOM built for an event's attributes (its
// bulk): a subscriber of a busy switch reads thousands of these a second.

#include "protocols/util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace centralita::loadgen {

enum class frame_type : uint8_t {
  hello,         ///< first frame: the node's last seq and boot time
  event,         ///< one event: name, seq, timestamp, attributes
  dropped,       ///< the switch discarded `count` events (first_seq..last_seq) for us
  missed,        ///< a replay could not cover `count` seqs (first_seq..last_seq)
  replayed,      ///< the end of a replay (?since=)
  error,         ///< the switch refused something we sent (`message`)
  subscribed,    ///< answers to (un)subscribe messages
  unsubscribed,
  unknown,       ///< a type this version does not know: counted, never fatal
};

std::string_view to_string(frame_type t) noexcept;

struct stream_frame {
  frame_type type = frame_type::unknown;
  std::string name;                     ///< event: its name ("REGISTER")
  std::optional<uint64_t> seq;          ///< hello: the last published; event: its own
  std::optional<uint64_t> timestamp_ms; ///< event: when it was published (ms since the epoch)
  uint64_t boot = 0;                    ///< hello: the node's start (ms since the epoch)
  uint64_t count = 0;                   ///< dropped, missed, replayed
  uint64_t first_seq = 0;               ///< dropped, missed
  uint64_t last_seq = 0;                ///< dropped, missed
  std::string message;                  ///< error
};

/// Reads one text message of the stream. Errors (parse_error, reason naming
/// the problem): not JSON, not an object, no "type" string; a hello without
/// a whole-number seq; an event without name, seq or timestamp; a dropped or
/// missed notice without count, first_seq and last_seq. Unknown fields are
/// skipped, an unknown type is `frame_type::unknown`.
result<stream_frame> parse_stream_frame(std::string_view text);

} // namespace centralita::loadgen
