#pragma once

#include "actors/b2bua/b2b_messages.hpp"
#include "actors/b2bua/b2bua_deps.hpp"
#include "actors/transaction/txn_messages.hpp"
#include "protocols/sip/dialog/dialog.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <optional>
#include <string>

namespace centralita::actors {

/// One side of a bridged call (B2BUA): one SIP dialog with one party. Leg A
/// is the UAS of the caller's INVITE, leg B the UAC of the INVITE to the
/// callee. Lives from the INVITE until its dialog is over (BYE answered or
/// sent and answered, CANCEL, a failed INVITE) and its call is told. Owns
/// the dialog state (tags, CSeqs, route set, remote target, Contact), the
/// requests it received and has not answered, the requests it sent, the
/// retransmission of its 2xx until the ACK (RFC 3261 §13.3.1.4), and its
/// entry in its Call-ID's shard (so requests inside the dialog reach it).
/// It decides nothing about the other leg: it reports to its call actor
/// (leg_request, leg_response, leg_acked, leg_ended) and carries out what
/// the call says (leg_invite, leg_send, leg_reply, leg_ack, leg_end).
struct call_leg_init {
  b2bua_ptr deps;
  int index = 0;  ///< 0: A (UAS), 1: B (UAC)
  caf::actor call;
  std::string call_name;  ///< the call's Call-ID (leg A's): every log line names it
  // Leg A: the caller's INVITE as its server transaction holds it.
  caf::actor server;
  message_ptr invite;
  peer_info peer;
  // Leg B: the INVITE to send (Via branch and body are filled at leg_invite)
  // and where it goes.
  sip::dialog::invite_params out;
  drivers::transport_kind transport = drivers::transport_kind::udp;
  drivers::endpoint destination;
  drivers::connection_id conn;
  /// The destination is the party's flow (a registered contact reached where
  /// its REGISTER came from, NAT): requests inside the dialog go there too,
  /// not to the Contact's address.
  bool flow_fixed = false;
};

caf::actor spawn_call_leg(caf::actor_system& sys, call_leg_init init);

} // namespace centralita::actors
