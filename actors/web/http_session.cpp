#include "actors/web/http_session.hpp"

#include "actors/web/web_api.hpp"
#include "protocols/events/catalogue.hpp"
#include "protocols/events/event_json.hpp"
#include "protocols/http/websocket.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>

namespace centralita::actors {

namespace {

using json = nlohmann::json;
using clock = std::chrono::steady_clock;

constexpr uint64_t tick_tag = 1;        // idle timeout (HTTP) or ping (WebSocket)
constexpr uint64_t hard_close_tag = 2;  // a closing client that does not read
constexpr auto hard_close_after = std::chrono::seconds{5};

// Constant-time comparison: a token check must not tell how much matched.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

struct session_state {
  static constexpr const char* name = "http_session";

  caf::event_based_actor* self = nullptr;
  web_context_ptr ctx;
  drivers::connection_id id;
  drivers::endpoint peer;

  // -- HTTP ------------------------------------------------------------------
  std::unique_ptr<http::request_parser> parser;
  std::string inbuf;
  bool busy = false;       ///< an answer is being put together (other actors asked)
  bool in_handle = false;  ///< inside handle(): an answer given at once needs no resume
  bool finishing = false;  ///< close once everything queued is written
  bool closed = false;     ///< the reactor said the connection is gone
  clock::time_point last_activity = clock::now();
  timer_handle tick;
  timer_handle hard_close;

  // -- output ----------------------------------------------------------------
  uint64_t sent = 0;     ///< bytes handed to the reactor
  uint64_t written = 0;  ///< bytes the reactor wrote
  std::string pending;   ///< bytes waiting for the write in flight to finish

  // -- WebSocket stream --------------------------------------------------------
  std::unique_ptr<http::ws_session> ws;
  struct stream_sub {
    subscription_id id;
    std::string filter_text;
    std::string event;  ///< the filter's event name, for {"unsubscribe": NAME}
  };
  std::vector<stream_sub> subs;
  std::vector<events::filter> stream_filters;  ///< for replay
  uint64_t last_seq_sent = 0;
  bool replaying = false;
  std::vector<event_delivery> held;  ///< live events that came during a replay
  uint32_t pending_events = 0;       ///< events in `pending`
  uint64_t first_pending_seq = 0;
  bool overflowed = false;
  bool awaiting_pong = false;

  const web_context& c() const { return *ctx; }
  web_counters& counters() const { return *ctx->counters; }

  ~session_state() {
    if (ws)
      counters().stream_clients.fetch_sub(1, std::memory_order_relaxed);
    if (!closed && ctx)
      ctx->server->close(id);
  }

  void start() {
    parser = std::make_unique<http::request_parser>(http::parser_limits{
      8192, c().deps.cfg.max_header_bytes, 100, c().deps.cfg.max_body_bytes});
    arm_tick();
  }

  void arm_tick(std::chrono::milliseconds after = std::chrono::milliseconds{0}) {
    if (after.count() <= 0)
      after = ws ? std::chrono::seconds{c().deps.cfg.ws_ping_interval}
                 : std::chrono::seconds{c().deps.cfg.idle_timeout};
    c().deps.timers->cancel(tick);
    tick = c().deps.timers->arm(self, after, tick_tag);
  }

  // -- output ------------------------------------------------------------------

  void write(std::string bytes) {
    if (closed || bytes.empty())
      return;
    if (sent == written && pending.empty()) {
      sent += bytes.size();
      c().server->send(id, std::move(bytes));
      return;
    }
    pending.append(bytes);
  }

  void on_written(uint64_t total) {
    written = total;
    if (written != sent)
      return;
    pending_events = 0;
    if (!pending.empty()) {
      sent += pending.size();
      c().server->send(id, std::exchange(pending, {}), finishing);
    } else if (finishing) {
      c().server->send(id, {}, true);
    }
  }

  /// Close once everything queued is written (the reactor closes after it).
  void finish() {
    if (finishing || closed)
      return;
    finishing = true;
    if (sent == written && pending.empty())
      c().server->send(id, {}, true);
    // else on_written() hands the rest over with close_after
    hard_close = c().deps.timers->arm(self, hard_close_after, hard_close_tag);
  }

