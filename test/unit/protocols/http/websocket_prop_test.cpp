// Properties of ws_session:
//  1. any sequence of client text messages (valid UTF-8, each possibly
//     fragmented, random masks, pings between frames), cut at any points,
//     comes out as the same messages, with one pong per ping in order;
//  2. whatever send_text is given (in any number) decodes, from
//     take_output(), as the same payloads in unmasked final text frames.

#include "protocols/http/websocket.hpp"

#include "ws_frames.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace centralita::http;
using namespace centralita::http::test;

namespace {

/// UTF-8 text from code points of 1 to 4 bytes (no surrogates).
rc::Gen<std::string> utf8_text() {
  const auto code_point = rc::gen::oneOf(rc::gen::inRange<uint32_t>(0, 0x80), rc::gen::inRange<uint32_t>(0x80, 0x800),
                                         rc::gen::inRange<uint32_t>(0xE000, 0x10000),
                                         rc::gen::inRange<uint32_t>(0x10000, 0x110000));
  return rc::gen::map(rc::gen::container<std::vector<uint32_t>>(code_point), [](const std::vector<uint32_t>& cps) {
    std::string s;
    for (uint32_t c : cps) {
      if (c < 0x80) {
        s.push_back(static_cast<char>(c));
      } else if (c < 0x800) {
        s.push_back(static_cast<char>(0xC0 | (c >> 6)));
        s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      } else if (c < 0x10000) {
        s.push_back(static_cast<char>(0xE0 | (c >> 12)));
        s.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      } else {
        s.push_back(static_cast<char>(0xF0 | (c >> 18)));
        s.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        s.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      }
    }
    return s;
  });
}

} // namespace

RC_GTEST_PROP(websocket_prop, client_messages_survive_any_split, ()) {
  const auto texts = *rc::gen::container<std::vector<std::string>>(utf8_text());
  std::string stream;
  std::vector<std::string> pings;
  for (const std::string& t : texts) {
    // Fragments may cut a character: UTF-8 is checked across the message.
    auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, t.size() + 1));
    std::sort(cuts.begin(), cuts.end());
    std::size_t prev = 0;
    for (std::size_t i = 0; i <= cuts.size(); ++i) {
      const std::size_t end = i < cuts.size() ? cuts[i] : t.size();
      const bool first = i == 0;
      const bool last = i == cuts.size();
      stream += client_frame(first ? 0x1 : 0x0, std::string_view(t).substr(prev, end - prev), last, true,
                             *rc::gen::arbitrary<uint32_t>());
      prev = end;
      if (*rc::gen::inRange(0, 8) == 0) {  // a ping, even between fragments (§5.4)
        pings.push_back(std::to_string(pings.size()));
        stream += client_frame(0x9, pings.back(), true, true, *rc::gen::arbitrary<uint32_t>());
      }
    }
  }

  ws_session s(ws_session::options{.max_message = 1 << 20});
  std::vector<ws_session::message> got;
  std::string out;
  auto at = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, stream.size() + 1));
  std::sort(at.begin(), at.end());
  std::size_t prev = 0;
  for (std::size_t i = 0; i <= at.size(); ++i) {
    const std::size_t end = i < at.size() ? at[i] : stream.size();
    RC_ASSERT(s.feed(std::string_view(stream).substr(prev, end - prev), got).ok());
    if (*rc::gen::arbitrary<bool>()) s.take_output(out);
    prev = end;
  }
  s.take_output(out);

  RC_ASSERT(got.size() == texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    RC_ASSERT(got[i].type == ws_session::message::kind::text);
    RC_ASSERT(got[i].data == texts[i]);
  }
  const auto frames = decode_server_frames(out);
  RC_ASSERT(frames.has_value());
  RC_ASSERT(frames->size() == pings.size());
  for (std::size_t i = 0; i < pings.size(); ++i) {
    RC_ASSERT((*frames)[i].opcode == 0xA);
    RC_ASSERT((*frames)[i].payload == pings[i]);
  }
  RC_ASSERT(!s.finished());
}

RC_GTEST_PROP(websocket_prop, send_text_frames_decode, (const std::vector<std::string>& payloads)) {
  ws_session s;
  std::string out;
  for (const std::string& p : payloads) {
    s.send_text(p);
    if (*rc::gen::arbitrary<bool>()) s.take_output(out);
  }
  s.take_output(out);
  const auto frames = decode_server_frames(out);
  RC_ASSERT(frames.has_value());
  RC_ASSERT(frames->size() == payloads.size());
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    RC_ASSERT((*frames)[i].fin);
    RC_ASSERT((*frames)[i].opcode == 0x1);
    RC_ASSERT((*frames)[i].payload == payloads[i]);
  }
}

RC_GTEST_PROP(websocket_prop, long_payload_lengths, ()) {
  // Lengths around the 7-bit, 16-bit and 64-bit forms.
  const std::size_t n = *rc::gen::oneOf(rc::gen::inRange<std::size_t>(120, 132),
                                         rc::gen::inRange<std::size_t>(65530, 65542));
  ws_session s;
  s.send_text(std::string(n, 'z'));
  std::string out;
  s.take_output(out);
  const auto frames = decode_server_frames(out);
  RC_ASSERT(frames.has_value());
  RC_ASSERT(frames->size() == 1u);
  RC_ASSERT((*frames)[0].payload.size() == n);
}
