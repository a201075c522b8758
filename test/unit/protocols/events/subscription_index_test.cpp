// subscription_index: anchored and unanchored filing, removal, and a property
// check against the brute force (every filter asked about every event).

#include "protocols/events/subscription_index.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

using namespace centralita;
using namespace centralita::events;

namespace {

using id = subscription_index::id;

filter must(std::string_view text) {
  auto r = filter::parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.err().reason);
  return r.ok() ? std::move(r).value() : filter{};
}

std::vector<id> match(const subscription_index& idx, const event& e) {
  std::vector<id> out;
  idx.match(e, out);
  std::sort(out.begin(), out.end());
  return out;
}

event reg(std::string aor) {
  event e("REGISTER");
  e.set("aor", std::move(aor)).set("contact", "sip:u@192.0.2.1").set("expires", "60");
  return e;
}

} // namespace

TEST(subscription_index, add_match_remove) {
  subscription_index idx;
  idx.add(1, must("REGISTER aor=bob@example.com"));
  idx.add(2, must("REGISTER aor=alice@example.com"));
  idx.add(3, must("REGISTER"));
  idx.add(4, must("UNREGISTER aor=bob@example.com"));
  idx.add(5, must("REGISTER aor=bob@example.com expires=60"));
  idx.add(6, must("REGISTER aor=bob@example.com expires=0"));
  EXPECT_EQ(idx.size(), 6u);
  ASSERT_NE(idx.find(5), nullptr);
  EXPECT_EQ(idx.find(5)->to_string(), "REGISTER aor=bob@example.com expires=60");
  EXPECT_EQ(idx.find(7), nullptr);

  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{1, 3, 5}));
  EXPECT_EQ(match(idx, reg("alice@example.com")), (std::vector<id>{2, 3}));
  EXPECT_EQ(match(idx, reg("carol@example.com")), (std::vector<id>{3}));
  EXPECT_EQ(match(idx, event("EXPIRED")), (std::vector<id>{}));

  EXPECT_TRUE(idx.remove(1));
  EXPECT_FALSE(idx.remove(1));
  EXPECT_FALSE(idx.remove(42));
  EXPECT_EQ(idx.size(), 5u);
  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{3, 5}));
  EXPECT_TRUE(idx.remove(3));
  EXPECT_TRUE(idx.remove(5));
  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{}));
  EXPECT_EQ(match(idx, reg("alice@example.com")), (std::vector<id>{2}));
  // Out is appended to, not cleared.
  std::vector<id> out{99};
  idx.match(reg("alice@example.com"), out);
  EXPECT_EQ(out, (std::vector<id>{99, 2}));
}

TEST(subscription_index, a_bucket_outlives_the_subscription_that_keyed_it) {
  // An anchored bucket is keyed by one of its subscriptions: removing that one
  // re-keys the bucket with another (here spelled in another case).
  subscription_index idx;
  idx.add(1, must("REGISTER aor=bob@example.com"));
  idx.add(2, must("register AOR=bob@example.com expires=60"));
  idx.add(3, must("REGISTER Aor=bob@example.com"));
  EXPECT_TRUE(idx.remove(1));
  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{2, 3}));
  EXPECT_TRUE(idx.remove(3));
  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{2}));
  idx.add(4, must("REGISTER aor=bob@example.com"));
  EXPECT_TRUE(idx.remove(2));
  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{4}));
  EXPECT_TRUE(idx.remove(4));
  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{}));
  EXPECT_EQ(idx.size(), 0u);
  idx.add(5, must("REGISTER aor=bob@example.com"));
  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{5}));
}

TEST(subscription_index, names_match_in_any_case) {
  subscription_index idx;
  idx.add(1, must("register AOR=Bob"));
  idx.add(2, must("register aor=b*"));
  event e;
  e.name = "Register";
  e.attrs.push_back({"Aor", "Bob"});
  EXPECT_EQ(match(idx, e), (std::vector<id>{1}));
  e.attrs[0].value = "bob";
  EXPECT_EQ(match(idx, e), (std::vector<id>{2}));
}

TEST(subscription_index, each_id_once_even_with_a_repeated_attribute) {
  subscription_index idx;
  idx.add(1, must("REGISTER aor=x"));
  event e("REGISTER");
  e.attrs.push_back({"aor", "x"});
  e.attrs.push_back({"AOR", "x"});  // breaks the unique-names contract
  EXPECT_EQ(match(idx, e), (std::vector<id>{1}));
}

