#pragma once

#include "actors/b2bua/b2b_messages.hpp"
#include "actors/media/media_hub.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <spdlog/logger.h>

#include <memory>
#include <string>
#include <vector>

namespace centralita::actors {

struct event_bus_stats;

/// The media of one bridged call: the relay's two sides (A faces the caller,
/// B the callee), each with its port pair; the SDP offer/answer rewriting
/// that anchors the media on them (c= our address, m= our ports, a=rtcp);
/// the DTMF taps. Lives as long as its call actor (linked: the call's end or
/// failure ends it), and whatever way it ends, its ports go back to the pool
/// (the state's destructor closes both sides).
///
/// media_offer / media_answer answer with media_sdp: the SDP for the other
/// side. Detected DTMF is published as DTMF events (call_id = the call's,
/// leg "a" or "b", source "rfc4733" or "inband"); silence from a party past
/// the inactivity timeout becomes media_timed_out to the call.
struct media_session_init {
  std::shared_ptr<media_hub> hub;
  std::string call_id;  ///< the call's (leg A's) Call-ID: logs and events
  caf::actor call;      ///< the owner, told media_timed_out
  unsigned reactor = 0; ///< where the sides live (a hash of the Call-ID)
  caf::actor events;    ///< the event bus (may be null)
  std::shared_ptr<const event_bus_stats> event_stats;
  std::shared_ptr<spdlog::logger> log;
  bool block_dtmf_a = false;  ///< PCI masking from the start
  bool block_dtmf_b = false;
  /// sip.bridge opts.media = "transcode": the codecs added to every offer
  /// ("PCMA", "PCMU", "opus"); when the answerer picks one the offerer did
  /// not offer, the session transcodes (Opus <-> G.711).
  bool transcode = false;
  std::vector<std::string> codecs{"PCMA", "PCMU"};
  /// Transcoding: the offer's codecs with these names are not passed on (the
  /// answerer must pick one of `codecs`; RTPEngine's codec-mask).
  std::vector<std::string> mask;
};

caf::actor spawn_media_session(caf::actor_system& sys, media_session_init init);

} // namespace centralita::actors
