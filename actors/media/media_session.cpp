#include "actors/media/media_session.hpp"

#include "actors/events/event_bus.hpp"
#include "actors/media/dtmf_tap.hpp"
#include "actors/media/transcode_path.hpp"
#include "protocols/sdp/offer_answer.hpp"
#include "protocols/sdp/sdp_rewrite.hpp"
#include "protocols/sdp/session_description.hpp"
#include "protocols/util/ascii.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <spdlog/logger.h>

#include <array>

namespace centralita::actors {

namespace {

/// One party's end of the relay.
struct side_state {
  drivers::rtp_side_id id;
  drivers::endpoint rtp_local;
  drivers::endpoint rtcp_local;
  uint64_t cookie = 0;
  /// The last SDP this party sent us (offer or answer), parsed.
  std::optional<sdp::session_description> theirs;
  /// The last SDP we sent this party, parsed (what it sends with).
  std::optional<sdp::session_description> ours;
  uint64_t origin_id = 0;
  uint64_t origin_version = 0;
  std::shared_ptr<dtmf_tap> tap;
  /// Key presses played to this side's party (they ride on the packets the
  /// other side forwards here).
  std::shared_ptr<dtmf_injector> injector = std::make_shared<dtmf_injector>();
  bool block_dtmf = false;
  bool answered = false;  ///< an answer completed an exchange on this side
};

const sdp::media_description* audio_of(const sdp::session_description& sd, std::size_t& index) {
  for (std::size_t i = 0; i < sd.media.size(); ++i) {
    if (ascii::iequals(sd.media[i].type, "audio") && sd.media[i].port != 0) {
      index = i;
      return &sd.media[i];
    }
  }
  return nullptr;
}

std::optional<uint8_t> pt_of(const sdp::media_description& m, std::string_view name) {
  for (auto& c : m.codecs)
    if (ascii::iequals(c.name, name))
      return c.payload_type;
  return std::nullopt;
}

struct media_session_state {
  static constexpr const char* name = "media_session";

  caf::event_based_actor* self = nullptr;
  media_session_init init;
  std::array<side_state, 2> sides;
  bool opened = false;
  std::size_t audio_index = 0;
  /// Transcoding (init.transcode and the answerer took a codec the offerer
  /// lacks): paths[i] carries side i's packets to side 1 - i.
  bool transcoding = false;
  std::array<std::optional<transcode_path>, 2> paths;
  int offerer = -1;  ///< the side whose offer is pending
  bool timed_out = false;

  media_hub& hub() { return *init.hub; }
  drivers::rtp_relay& relay() { return init.hub->relay(); }
  const media_settings& settings() const { return init.hub->settings(); }

  ~media_session_state() {
    // Every ending (BYE, CANCEL, timeout, a crash of the call) comes here:
    // the ports go back to the pool.
    if (!init.hub)
      return;
    for (auto& s : sides) {
      if (s.id.valid())
        init.hub->relay().close(s.id);
      if (s.cookie != 0)
        init.hub->forget(s.cookie);
    }
    if (opened)
      init.hub->counters().sessions.fetch_sub(1, std::memory_order_relaxed);
  }

  result<void> open() {
    if (opened)
      return {};
    for (int i = 0; i < 2; ++i) {
      auto& s = sides[static_cast<std::size_t>(i)];
      s.cookie = hub().enlist(caf::actor_cast<caf::actor>(self));
      auto o = relay().open_side(init.reactor, s.cookie);
      if (!o)
        return o.err();
      s.id = o->id;
      s.rtp_local = o->rtp_local;
      s.rtcp_local = o->rtcp_local;
      // Our o= line towards each party: a session id of its own, a version
      // that grows with every SDP we send it (RFC 3264 §8).
      s.origin_id = (o->id.value & 0xffffffffu) ^ 0x5a5a0000u;
      s.block_dtmf = i == 0 ? init.block_dtmf_a : init.block_dtmf_b;
    }
    opened = true;
    hub().counters().sessions.fetch_add(1, std::memory_order_relaxed);
    hub().counters().sessions_total.fetch_add(1, std::memory_order_relaxed);
    return {};
  }

