#pragma once
// One call of a SIP shard's call table: what CALL_* events and sip.hangup need.
//
// Kept small on purpose. A routing script waiting for a REGISTER holds its
// call's entry as long as it waits (the issue-4 bench holds 100,000), so the
// strings the INVITE brings share one buffer, and what only an answer brings
// is allocated at the answer.

#include "actors/sip/messages.hpp"
#include "actors/transaction/txn_messages.hpp"
#include "protocols/sip/dialog/hangup.hpp"
#include "protocols/sip/message.hpp"

#include <caf/actor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace centralita::actors {

class call_entry {
public:
  using clock = std::chrono::steady_clock;

  call_entry(const sip::message& invite, const peer_info& caller, clock::time_point now);

  std::string_view caller_uri() const { return field(from_uri); }
  std::string_view caller_tag() const { return field(from_tag); }
  std::string_view callee_uri() const { return field(to_uri); }
  std::string_view ruri() const { return field(request_uri); }

  /// The two ends of the dialog, as a BYE needs them (built on demand: a hangup is rare).
  sip::dialog::party caller() const;
  sip::dialog::party callee() const;

  bool answered() const { return answer_ != nullptr; }
  /// The first 2xx: the callee's end of the dialog. False when already answered.
  bool answer(call_outcome& o, clock::time_point now);
  /// Where a BYE to the callee goes; only when answered().
  drivers::transport_kind callee_transport() const { return answer_->transport; }
  const std::optional<drivers::endpoint>& callee_flow() const { return answer_->flow; }
  drivers::connection_id callee_conn() const { return answer_->conn; }
  clock::time_point answered_at() const { return answer_->at; }

  /// A routing script bridged the call (B2BUA): its call actor ends it, and
  /// its B leg has a Call-ID of its own.
  bool bridged() const { return bridge_ != nullptr; }
  void set_bridge(caf::actor call, std::string leg_b) {
    bridge_ = std::make_unique<bridge_part>(bridge_part{std::move(call), std::move(leg_b)});
  }
  const caf::actor& bridge_actor() const { return bridge_->call; }
  std::string_view leg_b() const { return bridge_ ? std::string_view(bridge_->leg_b) : std::string_view{}; }

  peer_info caller_peer;
  uint32_t caller_cseq = 0;
  uint32_t callee_cseq = 0;
  clock::time_point started;

private:
  // The fields of `text_`, each ended by a NUL (sofia's values are C strings,
  // so none holds one); the caller's route set follows the last one.
  enum index : unsigned { from_uri, from_display, from_tag, contact, to_uri, to_display, request_uri, count };
  std::string_view field(unsigned i) const;

  struct answer_part {
    std::string tag;
    std::string contact;
    std::vector<std::string> route;
    drivers::transport_kind transport = drivers::transport_kind::udp;
    std::optional<drivers::endpoint> flow;
    drivers::connection_id conn;
    clock::time_point at;
  };

  struct bridge_part {
    caf::actor call;
    std::string leg_b;
  };

  std::string text_;
  std::unique_ptr<answer_part> answer_;
  std::unique_ptr<bridge_part> bridge_;
};

} // namespace centralita::actors
