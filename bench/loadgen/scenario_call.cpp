// `call`: a UAC's basic call, INVITE -> 1xx -> 200 -> ACK -> hold -> BYE -> 200
// (RFC 3261 §13, §15), through a proxy or straight to a UAS.
#include "bench/loadgen/scenario.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

namespace centralita::loadgen {

namespace {

class call_scenario final : public scenario {
public:
  explicit call_scenario(call_params p) : p_(std::move(p)) {
    // Without --domain the AoRs are at the target itself, port included
    // (as the register scenario's Request-URI): "sip:uas@127.0.0.1:5060".
    std::string_view hostport = p_.target.uri;
    if (hostport.substr(0, 4) == "sip:")
      hostport.remove_prefix(4);
    domain_ = p_.domain.empty() ? std::string(hostport) : p_.domain;
    invite_uri_ = "sip:" + p_.callee + "@" + domain_;
  }

  std::string_view name() const override { return p_.callees ? "push-wake" : "call"; }

  void resize(std::size_t slots) override { state_.resize(slots); }

  void begin(client_ops& ops, uint32_t slot, uint64_t number) override {
    auto& st = state_[slot];
    st.at = phase::inviting;
    st.rang = false;
    st.number = number;
    if (p_.callees) {  // push-wake: the phones take turns
      st.invite_uri.assign("sip:");
      p_.callees->append_name(st.invite_uri, number % p_.callees->size());
      st.invite_uri += '@';
      st.invite_uri += domain_;
    } else {
      st.invite_uri = invite_uri_;
    }
    st.to_tag.clear();
    st.remote_target.clear();
    st.routes.clear();
    auto branch = ops.next_branch(slot);
    st.invite_branch.assign(branch);
    auto& out = ops.request(slot);
    out += "INVITE ";
    out += st.invite_uri;
    out += " SIP/2.0\r\n";
    append_via(ops, out, ops.sent_by(slot), branch);
    out += "Max-Forwards: 70\r\n";
    append_from_to(ops, out, slot, {});
    append_call_id(ops, out, number);
    out += "CSeq: 1 INVITE\r\nContact: <sip:";
    out += p_.caller;
    out += '@';
    out += ops.sent_by(slot);
    out += ops.contact_params();
    out += ">\r\nUser-Agent: centralita-bench\r\nContent-Length: 0\r\n\r\n";
    ops.send(slot, "INVITE");
  }

  void on_provisional(client_ops& ops, uint32_t slot, const scanned_response& r) override {
    auto& st = state_[slot];
    // Post-dial delay: the INVITE to the first ringing answer (180 Ringing,
    // 183 Session Progress: RFC 3261 §21.1), not to a 100 Trying.
    if (st.at == phase::inviting && !st.rang && r.status >= 180 && r.status < 190) {
      st.rang = true;
      ops.record_latency(slot, "pdd");
    }
  }

  void on_final(client_ops& ops, uint32_t slot, const scanned_response& r) override {
    auto& st = state_[slot];
    if (st.at == phase::byeing) {
      if (r.status >= 200 && r.status < 300)
        ops.finish(slot, {});
      else
        ops.finish(slot, "bye:" + status_text(r.status));
      return;
    }
    if (r.status >= 300) {
      // §17.1.1.3: the ACK of a non-2xx answer belongs to the INVITE's
      // transaction: same branch, Request-URI and destination; To with the
      // answer's tag.
      st.to_tag.assign(r.to_tag);
      auto& out = ops.request(slot);
      out += "ACK ";
      out += st.invite_uri;
      out += " SIP/2.0\r\n";
      append_via(ops, out, ops.sent_by(slot), st.invite_branch);
      out += "Max-Forwards: 70\r\n";
      append_from_to(ops, out, slot, st.to_tag);
      append_call_id(ops, out, st.number);
      out += "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
      ops.send_ack(slot);
      ops.finish(slot, status_text(r.status));
      return;
    }
    ops.record_latency(slot, "setup");
    if (r.contact_uri.empty()) {
      ops.finish(slot, "no-contact");  // §13.3.1.4: a 2xx to an INVITE carries a Contact
      return;
    }
    // §12.1.2: the remote target is the Contact; the route set is the
    // Record-Route entries in reverse order.
    st.to_tag.assign(r.to_tag);
    st.remote_target.assign(r.contact_uri);
    for (uint8_t i = 0; i < r.record_route_count; ++i)
      for_each_route_entry(r.record_routes[i], [&](std::string_view e) { st.routes.emplace_back(e); });
    std::reverse(st.routes.begin(), st.routes.end());
    // §12.2.1.1 (loose routing): requests go to the first route, else to the
    // remote target itself; a name we cannot use as an address leaves the
    // target (an outbound proxy) as the next hop.
    ops.set_next_hop(slot, st.routes.empty() ? std::string_view(st.remote_target)
                                             : std::string_view(st.routes.front()));
    // §13.2.2.4: the ACK of a 2xx is its own transaction (a new branch), CSeq
    // number of the INVITE.
    send_in_dialog(ops, slot, "ACK", 1);
    ops.send_ack(slot);
    st.at = phase::holding;
    if (p_.hold.count() > 0)
      ops.wake_after(slot, p_.hold);
    else
      bye(ops, slot);
  }