  media_sdp refuse(int status, std::string reason) {
    hub().counters().sdp_errors.fetch_add(1, std::memory_order_relaxed);
    if (init.log)
      init.log->info("[cid={}] media: {} ({})", init.call_id, reason, status);
    media_sdp r;
    r.ok = false;
    r.status = status;
    r.reason = std::move(reason);
    return r;
  }

  /// The SDP `from` sent, rewritten for the party of side `to`: our address,
  /// side `to`'s ports, our origin; streams other than the first audio one
  /// are refused (port 0) — only audio is relayed.
  result<std::string> rewrite_for(int to, std::string_view sdp_text,
                                  const sdp::session_description& sd,
                                  const std::optional<std::vector<uint8_t>>& keep = std::nullopt,
                                  std::vector<sdp::codec> add = {}) {
    auto& s = sides[static_cast<std::size_t>(to)];
    sdp::sdp_rewrite r;
    r.connection_address = settings().advertised_address;
    r.ipv6 = settings().ipv6;
    r.origin_username = "centralita";
    r.session_id = s.origin_id;
    r.session_version = ++s.origin_version;
    r.origin_address = settings().advertised_address;
    for (std::size_t i = 0; i < sd.media.size(); ++i) {
      sdp::media_rewrite m;
      if (i == audio_index && sd.media[i].port != 0) {
        m.port = s.rtp_local.port();
        m.rtcp_port = s.rtcp_local.port();
        m.keep_payload_types = keep;
        m.add_codecs = add;
      } else {
        m.disable = true;
      }
      r.media.push_back(std::move(m));
    }
    return sdp::rewrite_sdp(sdp_text, r);
  }

  static std::optional<drivers::endpoint> rtp_address(const sdp::session_description& sd,
                                                      const sdp::media_description& m) {
    const auto& addr = m.connection_address.empty() ? sd.connection_address : m.connection_address;
    if (addr.empty() || addr == "0.0.0.0" || m.port == 0)
      return std::nullopt;  // RFC 3264 §8.4: c=0.0.0.0 is hold (RFC 2543 style)
    return drivers::endpoint::from(addr, m.port);
  }

  static std::optional<drivers::endpoint> rtcp_address(const sdp::session_description& sd,
                                                       const sdp::media_description& m) {
    if (m.rtcp_mux)
      return std::nullopt;
    const auto& base = m.connection_address.empty() ? sd.connection_address : m.connection_address;
    std::string addr = m.rtcp_address.empty() ? base : m.rtcp_address;
    if (addr.empty() || addr == "0.0.0.0" || m.port == 0)
      return std::nullopt;
    // RFC 3605: a=rtcp names the port; without it, RTP + 1 (RFC 3550 §11).
    uint16_t port = m.rtcp_port ? *m.rtcp_port : static_cast<uint16_t>(m.port + 1);
    return drivers::endpoint::from(addr, port);
  }

  /// Whether the party of `sd` sends media (not on hold towards us).
  static bool party_sends(const sdp::session_description& sd, const sdp::media_description& m) {
    auto addr = m.connection_address.empty() ? sd.connection_address : m.connection_address;
    return m.port != 0 && addr != "0.0.0.0" && m.dir != sdp::direction::recvonly
           && m.dir != sdp::direction::inactive;
  }

