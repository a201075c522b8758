#include "actors/media/ng_control.hpp"

#include "actors/b2bua/b2b_messages.hpp"
#include "actors/media/media_session.hpp"
#include "protocols/ng/ng_message.hpp"
#include "protocols/ng/reply_cache.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <spdlog/logger.h>

#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace centralita::actors {

namespace {

/// The receive thread → the actor: one datagram and where it came from.
struct ng_datagram {
  std::string bytes;
  drivers::endpoint from;
};

} // namespace

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::ng_datagram)

namespace centralita::actors {

namespace {

constexpr std::size_t max_datagram = 65536;  // over any UDP payload (65507)
constexpr auto receive_poll = std::chrono::milliseconds{200};  // how soon the thread sees stop
constexpr auto stop_wait = std::chrono::seconds{2};

/// The listening socket: the receive thread reads it, the actor writes its
/// replies on it (sendto with MSG_DONTWAIT: a handler never blocks). Shared,
/// so the descriptor outlives whichever of the two stops last.
struct ng_socket {
  int fd = -1;
  explicit ng_socket(int f) : fd(f) {}
  ~ng_socket() {
    if (fd >= 0)
      ::close(fd);
  }
  ng_socket(const ng_socket&) = delete;
  ng_socket& operator=(const ng_socket&) = delete;
};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// One call-id: its media session and the parties' tags. Side 0 is the
/// party of the first offer's from-tag (A), side 1 the other (B).
struct ng_call {
  caf::actor session;
  std::array<std::string, 2> tags;
  int64_t created = 0;      ///< unix seconds
  int64_t last_signal = 0;  ///< unix seconds of the last offer/answer
  int last_offer_side = 0;
  bool established = false;  ///< an offer went through (else a failed first offer removes it)
};

struct ng_init {
  ng_control_deps deps;
  std::shared_ptr<ng_socket> sock;
};

struct ng_state {
  static constexpr const char* name = "ng_control";

  caf::event_based_actor* self = nullptr;
  ng_init init;
  ng::reply_cache cache;
  std::unordered_map<std::string, ng_call> calls;
  std::unordered_map<caf::actor_addr, std::string> by_session;

  spdlog::logger* log() { return init.deps.log.get(); }

  ~ng_state() {
    // The listener's end ends its calls (the sessions also watch this actor:
    // this only makes it immediate).
    for (auto& [id, c] : calls)
      caf::anon_send_exit(c.session, caf::exit_reason::user_shutdown);
  }

  // -- replies -------------------------------------------------------------------

  void send_to(const drivers::endpoint& to, const std::string& bytes) {
    auto n = ::sendto(init.sock->fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                      to.data(), to.size());
    if (n < 0 && log())
      log()->warn("ng: reply of {} bytes to {} not sent: {}", bytes.size(), to.to_string(),
                  std::strerror(errno));
  }

  /// Sends the reply and keeps it for retransmissions of `cookie`.
  void finish(const std::string& cookie, const drivers::endpoint& to, const ng::value& reply) {
    auto out = ng::build_reply(cookie, reply);
    send_to(to, out);
    cache.complete(cookie, std::move(out));
  }

  void fail(const std::string& cookie, const drivers::endpoint& to, std::string_view reason) {
    finish(cookie, to, ng::error_reply(reason));
  }

  // -- calls ---------------------------------------------------------------------

  ng_call& open_call(const ng::request& r) {
    media_session_init mi;
    mi.hub = init.deps.hub;
    mi.call_id = r.call_id;
    mi.call = caf::actor_cast<caf::actor>(self);
    mi.reactor = static_cast<unsigned>(std::hash<std::string>{}(r.call_id));
    mi.events = init.deps.events;
    mi.event_stats = init.deps.event_stats;
    mi.log = init.deps.log;
    if (!r.transcode.empty()) {
      mi.transcode = true;
      mi.codecs = r.transcode;
      mi.mask = r.mask;
    }
    ng_call c;
    c.session = spawn_media_session(self->home_system(), std::move(mi));
    self->monitor(c.session);
    c.tags[0] = r.from_tag;
    c.tags[1] = r.to_tag;
    c.created = unix_now();
    by_session[c.session.address()] = r.call_id;
    if (log())
      log()->info("[cid={}] ng: new call (from-tag {})", r.call_id, r.from_tag);
    return calls.emplace(r.call_id, std::move(c)).first->second;
  }

