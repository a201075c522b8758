#include "actors/proxy/proxy_context.hpp"

#include "actors/sip/stateless_core.hpp"
#include "actors/system/actor_timers.hpp"
#include "actors/transaction/client_txn.hpp"
#include "actors/events/event_bus.hpp"
#include "actors/sip/messages.hpp"
#include "protocols/sip/dialog/hangup.hpp"
#include "protocols/sip/id_generator.hpp"
#include "protocols/sip/proxy/forwarding.hpp"
#include "protocols/sip/proxy/request_rules.hpp"
#include "protocols/sip/proxy/response_context.hpp"
#include "protocols/sip/proxy/sip_uri.hpp"
#include "protocols/sip/proxy/targets.hpp"
#include "protocols/sip/registrar/binding.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <optional>

namespace centralita::actors {

namespace {

namespace proxy = sip::proxy;

/// Where a registered contact is really reached (RFC 5626-style flow reuse,
/// and NAT: the address the REGISTER came from).
struct flow {
  drivers::endpoint destination;
  drivers::transport_kind transport = drivers::transport_kind::udp;
  drivers::connection_id conn;
};

struct branch_info {
  caf::actor txn;
  timer_handle timer_c;
  uint64_t index = 0;
  flow sent_to;  ///< where its request went (the callee's flow when it answers 2xx)
  std::string target_uri;
};

std::optional<drivers::endpoint> resolve_literal(std::string host, uint16_t port) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost")
    host = "127.0.0.1";
  // Only address literals: DNS (RFC 3263) needs an asynchronous resolver,
  // which workers must never wait for.
  return drivers::endpoint::from(host, port);
}

std::optional<drivers::transport_kind> transport_of(std::string_view name) {
  if (name == "udp")
    return drivers::transport_kind::udp;
  if (name == "tcp")
    return drivers::transport_kind::tcp;
  return std::nullopt;  // tls, sctp, ws: not served (yet)
}

struct proxy_state {
  static constexpr const char* name = "proxy_context";

  proxy_context_deps deps;
  caf::event_based_actor* self = nullptr;
  caf::actor server;
  message_ptr request;
  peer_info peer;
  std::string cid;
  std::optional<sip::id_generator> ids;
  std::string to_tag;
  std::optional<proxy::response_context> rc;
  std::vector<std::vector<proxy::branch_target>> groups;
  std::size_t next_group = 0;
  std::map<std::string, branch_info, std::less<>> branches;
  std::map<std::string, flow, std::less<>> flows;  ///< contact URI → how to reach it
  std::optional<flow> forced_flow;                 ///< foreign relay via outbound proxy
  std::size_t live_txns = 0;
  bool final_sent = false;
  uint64_t next_index = 0;
  timer_handle lookup_timer;  ///< armed while a location lookup is pending
  static constexpr uint64_t lookup_tag = ~uint64_t{0};  ///< branch indexes count from 0
  // -- scripted mode (deps.plan) ---------------------------------------------
  std::map<std::string, std::vector<std::pair<std::string, std::string>>, std::less<>>
    branch_headers;             ///< target URI → headers for its branch only
  timer_handle wait_timer;      ///< plan.wait_for_branches, armed once branches ran out
  bool wait_over = false;       ///< the wait for new branches has ended
  bool asking_failure = false;  ///< on_failure() is running in the VM
  static constexpr uint64_t wait_tag = ~uint64_t{0} - 1;

  const sip_services& svc() const { return *deps.services; }
  const routing_policy& routing() const { return *deps.routing; }

  // -- answering upstream ----------------------------------------------------

  void send_upstream(int status, std::string bytes, const sip::message* response = nullptr) {
    if (status >= 200) {
      final_sent = true;
      if (deps.plan)
        self->send(plan().vm, relay_final{plan().run, status});
      report_outcome(status, response);
    }
    svc().counters->count_response_sent(status);
    self->send(server, txn_respond{status, std::move(bytes)});
  }

