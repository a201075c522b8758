#include "bench/loadgen/events_subscriber.hpp"

#include "bench/loadgen/events_frame.hpp"

#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

namespace centralita::loadgen {

namespace {

/// What a refusal's body says: the switch's JSON error message
/// ({"error":{"status":400,"message":"..."}}, docs/api.md), else the start of
/// the body as text; empty when nothing came with the head.
std::string refusal_message(std::string_view body) {
  if (body.empty())
    return {};
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    auto e = j.find("error");
    if (e != j.end() && e->is_object()) {
      auto m = e->find("message");
      if (m != e->end() && m->is_string())
        return m->get<std::string>();
    }
  }
  std::string text(body.substr(0, 200));
  for (auto& c : text)
    if (static_cast<unsigned char>(c) < 0x20)
      c = ' ';
  return text;
}

} // namespace

subscriber::subscriber(const setup& s, const std::array<uint8_t, 16>& nonce, http::ws_mask_source mask)
    : setup_(s), mask_(std::move(mask)), key_(http::websocket_key(nonce)) {
  out_.slow = s.slow;
}

subscriber::~subscriber() = default;

subscriber::step subscriber::on_connected() {
  step st;
  if (phase_ != phase::connecting)
    return st;
  http::client_handshake_request req;
  req.host = setup_.host;
  req.resource = setup_.resource;
  if (!setup_.token.empty())
    req.headers.push_back({"Authorization", "Bearer " + setup_.token});  // docs/api.md: bearer token
  auto bytes = http::websocket_upgrade_request(req, key_);
  if (!bytes) {
    fail("handshake", bytes.err().reason);
    st.close = true;
    st.settled_change = true;
    return st;
  }
  phase_ = phase::handshaking;
  st.send = std::move(bytes.value());
  return st;
}

subscriber::step subscriber::on_bytes(std::string_view bytes, uint64_t wall_us, delivery_stats& stats) {
  if (phase_ == phase::handshaking)
    return on_handshake_bytes(bytes, wall_us, stats);
  step st;
  if (phase_ != phase::streaming)
    return st;
  std::vector<http::ws_session::message> msgs;
  auto fed = ws_->feed(bytes, msgs);
  for (auto& m : msgs) {
    switch (m.type) {
      case http::ws_session::message::kind::text: on_frame(m.data, wall_us, stats, st); break;
      case http::ws_session::message::kind::binary: ++out_.malformed; break;  // the stream is JSON text
      case http::ws_session::message::kind::pong: break;
      case http::ws_session::message::kind::close:
        // RFC 6455 §5.5.1: the switch closes (1008 for a slow client, 1001
        // going away...); wslay queued our echo. An echo of our own close is
        // not the switch's doing.
        if (!closed_by_us_ && !out_.close_code) {
          out_.close_code = m.code;
          out_.close_reason = m.data;
        }
        st.settled_change = true;
        break;
    }
  }
  if (!fed) {
    out_.protocol_error = fed.err().reason;
    st.settled_change = true;
  }
  ws_->take_output(st.send);  // pongs (§5.5.3), the close echo or our error close
  if (!fed || ws_->finished() || ws_->close_received()) {
    phase_ = phase::finished;
    st.close = true;
    if (!out_.hello)  // upgraded, but the stream never began
      fail("handshake", !fed ? out_.protocol_error : "closed before the hello");
  }
  return st;
}

subscriber::step subscriber::on_handshake_bytes(std::string_view bytes, uint64_t wall_us,
                                                delivery_stats& stats) {
  step st;
  head_.append(bytes);
  auto reply = http::read_handshake_reply(head_, key_);
  switch (reply.st) {
    case http::handshake_reply::state::need_more: return st;
    case http::handshake_reply::state::refused:
      // §4.1: not 101, so no WebSocket: the status is the cause (401 for a
      // wrong token, 403 for a foreign address or origin, 400 for a filter).
      if (auto why = refusal_message(std::string_view(head_).substr(reply.consumed)); !why.empty())
        reply.reason += ": " + why;
      fail(std::to_string(reply.status), reply.reason);
      st.close = st.settled_change = true;
      return st;
    case http::handshake_reply::state::invalid:
      fail("handshake", reply.reason);
      st.close = st.settled_change = true;
      return st;
    case http::handshake_reply::state::upgraded: break;
  }
  out_.upgraded = true;
  phase_ = phase::streaming;
  http::ws_session::options opts;
  opts.max_message = setup_.max_message;
  opts.role = http::ws_role::client;
  opts.mask_source = mask_;
  ws_ = std::make_unique<http::ws_session>(std::move(opts));
  // Frames may have come in the same read as the head.
  std::string rest = head_.substr(reply.consumed);
  head_.clear();
  head_.shrink_to_fit();
  step more = on_bytes(rest, wall_us, stats);
  more.settled_change = true;
  return more;
}

