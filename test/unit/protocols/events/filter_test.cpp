// filter: value syntax (equality, wildcard, regex, escapes), validation against
// the catalogue with messages a script author can act on, the text form.

#include "protocols/events/filter.hpp"

#include "protocols/events/catalogue.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using namespace centralita;
using namespace centralita::events;
using ::testing::HasSubstr;

namespace {

using conds = std::vector<std::pair<std::string, std::string>>;

filter must(result<filter> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason);
  return r.ok() ? std::move(r).value() : filter{};
}

filter make1(std::string_view ev, std::string attr, std::string value) {
  conds c{{std::move(attr), std::move(value)}};
  return must(filter::make(ev, c));
}

event reg(std::string aor) {
  event e("REGISTER");
  e.set("aor", std::move(aor)).set("contact", "sip:bob@192.0.2.7:5060").set("expires", "3600");
  return e;
}

} // namespace

TEST(event, names_fold_case_and_set_replaces) {
  event e("register");
  EXPECT_EQ(e.name, "REGISTER");
  e.set("AoR", "a").set("aor", "b");
  ASSERT_EQ(e.attrs.size(), 1u);
  EXPECT_EQ(e.attrs[0].name, "aor");
  ASSERT_NE(e.find("AOR"), nullptr);
  EXPECT_EQ(*e.find("AOR"), "b");
  EXPECT_EQ(e.find("contact"), nullptr);
}

TEST(catalogue, every_kind_has_a_description_and_lower_case_attributes) {
  EXPECT_EQ(catalogue().size(), 14u);
  EXPECT_LE(catalogue().size(), 15u);  // the bus counts interest in 16 slots, the last for unknown names
  for (const auto& k : catalogue()) {
    EXPECT_FALSE(k.description.empty()) << k.name;
    EXPECT_EQ(upper(k.name), k.name);
    for (auto a : k.attributes)
      EXPECT_EQ(lower(a), a) << k.name;
  }
  ASSERT_NE(find_kind("dtmf"), nullptr);
  EXPECT_TRUE(has_attribute(*find_kind("DTMF"), "SOURCE"));
  EXPECT_FALSE(has_attribute(*find_kind("DTMF"), "aor"));
  EXPECT_TRUE(has_attribute(*find_kind("custom"), "anything_at_all"));
  EXPECT_EQ(find_kind("REGISTR"), nullptr);
}

TEST(filter, equality) {
  filter f = make1("REGISTER", "aor", "bob@example.com");
  ASSERT_EQ(f.conditions().size(), 1u);
  EXPECT_EQ(f.conditions()[0].kind, match_kind::equals);
  ASSERT_NE(f.anchor(), nullptr);
  EXPECT_EQ(f.anchor()->value, "bob@example.com");
  EXPECT_TRUE(f.matches(reg("bob@example.com")));
  EXPECT_FALSE(f.matches(reg("bob@example.co")));
  EXPECT_FALSE(f.matches(reg("bob@example.com.")));
}

TEST(filter, no_conditions_matches_every_event_of_its_name) {
  filter f = must(filter::make("unregister", {}));
  EXPECT_EQ(f.event_name(), "UNREGISTER");
  EXPECT_EQ(f.anchor(), nullptr);
  event u("UNREGISTER");
  EXPECT_TRUE(f.matches(u));
  EXPECT_FALSE(f.matches(reg("bob@example.com")));
}

TEST(filter, glob) {
  filter f = make1("REGISTER", "aor", "bob@*");
  EXPECT_EQ(f.conditions()[0].kind, match_kind::glob);
  EXPECT_EQ(f.anchor(), nullptr);
  EXPECT_TRUE(f.matches(reg("bob@example.com")));
  EXPECT_TRUE(f.matches(reg("bob@")));
  EXPECT_FALSE(f.matches(reg("alice@example.com")));
  EXPECT_FALSE(f.matches(reg("xbob@example.com")));  // a glob covers the whole value

  filter q = make1("REGISTER", "aor", "b?b@[ex]*.com");
  EXPECT_TRUE(q.matches(reg("bab@example.com")));
  EXPECT_FALSE(q.matches(reg("bab@zample.com")));
  // flags 0: * crosses '/' and a leading '.'.
  event ua = reg("x");
  ua.set("user_agent", ".phone/1.0");
  EXPECT_TRUE(make1("REGISTER", "user_agent", "*phone*").matches(ua));
  EXPECT_TRUE(make1("REGISTER", "user_agent", ".phone*0").matches(ua));
  EXPECT_TRUE(make1("REGISTER", "contact", "sip:*:5060").matches(reg("x")));
}

