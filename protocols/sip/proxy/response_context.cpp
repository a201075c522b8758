#include "protocols/sip/proxy/response_context.hpp"

#include <algorithm>

namespace centralita::sip::proxy {

namespace {

/// RFC 3261 §16.7 step 6: 4xx responses that tell the client how to resubmit.
bool helps_resubmission(int status) noexcept {
  return status == 401 || status == 407 || status == 415 || status == 420 || status == 484;
}

} // namespace

bool better_final(int a, int b) noexcept {
  if (a == 0) return false;
  if (b == 0) return true;
  int ca = a / 100, cb = b / 100;
  // RFC 3261 §16.7 step 6: "MUST choose from the 6xx class responses if any exist".
  if (cb == 6) return false;
  if (ca == 6) return true;
  // RFC 3261 §16.7 step 6: "SHOULD choose from the lowest response class".
  if (ca != cb) return ca < cb;
  // RFC 3261 §16.7 step 6: prefer 401, 407, 415, 420 and 484 within 4xx.
  return ca == 4 && helps_resubmission(a) && !helps_resubmission(b);
}

response_context::branch* response_context::find(std::string_view id) {
  auto it = std::find_if(branches_.begin(), branches_.end(), [&](const branch& b) { return b.id == id; });
  return it == branches_.end() ? nullptr : &*it;
}

bool response_context::add_branch(std::string id) {
  // RFC 3261 §16.7 step 5 (6xx) and §16.10: no new branches after these.
  if (final_sent_ || six_seen_ || cancelled_ || find(id) != nullptr) return false;
  branches_.push_back(branch{std::move(id)});
  return true;
}

void response_context::cancel_branch(branch& b, response_decision& d) {
  if (b.st == state::ended || b.cancel_sent) return;
  if (b.st == state::proceeding) {
    b.cancel_sent = true;
    d.cancel.push_back(b.id);
  } else {
    b.cancel_wanted = true;  // RFC 3261 §9.1: not before a provisional response
  }
}

void response_context::cancel_all_pending(response_decision& d, std::string_view except) {
  if (!invite_) return;  // RFC 3261 §9.1: only INVITE transactions can be cancelled
  for (branch& b : branches_)
    if (b.id != except) cancel_branch(b, d);
}

response_decision response_context::on_response(std::string_view id, message response) {
  response_decision d;
  branch* b = find(id);
  int status = response.status();
  if (b == nullptr || status < 100) return d;
  if (status < 200) {
    if (b->st == state::ended) return d;
    b->st = state::proceeding;
    // RFC 3261 §9.1: a CANCEL held back for want of a provisional goes now.
    if (b->cancel_wanted && !b->cancel_sent) {
      b->cancel_sent = true;
      d.cancel.push_back(b->id);
    }
    // RFC 3261 §16.7 step 5: provisional responses other than 100 go upstream
    // until a final response has been sent.
    if (status != 100 && !final_sent_) d.forward = upstream_response{status, std::move(response)};
    return d;
  }
  if (status < 300) {
    if (b->st == state::ended && !b->got_2xx) return d;
    b->st = state::ended;
    b->got_2xx = true;
    b->final_status = status;
    // RFC 3261 §16.7 step 5: every 2xx to an INVITE goes upstream, even after a
    // final response (downstream forking); for other methods only the first.
    if (final_sent_ && !invite_) return d;
    d.forward = upstream_response{status, std::move(response)};
    if (!final_sent_) {
      final_sent_ = true;
      best_branch_ = b->id;
      // RFC 3261 §16.7 step 10: a final response went upstream: CANCEL the others.
      cancel_all_pending(d, b->id);
    }
    return d;
  }
  if (b->st == state::ended) return d;
  return on_final_failure(*b, status, std::move(response));
}

response_decision response_context::on_final_failure(branch& b, int status, std::optional<message> response) {
  response_decision d;
  b.st = state::ended;
  b.final_status = status;
  if (final_sent_) return d;
  // RFC 3261 §16.7 step 7: keep every 401/407 challenge to merge into the chosen one.
  if (response && (status == 401 || status == 407)) {
    const char* name = status == 401 ? "WWW-Authenticate" : "Proxy-Authenticate";
    for (auto& v : response->header_values(name)) challenges_.push_back({b.id, name, std::move(v)});
  }
  // RFC 3261 §16.7 step 6: keep the best so far.
  if (better_final(status, best_status_)) {
    best_status_ = status;
    best_branch_ = b.id;
    best_response_ = std::move(response);
  }
  // RFC 3261 §16.7 step 5: a 6xx ends forking: CANCEL every other pending branch.
  if (status >= 600 && !six_seen_) {
    six_seen_ = true;
    cancel_all_pending(d, b.id);
  }
  settle(d);
  return d;
}

response_decision response_context::on_branch_timeout(std::string_view id) {
  branch* b = find(id);
  if (b == nullptr || b->st == state::ended) return {};
  // RFC 3261 §16.8: Timer C with a provisional received: CANCEL the branch.
  if (invite_ && b->st == state::proceeding && !b->cancel_sent) {
    response_decision d;
    b->cancel_sent = true;
    d.cancel.push_back(b->id);
    return d;
  }
  // RFC 3261 §16.8: without a provisional (or when even the CANCEL got no final
  // response, §9.1's 64*T1), behave as if a 408 arrived.
  return on_final_failure(*b, 408, std::nullopt);
}

response_decision response_context::on_transport_error(std::string_view id) {
  branch* b = find(id);
  if (b == nullptr || b->st == state::ended) return {};
  // RFC 3261 §8.1.3.1: a transport failure is a 503 from the client transaction.
  return on_final_failure(*b, 503, std::nullopt);
}

response_decision response_context::on_cancel() {
  response_decision d;
  if (!invite_ || final_sent_) return d;
  cancelled_ = true;
  // RFC 3261 §16.10: CANCEL every pending client transaction of the context.
  cancel_all_pending(d, {});
  if (pending_branches().empty()) choose_final(d);
  return d;
}

response_decision response_context::finish() {
  response_decision d;
  more_targets_ = false;
  settle(d);
  return d;
}

void response_context::settle(response_decision& d) {
  if (final_sent_) return;
  if (std::any_of(branches_.begin(), branches_.end(), [](const branch& b) { return b.st != state::ended; }))
    return;
  // RFC 3261 §16.6: serial forking tries the next q-value group, unless a 6xx or a
  // CANCEL ended the search.
  if (more_targets_ && !six_seen_ && !cancelled_) {
    d.try_next_targets = true;
    return;
  }
  choose_final(d);
}

void response_context::choose_final(response_decision& d) {
  final_sent_ = true;
  if (best_status_ == 0) {
    // RFC 3261 §16.7 step 6: no final response at all gives 408 (487 if cancelled).
    d.forward = upstream_response{cancelled_ ? 487 : 408, std::nullopt};
    return;
  }
  // RFC 3261 §16.7 step 6: a chosen 503 goes upstream as 500, so the client does
  // not take this proxy for unavailable.
  if (best_status_ == 503) {
    d.forward = upstream_response{500, std::nullopt};
    return;
  }
  if (best_response_ && (best_status_ == 401 || best_status_ == 407)) {
    // RFC 3261 §16.7 step 7: add the other branches' challenges unchanged.
    for (const challenge& c : challenges_)
      if (c.branch != best_branch_) (void)best_response_->add_header(c.header, c.value);
  }
  d.forward = upstream_response{best_status_, std::move(best_response_)};
  best_response_.reset();
}

std::vector<std::string> response_context::pending_branches() const {
  std::vector<std::string> out;
  for (const branch& b : branches_)
    if (b.st != state::ended) out.push_back(b.id);
  return out;
}

std::optional<std::string> response_context::best_branch() const {
  if (best_branch_.empty()) return std::nullopt;
  return best_branch_;
}

bool response_context::done() const {
  return final_sent_ && std::none_of(branches_.begin(), branches_.end(),
                                     [](const branch& b) { return b.st != state::ended; });
}

} // namespace centralita::sip::proxy
