#include "actors/b2bua/b2b_call.hpp"

#include "actors/b2bua/b2b_messages.hpp"
#include "actors/b2bua/call_leg.hpp"
#include "actors/events/event_bus.hpp"
#include "actors/media/media_session.hpp"
#include "actors/sip/messages.hpp"
#include "actors/system/actor_timers.hpp"
#include "protocols/sip/dialog/dialog.hpp"
#include "protocols/sip/dialog/session_timer.hpp"
#include "protocols/sip/dtmf_info.hpp"
#include "protocols/sip/id_generator.hpp"
#include "protocols/sip/proxy/forwarding.hpp"
#include "protocols/sip/proxy/sip_uri.hpp"
#include "protocols/util/ascii.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <map>

namespace centralita::actors {

namespace {

/// A request of one leg that became a request on the other: its answer goes back.
struct paired_request {
  int from = 0;             ///< the leg the request came from
  uint64_t request_id = 0;  ///< its id there (leg_reply)
  std::string method;
  bool offer_sent = false;  ///< it carried an SDP offer we passed on
  bool late_offer = false;  ///< an INVITE without SDP: the 2xx brings the offer
};

std::string reason_header(int cause, std::string_view text) {
  std::string clean;
  for (char c : text)
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20)
      clean += c;
  return "SIP;cause=" + std::to_string(cause) + ";text=\"" + clean + "\"";
}

struct b2b_call_state {
  static constexpr const char* name = "b2b_call";

  caf::event_based_actor* self = nullptr;
  b2b_call_init init;
  std::optional<sip::id_generator> ids;
  std::string cid;    ///< leg A's Call-ID: the call's name in events and logs
  std::string b_cid;  ///< leg B's
  caf::actor leg_a, leg_b, media;
  enum class phase { calling, early, answered, done } ph = phase::calling;
  bool late_offer = false;  ///< the caller's INVITE had no SDP
  bool final_told = false;  ///< relay_final sent to the VM
  std::map<uint64_t, paired_request> paired;  ///< by the tag of the request on the other leg
  uint64_t next_tag = 1;
  std::string end_reason;
  /// A hangup waiting for the requests in flight (an INFO whose DTMF made a
  /// script hang up) to be answered first: bounded by drain_limit.
  struct pending_hangup {
    int code;
    std::string reason;
  };
  std::optional<pending_hangup> hangup_after_drain;
  timer_handle drain_timer;
  static constexpr uint64_t drain_tag = 1;
  static constexpr std::chrono::milliseconds drain_limit{2000};

  const sip_services& svc() const { return *init.deps->services; }
  caf::actor leg(int i) const { return i == 0 ? leg_a : leg_b; }
  bool wanted(std::string_view event) const {
    return init.deps->events && (!init.deps->event_stats || init.deps->event_stats->wanted(event));
  }

  // -- start ---------------------------------------------------------------------

  void start() {
    ids.emplace(init.deps->seed ? init.deps->seed() : 0xb2bu);
    cid = std::string(init.invite->call_id());
    b_cid = ids->tag() + ids->tag() + "@centralita";
    auto self_actor = caf::actor_cast<caf::actor>(self);

    call_leg_init a;
    a.deps = init.deps;
    a.index = 0;
    a.call = self_actor;
    a.call_name = cid;
    a.server = init.server;
    a.invite = init.invite;
    a.peer = init.peer;
    leg_a = spawn_call_leg(self->home_system(), std::move(a));
    self->monitor(leg_a);

    // RFC 4028 §8.1: an interval under our Min-SE is refused with 422.
    if (auto se = sip::dialog::parse_session_expires(init.invite->header("Session-Expires").value_or(""));
        se && se->interval < init.deps->min_se) {
      reply_a(422, {}, {}, {{"Min-SE", std::to_string(init.deps->min_se.count())}});
      finish(422, "Session Interval Too Small");
      return;
    }
    auto b = make_leg_b();
    if (!b) {
      svc().sip_log->warn("[cid={}] bridge: {}", cid, b.err().reason);
      fail(b.err().code == errc::unsupported ? 416 : 503, b.err().reason);
      return;
    }
    leg_b = spawn_call_leg(self->home_system(), std::move(b.value()));
    self->monitor(leg_b);
    self->send(init.deps->shard_of(cid), call_bridged{cid, self_actor, b_cid});

    media_session_init mi;
    mi.hub = init.deps->media;
    mi.call_id = cid;
    mi.call = self_actor;
    mi.reactor = static_cast<unsigned>(std::hash<std::string>{}(cid));
    mi.events = init.deps->events;
    mi.event_stats = init.deps->event_stats;
    mi.log = svc().sip_log;
    mi.block_dtmf_a = init.plan->block_dtmf_a;
    mi.block_dtmf_b = init.plan->block_dtmf_b;
    mi.transcode = init.plan->media == bridge_media::transcode;
    mi.codecs = init.plan->codecs;
    media = spawn_media_session(self->home_system(), std::move(mi));
    self->monitor(media);
    svc().sip_log->info("[cid={}] bridged: leg B {} to {}", cid, b_cid,
                        init.plan->targets.front().uri);

    if (sip::dialog::carries_sdp(*init.invite)) {
      self->request(media, caf::infinite, media_offer{0, std::string(init.invite->body())})
        .then([this](media_sdp& r) {
          if (ph == phase::done)
            return;
          if (!r.ok)
            return fail(r.status, r.reason);
          self->send(leg_b, leg_invite{"application/sdp", std::move(r.sdp)});
        });
    } else {
      // Late offer (RFC 3261 §13.2.1): the callee's 2xx brings the offer.
      late_offer = true;
      self->send(leg_b, leg_invite{});
    }
  }