  /// Ends the call's session (its ports go back to the pool) and forgets it.
  void close_call(const std::string& call_id) {
    auto it = calls.find(call_id);
    if (it == calls.end())
      return;
    self->demonitor(it->second.session);
    self->send_exit(it->second.session, caf::exit_reason::user_shutdown);
    by_session.erase(it->second.session.address());
    calls.erase(it);
  }

  // -- commands ------------------------------------------------------------------

  void on_datagram(ng_datagram& d) {
    auto parts = ng::split_datagram(d.bytes);
    if (!parts) {
      // Without a cookie there is nothing a client could match a reply to.
      if (log())
        log()->debug("ng: dropped a datagram from {}: {}", d.from.to_string(), parts.err().reason);
      return;
    }
    std::string cookie(parts->cookie);
    auto seen = cache.begin(cookie, ng::reply_cache::clock::now());
    if (seen.what == ng::reply_cache::verdict::pending)
      return;  // still running: its reply goes out when it is done
    if (seen.what == ng::reply_cache::verdict::replay) {
      if (log())
        log()->debug("ng: retransmission of {} from {}: the same reply", cookie,
                     d.from.to_string());
      send_to(d.from, *seen.reply);
      return;
    }
    auto body = ng::decode_body(parts->body);
    if (!body)
      return fail(cookie, d.from, body.err().reason);
    auto req = ng::parse_request(*body);
    if (!req)
      return fail(cookie, d.from, req.err().reason);
    switch (req->cmd) {
      case ng::command::ping: {
        ng::value pong{ng::dict{}};
        pong.set("result", "pong");
        return finish(cookie, d.from, pong);
      }
      case ng::command::offer: return on_offer(std::move(*req), cookie, d.from);
      case ng::command::answer: return on_answer(std::move(*req), cookie, d.from);
      case ng::command::del: return on_delete(*req, cookie, d.from);
      case ng::command::query: return on_query(*req, cookie, d.from);
      case ng::command::list: return on_list(cookie, d.from);
    }
  }

  /// Runs the session's answer to an offer or answer into the reply.
  template <class Message>
  void exchange(const std::string& call_id, Message m, const std::string& cookie,
                const drivers::endpoint& from) {
    auto& c = calls.at(call_id);
    c.last_signal = unix_now();
    auto session = c.session;
    constexpr bool is_offer = std::is_same_v<Message, media_offer>;
    self->request(session, caf::infinite, std::move(m))
      .then(
        [this, call_id, cookie, from, session](media_sdp& s) {
          auto it = calls.find(call_id);
          bool ours = it != calls.end() && it->second.session == session;
          if (!s.ok) {
            if (log())
              log()->info("[cid={}] ng: {} refused: {}", call_id, is_offer ? "offer" : "answer",
                          s.reason);
            // A first offer that failed leaves no call behind (nothing was
            // allocated that a later delete would have to free).
            if (is_offer && ours && !it->second.established)
              close_call(call_id);
            return fail(cookie, from, s.reason);
          }
          if (is_offer && ours)
            it->second.established = true;
          auto reply = ng::ok_reply();
          reply.set("sdp", std::move(s.sdp));
          finish(cookie, from, reply);
        },
        [this, call_id, cookie, from](caf::error&) {
          // The session ended meanwhile (a delete, a timeout).
          fail(cookie, from, "the call ended while the command ran");
        });
  }