TEST(filter, regex_searches_the_value) {
  filter f = make1("REGISTER", "aor", "~^b.b@");
  EXPECT_EQ(f.conditions()[0].kind, match_kind::regex);
  EXPECT_EQ(f.conditions()[0].value, "^b.b@");
  EXPECT_TRUE(f.matches(reg("bob@example.com")));
  EXPECT_TRUE(f.matches(reg("bib@x")));
  EXPECT_FALSE(f.matches(reg("xbob@example.com")));
  // regex_search: an unanchored pattern matches anywhere.
  EXPECT_TRUE(make1("REGISTER", "aor", "~example").matches(reg("bob@example.com")));
  EXPECT_FALSE(make1("REGISTER", "aor", "~^example$").matches(reg("bob@example.com")));
  // The header's example: the backslash after '~' belongs to the regex.
  filter plus = make1("REGISTER", "aor", R"(~^bob(\+.*)?@)");
  EXPECT_TRUE(plus.matches(reg("bob+home@x")));
  EXPECT_TRUE(plus.matches(reg("bob@x")));
  EXPECT_FALSE(plus.matches(reg("bobby@x")));
}

TEST(filter, escapes_make_equalities) {
  filter f = make1("REGISTER", "aor", R"(a\*b)");
  EXPECT_EQ(f.conditions()[0].kind, match_kind::equals);
  EXPECT_EQ(f.conditions()[0].value, "a*b");
  EXPECT_TRUE(f.matches(reg("a*b")));
  EXPECT_FALSE(f.matches(reg("axxb")));

  filter t = make1("REGISTER", "aor", R"(\~bob)");
  EXPECT_EQ(t.conditions()[0].kind, match_kind::equals);
  EXPECT_EQ(t.conditions()[0].value, "~bob");

  filter b = make1("REGISTER", "aor", R"(a\\b\?)");
  EXPECT_EQ(b.conditions()[0].kind, match_kind::equals);
  EXPECT_EQ(b.conditions()[0].value, R"(a\b?)");

  // An escaped wildcard inside a pattern stays literal (fnmatch reads it).
  filter g = make1("REGISTER", "aor", R"(a\**)");
  EXPECT_EQ(g.conditions()[0].kind, match_kind::glob);
  EXPECT_TRUE(g.matches(reg("a*xyz")));
  EXPECT_FALSE(g.matches(reg("abc")));

  auto lone = filter::make("REGISTER", conds{{"aor", R"(abc\)"}});
  ASSERT_FALSE(lone.ok());
  EXPECT_EQ(lone.err().code, errc::invalid_argument);
  EXPECT_THAT(lone.err().reason, HasSubstr("lone backslash"));
}

TEST(filter, names_are_case_insensitive_values_are_not) {
  filter f = make1("register", "AOR", "Bob@Example.com");
  EXPECT_EQ(f.event_name(), "REGISTER");
  EXPECT_EQ(f.conditions()[0].attr, "aor");
  EXPECT_TRUE(f.matches(reg("Bob@Example.com")));
  EXPECT_FALSE(f.matches(reg("bob@example.com")));
  // The event side folds too, even when built by hand.
  event e;
  e.name = "Register";
  e.attrs.push_back({"AOR", "Bob@Example.com"});
  EXPECT_TRUE(f.matches(e));
  EXPECT_FALSE(make1("REGISTER", "aor", "bob@*").matches(reg("BOB@x")));
}

