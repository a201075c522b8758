#include "actors/b2bua/call_leg.hpp"

#include "actors/sip/messages.hpp"
#include "actors/sip/stateless_core.hpp"
#include "actors/system/actor_timers.hpp"
#include "actors/transaction/client_txn.hpp"
#include "protocols/sip/dialog/dialog.hpp"
#include "protocols/sip/dialog/session_timer.hpp"
#include "protocols/sip/id_generator.hpp"
#include "protocols/sip/proxy/forwarding.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <map>

namespace centralita::actors {

namespace {

namespace dlg_ns = sip::dialog;

constexpr uint64_t retransmit_tag = 1;
constexpr uint64_t refresh_tag = 2;  ///< RFC 4028: time for our refresh
constexpr uint64_t expire_tag = 3;   ///< RFC 4028: no refresh came
/// The leg_send tag of a refresh the leg sends on its own (not the call's).
constexpr uint64_t own_refresh = ~uint64_t{0} - 1;

/// The o= line of an SDP body (what says whether a re-offer changes anything).
std::string origin_line(std::string_view body) {
  auto at = body.find("o=");
  if (at == std::string_view::npos || (at != 0 && body[at - 1] != '\n'))
    return {};
  auto end = body.find_first_of("\r\n", at);
  return std::string(body.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
}

/// An INVITE 2xx we sent and retransmit until its ACK (RFC 3261 §13.3.1.4).
struct pending_ok {
  caf::actor server;
  std::string bytes;
  uint32_t cseq = 0;
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds waited{0};
  timer_handle timer;
};

/// A request we sent inside the dialog (or the initial INVITE, tag 0).
struct sent_request {
  uint64_t tag = 0;
  std::string method;
  uint32_t cseq = 0;
  caf::actor txn;
  std::string ack_bytes;  ///< INVITE: the ACK of its 2xx, re-sent to 2xx retransmissions
  bool answered = false;  ///< INVITE with a 2xx: kept only to ACK retransmissions
};

struct received_request {
  caf::actor server;
  message_ptr msg;
};

struct call_leg_state {
  static constexpr const char* name = "call_leg";

  caf::event_based_actor* self = nullptr;
  call_leg_init init;
  std::optional<sip::id_generator> ids;
  std::optional<dlg_ns::dialog_state> dlg;
  std::string call_id;
  std::string local_tag;
  std::string contact;
  bool registered = false;
  // UAS
  bool answered = false;  ///< a final response to the initial INVITE was sent
  bool acked = false;
  std::optional<pending_ok> ok_pending;
  // UAC
  std::string invite_branch;
  bool invite_final = false;
  bool cancel_requested = false;
  // both
  std::map<std::string, sent_request, std::less<>> sent;  ///< by branch
  std::map<uint64_t, received_request> received;
  uint64_t next_request_id = 0;
  bool ending = false;  ///< leg_end, a BYE either way, or a failed INVITE
  bool bye_sent = false;
  bool ended_reported = false;
  // RFC 4028 session timer of this dialog.
  dlg_ns::session_timer_state timer;
  timer_handle se_timer;
  bool retried_422 = false;
  std::string last_sdp_sent;  ///< the SDP we last gave the party (refreshes repeat it)
  std::string party_origin;   ///< o= of the last SDP the party gave us

  const sip_services& svc() const { return *init.deps->services; }
  bool uas() const { return init.index == 0; }
  const char* party() const { return uas() ? "caller" : "callee"; }

  // -- setup -------------------------------------------------------------------

  void start() {
    ids.emplace(init.deps->seed ? init.deps->seed() : 0x1e9u);
    auto& id = *init.deps->identity;
    auto transport = uas() ? init.peer.transport : init.transport;
    contact = "sip:centralita@" + id.via_host + ":" + std::to_string(id.via_port);
    if (transport == drivers::transport_kind::tcp)
      contact += ";transport=tcp";
    if (uas()) {
      call_id = std::string(init.invite->call_id());
      local_tag = ids->tag();
      auto d = dlg_ns::uas_dialog(*init.invite, local_tag, contact);
      if (!d) {
        // Refused before anything was sent: the call answers 400 through us.
        svc().sip_log->warn("[cid={}] leg A: {}", init.call_name, d.err().reason);
      } else {
        dlg = std::move(d.value());
      }
      auto& inv = *init.invite;
      timer.plan_uas(inv.header("Session-Expires").value_or(""), inv.header("Supported").value_or(""),
                     inv.header("Allow").value_or(""), init.deps->session_expires, init.deps->min_se);
      if (sip::dialog::carries_sdp(*init.invite))
        party_origin = origin_line(init.invite->body());
    } else {
      call_id = init.out.call_id;
      local_tag = init.out.from_tag;
      if (auto want = init.deps->session_expires; want.count() > 0) {
        // RFC 4028 §7.1: ask for a timer; we refresh leg B ourselves.
        init.out.headers.emplace_back("Supported", "timer");
        init.out.headers.emplace_back(
          "Session-Expires", dlg_ns::format_session_expires({want, dlg_ns::refresher::uac}));
        init.out.headers.emplace_back("Min-SE", std::to_string(init.deps->min_se.count()));
      }
    }
    register_dialog();
  }

  void register_dialog() {
    self->send(init.deps->shard_of(call_id), leg_dialog_opened{call_id, local_tag, self});
    registered = true;
  }

  // -- RFC 4028 session timer --------------------------------------------------

  void restart_timer() {
    if (se_timer.valid())
      svc().timers->cancel(se_timer);
    auto next = timer.next();
    if (next.kind == dlg_ns::session_timer_state::wait::none || ending)
      return;
    se_timer = svc().timers->arm(self, next.after,
                                 next.kind == dlg_ns::session_timer_state::wait::refresh ? refresh_tag
                                                                                         : expire_tag);
  }

  /// Our refresh (§7.4): UPDATE without a body when the party takes UPDATE,
  /// else a re-INVITE repeating the SDP we last sent (same o= version: no
  /// change, RFC 3264 §8).
  void send_refresh() {
    if (!dlg || ending)
      return;
    const bool update = timer.party_allows_update() || last_sdp_sent.empty();
    auto h = timer.request_headers();
    if (update)
      send_in_dialog(own_refresh, "UPDATE", {}, {}, h);
    else
      send_in_dialog(own_refresh, "INVITE", "application/sdp", last_sdp_sent, h);
    // Until its answer, the timer runs to the expiry.
    auto se = timer.interval();
    se_timer = svc().timers->arm(self, dlg_ns::expire_after(se) - dlg_ns::refresh_after(se), expire_tag);
  }

  void session_expired() {
    svc().sip_log->warn("[cid={}] leg {}: the session timer expired (no refresh in {} s)",
                        init.call_name, uas() ? 'A' : 'B', timer.interval().count());
    ending = true;
    send_bye("SIP;cause=408;text=\"session timer expired\"");
    report_ended(408, "session expired");
    maybe_finish();
  }

  void finish() {
    for (auto& [id, rr] : received)
      respond(rr.server, *rr.msg, 487);
    received.clear();
    if (se_timer.valid())
      svc().timers->cancel(se_timer);
    if (registered) {
      self->send(init.deps->shard_of(call_id), leg_dialog_closed{call_id, local_tag});
      registered = false;
    }
    if (ok_pending)
      svc().timers->cancel(ok_pending->timer);
    self->quit();
  }

  void report_ended(int code, std::string reason) {
    if (ended_reported)
      return;
    ended_reported = true;
    self->send(init.call, leg_ended{init.index, code, std::move(reason)});
  }

  /// Done once the dialog is over and no transaction of ours is left.
  void maybe_finish() {
    if (!ending || (ok_pending && !acked))
      return;
    for (auto& [b, rec] : sent)
      if (!rec.answered)
        return;
    finish();
  }

  // -- sending -----------------------------------------------------------------

  dlg_ns::via_params via() {
    auto& id = *init.deps->identity;
    dlg_ns::via_params v;
    v.transport = transport() == drivers::transport_kind::tcp ? "TCP" : "UDP";
    v.host = id.via_host;
    v.port = id.via_port;
    v.branch = ids->branch();
    return v;
  }

  drivers::transport_kind transport() const { return uas() ? init.peer.transport : init.transport; }

  /// Where a request inside the dialog goes: the first Route's host, else the
  /// party's flow (leg A: where its INVITE came from, NAT-safe; leg B: the
  /// flow it was reached on when it was a registered contact's), else the
  /// remote target's host.
  std::optional<std::tuple<drivers::endpoint, drivers::connection_id>> next_hop(
    const sip::message& req) const {
    if (dlg && dlg->route_set.empty()) {
      if (uas())
        return std::tuple{init.peer.source, init.peer.conn};
      if (init.flow_fixed)
        return std::tuple{init.destination, init.conn};
    }
    auto hop = sip::proxy::next_hop_of(req);
    if (!hop)
      return std::nullopt;
    std::string host = hop->host;
    if (host.size() >= 2 && host.front() == '[')
      host = host.substr(1, host.size() - 2);
    if (host == "localhost")
      host = "127.0.0.1";
    auto ep = drivers::endpoint::from(host, hop->port);
    if (!ep)
      return std::nullopt;
    return std::tuple{*ep, drivers::connection_id{}};
  }

  bool send_via_txn(sip::message req, const std::string& branch, sent_request rec) {
    std::optional<std::tuple<drivers::endpoint, drivers::connection_id>> hop;
    if (req.request_method() == sip::method::invite && !dlg) {
      hop = std::tuple{init.destination, init.conn};  // the initial INVITE
    } else {
      hop = next_hop(req);
    }
    if (!hop) {
      svc().sip_log->warn("[cid={}] leg {}: no next hop for {} (only address literals)", init.call_name,
                          uas() ? 'A' : 'B', req.method_name());
      return false;
    }
    client_txn_init ci;
    ci.services = init.deps->services;
    ci.request_bytes = req.serialize();
    ci.request = std::make_shared<sip::message>(std::move(req));
    ci.transport = transport();
    ci.destination = std::get<0>(*hop);
    ci.conn = std::get<1>(*hop);
    ci.branch = branch;
    ci.tu = caf::actor_cast<caf::actor>(self);
    ci.shard = init.deps->shard_of(call_id);
    rec.txn = spawn_client_txn(self->home_system(), std::move(ci));
    sent.insert_or_assign(branch, std::move(rec));
    return true;
  }

  /// Sends an ACK (no transaction: §17.1.1.3) to the party.
  void send_ack(const std::string& bytes, const sip::message& ack) {
    auto hop = next_hop(ack);
    if (!hop)
      return;
    drivers::outbound_message out;
    out.transport = transport();
    out.destination = std::get<0>(*hop);
    out.conn = std::get<1>(*hop);
    out.bytes = bytes;
    svc().hub->send(std::move(out));
  }

  void send_in_dialog(uint64_t tag, const std::string& method, const std::string& content_type,
                      const std::string& body, const dlg_ns::header_list& headers) {
    if (!dlg || dlg->remote_tag.empty()) {
      self->send(init.call, leg_response{init.index, tag, 481, nullptr});
      return;
    }
    auto v = via();
    auto all = headers;
    if ((method == "INVITE" || method == "UPDATE") && tag != own_refresh)
      for (auto& h : timer.request_headers())
        all.push_back(h);
    if (content_type == "application/sdp" && !body.empty())
      last_sdp_sent = body;
    auto req = dlg_ns::make_request(*dlg, method, v, content_type, body, all);
    if (!req) {
      svc().sip_log->warn("[cid={}] leg {}: cannot build {}: {}", init.call_name, uas() ? 'A' : 'B',
                          method, req.err().reason);
      self->send(init.call, leg_response{init.index, tag, 500, nullptr});
      return;
    }
    sent_request rec{tag, method, req->cseq(), {}, {}};
    if (!send_via_txn(std::move(req.value()), v.branch, std::move(rec)))
      self->send(init.call, leg_response{init.index, tag, 503, nullptr});
  }

  void send_bye(const std::string& reason) {
    if (bye_sent || !dlg || dlg->remote_tag.empty())
      return;
    bye_sent = true;
    dlg_ns::header_list h;
    if (!reason.empty())
      h.emplace_back("Reason", reason);
    auto v = via();
    auto req = dlg_ns::make_request(*dlg, "BYE", v, {}, {}, h);
    if (!req)
      return;
    sent_request rec{~uint64_t{0}, "BYE", req->cseq(), {}, {}};
    send_via_txn(std::move(req.value()), v.branch, std::move(rec));
    svc().sip_log->info("[cid={}] leg {}: BYE to the {}", init.call_name, uas() ? 'A' : 'B', party());
  }

  // -- UAC: the initial INVITE --------------------------------------------------

  void on_invite(leg_invite& li) {
    if (uas() || !invite_branch.empty())
      return;
    init.out.via = via();
    init.out.content_type = li.content_type;
    init.out.body = li.body;
    init.out.contact = contact;
    invite_branch = init.out.via.branch;
    auto inv = dlg_ns::make_invite(init.out);
    if (!inv) {
      svc().sip_log->warn("[cid={}] leg B: cannot build the INVITE: {}", init.call_name, inv.err().reason);
      invite_final = true;
      ending = true;
      self->send(init.call, leg_response{init.index, 0, 500, nullptr});
      maybe_finish();
      return;
    }
    sent_request rec{0, "INVITE", init.out.cseq, {}, {}};
    send_via_txn(std::move(inv.value()), invite_branch, std::move(rec));
  }

  void on_invite_response(txn_response& r, sent_request& rec) {
    const int status = r.status;
    if (status < 200) {
      if (status == 100 || invite_final)
        return;
      if (r.msg && !r.msg->to().tag.empty() && !dlg) {
        if (auto d = dlg_ns::uac_dialog(init.out, *r.msg))
          dlg = std::move(d.value());  // early dialog (§12.1.2)
      }
      self->send(init.call, leg_response{init.index, 0, status, r.msg});
      return;
    }
    if (status < 300) {
      if (invite_final) {
        // A retransmitted 2xx: its ACK again (§13.2.2.4).
        if (!rec.ack_bytes.empty() && r.msg) {
          if (auto ack = sip::message::parse(rec.ack_bytes))
            send_ack(rec.ack_bytes, *ack);
        }
        return;
      }
      invite_final = true;
      rec.answered = true;
      if (r.msg) {
        if (auto d = dlg_ns::uac_dialog(init.out, *r.msg)) {
          auto keep_cseq = dlg ? dlg->local_cseq : d->local_cseq;
          dlg = std::move(d.value());
          dlg->local_cseq = std::max(keep_cseq, dlg->local_cseq);
        }
      }
      if (cancel_requested) {
        // The 2xx crossed our CANCEL: the call is up after all; ACK and BYE (§15).
        ack_invite(rec, {}, {});
        send_bye("SIP;cause=487;text=\"cancelled\"");
        sent.erase(invite_branch);
        maybe_finish();
        return;
      }
      if (r.msg) {
        timer.on_answer(r.msg->header("Session-Expires").value_or(""),
                        r.msg->header("Allow").value_or(""), true);
        if (sip::dialog::carries_sdp(*r.msg))
          party_origin = origin_line(r.msg->body());
      }
      last_sdp_sent = init.out.body;
      restart_timer();
      // Early offer: the 2xx carries the answer; ACK it now. Late offer
      // (no body in the INVITE): the ACK carries the answer (leg_ack).
      if (!init.out.body.empty())
        ack_invite(rec, {}, {});
      self->send(init.call, leg_response{init.index, 0, status, r.msg});
      return;
    }
    if (status == 422 && !retried_422 && !cancel_requested && r.msg) {
      // RFC 4028 §7.4 / §8.1: the callee wants a longer interval: once more
      // with its Min-SE.
      if (auto min = dlg_ns::parse_min_se(r.msg->header("Min-SE").value_or("")); min && min->count() <= 86400) {
        retried_422 = true;
        for (auto& [n, v] : init.out.headers)
          if (n == "Session-Expires")
            v = dlg_ns::format_session_expires({*min, dlg_ns::refresher::uac});
          else if (n == "Min-SE")
            v = std::to_string(min->count());
        sent.erase(invite_branch);
        ++init.out.cseq;
        leg_invite again{init.out.content_type, init.out.body};
        invite_branch.clear();
        on_invite(again);
        return;
      }
    }
    invite_final = true;
    ending = true;
    sent.erase(invite_branch);
    if (!cancel_requested)
      self->send(init.call, leg_response{init.index, 0, status, r.msg});
    else
      report_ended(status, "cancelled");
    maybe_finish();
  }

  void ack_invite(sent_request& rec, const std::string& content_type, const std::string& body) {
    if (!dlg)
      return;
    auto v = via();
    auto ack = dlg_ns::make_request(*dlg, "ACK", v, content_type, body, {}, rec.cseq);
    if (!ack)
      return;
    rec.ack_bytes = ack->serialize();
    send_ack(rec.ack_bytes, *ack);
  }

  void on_ack_command(leg_ack& a) {
    std::string branch;
    for (auto& [b, rec] : sent)
      if (rec.tag == a.tag && rec.method == "INVITE")
        branch = b;
    auto it = sent.find(branch);
    if (it == sent.end())
      return;
    ack_invite(it->second, a.content_type, a.body);
  }

  // -- responses to what we sent ----------------------------------------------

  void on_txn_response(txn_response& r) {
    auto it = sent.find(r.branch);
    if (it == sent.end())
      return;
    auto& rec = it->second;
    if (!uas() && r.branch == invite_branch) {
      on_invite_response(r, rec);
      return;
    }
    if (r.status < 200)
      return;
    if (rec.method == "BYE") {
      sent.erase(it);
      ending = true;
      maybe_finish();
      return;
    }
    if (r.status < 300 && r.msg && (rec.method == "INVITE" || rec.method == "UPDATE")) {
      timer.on_answer(r.msg->header("Session-Expires").value_or(""),
                      r.msg->header("Allow").value_or(""), false);
      if (sip::dialog::carries_sdp(*r.msg))
        party_origin = origin_line(r.msg->body());
      if (rec.ack_bytes.empty())
        restart_timer();
    }
    if (rec.tag == own_refresh) {
      if (rec.method == "INVITE" && r.status < 300) {
        if (rec.ack_bytes.empty())
          ack_invite(rec, {}, {});
        else if (auto ack = sip::message::parse(rec.ack_bytes))
          send_ack(rec.ack_bytes, *ack);
        rec.answered = true;
      } else {
        sent.erase(it);
      }
      if (r.status == 481 || r.status == 408) {
        ending = true;
        send_bye({});
        report_ended(r.status, "dialog gone");
      } else if (r.status >= 300) {
        restart_timer();  // refused (491, 500...): try again at the next half
      }
      maybe_finish();
      return;
    }
    if (rec.method == "INVITE" && r.status < 300) {
      if (!rec.ack_bytes.empty()) {  // a retransmitted 2xx of a re-INVITE
        if (auto ack = sip::message::parse(rec.ack_bytes))
          send_ack(rec.ack_bytes, *ack);
        return;
      }
      ack_invite(rec, {}, {});
      rec.answered = true;
    }
    self->send(init.call, leg_response{init.index, rec.tag, r.status, r.msg});
    if (rec.method != "INVITE" || r.status >= 300)
      sent.erase(it);
    // A 481/408 to a request inside the dialog: the dialog is gone (§12.2.1.2).
    if (r.status == 481 || r.status == 408) {
      ending = true;
      report_ended(r.status, r.status == 481 ? "dialog gone" : "no answer in dialog");
    }
    maybe_finish();
  }

  // -- requests from the party ------------------------------------------------

  void respond(const caf::actor& server, const sip::message& req, int status,
               std::string_view reason = {}, const std::string& content_type = {},
               const std::string& body = {}, const dlg_ns::header_list& headers = {}) {
    auto all = headers;
    const bool refresh_kind = req.request_method() == sip::method::invite
                              || req.request_method() == sip::method::update;
    if (refresh_kind && status >= 200 && status < 300) {
      for (auto& h : timer.response_headers())
        all.push_back(h);
      if (!body.empty() && content_type == "application/sdp")
        last_sdp_sent = body;
    }
    auto r = dlg_ns::make_uas_response(req, status, reason, local_tag, contact, content_type, body,
                                       all);
    if (!r)
      return;
    if (refresh_kind && status >= 200 && status < 300)
      restart_timer();  // the answer to a refresh (ours to give) restarts the clock
    svc().counters->count_response_sent(status);
    auto bytes = r->serialize();
    if (req.request_method() == sip::method::invite && status >= 200 && status < 300) {
      // §13.3.1.4: the UAS core resends a 2xx until the ACK (the server
      // transaction, in Accepted, sends what we give it).
      if (ok_pending)
        svc().timers->cancel(ok_pending->timer);
      ok_pending = pending_ok{server, bytes, req.cseq(), svc().txn_timers.t1, {}, {}};
      acked = false;
      if (transport() == drivers::transport_kind::udp)
        ok_pending->timer = svc().timers->arm(self, ok_pending->interval, retransmit_tag);
    }
    self->send(server, txn_respond{status, std::move(bytes)});
  }

  void on_txn_request(txn_request& tr) {
    auto& m = *tr.request;
    auto method = m.request_method();
    if (method == sip::method::ack) {
      if (ok_pending && ok_pending->cseq == m.cseq()) {
        svc().timers->cancel(ok_pending->timer);
        ok_pending.reset();
        acked = true;
        self->send(init.call, leg_acked{init.index, tr.request});
      }
      maybe_finish();
      return;
    }
    if (!tr.server_txn)
      return;
    if (!dlg) {
      respond(tr.server_txn, m, 481);
      return;
    }
    if (dlg_ns::accept_request(*dlg, m) == dlg_ns::request_check::cseq_too_low) {
      respond(tr.server_txn, m, 500, "CSeq Out Of Order");
      return;
    }
    if (method == sip::method::bye) {
      respond(tr.server_txn, m, 200);
      svc().sip_log->info("[cid={}] leg {}: the {} hung up", init.call_name, uas() ? 'A' : 'B', party());
      ending = true;
      bye_sent = true;  // nothing more to BYE
      if (ok_pending) {
        svc().timers->cancel(ok_pending->timer);
        ok_pending.reset();
      }
      for (auto& [id, rr] : received)
        respond(rr.server, *rr.msg, 487);
      received.clear();
      report_ended(200, std::string(party()) + " hung up");
      maybe_finish();
      return;
    }
    if (ending) {
      respond(tr.server_txn, m, 481);
      return;
    }
    if (method == sip::method::invite || method == sip::method::update) {
      timer.on_request(m.header("Session-Expires").value_or(""), init.deps->min_se);
      // A refresh that changes nothing (RFC 4028 §7.4): answered here, the
      // other leg has its own timer. An UPDATE without a body, or a
      // re-INVITE repeating the party's last SDP (same o= line).
      const bool bare_update = method == sip::method::update && m.body().empty();
      const bool same_offer = method == sip::method::invite && sip::dialog::carries_sdp(m) && !last_sdp_sent.empty()
                              && !party_origin.empty() && origin_line(m.body()) == party_origin;
      if (bare_update || same_offer) {
        respond(tr.server_txn, m, 200, {}, same_offer ? "application/sdp" : "",
                same_offer ? last_sdp_sent : std::string{});
        return;
      }
      if (sip::dialog::carries_sdp(m))
        party_origin = origin_line(m.body());
    }
    auto id = ++next_request_id;
    received.emplace(id, received_request{tr.server_txn, tr.request});
    self->send(init.call, leg_request{init.index, id, tr.request});
  }

  void on_reply(leg_reply& r) {
    if (r.request_id == 0) {
      if (!uas() || answered)
        return;
      if (r.status >= 200)
        answered = true;
      respond(init.server, *init.invite, r.status, r.reason, r.content_type, r.body, r.headers);
      if (r.status >= 300) {
        ending = true;
        maybe_finish();
      }
      return;
    }
    auto it = received.find(r.request_id);
    if (it == received.end())
      return;
    respond(it->second.server, *it->second.msg, r.status, r.reason, r.content_type, r.body,
            r.headers);
    if (r.status >= 200)
      received.erase(it);
  }

  // -- ending -------------------------------------------------------------------

  void on_end(const leg_end& e) {
    if (ending && (bye_sent || !dlg))
      return maybe_finish();
    ending = true;
    if (uas()) {
      if (!answered) {
        answered = true;
        respond(init.server, *init.invite, e.status >= 300 ? e.status : 487);
      } else {
        send_bye(e.reason);
      }
    } else if (!invite_final) {
      cancel_requested = true;
      if (auto it = sent.find(invite_branch); it != sent.end())
        self->send(it->second.txn, cancel_branch{});
    } else {
      send_bye(e.reason);
    }
    maybe_finish();
  }

  void on_timer(const timer_expired& t) {
    if (t.tag == refresh_tag || t.tag == expire_tag) {
      se_timer = {};
      if (t.tag == refresh_tag)
        send_refresh();
      else
        session_expired();
      return;
    }
    if (t.tag != retransmit_tag || !ok_pending)
      return;
    auto& p = *ok_pending;
    p.waited += p.interval;
    if (p.waited >= 64 * svc().txn_timers.t1) {
      // §13.3.1.4: no ACK in 64*T1: the dialog is over; BYE it.
      svc().sip_log->warn("[cid={}] leg {}: no ACK for the 2xx", init.call_name, uas() ? 'A' : 'B');
      ok_pending.reset();
      acked = true;
      ending = true;
      send_bye("SIP;cause=408;text=\"no ACK\"");
      report_ended(408, "no ACK");
      maybe_finish();
      return;
    }
    self->send(p.server, txn_respond{200, p.bytes});
    p.interval = std::min(p.interval * 2, svc().txn_timers.t2);
    p.timer = svc().timers->arm(self, p.interval, retransmit_tag);
  }

  /// The call actor is gone (it ended, or failed): end the dialog; what it
  /// left unanswered gets 487.
  void on_call_down() {
    for (auto& [id, rr] : received)
      respond(rr.server, *rr.msg, 487);
    received.clear();
    if (!ending)
      on_end(leg_end{500, "SIP;cause=500;text=\"call ended\""});
    else
      maybe_finish();
  }
};

caf::behavior call_leg(caf::stateful_actor<call_leg_state>* self, call_leg_init init) {
  auto& st = self->state;
  st.self = self;
  st.init = std::move(init);
  st.start();
  self->monitor(st.init.call);
  self->set_down_handler([&st](caf::down_msg& m) {
    if (m.source == st.init.call)
      st.on_call_down();
  });
  return {
    [&st](txn_request& r) { st.on_txn_request(r); },
    [&st](txn_response& r) { st.on_txn_response(r); },
    [&st](leg_invite& i) { st.on_invite(i); },
    [&st](leg_send& s) { st.send_in_dialog(s.tag, s.method, s.content_type, s.body, s.headers); },
    [&st](leg_reply& r) { st.on_reply(r); },
    [&st](leg_ack& a) { st.on_ack_command(a); },
    [&st](const leg_end& e) { st.on_end(e); },
    [&st](timer_expired t) { st.on_timer(t); },
    [](server_txn_done) {},
    [](upstream_cancelled) {},  // leg A's CANCEL reaches the call through the script VM
  };
}

} // namespace

caf::actor spawn_call_leg(caf::actor_system& sys, call_leg_init init) {
  return sys.spawn(call_leg, std::move(init));
}

} // namespace centralita::actors
