// RFC 3261 §16.5/§16.6: target ordering by q-value (parallel within, serial between).

#include "protocols/sip/proxy/targets.hpp"

#include "protocols/sip/proxy/sip_uri.hpp"

#include <gtest/gtest.h>

using namespace centralita::sip::proxy;

namespace {

TEST(Targets, GroupsByDescendingQKeepingInputOrder) {
  auto groups = targets_from_contacts({
      {"sip:a@10.0.0.1", 0.5, {}},
      {"<sip:b@10.0.0.2>", 1.0, {"<sip:edge;lr>"}},
      {"sip:c@10.0.0.3", 0.5, {}},
      {"sip:d@10.0.0.4", 0.9, {}},
      {"sip:e@10.0.0.5", 1.0, {}},
  });
  ASSERT_EQ(groups.size(), 3u);
  ASSERT_EQ(groups[0].size(), 2u);
  EXPECT_EQ(groups[0][0].uri, "sip:b@10.0.0.2");
  EXPECT_EQ(groups[0][0].path, std::vector<std::string>{"<sip:edge;lr>"});
  EXPECT_EQ(groups[0][1].uri, "sip:e@10.0.0.5");
  ASSERT_EQ(groups[1].size(), 1u);
  EXPECT_EQ(groups[1][0].uri, "sip:d@10.0.0.4");
  ASSERT_EQ(groups[2].size(), 2u);
  EXPECT_EQ(groups[2][0].uri, "sip:a@10.0.0.1");
  EXPECT_EQ(groups[2][1].uri, "sip:c@10.0.0.3");
}

TEST(Targets, QComparedToThreeDecimalsAndClamped) {
  auto groups = targets_from_contacts({{"sip:a@h1", 0.7, {}}, {"sip:b@h2", 0.7000001, {}}, {"sip:c@h3", 7.0, {}}});
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0][0].uri, "sip:c@h3");
  EXPECT_EQ(groups[1].size(), 2u);
}

TEST(Targets, DuplicatesKeepTheFirstHighestAndGarbageIsDropped) {  // RFC 3261 §16.5
  auto groups = targets_from_contacts({{"sip:a@H1", 0.1, {}}, {"sip:a@h1", 0.8, {}}, {"nonsense", 1.0, {}}});
  ASSERT_EQ(groups.size(), 1u);
  ASSERT_EQ(groups[0].size(), 1u);
  EXPECT_EQ(groups[0][0].uri, "sip:a@h1");
}

TEST(Targets, EmptyGivesNoGroups) { EXPECT_TRUE(targets_from_contacts({}).empty()); }

TEST(SipUri, ParsesTheParts) {
  auto u = sip_uri::parse("\"Bob\" <SIPS:bob:pw@[2001:db8::1]:5071;Transport=TCP;lr?subject=x>;tag=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "sips");
  EXPECT_EQ(u->user, "bob");
  EXPECT_EQ(u->password, "pw");
  EXPECT_EQ(u->host, "[2001:db8::1]");
  EXPECT_EQ(u->port.value_or(0), 5071);
  EXPECT_EQ(u->param("transport").value_or(""), "TCP");
  EXPECT_TRUE(u->has_param("lr"));
  EXPECT_EQ(u->headers, "subject=x");
  EXPECT_EQ(u->to_string(), "sips:bob:pw@[2001:db8::1]:5071;transport=TCP;lr?subject=x");
  EXPECT_FALSE(sip_uri::parse("sip:"));
  EXPECT_FALSE(sip_uri::parse("sip:h:99999"));
  auto tel = sip_uri::parse("tel:+1-555");
  ASSERT_TRUE(tel);
  EXPECT_FALSE(tel->is_sip());
  EXPECT_EQ(tel->to_string(), "tel:+1-555");
}

} // namespace