  void on_timer(uint64_t tag) {
    if (closed)
      return;
    if (tag == hard_close_tag) {
      c().server->close(id);
      return;
    }
    if (ws) {
      if (awaiting_pong) {  // a whole interval without a frame from the client
        ws->send_close(http::close_going_away, "no answer to ping");
        flush_ws();
        finish();
        return;
      }
      awaiting_pong = true;
      ws->send_ping("centralita");
      flush_ws();
      arm_tick();
      return;
    }
    auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::seconds{c().deps.cfg.idle_timeout});
    auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - last_activity);
    // The wheel may fire a tick early: within 10 ms of the deadline counts.
    if (!busy && quiet + std::chrono::milliseconds{10} >= idle) {
      finish();  // silent too long (or a request that never completes)
      return;
    }
    arm_tick(busy ? idle : idle - quiet);
  }

  // -- HTTP ------------------------------------------------------------------

  void on_bytes(std::string& bytes) {
    last_activity = clock::now();
    if (ws) {
      feed_ws(bytes);
      return;
    }
    if (finishing)
      return;
    inbuf.append(bytes);
    process();
  }

  void process() {
    while (!busy && !finishing && !ws && !inbuf.empty()) {
      auto o = parser->feed(inbuf);
      inbuf.erase(0, o.consumed);
      if (o.st == http::request_parser::state::need_more)
        return;
      if (o.st == http::request_parser::state::error) {
        counters().bad_requests.fetch_add(1, std::memory_order_relaxed);
        respond(http::json_error(parser->error_status(), parser->error_reason()), false, false);
        return;
      }
      handle(parser->take());
    }
  }

  void respond(const http::response& r, bool keep_alive, bool head_only) {
    auto cls = static_cast<std::size_t>(r.status / 100);
    if (cls >= 1 && cls <= 5)
      counters().responses_by_class[cls].fetch_add(1, std::memory_order_relaxed);
    write(http::serialize(r, keep_alive, head_only));
    if (!keep_alive)
      finish();
  }