  /// Applies what is known about side `i` to the relay: where its party
  /// receives (its SDP), what it sends (ours), the DTMF tap, the timeout.
  void configure(int i, bool with_timeout) {
    auto& s = sides[static_cast<std::size_t>(i)];
    auto& other = sides[static_cast<std::size_t>(1 - i)];
    drivers::rtp_side_config c;
    c.peer = other.id;
    if (s.theirs && audio_index < s.theirs->media.size()) {
      auto& m = s.theirs->media[audio_index];
      c.remote_rtp = rtp_address(*s.theirs, m);
      c.remote_rtcp = rtcp_address(*s.theirs, m);
      // RFC 5761: both must agree to multiplex; the party's SDP and ours.
      bool ours_mux = s.ours && audio_index < s.ours->media.size() && s.ours->media[audio_index].rtcp_mux;
      c.rtcp_mux = m.rtcp_mux && ours_mux;
      if (with_timeout && party_sends(*s.theirs, m))
        c.inactivity_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
          settings().inactivity_timeout);
    }
    // What the party sends with: RFC 3264 has it use the payload types of the
    // SDP it got from us, but parties number symmetrically in practice and
    // some answer without telephone-event while still sending it: the
    // party's own SDP first, ours as the fallback.
    dtmf_tap_config t;
    t.side = i;
    t.session = caf::actor_cast<caf::actor>(self);
    t.block = s.block_dtmf;
    auto caps = party_caps(s);
    t.telephone_event_pt = caps.telephone_event_pt;
    t.telephone_event_rate = caps.telephone_event_rate;
    t.pcmu_pt = caps.pcmu_pt;
    t.pcma_pt = caps.pcma_pt;
    t.inject = other.injector;
    t.divert = transcoding;
    switch (settings().inband_dtmf) {
      case media_settings::inband::always: t.inband = true; break;
      case media_settings::inband::never: t.inband = false; break;
      case media_settings::inband::automatic: t.inband = !t.telephone_event_pt; break;
    }
    s.tap = std::make_shared<dtmf_tap>(std::move(t));
    s.injector->set_target(party_caps(s));
    c.tap = s.tap;
    relay().configure(s.id, std::move(c));
  }

  /// What side `s`'s party speaks: telephone-event and G.711 payload types
  /// (for the DTMF it sends, and for the presses played to it).
  dtmf_injection_target party_caps(const side_state& s) const {
    dtmf_injection_target t;
    for (auto* sd : {s.theirs ? &*s.theirs : nullptr, s.ours ? &*s.ours : nullptr}) {
      if (sd == nullptr || audio_index >= sd->media.size())
        continue;
      auto& m = sd->media[audio_index];
      for (auto& codec : m.codecs) {
        if (!t.telephone_event_pt && ascii::iequals(codec.name, "telephone-event")) {
          t.telephone_event_pt = codec.payload_type;
          t.telephone_event_rate = codec.clock_rate != 0 ? codec.clock_rate : 8000;
        }
      }
      if (!t.pcmu_pt)
        t.pcmu_pt = pt_of(m, "PCMU");
      if (!t.pcma_pt)
        t.pcma_pt = pt_of(m, "PCMA");
    }
    return t;
  }

  // -- transcoding ---------------------------------------------------------------

  /// The codecs of init.codecs the offer lacks, to add to it (with a
  /// telephone-event/8000 when G.711 is added and the offer has none at 8000).
  std::vector<sdp::codec> codecs_to_add(const sdp::media_description& offer) const {
    std::vector<sdp::codec> add;
    auto taken = [&](uint8_t pt) {
      for (auto& c : offer.codecs)
        if (c.payload_type == pt)
          return true;
      for (auto& c : add)
        if (c.payload_type == pt)
          return true;
      return false;
    };
    auto free_dynamic = [&](uint8_t preferred) {
      if (!taken(preferred))
        return preferred;
      for (uint8_t pt = 96; pt < 128; ++pt)
        if (!taken(pt))
          return pt;
      return uint8_t{0};
    };
    bool g711_added = false;
    for (auto& name : init.codecs) {
      if (sdp::find_codec(offer, name))
        continue;
      if (ascii::iequals(name, "PCMU") && !taken(0)) {
        add.push_back(sdp::codec{0, "PCMU", 8000, 1, ""});
        g711_added = true;
      } else if (ascii::iequals(name, "PCMA") && !taken(8)) {
        add.push_back(sdp::codec{8, "PCMA", 8000, 1, ""});
        g711_added = true;
      } else if (ascii::iequals(name, "opus")) {
        if (auto pt = free_dynamic(111); pt != 0)
          add.push_back(sdp::codec{pt, "opus", 48000, 2, "useinbandfec=1"});
      }
    }
    if (g711_added && !sdp::find_codec(offer, "telephone-event", 8000)) {
      if (auto pt = free_dynamic(101); pt != 0)
        add.push_back(sdp::codec{pt, "telephone-event", 8000, 1, "0-16"});
    }
    return add;
  }