  /// The shard's call table learns how an initial INVITE ended.
  void report_outcome(int status, const sip::message* response) {
    if (!request || request->request_method() != sip::method::invite
        || !request->to().tag.empty() || !deps.shard)
      return;
    call_outcome o;
    o.call_id = cid;
    o.status = status;
    if (response != nullptr) {
      o.reason = response->reason_phrase();
      if (status < 300) {
        o.to_tag = response->to().tag;
        if (auto c = response->contact())
          o.callee_contact = c->uri;
        o.callee_route = sip::dialog::callee_route(*response, *routing().identity);
        if (auto best = rc ? rc->best_branch() : std::nullopt)
          if (auto it = branches.find(*best); it != branches.end()) {
            o.callee_transport = it->second.sent_to.transport;
            o.callee_flow = it->second.sent_to.destination;
            o.callee_conn = it->second.sent_to.conn;
          }
      }
    }
    self->send(deps.shard, std::move(o));
  }

  void respond(int status, std::string_view reason = {},
               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    if (!server || final_sent)
      return;
    auto r = sip::make_response(*request, status, reason, status > 100 ? to_tag : "");
    if (!r)
      return;
    for (auto& [n, v] : headers)
      r->add_header(n, v);
    send_upstream(status, r->serialize(), &*r);
  }

  void respond_message(const sip::message& m) {
    if (!server || final_sent)
      return;
    send_upstream(m.status(), m.serialize(), &m);
  }

  // -- routing ---------------------------------------------------------------

  void on_request(txn_request& r) {
    server = std::move(r.server_txn);
    request = std::move(r.request);
    peer = r.peer;
    cid = std::string(request->call_id());
    ids.emplace(routing().seed ? routing().seed() : 0x5eedu);
    to_tag = ids->tag();
    if (!server) {
      forward_statelessly();
      self->quit();
      return;
    }
    self->monitor(server);  // if it is killed (shutdown), this context goes too
    if (deps.plan)
      scripted_start();
    else
      route();
  }

  // -- scripted mode -----------------------------------------------------------

  const relay_plan& plan() const { return *deps.plan; }

  std::chrono::seconds branch_timeout() const {
    if (deps.plan && plan().branch_timeout.count() > 0)
      return plan().branch_timeout;
    return routing().timer_c;
  }

  void note_targets(const std::vector<relay_target>& targets) {
    for (auto& t : targets) {
      if (t.flow)
        flows.insert_or_assign(t.uri, flow{t.flow->destination, t.flow->transport, t.flow->conn});
      if (!t.headers.empty())
        branch_headers.insert_or_assign(t.uri, t.headers);
    }
  }

  static std::vector<std::vector<proxy::branch_target>>
  group_targets(const std::vector<relay_target>& targets, fork_mode mode) {
    std::vector<std::vector<proxy::branch_target>> out;
    if (mode == fork_mode::by_q) {
      std::vector<proxy::contact_target> contacts;
      for (auto& t : targets)
        contacts.push_back(proxy::contact_target{t.uri, t.q, t.path});
      return proxy::targets_from_contacts(contacts);
    }
    for (auto& t : targets) {
      if (mode == fork_mode::serial || out.empty())
        out.emplace_back();
      out.back().push_back(proxy::branch_target{t.uri, t.path});
    }
    return out;
  }

  void scripted_start() {
    note_targets(plan().targets);
    groups = group_targets(plan().targets, plan().mode);
    rc.emplace(request->request_method() == sip::method::invite);
    start_next_group();
  }

  /// Whether the script may still add branches once the current ones ended.
  bool may_get_more() const {
    return deps.plan && (plan().ask_on_failure || (plan().wait_for_branches.count() > 0 && !wait_over));
  }

  void on_relay_more(relay_more& m) {
    if (!rc || rc->final_sent())
      return;
    asking_failure = false;
    note_targets(m.targets);
    auto more = group_targets(m.targets, m.from_failure ? plan().mode : fork_mode::parallel);
    groups.insert(groups.end(), more.begin(), more.end());
    if (!rc->pending_branches().empty() && !m.from_failure) {
      // Branches are still running: the new ones join them (tsilo's ts_append).
      std::size_t group = groups.size() - more.size();
      while (group < groups.size()) {
        for (auto& t : groups[group])
          start_branch(t);
        ++group;
      }
      next_group = groups.size();
      return;
    }
    if (wait_timer.valid())
      svc().timers->cancel(wait_timer);
    start_next_group();
  }

  void on_failure_handled(const failure_handled& h) {
    if (!asking_failure)
      return;
    asking_failure = false;
    if (h.answered) {
      final_sent = true;  // the script answered through the server transaction
      finish_if_done();
      return;
    }
    apply(rc->finish());
    finish_if_done();
  }