  /// Leg B's INVITE: to the first target, From and To as the caller wrote
  /// them (the From with a tag of ours), a Call-ID of its own.
  result<call_leg_init> make_leg_b() {
    auto& t = init.plan->targets.front();
    call_leg_init b;
    b.deps = init.deps;
    b.index = 1;
    b.call = caf::actor_cast<caf::actor>(self);
    b.call_name = cid;
    auto& inv = *init.invite;
    auto from = inv.from();
    auto to = inv.to();
    auto& o = b.out;
    o.request_uri = t.uri;
    o.from_uri = from.uri;
    o.from_display = from.display;
    o.from_tag = ids->tag();
    o.to_uri = to.uri;
    o.to_display = to.display;
    o.call_id = b_cid;
    o.cseq = 1;
    o.route = t.path;
    auto mf = inv.max_forwards();
    o.max_forwards = mf && *mf > 0 ? *mf - 1 : 69;
    o.headers = t.headers;
    o.headers.emplace_back("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE");
    if (auto ua = inv.header("User-Agent"))
      o.headers.emplace_back("User-Agent", *ua);
    if (t.flow) {
      b.transport = t.flow->transport;
      b.destination = t.flow->destination;
      b.conn = t.flow->conn;
      b.flow_fixed = true;
      return b;
    }
    // RFC 3261 §8.1.2: the first Route (a registration's Path), else the
    // Request-URI; address literals only (no DNS on a worker).
    const std::string& hop_uri = t.path.empty() ? t.uri : t.path.front();
    auto u = sip::proxy::sip_uri::parse(hop_uri);
    if (!u || !u->is_sip())
      return error{errc::invalid_argument, "'" + hop_uri + "' is not a SIP URI"};
    std::string host(u->param("maddr").value_or(u->host));
    if (host.size() >= 2 && host.front() == '[')
      host = host.substr(1, host.size() - 2);
    if (host == "localhost")
      host = "127.0.0.1";
    auto ep = drivers::endpoint::from(host, u->effective_port());
    if (!ep)
      return error{errc::unsupported, "'" + host + "' is not an address literal (no DNS yet)"};
    b.destination = *ep;
    auto tp = u->param("transport");
    b.transport = tp && ascii::iequals(*tp, "tcp") ? drivers::transport_kind::tcp
                                                   : drivers::transport_kind::udp;
    return b;
  }

  // -- the caller's INVITE -----------------------------------------------------

  void reply_a(int status, std::string reason = {}, std::string sdp = {},
               sip::dialog::header_list headers = {}) {
    leg_reply r;
    r.request_id = 0;
    r.status = status;
    r.reason = std::move(reason);
    r.headers = std::move(headers);
    if (!sdp.empty()) {
      r.content_type = "application/sdp";
      r.body = std::move(sdp);
    }
    self->send(leg_a, std::move(r));
    if (status >= 200)
      tell_final(status);
  }

  void tell_final(int status) {
    if (final_told || !init.plan->vm)
      return;
    final_told = true;
    self->send(init.plan->vm, relay_final{init.plan->run, status});
  }