  struct transcode_plan {
    bool ok = true;
    bool needed = false;
    std::string why;
    std::vector<sdp::codec> offerer_codecs;  ///< what the answer to the offerer lists
  };

  /// Whether the answer's codec is one the offerer offered (relay), or the
  /// session must transcode to the offerer's first codec it can decode.
  transcode_plan plan_transcoding(const sdp::media_description& offer,
                                  const sdp::media_description& answer) const {
    transcode_plan p;
    const sdp::codec* picked = nullptr;
    for (auto& c : answer.codecs)
      if (!ascii::iequals(c.name, "telephone-event") && !ascii::iequals(c.name, "CN")) {
        picked = &c;
        break;
      }
    if (picked == nullptr)
      return p;  // a refused stream: nothing to transcode
    for (auto& c : offer.codecs)
      if (sdp::same_encoding(c, *picked))
        return p;  // a common codec: relay
    for (auto& c : offer.codecs) {
      if (media::codec_spec_from(c.name, c.clock_rate, c.payload_type)) {
        p.needed = true;
        p.offerer_codecs.push_back(c);
        for (auto& te : offer.codecs)
          if (ascii::iequals(te.name, "telephone-event")) {
            p.offerer_codecs.push_back(te);
            break;
          }
        return p;
      }
    }
    p.ok = false;
    p.why = "no codec to transcode the offer from (Opus, PCMU, PCMA)";
    return p;
  }

  static std::optional<transcode_leg> leg_of(const sdp::media_description& m) {
    transcode_leg l;
    bool found = false;
    for (auto& c : m.codecs) {
      if (ascii::iequals(c.name, "telephone-event")) {
        if (!l.telephone_event_pt) {
          l.telephone_event_pt = c.payload_type;
          l.telephone_event_rate = c.clock_rate != 0 ? c.clock_rate : 8000;
        }
      } else if (!found) {
        auto spec = media::codec_spec_from(c.name, c.clock_rate, c.payload_type);
        if (!spec)
          return std::nullopt;
        l.codec = *spec;
        found = true;
      }
    }
    if (!found)
      return std::nullopt;
    return l;
  }

  /// Both directions, from what each party sends with: its own SDP's first
  /// codec (the answer's pick; the offerer's first).
  result<void> start_transcoding() {
    std::array<transcode_leg, 2> legs;
    for (int i = 0; i < 2; ++i) {
      auto& s = sides[static_cast<std::size_t>(i)];
      // The offerer sends what our answer to it lists; the answerer what its
      // own answer picked.
      const sdp::session_description* sd = nullptr;
      if (i == offerer)
        sd = s.ours ? &*s.ours : nullptr;
      else
        sd = s.theirs ? &*s.theirs : nullptr;
      if (sd == nullptr || audio_index >= sd->media.size())
        return error{errc::invalid_argument, "no SDP to transcode from"};
      auto l = leg_of(sd->media[audio_index]);
      if (!l)
        return error{errc::unsupported, "a codec that cannot be transcoded"};
      legs[static_cast<std::size_t>(i)] = *l;
    }
    for (int i = 0; i < 2; ++i) {
      auto ssrc = static_cast<uint32_t>(std::hash<std::string>{}(init.call_id) * 31u + 17u * static_cast<unsigned>(i));
      auto p = transcode_path::create(legs[static_cast<std::size_t>(i)], legs[static_cast<std::size_t>(1 - i)], ssrc);
      if (!p)
        return p.err();
      paths[static_cast<std::size_t>(i)] = std::move(p.value());
    }
    transcoding = true;
    hub().counters().transcoded.fetch_add(1, std::memory_order_relaxed);
    if (init.log)
      init.log->info("[cid={}] media: transcoding {} (leg a) <-> {} (leg b)", init.call_id,
                     media::to_string(legs[0].codec.id), media::to_string(legs[1].codec.id));
    return {};
  }

  void stop_transcoding() {
    transcoding = false;
    paths[0].reset();
    paths[1].reset();
  }