  /// The dashboard's token cookie: a page opened as /?token=T gets it, so that
  /// the files it loads (which cannot carry the token) are authorised too.
  static std::string_view token_cookie(const http::request& req) {
    auto* cookie = req.header_value("Cookie");
    if (cookie == nullptr)
      return {};
    std::string_view rest = *cookie;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto item = rest.substr(0, semi);
      while (!item.empty() && item.front() == ' ')
        item.remove_prefix(1);
      if (item.rfind("centralita_token=", 0) == 0)
        return item.substr(17);
      if (semi == std::string_view::npos)
        break;
      rest.remove_prefix(semi + 1);
    }
    return {};
  }

  /// Why `req` may not be answered (a 401 or 403), or nothing.
  std::optional<http::response> refused(const http::request& req) const {
    auto& cfg = c().deps.cfg;
    if (c().require_token) {
      std::string_view given;
      if (auto* auth = req.header_value("Authorization");
          auth != nullptr && auth->size() > 7 && lower_ascii(auth->substr(0, 7)) == "bearer ")
        given = std::string_view(*auth).substr(7);
      else if (auto* q = req.query_value("token"))
        given = *q;
      else
        given = token_cookie(req);
      if (given.empty() || !same_secret(given, cfg.token)) {
        auto r = http::json_error(401, given.empty() ? "a bearer token is required"
                                                     : "the bearer token is not valid");
        r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"centralita\""});
        return r;
      }
    } else if (!is_loopback(peer)) {
      return http::json_error(403, "no HTTP token is configured (--http-token): only loopback "
                                   "clients are accepted");
    }
    if (auto* origin = req.header_value("Origin")) {
      bool ok = false;
      if (auto* host = req.header_value("Host"))
        ok = *origin == "http://" + *host || *origin == "https://" + *host;
      for (auto& a : cfg.allowed_origins)
        ok = ok || a == "*" || a == *origin;
      if (!ok)
        return http::json_error(403, "origin '" + *origin + "' is not allowed (http.allowed_origins)");
    }
    return std::nullopt;
  }

  void handle(http::request req) {
    counters().requests.fetch_add(1, std::memory_order_relaxed);
    bool keep_alive = req.keep_alive;
    bool head = req.method == "HEAD";
    if (req.path != "/healthz") {
      if (auto no = refused(req)) {
        counters().unauthorized.fetch_add(1, std::memory_order_relaxed);
        respond(*no, keep_alive, head);
        return;
      }
    }
    if (req.path == "/events") {
      start_stream(req);
      return;
    }
    busy = true;
    in_handle = true;
    // A page opened with ?token= keeps it as a cookie (HttpOnly, SameSite=Strict:
    // only this origin's own requests carry it) for the files and calls it makes.
    bool set_cookie = c().require_token && req.query_value("token") != nullptr
                      && req.header_value("Authorization") == nullptr;
    answer_request(self, c(), req, [this, keep_alive, head, set_cookie](http::response r) {
      if (set_cookie && r.status < 400)
        r.headers.push_back({"Set-Cookie", "centralita_token=" + c().deps.cfg.token
                                             + "; Path=/; HttpOnly; SameSite=Strict"});
      respond(r, keep_alive, head);
      busy = false;
      if (!in_handle)
        process();
    });
    in_handle = false;
  }

  // -- the event stream ----------------------------------------------------------

  /// The filters a stream's query asks for: `event` (repeatable; none: every
  /// kind the conditions apply to) and the other parameters as conditions.
  result<std::vector<events::filter>> query_filters(const http::request& req) const {
    std::vector<std::string> names;
    std::vector<std::pair<std::string, std::string>> conds;
    for (auto& [k, v] : req.query) {
      if (k == "event")
        names.push_back(v);
      else if (k != "token" && k != "since")
        conds.emplace_back(k, v);
    }
    std::vector<events::filter> out;
    if (!names.empty()) {
      for (auto& n : names) {
        if (n == "*") {
          names.clear();
          break;
        }
        auto f = events::filter::make(n, conds);
        if (!f)
          return f.err();
        out.push_back(std::move(f.value()));
      }
      if (!names.empty())
        return out;
      out.clear();
    }
    std::optional<error> first;
    for (auto& kind : events::catalogue()) {
      auto f = events::filter::make(kind.name, conds);
      if (f)
        out.push_back(std::move(f.value()));
      else if (!first)
        first = f.err();
    }
    if (out.empty())
      return *first;
    return out;
  }

  void start_stream(const http::request& req) {
    if (!req.upgrade) {
      auto r = http::json_error(426, "/events is a WebSocket endpoint (RFC 6455)");
      r.headers.push_back({"Upgrade", "websocket"});
      respond(r, req.keep_alive, false);
      return;
    }
    auto filters = query_filters(req);
    if (!filters) {
      respond(http::json_error(400, filters.err().reason), false, false);
      return;
    }
    std::optional<uint64_t> since;
    if (auto* s = req.query_value("since")) {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
      if (ec != std::errc{} || p != s->data() + s->size()) {
        respond(http::json_error(400, "since: '" + *s + "' is not a sequence number"), false, false);
        return;
      }
      since = v;
    }
    auto hs = http::accept_websocket(req);
    if (!hs.ok) {
      respond(hs.answer, false, false);
      return;
    }
    respond(hs.answer, true, false);
    ws = std::make_unique<http::ws_session>(http::ws_session::options{65536});
    counters().stream_clients.fetch_add(1, std::memory_order_relaxed);
    arm_tick();
    json hello{{"type", "hello"},
               {"node", c().deps.node},
               {"version", c().deps.version},
               {"seq", c().deps.event_stats->last_seq.load(std::memory_order_relaxed)},
               {"boot", c().deps.boot_ms},
               {"replay_size", c().deps.replay_size}};
    send_notice(hello);
    for (auto& f : *filters)
      add_subscription(f);
    stream_filters = std::move(*filters);
    if (since) {
      replaying = true;
      self->request(c().deps.events, std::chrono::seconds{10}, replay_request{*since, stream_filters})
        .then([this](replay_answer& a) { on_replay(a); },
              [this](caf::error&) {
                send_notice({{"type", "error"}, {"message", "replay failed (event bus busy)"}});
                end_replay();
              });
    }
    // Frames the client sent right behind its upgrade request.
    if (!inbuf.empty()) {
      auto rest = std::exchange(inbuf, {});
      feed_ws(rest);
    }
  }

  subscription_id add_subscription(const events::filter& f) {
    auto sid = next_subscription_id();
    c().deps.event_stats->want(f.event_name());
    subscribe s{sid, f, caf::actor_cast<caf::actor>(self), subscription_mode::persistent,
                std::chrono::milliseconds{0}, c().deps.cfg.ws_queue * 2 + 64, true};
    s.stream = true;
    self->send(c().deps.events, std::move(s));
    subs.push_back({sid, f.to_string(), f.event_name()});
    return sid;
  }

  void drop_subscriptions() {
    for (auto& s : subs)
      self->send(c().deps.events, unsubscribe{s.id});
    subs.clear();
  }

  void send_notice(const json& j) {
    if (!ws || ws->close_sent())
      return;
    ws->send_text(j.dump());
    flush_ws();
  }

  void flush_ws() {
    std::string out;
    ws->take_output(out);
    write(std::move(out));
  }

  void on_replay(replay_answer& a) {
    if (a.missed > 0)
      send_notice({{"type", "missed"},
                   {"count", a.missed},
                   {"first_seq", a.missed_first},
                   {"last_seq", a.missed_last}});
    std::size_t n = 0;
    for (auto& item : a.items) {
      if (overflowed)
        return;
      if (item.ev->seq <= last_seq_sent)
        continue;
      queue_event(item.ev->seq, *item.json);
      ++n;
    }
    send_notice({{"type", "replayed"}, {"count", n}, {"up_to", a.up_to}});
    end_replay();
  }

  void end_replay() {
    replaying = false;
    auto live = std::exchange(held, {});
    for (auto& d : live)
      on_delivery(d);
  }

  void on_delivery(event_delivery& d) {
    if (!ws || overflowed)
      return;
    if (d.dropped_before > 0) {  // the bus could not queue some for us
      overflow(d.ev->seq, d.dropped_before);
      return;
    }
    if (replaying) {
      if (held.size() >= c().deps.cfg.ws_queue) {
        overflow(d.ev->seq, 0);
        return;
      }
      held.push_back(std::move(d));
      return;
    }
    if (d.ev->seq <= last_seq_sent)
      return;  // matched two of this client's subscriptions, or already replayed
    if (d.json)
      queue_event(d.ev->seq, *d.json);
    else
      queue_event(d.ev->seq, events::to_json(*d.ev, c().deps.node));
  }

  void queue_event(uint64_t seq, const std::string& text) {
    if (ws->close_sent())
      return;
    bool queued_behind = !(sent == written && pending.empty());
    if (queued_behind && pending_events >= c().deps.cfg.ws_queue) {
      overflow(seq, 0);
      return;
    }
    ws->send_text(text);
    flush_ws();
    if (queued_behind) {
      if (pending_events++ == 0)
        first_pending_seq = seq;
    }
    last_seq_sent = seq;
    counters().stream_events.fetch_add(1, std::memory_order_relaxed);
  }

  /// The client does not keep up: what is queued for it goes, it is told how
  /// much (it can reconnect with ?since= and get it from the replay buffer),
  /// and it is closed with 1008.
  void overflow(uint64_t seq, uint64_t bus_dropped) {
    uint64_t count = pending_events + 1 + bus_dropped + held.size();
    uint64_t first = pending_events > 0 ? first_pending_seq : seq;
    if (bus_dropped > 0)  // lost before this one, at the bus: right after what was sent
      first = std::min(first, last_seq_sent + 1);
    if (!held.empty())
      first = std::min(first, held.front().ev->seq);
    uint64_t last = seq;
    for (auto& d : held)
      last = std::max(last, d.ev->seq);
    held.clear();
    pending.clear();  // whole frames only: the write in flight is the reactor's
    pending_events = 0;
    overflowed = true;
    counters().stream_dropped.fetch_add(count, std::memory_order_relaxed);
    counters().stream_overflows.fetch_add(1, std::memory_order_relaxed);
    drop_subscriptions();
    if (c().deps.log)
      c().deps.log->warn("event stream {}: client too slow, {} event(s) dropped (#{}..#{}); "
                         "closing it (1008)",
                         peer.to_string(), count, first, last);
    // The notice and the close go behind the write in flight (if any).
    ws->send_text(json{{"type", "dropped"}, {"count", count}, {"first_seq", first},
                       {"last_seq", last}}
                    .dump());
    ws->send_close(http::close_policy, "client too slow: " + std::to_string(count)
                                         + " events dropped");
    flush_ws();
    finish();
  }

  void feed_ws(std::string_view bytes) {
    std::vector<http::ws_session::message> msgs;
    auto r = ws->feed(bytes, msgs);
    awaiting_pong = false;  // any frame shows the client is alive
    for (auto& m : msgs) {
      switch (m.type) {
        case http::ws_session::message::kind::text: on_client_message(m.data); break;
        case http::ws_session::message::kind::binary:
          ws->send_close(http::close_unsupported, "binary frames are not understood");
          break;
        case http::ws_session::message::kind::close:
        case http::ws_session::message::kind::pong: break;
      }
    }
    if (!r)
      counters().stream_protocol_errors.fetch_add(1, std::memory_order_relaxed);
    flush_ws();
    if (!r || ws->close_sent() || ws->finished()) {
      drop_subscriptions();
      finish();
    }
  }

  void on_client_message(const std::string& text) {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      send_notice({{"type", "error"}, {"message", "not a JSON object"}});
      return;
    }
    if (auto it = j.find("subscribe"); it != j.end()) {
      if (!it->is_string()) {
        send_notice({{"type", "error"}, {"message", "subscribe: an event name (or \"*\")"}});
        return;
      }
      std::vector<std::pair<std::string, std::string>> conds;
      if (auto f = j.find("filter"); f != j.end()) {
        if (!f->is_object()) {
          send_notice({{"type", "error"}, {"message", "filter: an object of attribute: value"}});
          return;
        }
        for (auto& [k, v] : f->items())
          conds.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
      }
      std::vector<std::string> names;
      if (it->get<std::string>() == "*") {
        for (auto& kind : events::catalogue()) {
          bool all = true;
          for (auto& [k, v] : conds)
            all = all && (kind.open || events::has_attribute(kind, k));
          if (all)
            names.emplace_back(kind.name);
        }
      } else {
        names.push_back(it->get<std::string>());
      }
      for (auto& n : names) {
        auto f = events::filter::make(n, conds);
        if (!f) {
          send_notice({{"type", "error"}, {"message", f.err().reason}});
          return;
        }
        auto sid = add_subscription(*f);
        send_notice({{"type", "subscribed"}, {"id", sid}, {"event", f->event_name()},
                     {"filter", f->to_string()}});
        stream_filters.push_back(std::move(f.value()));
      }
      return;
    }
    if (auto it = j.find("unsubscribe"); it != j.end()) {
      std::size_t before = subs.size();
      for (auto s = subs.begin(); s != subs.end();) {
        // The whole event name: "CALL" is no event, not CALL_START, CALL_ANSWER and CALL_END.
        bool match = it->is_number_unsigned() ? s->id == it->get<uint64_t>()
                     : it->is_string()
                       ? (it->get<std::string>() == "*"
                          || s->event == events::upper(it->get<std::string>()))
                       : false;
        if (match) {
          self->send(c().deps.events, unsubscribe{s->id});
          send_notice({{"type", "unsubscribed"}, {"id", s->id}});
          s = subs.erase(s);
        } else {
          ++s;
        }
      }
      if (before == subs.size())
        send_notice({{"type", "error"}, {"message", "unsubscribe: no such subscription"}});
      return;
    }
    send_notice({{"type", "error"}, {"message", "expected {\"subscribe\": ...} or {\"unsubscribe\": ...}"}});
  }

  void on_closed() {
    closed = true;
    drop_subscriptions();
    self->quit();
  }
};

caf::behavior http_session(caf::stateful_actor<session_state>* self, web_context_ptr ctx,
                           drivers::connection_id id, drivers::endpoint peer) {
  auto& st = self->state;
  st.self = self;
  st.ctx = std::move(ctx);
  st.id = id;
  st.peer = peer;
  st.start();
  return {
    [&st](conn_bytes& b) { st.on_bytes(b.bytes); },
    [&st](const conn_written& w) { st.on_written(w.total); },
    [&st](const conn_closed&) { st.on_closed(); },
    [&st](const timer_expired& t) { st.on_timer(t.tag); },
    [&st](event_delivery& d) { st.on_delivery(d); },
    [](const subscription_ended&) {},
  };
}

} // namespace

caf::actor spawn_http_session(caf::actor_system& sys, web_context_ptr ctx,
                              drivers::connection_id id, drivers::endpoint peer) {
  return sys.spawn(http_session, std::move(ctx), id, peer);
}

} // namespace centralita::actors