void subscriber::on_frame(std::string_view text, uint64_t wall_us, delivery_stats& stats, step& st) {
  auto parsed = parse_stream_frame(text);
  if (!parsed) {
    ++out_.malformed;
    return;
  }
  const stream_frame& f = parsed.value();
  switch (f.type) {
    case frame_type::hello:
      if (!out_.hello) {
        out_.hello = true;
        out_.hello_seq = *f.seq;
        out_.boot = f.boot;
        last_seq_ = *f.seq;
        st.got_hello = st.settled_change = true;
      }
      break;
    case frame_type::event: {
      ++out_.delivered;
      ++stats.delivered;
      ++stats.second_delivered;
      if (!setup_.driven_event.empty() && f.name == setup_.driven_event)
        ++out_.driven_delivered;
      // docs/api.md: the switch sends each event once and in seq order.
      if (!out_.seqs.insert(*f.seq))
        ++out_.duplicates;
      else if (*f.seq < last_seq_)
        ++out_.out_of_order;
      if (*f.seq > last_seq_)
        last_seq_ = *f.seq;
      // Same machine, same clock: now − the event's own timestamp, which is
      // in whole milliseconds (so up to 1 ms more than the real latency).
      const uint64_t stamp_us = *f.timestamp_ms * 1000;
      const uint64_t us = wall_us > stamp_us ? wall_us - stamp_us : 0;
      if (setup_.slow) {
        stats.delivery_slow.record(us);
      } else {
        stats.delivery.record(us);
        stats.second.record(us);
      }
      st.settled_change = true;
      if (setup_.slow && !paused_once_) {
        paused_once_ = true;
        st.pause = true;
      }
      break;
    }
    case frame_type::dropped:
      ++out_.dropped_notices;
      out_.dropped_events += f.count;
      break;
    case frame_type::missed:
      ++out_.missed_notices;
      out_.missed_events += f.count;
      break;
    case frame_type::error:
      if (out_.error_notices++ == 0)
        out_.first_error = f.message;
      break;
    case frame_type::replayed:
    case frame_type::subscribed:
    case frame_type::unsubscribed:
    case frame_type::unknown: break;
  }
}

void subscriber::on_disconnected(std::string_view why) {
  if (phase_ == phase::connecting || phase_ == phase::handshaking) {
    if (out_.failure.empty())
      fail(phase_ == phase::connecting ? "reset" : "handshake",
           "the connection ended before the answer (" + std::string(why) + ")");
    return;
  }
  if (phase_ == phase::streaming && !out_.hello) {
    fail("handshake", "the connection ended before the hello (" + std::string(why) + ")");
    return;
  }
  if (phase_ == phase::streaming && !closed_by_us_ && !out_.close_code) {
    // RFC 6455 §7.1.5: closed without a close frame: 1006.
    out_.close_code = 1006;
    out_.close_reason = std::string(why);
  }
  phase_ = phase::finished;
}

void subscriber::fail(std::string cause, std::string detail) {
  if (phase_ == phase::streaming && out_.hello)
    return;  // it streamed: a late failure is a close, not a connect failure
  if (out_.failure.empty()) {
    out_.failure = std::move(cause);
    out_.failure_detail = std::move(detail);
  }
  phase_ = phase::finished;
}

std::string subscriber::close_stream() {
  std::string out;
  if (phase_ != phase::streaming || closed_by_us_)
    return out;
  closed_by_us_ = true;
  ws_->send_close(http::close_normal, "run over");  // §7.1.2: we start the closing handshake
  ws_->take_output(out);
  return out;
}

} // namespace centralita::loadgen