  void on_rtp_in(const media_rtp_in& in) {
    if (!transcoding || in.side < 0 || in.side > 1)
      return;
    auto& path = paths[static_cast<std::size_t>(in.side)];
    if (!path)
      return;
    auto to = sides[static_cast<std::size_t>(1 - in.side)].id;
    path->on_packet(in.bytes, [&](std::span<const uint8_t> b) { relay().send(to, b); });
  }

  void on_send_dtmf(const media_send_dtmf& d) {
    if (d.side < 0 || d.side > 1 || !opened)
      return;
    auto& s = sides[static_cast<std::size_t>(d.side)];
    if (init.log)
      init.log->info("[cid={}] media: playing DTMF {} to leg {}{}", init.call_id, d.digits,
                     d.side == 0 ? 'a' : 'b', d.inband ? " (in-band)" : "");
    if (transcoding) {
      // Our own stream to that party: the path plays it.
      if (auto& path = paths[static_cast<std::size_t>(1 - d.side)])
        for (char c : d.digits)
          path->play(c, d.duration_ms, d.inband);
      return;
    }
    s.injector->queue(d.digits, d.duration_ms, d.inband);
  }

  media_sdp on_offer(const media_offer& o) {
    auto sd = sdp::parse_sdp(o.sdp);
    if (!sd)
      return refuse(400, "bad SDP: " + sd.err().reason);
    std::size_t index = 0;
    if (audio_of(*sd, index) == nullptr)
      return refuse(488, "no audio stream to relay");
    if (!opened) {
      audio_index = index;
      if (auto ok = open(); !ok)
        return refuse(503, "no media port: " + ok.err().reason);
    } else if (index != audio_index) {
      return refuse(488, "the audio stream moved to another m= line");
    }
    const int from = o.side;
    const int to = 1 - from;
    std::vector<sdp::codec> add;
    std::optional<std::vector<uint8_t>> keep;
    if (init.transcode) {
      add = codecs_to_add(sd->media[audio_index]);
      if (!init.mask.empty()) {
        // Masked codecs stay with the offerer (it keeps them in our answer).
        keep.emplace();
        for (auto& c : sd->media[audio_index].codecs) {
          bool masked = false;
          for (auto& m : init.mask)
            masked = masked || ascii::iequals(m, c.name);
          if (!masked)
            keep->push_back(c.payload_type);
        }
      }
    }
    auto out = rewrite_for(to, o.sdp, *sd, keep, std::move(add));
    if (!out)
      return refuse(488, "cannot rewrite the SDP: " + out.err().reason);
    offerer = from;
    sides[static_cast<std::size_t>(from)].theirs = std::move(sd.value());
    if (auto parsed = sdp::parse_sdp(*out))
      sides[static_cast<std::size_t>(to)].ours = std::move(parsed.value());
    // Until the answer, the offerer's media (early media aside) has nowhere
    // to go but it is counted; the answerer's may start at once (§5.1 of
    // RFC 3264 lets an answerer send as soon as it answers).
    configure(from, false);
    configure(to, false);
    media_sdp r;
    r.ok = true;
    r.sdp = std::move(out.value());
    return r;
  }

  media_sdp on_answer(const media_answer& a) {
    if (!opened)
      return refuse(500, "an answer without an offer");
    auto sd = sdp::parse_sdp(a.sdp);
    if (!sd)
      return refuse(400, "bad SDP: " + sd.err().reason);
    if (sd->media.size() <= audio_index)
      return refuse(488, "the answer lost the audio stream");
    const int from = a.side;
    const int to = 1 - from;
    // Transcoding when the answerer took a codec the offerer does not have.
    std::optional<std::vector<uint8_t>> keep;
    std::vector<sdp::codec> add;
    bool transcode_now = false;
    if (init.transcode && sides[static_cast<std::size_t>(to)].theirs) {
      auto plan = plan_transcoding(sides[static_cast<std::size_t>(to)].theirs->media[audio_index],
                                   sd->media[audio_index]);
      if (!plan.ok)
        return refuse(488, plan.why);
      if (plan.needed) {
        transcode_now = true;
        keep = std::vector<uint8_t>{};
        add = plan.offerer_codecs;
      }
    }
    auto out = rewrite_for(to, a.sdp, *sd, keep, std::move(add));
    if (!out)
      return refuse(488, "cannot rewrite the SDP: " + out.err().reason);
    sides[static_cast<std::size_t>(from)].theirs = std::move(sd.value());
    if (auto parsed = sdp::parse_sdp(*out))
      sides[static_cast<std::size_t>(to)].ours = std::move(parsed.value());
    sides[0].answered = sides[1].answered = true;
    if (transcode_now) {
      if (auto ok = start_transcoding(); !ok)
        return refuse(488, ok.err().reason);
    } else if (init.transcode) {
      stop_transcoding();
    }
    configure(from, true);
    configure(to, true);
    media_sdp r;
    r.ok = true;
    r.sdp = std::move(out.value());
    return r;
  }