TEST(subscription_index, one_hundred_thousand_anchored_waits) {
  subscription_index idx;
  constexpr id n = 100'000;
  for (id i = 0; i < n; ++i)
    idx.add(i, must("REGISTER aor=user" + std::to_string(i) + "@example.com"));
  EXPECT_EQ(idx.size(), n);
  EXPECT_EQ(match(idx, reg("user31337@example.com")), (std::vector<id>{31337}));
  EXPECT_EQ(match(idx, reg("user0@example.com")), (std::vector<id>{0}));
  EXPECT_EQ(match(idx, reg("user100000@example.com")), (std::vector<id>{}));
  EXPECT_EQ(match(idx, reg("User1@example.com")), (std::vector<id>{}));
  for (id i = 0; i < n; i += 2)
    ASSERT_TRUE(idx.remove(i));
  EXPECT_EQ(idx.size(), n / 2);
  EXPECT_EQ(match(idx, reg("user31337@example.com")), (std::vector<id>{31337}));
  EXPECT_EQ(match(idx, reg("user31338@example.com")), (std::vector<id>{}));
}

TEST(subscription_index, unanchored_globs_and_regexes) {
  subscription_index idx;
  idx.add(1, must("REGISTER aor=*@example.com"));
  idx.add(2, must("REGISTER aor=~^bob"));
  idx.add(3, must("REGISTER aor=*@example.com contact=~192\\.0\\.2\\."));
  idx.add(4, must("UNREGISTER aor=*"));
  idx.add(5, must("REGISTER aor=*@example.com expires=60"));  // anchored on expires
  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{1, 2, 3, 5}));
  EXPECT_EQ(match(idx, reg("bob@example.net")), (std::vector<id>{2}));
  EXPECT_EQ(match(idx, reg("alice@example.com")), (std::vector<id>{1, 3, 5}));
  EXPECT_TRUE(idx.remove(1));
  EXPECT_TRUE(idx.remove(2));
  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{3, 5}));
  idx.add(1, must("REGISTER aor=bob@*"));
  EXPECT_EQ(match(idx, reg("bob@example.com")), (std::vector<id>{1, 3, 5}));
}

TEST(subscription_index, moved_index_keeps_its_subscriptions) {
  subscription_index a;
  a.add(1, must("REGISTER aor=x"));
  a.add(2, must("REGISTER aor=*"));
  subscription_index b(std::move(a));
  EXPECT_EQ(match(b, reg("x")), (std::vector<id>{1, 2}));
  EXPECT_TRUE(b.remove(1));
  EXPECT_EQ(match(b, reg("x")), (std::vector<id>{2}));
  a = std::move(b);
  EXPECT_EQ(match(a, reg("x")), (std::vector<id>{2}));
}

// ---- property: the index agrees with the brute force ------------------------

namespace {

struct kind_spec {
  const char* name;
  std::vector<std::string> attrs;
};

const std::vector<kind_spec>& kinds() {
  static const std::vector<kind_spec> k{
      {"REGISTER", {"aor", "contact", "call_id"}},
      {"DTMF", {"call_id", "digit", "source"}},
      {"CUSTOM", {"subclass", "aor", "call_id"}},
  };
  return k;
}

/// A name in a random mix of cases.
rc::Gen<std::string> any_case(std::string s) {
  return rc::gen::map(rc::gen::container<std::vector<bool>>(s.size(), rc::gen::arbitrary<bool>()),
                      [s](const std::vector<bool>& up) {
                        std::string out = s;
                        for (std::size_t i = 0; i < out.size(); ++i)
                          if (up[i] && out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 32);
                        return out;
                      });
}

/// Short strings over a small alphabet, so equalities and patterns collide.
rc::Gen<std::string> small_value() {
  return rc::gen::mapcat(rc::gen::inRange(0, 4), [](int n) {
    return rc::gen::container<std::string>(static_cast<std::size_t>(n), rc::gen::element('a', 'b'));
  });
}

/// A value in the filter syntax: equality (sometimes escaped), glob or regex.
rc::Gen<std::string> condition_value() {
  return rc::gen::oneOf(
      small_value(), small_value(),
      rc::gen::map(small_value(), [](std::string v) { return v.empty() ? v : v + "\\*"; }),
      rc::gen::map(rc::gen::pair(small_value(), rc::gen::element<std::string>("*", "?", "[ab]", "*a")),
                   [](const std::pair<std::string, std::string>& p) { return p.first + p.second; }),
      rc::gen::map(rc::gen::pair(rc::gen::element<std::string>("*", "?", "a*", ""), small_value()),
                   [](const std::pair<std::string, std::string>& p) { return p.first + "*" + p.second; }),
      rc::gen::element<std::string>("~^a", "~b$", "~a|b", "~^$", "~ab*", "~.", "~^(ab)+$"));
}

struct spec {
  std::string event_name;
  std::vector<std::pair<std::string, std::string>> conds;
};

rc::Gen<spec> any_filter() {
  return rc::gen::mapcat(rc::gen::inRange<std::size_t>(0, kinds().size()), [](std::size_t k) {
    const kind_spec& ks = kinds()[k];
    auto cond = rc::gen::mapcat(rc::gen::elementOf(ks.attrs), [](const std::string& attr) {
      return rc::gen::pair(any_case(attr), condition_value());
    });
    return rc::gen::map(rc::gen::pair(any_case(ks.name), rc::gen::mapcat(rc::gen::inRange(0, 4), [cond](int n) {
                                        return rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
                                            static_cast<std::size_t>(n), cond);
                                      })),
                        [](const auto& p) { return spec{p.first, p.second}; });
  });
}

