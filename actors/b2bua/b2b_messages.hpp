#pragma once
// What a bridged call's actors say to each other (actors/b2bua/, actors/media/).
//
//   b2b_call ──leg_*──▶ call_leg (A: the caller's dialog, B: the callee's)
//   call_leg ──leg_*──▶ b2b_call
//   b2b_call ──media_*─▶ media_session ──media_*─▶ b2b_call
//
// Legs are numbered: 0 is A (we are its UAS), 1 is B (we are its UAC). The
// media session's sides carry the same numbers.

#include "actors/transaction/txn_messages.hpp"
#include "protocols/sip/dialog/dialog.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace centralita::actors {

// -- b2b_call → call_leg -----------------------------------------------------

/// UAC leg: send the initial INVITE (body: the offer for this leg, may be
/// empty for a late offer).
struct leg_invite {
  std::string content_type;
  std::string body;
};
/// Send a request inside the leg's dialog; its final response comes back as
/// leg_response tagged `tag`.
struct leg_send {
  uint64_t tag = 0;
  std::string method;
  std::string content_type;
  std::string body;
  sip::dialog::header_list headers;
};
/// Answer the request `request_id` the leg passed up (leg_request; 0 is the
/// UAS leg's initial INVITE).
struct leg_reply {
  uint64_t request_id = 0;
  int status = 0;
  std::string reason;
  std::string content_type;
  std::string body;
  sip::dialog::header_list headers;
};
/// ACK a 2xx the UAC leg received for its INVITE (late offer: with the answer).
struct leg_ack {
  uint64_t tag = 0;  ///< 0: the initial INVITE
  std::string content_type;
  std::string body;
};
/// End the leg: BYE when confirmed, CANCEL (UAC) or a final error response
/// (UAS) before. `reason` is a Reason header value (RFC 3326), may be empty.
struct leg_end {
  int status = 0;  ///< the UAS leg's final response when not answered yet (e.g. 487)
  std::string reason;
};

// -- call_leg → b2b_call -----------------------------------------------------

/// A response to the UAC leg's initial INVITE (provisional or final), or to
/// a request sent with leg_send (`tag` != 0).
struct leg_response {
  int leg = 0;
  uint64_t tag = 0;
  int status = 0;
  message_ptr msg;  ///< null for a timeout (408) or transport error (503)
};
/// A request inside the leg's dialog (not ACK, not BYE: the leg answers a BYE
/// itself and reports leg_ended). Answer it with leg_reply{request_id}.
struct leg_request {
  int leg = 0;
  uint64_t request_id = 0;
  message_ptr msg;
};
/// The UAS leg's 2xx was ACKed (the ACK's body, if any, is the late answer).
struct leg_acked {
  int leg = 0;
  message_ptr msg;
};
/// The leg's dialog is over: its party hung up (BYE), the 2xx was never
/// ACKed, a CANCEL came (UAS), or the session timer expired.
struct leg_ended {
  int leg = 0;
  int code = 200;
  std::string reason;  ///< for CALL_END ("caller hung up", "no ACK", ...)
};

// -- b2b_call ↔ media_session ------------------------------------------------

/// An SDP offer that arrived on `side`: the answer is the SDP to send to the
/// other side (media_sdp).
struct media_offer {
  int side = 0;
  std::string sdp;
};
/// The SDP answer that arrived on `side` to the offer we sent there: the
/// answer is the SDP to send back to the other side.
struct media_answer {
  int side = 0;
  std::string sdp;
};
struct media_sdp {
  bool ok = false;
  std::string sdp;     ///< when ok
  int status = 488;    ///< when not ok: the SIP status to answer with
  std::string reason;  ///< when not ok: why (a reason phrase)
};
/// Play DTMF into `side` (to that party): RFC 4733 when it negotiated
/// telephone-event, else in-band (G.711).
struct media_send_dtmf {
  int side = 0;
  std::string digits;
  uint32_t duration_ms = 100;
  bool inband = false;  ///< tones even when the party negotiated telephone-event
};
/// Block (or pass again) the DTMF that `side`'s party sends.
struct media_block_dtmf {
  int side = 0;
  bool block = true;
};
/// media_session → b2b_call: nothing arrived from `side`'s party for the
/// inactivity timeout.
struct media_timed_out {
  int side = 0;
};
/// Relay → media_session (from a reactor): side `side_id` timed out.
struct media_side_inactive {
  uint64_t side_id = 0;
};
/// DTMF tap → media_session (from a reactor), transcoded calls only: an RTP
/// packet from `side`'s party, for its transcode path.
struct media_rtp_in {
  int side = 0;
  std::vector<uint8_t> bytes;
};
/// DTMF tap → media_session (from a reactor): a key press on `side`.
struct media_dtmf_detected {
  int side = 0;
  char digit = 0;
  uint32_t duration_ms = 0;
  const char* source = "rfc4733";  ///< "rfc4733" or "inband" (static strings)
};

/// A script's media command for the bridged call `call_id`: to the shard of
/// that Call-ID, which hands `cmd` to the call actor (ignored for a call
/// that is not bridged).
struct call_media_command {
  std::string call_id;
  std::variant<media_block_dtmf, media_send_dtmf> cmd;
};

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_invite)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_send)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_ack)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_end)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_response)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_acked)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::leg_ended)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::media_offer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::media_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::media_sdp)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::media_send_dtmf)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::media_block_dtmf)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::media_timed_out)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::media_side_inactive)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::media_dtmf_detected)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::call_media_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::media_rtp_in)
