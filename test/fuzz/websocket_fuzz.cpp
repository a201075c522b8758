// libFuzzer target: ws_session driven by a script read from the input.
// Byte 0 picks max_message (tiny or default); then each step is an opcode
// byte and a length byte: feed that many bytes, send_text / send_ping /
// send_close with them, or take the output. Checked throughout:
//  - what take_output() gives always decodes as well-formed server frames
//    (unmasked, shortest lengths), with nothing after a close frame;
//  - messages respect max_message; closes carry a code;
//  - once finished(), feeds are ignored and nothing more is written.

#include "protocols/http/websocket.hpp"

#include "../unit/protocols/http/ws_frames.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace centralita::http;

namespace {

struct checker {
  std::size_t max_message;
  bool close_written = false;

  void output(ws_session& s) {
    std::string out;
    s.take_output(out);
    if (s.has_output()) std::abort();
    const auto frames = test::decode_server_frames(out);
    if (!frames) std::abort();
    for (const test::server_frame& f : *frames) {
      if (close_written) std::abort();  // §5.5.1: nothing after our close
      if (!f.fin) std::abort();
      if (f.opcode == 0x8) close_written = true;
      if (f.opcode >= 0x8 && f.payload.size() > 125) std::abort();
    }
    if (close_written && !s.close_sent()) std::abort();
  }

  void messages(const std::vector<ws_session::message>& msgs) const {
    for (const auto& m : msgs) {
      if (m.type == ws_session::message::kind::close && m.code == 0) std::abort();
      if ((m.type == ws_session::message::kind::text || m.type == ws_session::message::kind::binary) &&
          m.data.size() > max_message)
        std::abort();
    }
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ws_session::options opts;
  if (data[0] & 1) opts.max_message = 64;
  ws_session s(opts);
  checker c{opts.max_message};
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<ws_session::message> msgs;
  while (in.size() >= 2) {
    const auto op = static_cast<uint8_t>(in[0]);
    const std::size_t n = std::min<std::size_t>(static_cast<uint8_t>(in[1]), in.size() - 2);
    const std::string_view arg = in.substr(2, n);
    in.remove_prefix(2 + n);
    const bool was_finished = s.finished();
    switch (op % 8) {
      case 5: s.send_text(arg); break;
      case 6: s.send_ping(arg); break;
      case 7: s.send_close(static_cast<uint16_t>(1000 + n % 12), arg); break;
      case 4: c.output(s); break;
      default: {  // mostly feeds
        msgs.clear();
        const auto r = s.feed(arg, msgs);
        if (!r.ok() && (r.err().reason.empty() || !s.finished())) std::abort();
        if (was_finished && !msgs.empty()) std::abort();
        c.messages(msgs);
      }
    }
    if (was_finished && !s.finished()) std::abort();
  }
  c.output(s);
  if (s.finished()) {
    s.send_text("after");
    if (s.has_output()) std::abort();
  }
  return 0;
}