rc::Gen<event> any_event() {
  return rc::gen::mapcat(rc::gen::inRange<std::size_t>(0, kinds().size()), [](std::size_t k) {
    const kind_spec& ks = kinds()[k];
    // Each attribute present or not, with a small value.
    return rc::gen::map(
        rc::gen::pair(any_case(ks.name),
                      rc::gen::container<std::vector<std::pair<bool, std::string>>>(
                          ks.attrs.size(), rc::gen::pair(rc::gen::arbitrary<bool>(), small_value()))),
        [&ks](const auto& p) {
          event e;
          e.name = p.first;
          for (std::size_t i = 0; i < ks.attrs.size(); ++i)
            if (p.second[i].first) e.attrs.push_back({ks.attrs[i], p.second[i].second});
          return e;
        });
  });
}

std::vector<id> brute_force(const std::vector<std::pair<id, filter>>& live, const event& e) {
  std::vector<id> out;
  for (const auto& [i, f] : live)
    if (f.matches(e)) out.push_back(i);
  return out;
}

/// Checks every event; returns how many (subscription, event) pairs matched.
std::size_t check_all(const subscription_index& idx, const std::vector<std::pair<id, filter>>& live,
                      const std::vector<event>& events) {
  RC_ASSERT(idx.size() == live.size());
  std::size_t hits = 0;
  for (const auto& e : events) {
    std::vector<id> got = match(idx, e);
    RC_ASSERT(std::adjacent_find(got.begin(), got.end()) == got.end());  // each once
    std::vector<id> want = brute_force(live, e);
    std::sort(want.begin(), want.end());
    RC_ASSERT(got == want);
    hits += got.size();
  }
  return hits;
}

} // namespace

RC_GTEST_PROP(subscription_index_prop, matches_the_brute_force, ()) {
  const auto specs = *rc::gen::container<std::vector<spec>>(any_filter());
  const auto events = *rc::gen::container<std::vector<event>>(any_event());

  subscription_index idx;
  std::vector<std::pair<id, filter>> live;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto f = filter::make(specs[i].event_name, specs[i].conds);
    RC_ASSERT(f.ok());
    idx.add(i, *f);
    live.emplace_back(i, std::move(f).value());
  }
  const std::size_t hits = check_all(idx, live, events);
  RC_CLASSIFY(hits > 0, "some subscription matched");
  RC_CLASSIFY(hits == 0 && !specs.empty() && !events.empty(), "nothing matched");

  // Random removals (and a few ids that were never there), then again.
  const auto removals = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, 2 * specs.size() + 1));
  for (std::size_t r : removals) {
    auto it = std::find_if(live.begin(), live.end(), [r](const auto& p) { return p.first == r; });
    const bool present = it != live.end();
    RC_ASSERT(idx.remove(r) == present);
    if (present) live.erase(it);
    RC_ASSERT(idx.find(r) == nullptr);
  }
  check_all(idx, live, events);
}