  /// Leg B's answers to its INVITE.
  void on_b_invite_response(leg_response& r) {
    if (ph == phase::done || ph == phase::answered)
      return;
    const int status = r.status;
    if (status < 200) {
      ph = phase::early;
      if (r.msg && sip::dialog::carries_sdp(*r.msg) && !late_offer) {
        // Early media (RFC 3960): the 18x's SDP is the answer.
        self->request(media, caf::infinite, media_answer{1, std::string(r.msg->body())})
          .then([this, status](media_sdp& m) {
            if (ph == phase::early && m.ok)
              reply_a(status, {}, std::move(m.sdp));
          });
      } else {
        reply_a(status == 100 ? 180 : status,
                r.msg ? r.msg->reason_phrase() : std::string{});
      }
      return;
    }
    if (status < 300) {
      if (!r.msg || !sip::dialog::carries_sdp(*r.msg)) {
        svc().sip_log->warn("[cid={}] bridge: the callee answered without SDP", cid);
        return hangup_both(488, "no SDP in the answer");
      }
      std::string body(r.msg->body());
      if (late_offer) {
        self->request(media, caf::infinite, media_offer{1, std::move(body)})
          .then([this](media_sdp& m) {
            if (ph == phase::done)
              return;
            if (!m.ok)
              return hangup_both(m.status, m.reason);
            answered(std::move(m.sdp));
          });
      } else {
        self->request(media, caf::infinite, media_answer{1, std::move(body)})
          .then([this](media_sdp& m) {
            if (ph == phase::done)
              return;
            if (!m.ok)
              return hangup_both(m.status, m.reason);
            answered(std::move(m.sdp));
          });
      }
      return;
    }
    // The callee refused: the caller hears the same (RFC 3261 §16.7 would
    // pick among branches; a bridge has one at a time).
    std::string reason = r.msg ? r.msg->reason_phrase() : std::string(sip::default_reason_phrase(status));
    svc().sip_log->info("[cid={}] bridge: leg B failed with {} {}", cid, status, reason);
    reply_a(status == 408 || status == 503 ? (status == 408 ? 408 : 503) : status, reason);
    finish(status, reason);
  }

  void answered(std::string sdp_for_a) {
    ph = phase::answered;
    reply_a(200, {}, std::move(sdp_for_a));
    call_outcome o;
    o.call_id = cid;
    o.status = 200;
    o.reason = "OK";
    self->send(init.deps->shard_of(cid), std::move(o));
    svc().sip_log->info("[cid={}] bridge: answered", cid);
  }

  /// The caller ACKed our 2xx: with a late offer, its ACK holds the answer.
  void on_acked(leg_acked& a) {
    if (a.leg != 0 || !late_offer || !a.msg)
      return;
    late_offer = false;
    if (!sip::dialog::carries_sdp(*a.msg)) {
      // RFC 3261 §13.2.2.4 / RFC 3264: the callee's offer got no answer. Its
      // 2xx is ACKed all the same, then the call ends.
      svc().sip_log->warn("[cid={}] bridge: the caller's ACK has no SDP answer", cid);
      self->send(leg_b, leg_ack{0, {}, {}});
      hangup_both(488, "no SDP answer in the ACK");
      return;
    }
    self->request(media, caf::infinite, media_answer{0, std::string(a.msg->body())})
      .then([this](media_sdp& m) {
        if (ph == phase::done)
          return;
        if (!m.ok)
          return hangup_both(m.status, m.reason);
        self->send(leg_b, leg_ack{0, "application/sdp", std::move(m.sdp)});
      });
  }

  // -- requests inside the dialogs ---------------------------------------------

  void on_request(leg_request& r) {
    if (ph == phase::done || hangup_after_drain) {
      self->send(leg(r.leg), leg_reply{r.request_id, 481, {}, {}, {}, {}});
      return;
    }
    auto& m = *r.msg;
    auto method = m.request_method();
    if (method == sip::method::info)
      publish_info_dtmf(r.leg, m);
    const int to = 1 - r.leg;
    uint64_t tag = next_tag++;
    paired_request p{r.leg, r.request_id, std::string(m.method_name()), false, false};
    std::string content_type = m.header("Content-Type").value_or("");
    std::string body(m.body());
    const bool offer = (method == sip::method::invite || method == sip::method::update) && sip::dialog::carries_sdp(m);
    if (offer) {
      p.offer_sent = true;
      paired.emplace(tag, p);
      self->request(media, caf::infinite, media_offer{r.leg, std::move(body)})
        .then([this, tag, to](media_sdp& s) {
          auto it = paired.find(tag);
          if (it == paired.end())
            return;
          if (!s.ok) {
            self->send(leg(it->second.from), leg_reply{it->second.request_id, s.status, s.reason, {}, {}, {}});
            paired.erase(it);
            return;
          }
          self->send(leg(to), leg_send{tag, it->second.method, "application/sdp", std::move(s.sdp), {}});
        });
      return;
    }
    p.late_offer = method == sip::method::invite;
    paired.emplace(tag, p);
    self->send(leg(to), leg_send{tag, p.method, std::move(content_type), std::move(body), {}});
  }