  /// The current branches all ended and no group is left.
  void out_of_targets() {
    if (deps.plan && plan().wait_for_branches.count() > 0 && !wait_over) {
      if (!wait_timer.valid()) {
        svc().sip_log->debug("[cid={}] every branch failed: waiting {} ms for new branches", cid,
                             plan().wait_for_branches.count());
        wait_timer = svc().timers->arm(self, plan().wait_for_branches, wait_tag);
      }
      return;
    }
    if (deps.plan && plan().ask_on_failure && !asking_failure) {
      asking_failure = true;
      int status = last_failure_status != 0 ? last_failure_status : 408;
      std::string reason, uri;
      self->send(plan().vm, relay_failed{plan().run, status, reason, uri});
      return;
    }
    if (asking_failure)
      return;
    apply(rc->finish());
  }

  int last_failure_status = 0;  ///< the best final failure seen (what finish() would pick)

  void route() {
    auto& m = *request;
    auto& us = *routing().identity;
    auto method = m.request_method();
    // §16.3. Max-Forwards 0 gets 483 even for an OPTIONS addressed to us:
    // §16.3 step 3 allows answering it, but operators expect Kamailio's
    // mf_process_maxfwd_header behaviour, and the issue asks for 483.
    if (m.max_forwards() == 0u) {
      respond(483);
      finish_if_done();
      return;
    }
    if (auto rej = proxy::validate(m, us)) {
      if (auto resp = proxy::make_rejection(m, *rej, to_tag))
        respond_message(*resp);
      finish_if_done();
      return;
    }
    if (method == sip::method::invite)
      respond(100);  // §16.2: a stateful proxy sends 100 Trying for INVITE
    auto ro = proxy::preprocess_routes(m, us);
    // §22.3: requests from our own users prove who they are (407 challenge).
    if (routing().proxy_guard) {
      if (auto refusal = routing().proxy_guard(m, now_ms())) {
        respond_message(*refusal);
        finish_if_done();
        return;
      }
    }
    if (ro.has_route) {  // §16.6 step 7: loose routing by the Route set
      single_target(m.request_uri());
      return;
    }
    auto ruri = proxy::sip_uri::parse(m.request_uri());
    // An in-dialog request goes to its remote target; otherwise a Request-URI
    // in one of our domains is looked up (§16.5).
    bool ours = ruri && (ro.request_uri_is_us
                         || (!ro.in_dialog
                             && routing().is_local_domain(ruri->host, ruri->port.value_or(0))));
    if (!ours && ro.in_dialog) {
      // An in-dialog request goes to its remote target when it came through
      // the route set we put ourselves in (Record-Route → our Route value,
      // Kamailio's loose_route()); one that did not is not ours to relay.
      if (ro.removed_self || ro.strict_route_restored)
        single_target(m.request_uri());
      else
        respond(404, "Not Here");
      finish_if_done();
      return;
    }
    if (!ours) {
      foreign();
      return;
    }
    if (ruri->user.empty()) {
      // Addressed to the switch itself: we are the UAS (§8.2).
      if (method == sip::method::options)
        answer_options();  // §11.2
      else if (method == sip::method::unknown || method == sip::method::publish)
        respond(501, {}, {{"Allow", stateless_core::allow}});  // §8.2.1
      else if (method == sip::method::bye || method == sip::method::info
               || method == sip::method::update || method == sip::method::prack
               || method == sip::method::notify)
        respond(481);  // in-dialog methods outside a dialog we hold (§12.2.2)
      else
        respond(404);
      finish_if_done();
      return;
    }
    auto aor = sip::normalize_aor(m.request_uri());
    if (!aor) {
      respond(404);
      finish_if_done();
      return;
    }
    auto reg = routing().registrar_of(*aor);
    // The 5 s guard runs on the worker's wheel: a CAF request timeout would go
    // through caf.clock, a thread woken twice per lookup (set and cancel).
    lookup_timer = svc().timers->arm(self, std::chrono::seconds{5}, lookup_tag);
    self->request(reg, caf::infinite, location_lookup{*aor})
      .then(
        [this](location_result& res) {
          if (!lookup_timer.valid())
            return;  // already answered 500
          svc().timers->cancel(lookup_timer);
          on_location(res);
        },
        [this](caf::error&) {
          if (!lookup_timer.valid())
            return;
          svc().timers->cancel(lookup_timer);
          location_unavailable();
        });
  }

