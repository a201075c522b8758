// Properties of process_register (rapidcheck): for any sequence of REGISTER
// requests over a small pool of contacts, Call-IDs, CSeqs and expiry values,
// applied at increasing times,
//  1. an error changes nothing (the answer lists the unexpired bindings as they were);
//  2. a 200 leaves unexpired bindings only, no duplicate contact, no expiry over the
//     maximum, no more than max_contacts unless the request did not add any, and one
//     Contact in the answer per binding;
//  3. the reported changes explain the new list (before - removed + added) and
//     never name one contact twice.

#include "protocols/sip/registrar/registrar.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <set>
#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::sip;

namespace {

struct step {
  register_request request;
  int64_t advance = 0;
};

rc::Gen<register_contact> gen_contact() {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::inRange(0, 5), rc::gen::maybe(rc::gen::element(0u, 30u, 60u, 600u, 100000u)),
                     rc::gen::inRange(0, 3)),
      [](const std::tuple<int, rc::Maybe<uint32_t>, int>& t) {
        register_contact c;
        c.uri = "sip:u@192.0.2." + std::to_string(std::get<0>(t));
        if (std::get<1>(t)) c.expires = *std::get<1>(t);
        if (std::get<2>(t) != 0) {  // some contacts are RFC 5626 flows of one instance
          c.instance = "<urn:uuid:1>";
          c.reg_id = static_cast<uint32_t>(std::get<2>(t));
        }
        return c;
      });
}

rc::Gen<step> gen_step() {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::element<std::string>("c1", "c2"), rc::gen::inRange<uint32_t>(1, 8),
                     rc::gen::maybe(rc::gen::element(0u, 30u, 600u)),
                     rc::gen::mapcat(rc::gen::inRange<size_t>(0, 4),
                                     [](size_t n) {
                                       return rc::gen::container<std::vector<register_contact>>(
                                           n, gen_contact());
                                     }),
                     rc::gen::weightedOneOf<bool>({{1, rc::gen::just(true)}, {9, rc::gen::just(false)}}),
                     rc::gen::inRange<int64_t>(0, 700)),
      [](const auto& t) {
        step s;
        s.request.aor = "u@example.com";
        s.request.call_id = std::get<0>(t);
        s.request.cseq = std::get<1>(t);
        s.request.expires = std::get<2>(t) ? std::optional<uint32_t>(*std::get<2>(t)) : std::nullopt;
        s.request.contacts = std::get<3>(t);
        s.request.star = std::get<4>(t);
        s.advance = std::get<5>(t);
        return s;
      });
}

std::multiset<std::string> keys(const std::vector<binding>& v) {
  std::multiset<std::string> out;
  for (const auto& b : v) out.emplace(b.contact());
  return out;
}

} // namespace

RC_GTEST_PROP(registrar_prop, sequences_keep_invariants, ()) {
  registrar_config cfg;
  cfg.max_contacts = 3;
  cfg.max_expires = 3000;
  const auto steps = *rc::gen::container<std::vector<step>>(gen_step());
  std::vector<binding> current;
  int64_t now = 1'800'000'000;
  for (const step& s : steps) {
    now += s.advance;
    std::vector<binding> before;
    for (const auto& b : current)
      if (b.expires_at > now) before.push_back(b);
    auto out = process_register(current, s.request, cfg, now);
    RC_ASSERT(out.status == 200 || out.status == 400 || out.status == 423 || out.status == 500
              || out.status == 503);
    RC_ASSERT(out.expired.size() + before.size() == current.size());
    if (out.status != 200) {
      RC_ASSERT(out.bindings == before);
      RC_ASSERT(out.added.empty() && out.refreshed.empty() && out.removed.empty());
      RC_ASSERT(out.contacts.empty());
    } else {
      std::set<std::string> seen;
      for (const auto& b : out.bindings) {
        RC_ASSERT(b.expires_at > now);
        RC_ASSERT(b.expires_at - now <= int64_t{cfg.max_expires});
        RC_ASSERT(seen.insert(std::string(b.contact())).second);
      }
      RC_ASSERT(out.bindings.size() <= cfg.max_contacts || out.bindings.size() <= before.size());
      RC_ASSERT(out.contacts.size() == out.bindings.size());
      auto expect = keys(before);
      for (const auto& r : out.removed) {
        auto it = expect.find(std::string(r.contact()));
        RC_ASSERT(it != expect.end());
        expect.erase(it);
      }
      for (const auto& a : out.added) expect.emplace(a.contact());
      RC_ASSERT(expect == keys(out.bindings));
      for (const auto& r : out.refreshed) RC_ASSERT(keys(out.bindings).count(std::string(r.contact())) == 1u);
      // The change lists are disjoint (the registrar shard applies them in any order).
      std::set<std::string> changed;
      for (const auto* list : {&out.added, &out.refreshed, &out.removed})
        for (const auto& b : *list) RC_ASSERT(changed.insert(std::string(b.contact())).second);
    }
    current = out.bindings;
  }
}
