// Properties of the §16.7 response context (rapidcheck): for any number of branches
// and any order and mix of responses (1xx..6xx), Timer C firings and transport
// errors, once every branch has ended:
//  1. if a 2xx went upstream, every 2xx that arrived on a live (or 2xx-ended) INVITE
//     branch went upstream and no non-2xx final did;
//  2. otherwise exactly one final response went upstream, of the best class by
//     §16.7 step 6 (6xx if any arrived, else the lowest class; 503 sent as 500);
//  3. no 100 and no provisional after the final response went upstream;
//  4. after a 6xx, every live branch is CANCELled (once it has a provisional) and no
//     branch can be added.

#include "protocols/sip/proxy/response_context.hpp"

#include "proxy_test_support.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::sip;
using namespace centralita::sip::proxy;
using namespace centralita::sip::proxy::test;

namespace {

enum class kind { response, timeout, transport_error };

struct event {
  size_t branch;
  kind k;
  int status;
};

struct model_branch {
  bool proceeding = false;
  bool ended = false;
  bool got_2xx = false;
  bool cancel_sent = false;
  bool cancel_due = false;  // cancelled while without a provisional
};

const std::vector<int> statuses = {100, 180, 183, 200, 202, 302, 401, 404, 407, 408,
                                   486, 487, 500, 503, 600, 603, 604};

RC_GTEST_PROP(ResponseContextProp, ChoosesExactlyOneBestFinalUnless2xx, ()) {
  const bool invite = *rc::gen::arbitrary<bool>();
  const size_t n = *rc::gen::inRange<size_t>(1, 6);
  const auto events = *rc::gen::container<std::vector<event>>(rc::gen::build<event>(
      rc::gen::set(&event::branch, rc::gen::inRange<size_t>(0, n)),
      rc::gen::set(&event::k, rc::gen::weightedElement<kind>(
                                  {{8, kind::response}, {1, kind::timeout}, {1, kind::transport_error}})),
      rc::gen::set(&event::status, rc::gen::elementOf(statuses))));

  message request = parse_ok(invite_text());
  auto make = [&](int status) { return response_to(request, status); };

  response_context ctx(invite);
  std::vector<model_branch> model(n);
  for (size_t i = 0; i < n; ++i) RC_ASSERT(ctx.add_branch("b" + std::to_string(i)));

  int forwarded_2xx = 0, expected_2xx = 0, forwarded_final = 0, chosen = 0;
  bool final_up = false, six_seen = false;
  int best = 0;  // by better_final, over accepted non-2xx finals (synthesized included)

  auto apply = [&](const response_decision& d) {
    for (const auto& id : d.cancel) {
      auto& b = model[std::stoul(id.substr(1))];
      RC_ASSERT(invite);
      RC_ASSERT(!b.cancel_sent);   // one CANCEL per branch
      RC_ASSERT(b.proceeding);     // §9.1: only after a provisional
      b.cancel_sent = true;
    }
    if (d.forward) {
      int s = d.forward->status;
      if (s < 200) {
        RC_ASSERT(s != 100);
        RC_ASSERT(!final_up);
      } else if (s < 300) {
        ++forwarded_2xx;
        final_up = true;
      } else {
        RC_ASSERT(!final_up);
        ++forwarded_final;
        chosen = s;
        final_up = true;
      }
    }
  };

  auto final_failure = [&](size_t i, int status) {
    model[i].ended = true;
    if (final_up) return;
    if (better_final(status, best)) best = status;
    if (status >= 600) six_seen = true;
  };

  auto step = [&](const event& e) {
    auto& b = model[e.branch];
    std::string id = "b" + std::to_string(e.branch);
    if (e.k == kind::response) {
      int s = e.status;
      if (s < 200) {
        if (!b.ended) b.proceeding = true;
      } else if (s < 300) {
        if (!b.ended || b.got_2xx) {
          if (invite || !final_up) ++expected_2xx;
          b.ended = true;
          b.got_2xx = true;
        }
      } else if (!b.ended) {
        final_failure(e.branch, s);
      }
      apply(ctx.on_response(id, make(s)));
    } else if (e.k == kind::timeout) {
      if (!b.ended) {
        if (!(invite && b.proceeding && !b.cancel_sent)) final_failure(e.branch, 408);
      }
      apply(ctx.on_branch_timeout(id));
    } else {
      if (!b.ended) final_failure(e.branch, 503);
      apply(ctx.on_transport_error(id));
    }
    if (six_seen && !final_up) {
      // 4. after a 6xx, live INVITE branches with a provisional are CANCELled.
      for (const auto& mb : model)
        if (invite && !mb.ended && mb.proceeding) RC_ASSERT(mb.cancel_sent);
      RC_ASSERT(!ctx.add_branch("late"));
    }
  };

  for (const auto& e : events) step(e);
  // Drive every branch to its end: a Timer C firing, twice when it CANCELs first.
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < 2 && !model[i].ended; ++k) step({i, kind::timeout, 0});

  RC_ASSERT(ctx.pending_branches().empty());
  RC_ASSERT(ctx.final_sent());
  RC_ASSERT(ctx.done());
  RC_ASSERT(forwarded_2xx == expected_2xx);
  if (forwarded_2xx > 0) {
    RC_ASSERT(forwarded_final == 0);  // 1.
  } else {
    RC_ASSERT(forwarded_final == 1);  // 2.
    int expected = best == 0 ? 408 : best == 503 ? 500 : best;
    RC_ASSERT(chosen / 100 == expected / 100);
    RC_ASSERT(chosen == expected);
    if (six_seen) RC_ASSERT(chosen >= 600);
  }
}

} // namespace