TEST(filter, unknown_event_lists_the_events) {
  auto r = filter::make("REGISTR", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
  EXPECT_THAT(r.err().reason, HasSubstr("'REGISTR'"));
  for (const auto& k : catalogue())
    EXPECT_THAT(r.err().reason, HasSubstr(std::string(k.name)));
}

TEST(filter, unknown_attribute_names_it_and_lists_the_valid_ones) {
  auto r = filter::make("REGISTER", conds{{"aor", "x"}, {"aorr", "y"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
  EXPECT_THAT(r.err().reason, HasSubstr("REGISTER"));
  EXPECT_THAT(r.err().reason, HasSubstr("'aorr'"));
  for (auto a : find_kind("REGISTER")->attributes)
    EXPECT_THAT(r.err().reason, HasSubstr(std::string(a)));

  auto d = filter::make("DTMF", conds{{"aor", "x"}});
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.err().reason, HasSubstr("call_id, digit, duration_ms, source, leg"));

  auto empty = filter::make("DTMF", conds{{"", "x"}});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.err().reason, HasSubstr("empty attribute name"));

  auto odd = filter::make("CUSTOM", conds{{"a b", "x"}});
  ASSERT_FALSE(odd.ok());
  EXPECT_THAT(odd.err().reason, HasSubstr("'a b'"));
}

TEST(filter, bad_regex_is_an_error) {
  auto r = filter::make("REGISTER", conds{{"aor", "~^(bob"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::invalid_argument);
  EXPECT_THAT(r.err().reason, HasSubstr("regular expression"));
  EXPECT_THAT(r.err().reason, HasSubstr("^(bob"));
  EXPECT_THAT(r.err().reason, HasSubstr("aor"));
}

TEST(filter, regex_time_stays_polynomial) {
  // A backtracking engine takes 2^40 steps here; the breadth-first one does not.
  filter f = make1("REGISTER", "aor", "~^(a*)*b$");
  EXPECT_FALSE(f.matches(reg(std::string(40, 'a') + "c")));
  EXPECT_TRUE(f.matches(reg(std::string(40, 'a') + "b")));
  auto backref = filter::make("REGISTER", conds{{"aor", R"(~^(a)\1$)"}});
  ASSERT_FALSE(backref.ok());
  EXPECT_THAT(backref.err().reason, HasSubstr("back-references"));
  // Huge counts are refused before libstdc++ overflows on them; long literal
  // digit runs (phone numbers) are fine.
  for (const char* huge : {R"(~a\11111111111)", "~a{12345678901}", "~a{1,99999999999}"}) {
    auto r = filter::make("REGISTER", conds{{"aor", huge}});
    ASSERT_FALSE(r.ok()) << huge;
    EXPECT_THAT(r.err().reason, HasSubstr("more than 9 digits"));
  }
  EXPECT_TRUE(make1("CALL_START", "to", "~^sip:\\+?4930123456789@").matches([] {
    event e("CALL_START");
    e.set("to", "sip:+4930123456789@example.com");
    return e;
  }()));
}

TEST(filter, custom_accepts_any_attribute) {
  filter f = must(filter::make("custom", conds{{"subclass", "myapp::alarm"}, {"Severity", "~^(high|critical)$"}}));
  event e("CUSTOM");
  e.set("subclass", "myapp::alarm").set("severity", "critical");
  EXPECT_TRUE(f.matches(e));
  e.set("severity", "low");
  EXPECT_FALSE(f.matches(e));
}

TEST(filter, missing_attribute_never_matches) {
  filter f = make1("REGISTER", "user_agent", "*");
  EXPECT_FALSE(f.matches(reg("bob@x")));  // no user_agent at all
  event e = reg("bob@x");
  e.set("user_agent", "");
  EXPECT_TRUE(f.matches(e));
  EXPECT_FALSE(make1("REGISTER", "user_agent", "~").matches(reg("bob@x")));
}

TEST(filter, conditions_are_anded) {
  filter f = must(filter::make("REGISTER", conds{{"aor", "bob@*"}, {"expires", "3600"}, {"contact", "~:5060$"}}));
  ASSERT_NE(f.anchor(), nullptr);
  EXPECT_EQ(f.anchor()->attr, "expires");  // the first equality
  EXPECT_TRUE(f.matches(reg("bob@example.com")));
  EXPECT_FALSE(f.matches(reg("alice@example.com")));
  event e = reg("bob@example.com");
  e.set("expires", "0");
  EXPECT_FALSE(f.matches(e));
  e = reg("bob@example.com");
  e.set("contact", "sip:bob@192.0.2.7:5080");
  EXPECT_FALSE(f.matches(e));
  // Two equalities on one attribute that cannot both hold: valid, never matches.
  filter never = must(filter::make("REGISTER", conds{{"aor", "a"}, {"aor", "b"}}));
  EXPECT_FALSE(never.matches(reg("a")));
  EXPECT_FALSE(never.matches(reg("b")));
}

TEST(filter, parse_reads_the_text_form) {
  // Inside quotes \" and \\ stand for " and \; then the value's own escapes apply.
  filter f = must(filter::parse("  register  aor=bob@*\t"
                                R"(expires="36 00"  user_agent="say \"hi\" \\\\o/ \\o" )"));
  EXPECT_EQ(f.event_name(), "REGISTER");
  ASSERT_EQ(f.conditions().size(), 3u);
  EXPECT_EQ(f.conditions()[0].kind, match_kind::glob);
  EXPECT_EQ(f.conditions()[1].value, "36 00");
  EXPECT_EQ(f.conditions()[2].value, R"(say "hi" \o/ o)");

  filter e = must(filter::parse(R"(REGISTER aor=a\*b contact="x\*y")"));
  EXPECT_EQ(e.conditions()[0].kind, match_kind::equals);
  EXPECT_EQ(e.conditions()[0].value, "a*b");
  EXPECT_EQ(e.conditions()[1].value, "x*y");

  filter empty = must(filter::parse("REGISTER aor= contact=\"\""));
  EXPECT_EQ(empty.conditions()[0].value, "");
  EXPECT_EQ(empty.conditions()[1].value, "");
}

TEST(filter, parse_errors) {
  for (const char* bad : {"", "   ", "REGISTER aor", "REGISTER aor=\"open", "REGISTER aor=\"a\"b", "REGISTER =x",
                          "NOPE aor=x", "REGISTER nope=x", "REGISTER aor=~(", "REGISTER aor=x\\"}) {
    auto r = filter::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.err().code, errc::invalid_argument);
      EXPECT_FALSE(r.err().reason.empty());
    }
  }
  EXPECT_THAT(filter::parse("REGISTER aor").err().reason, HasSubstr("'aor'"));
}

TEST(filter, to_string_round_trips) {
  const std::vector<conds> cases{
      {},
      {{"aor", "bob@example.com"}},
      {{"AOR", "bob@*"}, {"expires", "3600"}},
      {{"aor", R"(a\*b)"}, {"contact", R"(\~x)"}, {"user_agent", "two words"}},
      {{"aor", R"(~^bob(\+.*)?@ "q")"}},
      {{"aor", R"(a\\)"}, {"contact", ""}, {"expires", R"(\"\\)"}},
      {{"aor", "[ab]?\\*\t*"}},
  };
  for (const auto& c : cases) {
    filter f = must(filter::make("Register", c));
    const std::string text = f.to_string();
    auto back = filter::parse(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.err().reason;
    EXPECT_EQ(back->to_string(), text);
    ASSERT_EQ(back->conditions().size(), f.conditions().size()) << text;
    for (std::size_t i = 0; i < c.size(); ++i) {
      EXPECT_EQ(back->conditions()[i].attr, f.conditions()[i].attr) << text;
      EXPECT_EQ(back->conditions()[i].kind, f.conditions()[i].kind) << text;
      EXPECT_EQ(back->conditions()[i].value, f.conditions()[i].value) << text;
    }
  }
  EXPECT_EQ(make1("register", "AOR", "bob@example.com").to_string(), "REGISTER aor=bob@example.com");
  EXPECT_EQ(make1("REGISTER", "aor", R"(\~a*b)").to_string(), R"(REGISTER aor=\~a*b)");
  EXPECT_EQ(make1("REGISTER", "aor", R"(\~ab)").to_string(), R"(REGISTER aor=\~ab)");
  EXPECT_EQ(make1("REGISTER", "aor", "a b").to_string(), R"(REGISTER aor="a b")");
}
