#pragma once

// RFC 3261 §16.7 (response processing), §16.8 (Timer C) and §16.10 (CANCEL) for one
// forwarded request: which responses go upstream now, which branches to CANCEL, and
// the best final response once every branch has ended. Pure: the proxy context actor
// feeds it events and carries out the decisions (send, CANCEL, start next q group).

#include "protocols/sip/message.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace centralita::sip::proxy {

/// A response to send upstream on the server transaction.
struct upstream_response {
  int status = 0;  ///< the status to send upstream
  /// The downstream response to forward (call `prepare_response` on it first).
  /// nullopt: build `status` from the original request with `make_response` — a
  /// synthesized 408 (§16.8 / §16.7 step 6, no final response), 500 (a chosen 503,
  /// received or from a transport error §8.1.3.1: §16.7 step 6) or 487 (cancelled
  /// before any branch answered, §16.10).
  std::optional<message> response;
};

/// What to do after one event.
struct response_decision {
  /// Send this upstream now (a provisional, a 2xx, or the chosen final response).
  std::optional<upstream_response> forward;
  /// Branch ids whose client transactions get a CANCEL now (§16.7 step 10, 6xx,
  /// §16.8 Timer C, §16.10). Only branches that received a provisional (§9.1).
  std::vector<std::string> cancel;
  /// Every branch has ended without a 2xx or 6xx and more targets were announced
  /// (`set_more_targets`): start the next q-value group (serial forking, §16.6), or
  /// call `finish()` if there is none after all.
  bool try_next_targets = false;
};

/// The response context of RFC 3261 §16.7 for one forwarded request.
class response_context {
public:
  /// `invite`: the request is an INVITE (CANCEL and multiple 2xx apply, §16.7 step 5).
  explicit response_context(bool invite) : invite_(invite) {}

  /// A new branch (client transaction) with our Via branch `id`. false (and nothing
  /// added) once a final response went upstream, a 6xx arrived (§16.7 step 5: no new
  /// branches), the request was cancelled (§16.10), or `id` is already known.
  bool add_branch(std::string id);
  /// Announces whether more target groups remain after the current branches
  /// (serial forking). Default false.
  void set_more_targets(bool more) { more_targets_ = more; }

  /// RFC 3261 §16.7 steps 4–10: a response arrived on branch `id` (matched by the
  /// client transaction; our Via still on top). Responses on unknown branches, or
  /// non-2xx responses on ended branches, change nothing.
  response_decision on_response(std::string_view id, message response);
  /// RFC 3261 §16.8: Timer C (or the client transaction's timeout) fired for `id`.
  /// With a provisional received and no CANCEL sent: CANCEL it (the 487 ends it).
  /// Otherwise the branch ends as if it received a 408.
  response_decision on_branch_timeout(std::string_view id);
  /// RFC 3261 §8.1.3.1 / §16.7 step 6: the transport failed on `id`: it ends as a 503
  /// (which, when chosen, goes upstream as a 500).
  response_decision on_transport_error(std::string_view id);
  /// RFC 3261 §16.10: the upstream CANCELled the request: CANCEL every pending branch
  /// (now, or as soon as it has a provisional, §9.1); no new branches. The branches'
  /// 487s then make the final response (487 upstream).
  response_decision on_cancel();
  /// Chooses and sends the final response now (no more targets to try): the best
  /// response so far, or 408 when there is none (487 when cancelled). Nothing when a
  /// final response already went upstream.
  response_decision finish();

  /// Branches without a final response (in creation order).
  std::vector<std::string> pending_branches() const;
  /// The branch whose response is (so far) the best final non-2xx, or that sent the
  /// first 2xx.
  std::optional<std::string> best_branch() const;
  /// True once a final response (2xx or the chosen one) went upstream.
  bool final_sent() const noexcept { return final_sent_; }
  /// True once a 6xx arrived.
  bool six_hundred_received() const noexcept { return six_seen_; }
  /// True when a final response went upstream and no branch is pending.
  bool done() const;

private:
  enum class state { calling, proceeding, ended };
  struct branch {
    std::string id;
    state st = state::calling;
    bool cancel_wanted = false;  // CANCEL as soon as a provisional arrives (§9.1)
    bool cancel_sent = false;
    int final_status = 0;
    bool got_2xx = false;
  };

  branch* find(std::string_view id);
  /// Marks `b` cancelled: CANCEL now if it has a provisional, else once it has one.
  void cancel_branch(branch& b, response_decision& d);
  void cancel_all_pending(response_decision& d, std::string_view except);
  /// A non-2xx final (real or synthesized) ends branch `b`.
  response_decision on_final_failure(branch& b, int status, std::optional<message> response);
  /// When no branch is pending: choose, or ask for the next group.
  void settle(response_decision& d);
  void choose_final(response_decision& d);

  bool invite_;
  bool more_targets_ = false;
  bool final_sent_ = false;
  bool six_seen_ = false;
  bool cancelled_ = false;
  std::vector<branch> branches_;
  // The best final non-2xx so far (§16.7 step 6).
  int best_status_ = 0;
  std::string best_branch_;
  std::optional<message> best_response_;
  // RFC 3261 §16.7 step 7: challenges from every 401/407, with the branch they came from.
  struct challenge {
    std::string branch;
    std::string header;
    std::string value;
  };
  std::vector<challenge> challenges_;
};

/// RFC 3261 §16.7 step 6: true when final status `a` is a better choice than `b`
/// (0 = none): 6xx beats everything, then the lowest class wins; within 4xx the
/// codes that help resubmission (401, 407, 415, 420, 484) are preferred; otherwise
/// the first received stays.
bool better_final(int a, int b) noexcept;

} // namespace centralita::sip::proxy