  void on_dtmf(const media_dtmf_detected& d) {
    // Transcoding: tones the party sent in its audio reach the other party
    // as RFC 4733 too (the transcoder carries the tones themselves as well).
    if (transcoding && d.source[0] == 'i')
      if (auto& path = paths[static_cast<std::size_t>(d.side)])
        path->play(d.digit, std::max<uint32_t>(d.duration_ms, 60));
    if (d.source[0] == 'i')
      hub().counters().dtmf_inband.fetch_add(1, std::memory_order_relaxed);
    else
      hub().counters().dtmf_rfc4733.fetch_add(1, std::memory_order_relaxed);
    if (init.log)
      init.log->info("[cid={}] DTMF {} ({} ms, {}) from leg {}", init.call_id, d.digit,
                     d.duration_ms, d.source, d.side == 0 ? 'a' : 'b');
    if (!init.events || (init.event_stats && !init.event_stats->wanted("DTMF")))
      return;
    events::event ev("DTMF");
    ev.set("call_id", init.call_id);
    ev.set("digit", std::string(1, d.digit));
    ev.set("duration_ms", std::to_string(d.duration_ms));
    ev.set("source", d.source);
    ev.set("leg", d.side == 0 ? "a" : "b");
    self->send(init.events, publish_event{std::move(ev)});
  }

  void on_inactive(const media_side_inactive& m) {
    for (int i = 0; i < 2; ++i) {
      if (sides[static_cast<std::size_t>(i)].id.value == m.side_id) {
        // The call is hung up once, on the first silent side.
        if (!timed_out) {
          timed_out = true;
          hub().counters().timeouts.fetch_add(1, std::memory_order_relaxed);
        }
        self->send(init.call, media_timed_out{i});
      }
    }
  }

  void on_block(const media_block_dtmf& b) {
    if (b.side < 0 || b.side > 1)
      return;
    auto& s = sides[static_cast<std::size_t>(b.side)];
    s.block_dtmf = b.block;
    if (s.tap)
      s.tap->block(b.block);
  }
};

} // namespace

namespace {

// A named function, not a lambda: CAF 0.17 spawning an argument-less lambda
// trips UBSan (an empty tuple dereferenced).
caf::behavior media_session_actor(caf::stateful_actor<media_session_state>* self, media_session_init init) {
  auto& st = self->state;
  st.self = self;
  st.init = std::move(init);
  // The call's end (normal or not) is ours: the state's destructor frees
  // the ports.
  self->monitor(st.init.call);
  self->set_down_handler([self](caf::down_msg& m) {
    if (m.source == self->state.init.call)
      self->quit();
  });
  return {
    [&st](const media_offer& o) { return st.on_offer(o); },
    [&st](const media_answer& a) { return st.on_answer(a); },
    [&st](const media_dtmf_detected& d) { st.on_dtmf(d); },
    [&st](const media_side_inactive& m) { st.on_inactive(m); },
    [&st](const media_block_dtmf& b) { st.on_block(b); },
    [&st](const media_send_dtmf& d) { st.on_send_dtmf(d); },
    [&st](const media_rtp_in& in) { st.on_rtp_in(in); },
  };
}

} // namespace

caf::actor spawn_media_session(caf::actor_system& sys, media_session_init init) {
  return sys.spawn(media_session_actor, std::move(init));
}

} // namespace centralita::actors