  void on_offer(ng::request r, const std::string& cookie, const drivers::endpoint& from) {
    auto it = calls.find(r.call_id);
    int side = 0;
    if (it == calls.end()) {
      open_call(r);
    } else {
      // rtpengine's rule: an offer's SDP is from its from-tag's party, so a
      // re-INVITE from the callee has B's tag there.
      auto& c = it->second;
      side = !c.tags[1].empty() && r.from_tag == c.tags[1] ? 1 : 0;
      if (side == 0 && c.tags[1].empty() && !r.to_tag.empty())
        c.tags[1] = r.to_tag;
    }
    auto& c = calls.at(r.call_id);
    c.last_offer_side = side;
    exchange(r.call_id, media_offer{side, std::move(r.sdp)}, cookie, from);
  }

  void on_answer(ng::request r, const std::string& cookie, const drivers::endpoint& from) {
    auto it = calls.find(r.call_id);
    if (it == calls.end())
      return fail(cookie, from, "unknown call-id");
    auto& c = it->second;
    // The answer comes from the party the last offer went to; an answer's
    // to-tag is that party's (the callee's, for the initial INVITE).
    int side = 1 - c.last_offer_side;
    if (side == 1 && c.tags[1].empty())
      c.tags[1] = r.to_tag;
    exchange(r.call_id, media_answer{side, std::move(r.sdp)}, cookie, from);
  }

  void on_delete(const ng::request& r, const std::string& cookie, const drivers::endpoint& from) {
    // The whole call goes, whatever tags the delete names (a call here has
    // two parties: there is no branch to delete alone).
    if (calls.find(r.call_id) == calls.end())
      return fail(cookie, from, "unknown call-id");
    close_call(r.call_id);
    if (log())
      log()->info("[cid={}] ng: call deleted", r.call_id);
    finish(cookie, from, ng::ok_reply());
  }

  void on_query(const ng::request& r, const std::string& cookie, const drivers::endpoint& from) {
    auto it = calls.find(r.call_id);
    if (it == calls.end())
      return fail(cookie, from, "unknown call-id");
    auto& c = it->second;
    auto reply = ng::ok_reply();
    reply.set("created", c.created);
    reply.set("last signal", c.last_signal);
    ng::value tags{ng::dict{}};
    for (int i = 0; i < 2; ++i) {
      auto& tag = c.tags[static_cast<std::size_t>(i)];
      if (tag.empty())
        continue;
      ng::value t{ng::dict{}};
      t.set("tag", tag);
      t.set("created", c.created);
      if (auto& other = c.tags[static_cast<std::size_t>(1 - i)]; !other.empty())
        t.set("in dialogue with", other);
      tags.set(tag, std::move(t));
    }
    reply.set("tags", std::move(tags));
    finish(cookie, from, reply);
  }

  void on_list(const std::string& cookie, const drivers::endpoint& from) {
    ng::list ids;
    for (auto& [id, c] : calls)
      ids.emplace_back(id);
    auto reply = ng::ok_reply();
    reply.set("calls", std::move(ids));
    finish(cookie, from, reply);
  }

  // -- from the sessions ---------------------------------------------------------

  void on_timed_out(const media_timed_out& t) {
    auto it = by_session.find(self->current_sender() ? self->current_sender()->address()
                                                     : caf::actor_addr{});
    if (it == by_session.end())
      return;
    std::string call_id = it->second;
    if (log())
      log()->warn("[cid={}] ng: no RTP from leg {} within the inactivity timeout: call deleted",
                  call_id, t.side == 0 ? 'a' : 'b');
    close_call(call_id);
  }