  void location_unavailable() {
    respond(500, "Location Service Unavailable");
    finish_if_done();
  }

  static int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }

  void answer_options() {
    respond(200, {},
            {{"Allow", stateless_core::allow},
             {"Accept", "application/sdp"},
             {"Accept-Encoding", "identity"},
             {"Accept-Language", "en"},
             {"Supported", "path"}});
  }

  void foreign() {
    if (!routing().relay_foreign) {
      respond(403, "Relaying Forbidden");
      finish_if_done();
      return;
    }
    if (routing().outbound_proxy)
      forced_flow = flow{*routing().outbound_proxy, routing().outbound_transport, {}};
    single_target(request->request_uri());
  }

  void single_target(const std::string& uri) {
    groups = {{proxy::branch_target{uri, {}}}};
    rc.emplace(request->request_method() == sip::method::invite);
    start_next_group();
  }

  void on_location(location_result& res) {
    if (res.bindings.empty()) {
      if (request->request_method() == sip::method::options)
        answer_options();  // a ping for a local name nobody registered: we answer
      else if (res.known_user)
        respond(480);  // the user exists but is not registered now
      else
        respond(404);
      finish_if_done();
      return;
    }
    std::vector<proxy::contact_target> contacts;
    for (auto& b : res.bindings) {
      proxy::contact_target t;
      t.uri = std::string(b.contact());
      t.q = b.q / 1000.0;
      for (auto p : b.path())
        t.path.emplace_back(p);
      // NAT and flow reuse: without Path, reach the contact where its
      // REGISTER came from, over the same transport (and TCP connection),
      // when that is not where the Contact points: a TCP flow (RFC 5626 §5.3),
      // an outbound registration (reg-id), or a Contact address that differs
      // from the source address (a UA behind NAT).
      if (t.path.empty() && !b.received().empty() && reach_through_source(b)) {
        if (auto ep = drivers::endpoint::parse(b.received())) {
          flow f;
          f.destination = *ep;
          f.transport = b.transport() == "tcp" ? drivers::transport_kind::tcp
                                               : drivers::transport_kind::udp;
          f.conn = drivers::connection_id{b.connection};
          flows.emplace(t.uri, f);
        }
      }
      contacts.push_back(std::move(t));
    }
    groups = proxy::targets_from_contacts(contacts);
    if (groups.empty()) {
      respond(480);
      finish_if_done();
      return;
    }
    rc.emplace(request->request_method() == sip::method::invite);
    start_next_group();
  }

  void start_next_group() {
    while (next_group < groups.size()) {
      auto& group = groups[next_group++];
      rc->set_more_targets(next_group < groups.size() || may_get_more());
      std::size_t started = 0;
      for (auto& t : group)
        if (start_branch(t))
          ++started;
      if (started > 0)
        return;
    }
    // No branch could be started at all.
    if (may_get_more() && rc->pending_branches().empty() && !rc->final_sent()) {
      out_of_targets();
      if (!final_sent && (wait_timer.valid() || asking_failure))
        return;
    }
    apply(rc->finish());
    if (!final_sent)
      respond(480, "No Reachable Contact");
    finish_if_done();
  }

  bool start_branch(const proxy::branch_target& target) {
    auto& m = *request;
    bool rr = routing().record_route
              && proxy::record_route_by_default(m, proxy::route_outcome{});
    auto pb = proxy::prepare_branch(m, target, *routing().identity, rr, *ids);
    if (!pb) {
      svc().sip_log->debug("[cid={}] cannot forward to {}: {}", cid, target.uri,
                           pb.err().reason);
      return false;
    }
    flow f;
    if (forced_flow) {
      f = *forced_flow;
    } else if (auto it = flows.find(target.uri); it != flows.end() && target.path.empty()) {
      f = it->second;
    } else {
      auto t = transport_of(pb->hop.transport);
      auto ep = resolve_literal(pb->hop.host, pb->hop.port);
      if (!t || !ep) {
        svc().sip_log->debug("[cid={}] no route to {} ({}:{} over {})", cid, target.uri,
                             pb->hop.host, pb->hop.port, pb->hop.transport);
        return false;
      }
      f = flow{*ep, *t, {}};
    }
    if (deps.plan) {
      for (auto& [n, v] : plan().headers)
        pb->request.add_header(n, v);
      if (auto h = branch_headers.find(target.uri); h != branch_headers.end())
        for (auto& [n, v] : h->second)
          pb->request.add_header(n, v);
    }
    auto id = pb->branch;
    if (!rc->add_branch(id))
      return false;
    client_txn_init c;
    c.services = deps.services;
    c.request_bytes = pb->request.serialize();
    c.request = std::make_shared<sip::message>(std::move(pb->request));
    c.transport = f.transport;
    c.destination = f.destination;
    c.conn = f.conn;
    c.branch = id;
    c.tu = self;
    c.shard = deps.shard;
    auto txn = spawn_client_txn(self->home_system(), std::move(c));
    self->monitor(txn);
    ++live_txns;
    branch_info info;
    info.txn = txn;
    info.index = next_index++;
    info.sent_to = f;
    info.target_uri = target.uri;
    if (m.request_method() == sip::method::invite)  // §16.6 step 11: Timer C
      info.timer_c = svc().timers->arm(self, branch_timeout(), info.index);
    svc().sip_log->debug("[cid={}] branch {} to {} via {}", cid, id, target.uri,
                         f.destination.to_string());
    branches.emplace(id, std::move(info));
    return true;
  }

