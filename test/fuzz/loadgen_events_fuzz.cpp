// libFuzzer target: what the events scenario reads from a switch, which may
// answer anything. Byte 0 picks the part:
//   0: parse_stream_frame on the rest (one text message);
//   1: read_handshake_reply on the rest, whole and then growing byte by byte;
//   otherwise: a subscriber's whole conversation: the rest, cut into reads at
//      bytes of value 0xFF, is what the switch sends after the upgrade request.
// Never a crash; and:
//  - an accepted frame has the fields its type requires;
//  - a handshake answer's verdict does not change once the head is complete,
//    "upgraded" means status 101 and a head within the input;
//  - the subscriber's counts agree: delivered = distinct seqs + duplicates,
//    driven <= delivered, a failure means no hello, nothing after finished.

#include "bench/loadgen/events_frame.hpp"
#include "bench/loadgen/events_subscriber.hpp"
#include "protocols/http/websocket.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace centralita;
using namespace centralita::loadgen;

namespace {

constexpr std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==";

void frame(std::string_view in) {
  auto f = parse_stream_frame(in);
  if (!f)
    return;
  if (f->type == frame_type::hello && !f->seq)
    std::abort();
  if (f->type == frame_type::event && (!f->seq || !f->timestamp_ms))
    std::abort();
}

void handshake(std::string_view in) {
  auto whole = http::read_handshake_reply(in, key);
  if (whole.st == http::handshake_reply::state::upgraded && (whole.status != 101 || whole.consumed > in.size()))
    std::abort();
  if (whole.st == http::handshake_reply::state::refused && (whole.status < 100 || whole.status == 101))
    std::abort();
  // Growing input: need_more until a verdict, and a verdict reached on a
  // prefix is the verdict on the whole (the head ends where it ends).
  auto last = http::handshake_reply::state::need_more;
  for (std::size_t n = 0; n <= in.size() && n < 256; ++n) {
    auto r = http::read_handshake_reply(in.substr(0, n), key);
    if (last != http::handshake_reply::state::need_more && r.st != last)
      std::abort();
    last = r.st;
  }
  if (in.size() < 256 && last != whole.st)
    std::abort();
}

void conversation(std::string_view in) {
  subscriber::setup s;
  s.host = "127.0.0.1:8080";
  s.resource = "/events";
  s.driven_event = "REGISTER";
  s.slow = in.size() % 2 == 0;
  s.max_message = 4096;
  std::array<uint8_t, 16> nonce{'t', 'h', 'e', ' ', 's', 'a', 'm', 'p', 'l', 'e', ' ', 'n', 'o', 'n', 'c', 'e'};
  uint8_t m = 0;
  subscriber sub(s, nonce, [&m](uint8_t* buf, std::size_t len) {
    for (std::size_t i = 0; i < len; ++i) buf[i] = ++m;
  });
  if (sub.on_connected().send.empty())
    std::abort();
  delivery_stats stats;
  while (!in.empty()) {
    auto cut = in.find('\xff');
    auto chunk = in.substr(0, cut);
    in.remove_prefix(cut == std::string_view::npos ? in.size() : cut + 1);
    const bool was_finished = sub.state() == subscriber::phase::finished;
    const auto before = sub.outcome().delivered;
    auto st = sub.on_bytes(chunk, 1795391407418000, stats);
    if (was_finished && (sub.outcome().delivered != before || !st.send.empty()))
      std::abort();
  }
  const auto& o = sub.outcome();
  if (o.delivered != o.seqs.size() + o.duplicates || o.driven_delivered > o.delivered)
    std::abort();
  if (!o.failure.empty() && o.hello)
    std::abort();
  if (stats.delivered != o.delivered || stats.delivery.count() + stats.delivery_slow.count() != o.delivered)
    std::abort();
  (void)sub.close_stream();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: frame(in); break;
    case 1: handshake(in); break;
    default: conversation(in); break;
  }
  return 0;
}