  void on_down(const caf::down_msg& m) {
    auto it = by_session.find(m.source);
    if (it == by_session.end())
      return;
    std::string call_id = it->second;
    by_session.erase(it);
    if (auto c = calls.find(call_id); c != calls.end() && c->second.session.address() == m.source) {
      if (log())
        log()->warn("[cid={}] ng: the media session ended on its own", call_id);
      calls.erase(c);
    }
  }
};

caf::behavior ng_actor(caf::stateful_actor<ng_state>* self, ng_init init) {
  auto& st = self->state;
  st.self = self;
  st.init = std::move(init);
  self->set_down_handler([&st](caf::down_msg& m) { st.on_down(m); });
  return {
    [&st](ng_datagram& d) { st.on_datagram(d); },
    [&st](const media_timed_out& t) { st.on_timed_out(t); },
  };
}

void receive_loop(std::shared_ptr<ng_socket> sock, caf::actor actor, const std::atomic<bool>* stop,
                  std::shared_ptr<spdlog::logger> log) {
  // One buffer for the thread's life: a datagram is copied into the message
  // that carries it to the actor.
  std::vector<char> buf(max_datagram);
  while (!stop->load(std::memory_order_acquire)) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    auto n = ::recvfrom(sock->fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&ss), &len);
    if (n < 0) {
      // SO_RCVTIMEO: EAGAIN every 200 ms lets the loop look at `stop`.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && log)
        log->warn("ng: recvfrom: {}", std::strerror(errno));
      continue;
    }
    caf::anon_send(actor, ng_datagram{std::string(buf.data(), static_cast<std::size_t>(n)),
                                      drivers::endpoint(reinterpret_cast<sockaddr*>(&ss), len)});
  }
}

} // namespace

struct ng_control::impl {
  caf::actor_system* sys = nullptr;
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<ng_socket> sock;
  drivers::endpoint local;
  caf::actor actor;
  std::atomic<bool> stop{false};
  std::thread thread;
};

result<std::unique_ptr<ng_control>> ng_control::start(caf::actor_system& sys, ng_control_deps deps) {
  if (!deps.hub || !deps.hub->ready())
    return error{errc::invalid_argument, "ng control: the media relay is not running"};
  // rtpengine's ng port is usually 2223 (Kamailio's examples): the default
  // when the address has no port.
  auto addr = drivers::endpoint::parse(deps.listen, 2223);
  if (!addr)
    return error{errc::invalid_argument,
                 "media.ng_listen: '" + deps.listen + "' is not ADDR:PORT (an IP literal)"};
  int fd = ::socket(addr->family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return error{errc::io_error, std::string("ng control: socket: ") + std::strerror(errno)};
  auto sock = std::make_shared<ng_socket>(fd);
  if (::bind(fd, addr->data(), addr->size()) != 0)
    return error{errc::io_error, "ng control: bind " + addr->to_string() + ": "
                                   + std::strerror(errno)};
  timeval tv{0, static_cast<suseconds_t>(
                  std::chrono::duration_cast<std::chrono::microseconds>(receive_poll).count())};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // A burst of offers (a benchmark setting up its calls) must not overflow
  // the default receive buffer while the actor works through it.
  int rcvbuf = 1 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return error{errc::io_error, std::string("ng control: getsockname: ") + std::strerror(errno)};

  auto p = std::make_unique<impl>();
  p->sys = &sys;
  p->log = deps.log;
  p->sock = sock;
  p->local = drivers::endpoint(reinterpret_cast<sockaddr*>(&ss), len);
  p->actor = sys.spawn(ng_actor, ng_init{std::move(deps), sock});
  p->thread = std::thread(receive_loop, sock, p->actor, &p->stop, p->log);
  pthread_setname_np(p->thread.native_handle(), "ng_control");
  return std::unique_ptr<ng_control>(new ng_control(std::move(p)));
}

ng_control::ng_control(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

ng_control::~ng_control() {
  auto& p = *impl_;
  p.stop.store(true, std::memory_order_release);
  if (p.thread.joinable())
    p.thread.join();  // within one SO_RCVTIMEO period
  if (p.actor) {
    caf::scoped_actor self{*p.sys};
    self->monitor(p.actor);
    self->send_exit(p.actor, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {},
                  caf::after(stop_wait) >> [&] {
                    if (p.log)
                      p.log->warn("ng control: the actor did not stop within 2 s");
                  });
  }
}

drivers::endpoint ng_control::local() const { return impl_->local; }

} // namespace centralita::actors