  // -- responses -------------------------------------------------------------

  void on_response(txn_response& r) {
    if (!rc)
      return;
    auto it = branches.find(r.branch);
    if (it == branches.end())
      return;  // e.g. the 200 of our own CANCEL
    if (r.status >= 100 && r.status < 200 && request->request_method() == sip::method::invite) {
      // §16.8: a provisional response restarts Timer C.
      svc().timers->cancel(it->second.timer_c);
      it->second.timer_c = svc().timers->arm(self, branch_timeout(), it->second.index);
    } else if (r.status >= 200) {
      svc().timers->cancel(it->second.timer_c);
    }
    if (r.status >= 300)
      last_failure_status = better_failure(r.status, last_failure_status);
    if (deps.plan && plan().tell_replies && r.msg)
      self->send(plan().vm, relay_reply{plan().run, r.status, r.msg->reason_phrase(),
                                        r.msg->serialize()});
    proxy::response_decision d;
    if (r.msg)
      d = rc->on_response(r.branch, std::move(*r.msg));
    else if (r.status == 408) {
      publish_timeout(it->second);
      d = rc->on_branch_timeout(r.branch);
    }
    else
      d = rc->on_transport_error(r.branch);
    apply(std::move(d));
    finish_if_done();
  }

  /// TRANSACTION_TIMEOUT: a branch's client transaction got no final response
  /// (Timer B or F).
  void publish_timeout(const branch_info& b) {
    if (!routing().events
        || (routing().event_stats && !routing().event_stats->wanted("TRANSACTION_TIMEOUT")))
      return;
    events::event ev("TRANSACTION_TIMEOUT");
    ev.set("call_id", cid);
    ev.set("method", std::string(request->method_name()));
    ev.set("ruri", b.target_uri);
    ev.set("destination", b.sent_to.destination.to_string());
    self->send(routing().events, publish_event{std::move(ev)});
  }

  void apply(proxy::response_decision d) {
    if (d.forward) {
      auto& up = *d.forward;
      if (up.response) {
        if (proxy::prepare_response(*up.response))  // §16.7 step 3
          send_upstream(up.status, up.response->serialize(), &*up.response);
      } else {
        respond(up.status);
      }
    }
    for (auto& id : d.cancel)
      if (auto it = branches.find(id); it != branches.end())
        self->send(it->second.txn, cancel_branch{});
    if (d.try_next_targets) {
      if (next_group < groups.size())
        start_next_group();
      else if (may_get_more())
        out_of_targets();
      else
        apply(rc->finish());
    }
  }

  static int better_failure(int a, int b) { return proxy::better_final(a, b) ? a : b; }

  void on_timer(const timer_expired& t) {
    if (t.tag == wait_tag) {
      wait_timer = {};
      wait_over = true;
      svc().sip_log->debug("[cid={}] no new branch came: answering", cid);
      if (rc && rc->pending_branches().empty() && !rc->final_sent()) {
        if (deps.plan && plan().ask_on_failure)
          out_of_targets();
        else if (branches.empty())
          respond(480);  // nobody came: not the 408 of a branch that never answered
        else
          apply(rc->finish());
      }
      finish_if_done();
      return;
    }
    if (t.tag == lookup_tag) {
      if (lookup_timer.valid()) {
        lookup_timer = {};
        svc().sip_log->warn("[cid={}] location lookup unanswered after 5 s", cid);
        location_unavailable();
      }
      return;
    }
    for (auto& [id, info] : branches) {
      if (info.index != t.tag)
        continue;
      info.timer_c = {};
      svc().sip_log->debug("[cid={}] Timer C fired on branch {}", cid, id);
      apply(rc->on_branch_timeout(id));  // §16.8: CANCEL it, or count it as 408
      finish_if_done();
      return;
    }
  }