  void on_paired_response(leg_response& r) {
    auto it = paired.find(r.tag);
    if (it == paired.end())
      return;
    if (r.status < 200)
      return;  // provisional answers to re-INVITEs stay on their leg
    auto p = it->second;
    paired.erase(it);
    struct drain_check {
      b2b_call_state& st;
      ~drain_check() {
        if (st.hangup_after_drain && st.paired.empty()) {
          if (st.drain_timer.valid())
            st.svc().timers->cancel(st.drain_timer);
          st.on_drain_timer();
        }
      }
    } check{*this};
    const int status = r.status;
    std::string reason = r.msg ? r.msg->reason_phrase() : std::string{};
    if (status < 300 && r.msg && sip::dialog::carries_sdp(*r.msg) && (p.offer_sent || p.late_offer)) {
      std::string body(r.msg->body());
      auto forward = [this, p, status, reason](media_sdp& s) {
        if (!s.ok) {
          self->send(leg(p.from), leg_reply{p.request_id, s.status, s.reason, {}, {}, {}});
          return;
        }
        self->send(leg(p.from),
                   leg_reply{p.request_id, status, reason, "application/sdp", std::move(s.sdp), {}});
      };
      if (p.offer_sent)
        self->request(media, caf::infinite, media_answer{1 - p.from, std::move(body)}).then(forward);
      else
        self->request(media, caf::infinite, media_offer{1 - p.from, std::move(body)}).then(forward);
      return;
    }
    std::string ct = r.msg ? r.msg->header("Content-Type").value_or("") : std::string{};
    std::string body = r.msg ? std::string(r.msg->body()) : std::string{};
    self->send(leg(p.from), leg_reply{p.request_id, status, reason, std::move(ct), std::move(body), {}});
  }

  void publish_info_dtmf(int leg_index, const sip::message& m) {
    if (!wanted("DTMF"))
      return;
    auto type = m.header("Content-Type");
    if (!type)
      return;
    auto d = sip::parse_dtmf_info(*type, m.body());
    if (!d)
      return;
    events::event ev("DTMF");
    ev.set("call_id", cid);
    ev.set("digit", std::string(1, d->digit));
    ev.set("duration_ms", std::to_string(d->duration_ms));
    ev.set("source", "info");
    ev.set("leg", leg_index == 0 ? "a" : "b");
    self->send(init.deps->events, publish_event{std::move(ev)});
  }

  // -- ending ------------------------------------------------------------------

  /// Before anything was sent on: the caller gets `status`.
  void fail(int status, std::string reason) {
    if (ph != phase::done && leg_a)
      reply_a(status, reason);
    finish(status, std::move(reason));
  }

  /// Ends both legs: BYE where answered, CANCEL / error response where not.
  /// Requests in flight between the legs are answered first (bounded), so a
  /// party hears the answer to its INFO before our BYE.
  void hangup_both(int code, std::string reason) {
    if (ph == phase::done || hangup_after_drain)
      return;
    if (!paired.empty() && ph == phase::answered) {
      hangup_after_drain = pending_hangup{code, std::move(reason)};
      drain_timer = svc().timers->arm(self, drain_limit, drain_tag);
      return;
    }
    hangup_now(code, std::move(reason));
  }

  void on_drain_timer() {
    drain_timer = {};
    if (!hangup_after_drain)
      return;
    auto h = std::move(*hangup_after_drain);
    hangup_after_drain.reset();
    hangup_now(h.code, std::move(h.reason));
  }

  void hangup_now(int code, std::string reason) {
    if (ph == phase::done)
      return;
    auto header = reason_header(code == 0 ? 200 : code, reason);
    if (ph != phase::answered) {
      if (leg_a)
        self->send(leg_a, leg_end{code >= 300 ? code : 487, header});
      tell_final(code >= 300 ? code : 487);
    } else if (leg_a) {
      self->send(leg_a, leg_end{0, header});
    }
    if (leg_b)
      self->send(leg_b, leg_end{0, header});
    finish(code, std::move(reason));
  }

  void on_hangup(const hangup_call& h) {
    svc().sip_log->info("[cid={}] bridge: hangup ({})", cid, h.reason);
    hangup_both(ph == phase::answered ? 200 : 487, h.reason.empty() ? "hangup" : h.reason);
  }