  void on_wake(client_ops& ops, uint32_t slot) override { bye(ops, slot); }

  void on_timeout(client_ops& ops, uint32_t slot) override {
    ops.finish(slot, state_[slot].at == phase::byeing ? "bye:timeout" : "timeout");
  }

  void on_transport_error(client_ops& ops, uint32_t slot) override {
    ops.finish(slot, state_[slot].at == phase::byeing ? "bye:transport" : "transport");
  }

private:
  enum class phase : uint8_t { inviting, holding, byeing };

  struct slot_state {
    phase at = phase::inviting;
    bool rang = false;
    uint64_t number = 0;
    std::string invite_branch;
    std::string invite_uri;
    std::string to_tag;
    std::string remote_target;
    std::vector<std::string> routes;
  };

  void bye(client_ops& ops, uint32_t slot) {
    state_[slot].at = phase::byeing;
    send_in_dialog(ops, slot, "BYE", 2);
    ops.send(slot, "BYE");
  }

  /// Writes an in-dialog request (§12.2.1.1) into the slot's buffer.
  void send_in_dialog(client_ops& ops, uint32_t slot, std::string_view method, uint32_t cseq) {
    auto& st = state_[slot];
    auto branch = ops.next_branch(slot);
    auto& out = ops.request(slot);
    out += method;
    out += ' ';
    out += st.remote_target;
    out += " SIP/2.0\r\n";
    append_via(ops, out, ops.sent_by(slot), branch);
    for (const auto& route : st.routes) {
      out += "Route: ";
      out += route;
      out += "\r\n";
    }
    out += "Max-Forwards: 70\r\n";
    append_from_to(ops, out, slot, st.to_tag);
    append_call_id(ops, out, st.number);
    out += "CSeq: ";
    char num[12];
    auto [end, ec] = std::to_chars(num, num + sizeof(num), cseq);
    out.append(num, end);
    out += ' ';
    out += method;
    out += "\r\nContent-Length: 0\r\n\r\n";
  }

  static void append_via(client_ops& ops, std::string& out, std::string_view sent_by,
                         std::string_view branch) {
    // rport (RFC 3581): answers come back to the socket that sent.
    out += "Via: SIP/2.0/";
    out += ops.via_transport();
    out += ' ';
    out += sent_by;
    out += ";branch=";
    out += branch;
    out += ";rport\r\n";
  }

  void append_from_to(client_ops& ops, std::string& out, uint32_t slot, std::string_view to_tag) {
    out += "From: <sip:";
    out += p_.caller;
    out += '@';
    out += domain_;
    out += ">;tag=";
    out += ops.run_token();
    append_hex(out, state_[slot].number);
    out += "\r\nTo: <";
    out += state_[slot].invite_uri;
    out += '>';
    if (!to_tag.empty()) {
      out += ";tag=";
      out += to_tag;
    }
    out += "\r\n";
  }

  static void append_call_id(client_ops& ops, std::string& out, uint64_t number) {
    out += "Call-ID: ";
    out += ops.run_token();
    out += "-c";
    append_hex(out, number);
    out += "@centralita-bench\r\n";
  }

  call_params p_;
  std::string domain_;
  std::string invite_uri_;
  std::vector<slot_state> state_;
};

} // namespace

std::unique_ptr<scenario> make_call_scenario(call_params params) {
  return std::make_unique<call_scenario>(std::move(params));
}

} // namespace centralita::loadgen