  void on_cancelled() {
    if (wait_timer.valid()) {
      svc().timers->cancel(wait_timer);
      wait_over = true;
    }
    asking_failure = false;
    if (!rc) {
      respond(487);  // nothing forwarded yet (§16.10)
      finish_if_done();
      return;
    }
    apply(rc->on_cancel());
    finish_if_done();
  }

  void on_down(const caf::down_msg& m) {
    if (server && m.source == server.address()) {
      // The server transaction is gone. Normally it outlives our answer;
      // if it was killed (shutdown), stop the branches and go.
      if (m.reason != caf::exit_reason::normal) {
        for (auto& [id, info] : branches)
          caf::anon_send_exit(info.txn, caf::exit_reason::user_shutdown);
        self->quit(m.reason);
      }
      return;
    }
    if (live_txns > 0)
      --live_txns;
    finish_if_done();
  }

  void finish_if_done() {
    // The context ends when its answer is out and no client transaction of
    // it is left (an INVITE branch in RFC 6026's Accepted state still passes
    // 2xx retransmissions here for 64*T1).
    bool answered = final_sent || (rc && rc->done());
    if (answered && live_txns == 0) {
      for (auto& [id, info] : branches)
        svc().timers->cancel(info.timer_c);
      if (wait_timer.valid())
        svc().timers->cancel(wait_timer);
      self->quit();
    }
  }

  // -- stateless forwarding (ACK of a 2xx, unmatched CANCEL) ------------------

  void forward_statelessly() {
    auto& m = *request;
    auto& us = *routing().identity;
    if (proxy::validate(m, us))
      return;  // a broken ACK gets no answer (§17)
    auto ro = proxy::preprocess_routes(m, us);
    auto ruri = proxy::sip_uri::parse(m.request_uri());
    bool ours = ruri && !ro.has_route && ro.request_uri_is_us;
    if (ours)
      return;  // an ACK or CANCEL for us ends here
    auto pb = proxy::prepare_branch(m, proxy::branch_target{m.request_uri(), {}}, us, false, *ids);
    if (!pb)
      return;
    auto t = transport_of(pb->hop.transport);
    auto ep = resolve_literal(pb->hop.host, pb->hop.port);
    if (!t || !ep)
      return;
    drivers::outbound_message out;
    out.transport = *t;
    out.destination = *ep;
    out.bytes = pb->request.serialize();
    svc().hub->send(std::move(out));
  }
};

caf::behavior proxy_context(caf::stateful_actor<proxy_state>* self, proxy_context_deps deps) {
  auto& st = self->state;
  st.deps = std::move(deps);
  st.self = self;
  self->set_down_handler([&st](caf::down_msg& m) { st.on_down(m); });
  return {
    [&st](txn_request& r) { st.on_request(r); },
    [&st](txn_response& r) { st.on_response(r); },
    [&st](upstream_cancelled) { st.on_cancelled(); },
    [&st](timer_expired t) { st.on_timer(t); },
    [&st](relay_more& m) { st.on_relay_more(m); },
    [&st](const failure_handled& h) { st.on_failure_handled(h); },
    [](server_txn_done) {},
  };
}

} // namespace

/// Whether to reach a binding at its REGISTER's source rather than its Contact.
bool reach_through_source(const sip::binding& b) {
  if (b.transport() == "tcp" || b.reg_id != 0)
    return true;
  auto contact = sip::proxy::sip_uri::parse(b.contact());
  auto source = drivers::endpoint::parse(b.received());
  if (!contact || !source)
    return false;
  std::string host = contact->host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto contact_ep = drivers::endpoint::from(host, source->port());
  return !contact_ep || contact_ep->address() != source->address();
}

caf::actor spawn_proxy_context(caf::actor_system& sys, proxy_context_deps deps) {
  return sys.spawn(proxy_context, std::move(deps));
}

} // namespace centralita::actors