  void on_leg_ended(const leg_ended& e) {
    if (ph == phase::done)
      return;
    auto header = reason_header(e.code, e.reason);
    // The other party hears why.
    if (auto other = leg(1 - e.leg)) {
      if (e.leg == 1 && ph != phase::answered)
        reply_a(e.code >= 300 ? e.code : 480, e.reason);
      else
        self->send(other, leg_end{e.code >= 300 ? e.code : 0, header});
    }
    finish(e.code >= 300 ? e.code : 200, e.reason);
  }

  void on_cancelled() {
    if (ph == phase::done || ph == phase::answered)
      return;
    svc().sip_log->info("[cid={}] bridge: the caller cancelled", cid);
    if (leg_b)
      self->send(leg_b, leg_end{0, reason_header(487, "cancelled")});
    if (leg_a)
      self->send(leg_a, leg_end{487, {}});
    tell_final(487);
    finish(487, "cancelled");
  }

  void on_media_timeout(const media_timed_out& t) {
    if (ph == phase::done)
      return;
    auto secs = init.deps->media ? init.deps->media->settings().inactivity_timeout.count() : 0;
    svc().sip_log->warn("[cid={}] bridge: no RTP from leg {} for {} s: hanging up", cid,
                        t.side == 0 ? 'a' : 'b', secs);
    if (wanted("MEDIA_TIMEOUT")) {
      events::event ev("MEDIA_TIMEOUT");
      ev.set("call_id", cid);
      ev.set("leg", t.side == 0 ? "a" : "b");
      ev.set("timeout_s", std::to_string(secs));
      self->send(init.deps->events, publish_event{std::move(ev)});
    }
    hangup_both(200, "media timeout");
  }

  void on_down(const caf::down_msg& m) {
    if (ph == phase::done)
      return;
    if (m.source == media) {
      media = nullptr;
      hangup_both(500, "media session failed");
      return;
    }
    // A leg ended before telling us (it failed): the other one ends too.
    int which = m.source == leg_a ? 0 : (m.source == leg_b ? 1 : -1);
    if (which < 0)
      return;
    (which == 0 ? leg_a : leg_b) = nullptr;
    svc().sip_log->warn("[cid={}] bridge: leg {} ended unexpectedly", cid, which == 0 ? 'A' : 'B');
    hangup_both(500, "leg failed");
  }

  void finish(int code, std::string reason) {
    if (ph == phase::done)
      return;
    ph = phase::done;
    end_reason = reason;
    self->send(init.deps->shard_of(cid), call_finished{cid, code, std::move(reason)});
    for (auto& [tag, p] : paired)
      if (auto l = leg(p.from))
        self->send(l, leg_reply{p.request_id, 487, {}, {}, {}, {}});
    paired.clear();
    // The legs finish their BYE/CANCEL on their own; the media session ends
    // with us (it monitors us) and gives its ports back.
    self->quit();
  }
};

} // namespace

namespace {

// A named function, not a lambda: CAF 0.17 spawning an argument-less lambda
// trips UBSan (an empty tuple dereferenced).
caf::behavior b2b_call_actor(caf::stateful_actor<b2b_call_state>* self, b2b_call_init init) {
  auto& st = self->state;
  st.self = self;
  st.init = std::move(init);
  self->set_down_handler([&st](caf::down_msg& m) { st.on_down(m); });
  st.start();
  return {
    [&st](leg_response& r) {
      if (r.leg == 1 && r.tag == 0)
        st.on_b_invite_response(r);
      else
        st.on_paired_response(r);
    },
    [&st](leg_request& r) { st.on_request(r); },
    [&st](leg_acked& a) { st.on_acked(a); },
    [&st](const leg_ended& e) { st.on_leg_ended(e); },
    [&st](const hangup_call& h) { st.on_hangup(h); },
    [&st](upstream_cancelled) { st.on_cancelled(); },
    [&st](const media_timed_out& t) { st.on_media_timeout(t); },
    [&st](const media_send_dtmf& d) { st.self->send(st.media, d); },
    [&st](const media_block_dtmf& b) { st.self->send(st.media, b); },
    [&st](timer_expired t) {
      if (t.tag == b2b_call_state::drain_tag)
        st.on_drain_timer();
    },
    [](server_txn_done) {},
  };
}

} // namespace

caf::actor spawn_b2b_call(caf::actor_system& sys, b2b_call_init init) {
  return sys.spawn(b2b_call_actor, std::move(init));
}

} // namespace centralita::actors
