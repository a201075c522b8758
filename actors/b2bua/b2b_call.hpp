#pragma once

#include "actors/b2bua/b2bua_deps.hpp"
#include "actors/script/script_messages.hpp"
#include "actors/transaction/txn_messages.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <memory>
#include <string>
#include <vector>

namespace centralita::actors {

/// How a bridged call carries its media (sip.bridge opts.media).
enum class bridge_media { relay, transcode };

/// What sip.bridge() asked for.
struct bridge_plan {
  std::vector<relay_target> targets;  ///< tried in order until one answers
  bridge_media media = bridge_media::relay;
  std::vector<std::string> codecs{"PCMA", "PCMU"};  ///< transcode: added to the offers
  bool block_dtmf_a = false;
  bool block_dtmf_b = false;
  caf::actor vm;     ///< told relay_final (may be null)
  uint64_t run = 0;
};

/// A bridged call (B2BUA): the caller's dialog (leg A), the callee's (leg B,
/// a Call-ID of its own) and the media session between them. Lives from the
/// script's sip.bridge() until both legs are told to end. Owns the call's
/// progress (calling, early, answered), the pairing of a request on one leg
/// with the request it became on the other, and the SDP offer/answer round
/// trips through the media session. Tells the shard of its Call-ID what the
/// call table needs (call_bridged, call_outcome, call_finished), and the
/// script VM the final status (relay_final). Ends on a BYE from either
/// party, sip.hangup, a CANCEL, a failed INVITE, media inactivity, or the
/// failure of a leg or of the media session.
struct b2b_call_init {
  b2bua_ptr deps;
  caf::actor server;  ///< leg A's INVITE server transaction
  message_ptr invite; ///< the caller's INVITE (our own copy)
  peer_info peer;
  std::shared_ptr<const bridge_plan> plan;
};

caf::actor spawn_b2b_call(caf::actor_system& sys, b2b_call_init init);

} // namespace centralita::actors
