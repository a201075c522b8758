// User ranges and CSV lists for the register scenario.
#include "bench/loadgen/users.hpp"

#include <gtest/gtest.h>

using namespace centralita::loadgen;

namespace {

std::string name(const user_source& s, uint64_t i) {
  std::string out;
  s.append_name(out, i);
  return out;
}

} // namespace

TEST(user_range, plain_range) {
  auto r = user_range::parse("user[1-10000]");
  ASSERT_TRUE(r) << r.err().reason;
  EXPECT_EQ(r->size(), 10000u);
  user_source s(r.value(), "pw");
  EXPECT_EQ(name(s, 0), "user1");
  EXPECT_EQ(name(s, 9999), "user10000");
  EXPECT_EQ(s.password(5), "pw");
}

TEST(user_range, leading_zeros_pad_and_suffix) {
  auto r = user_range::parse("u[0001-0100]x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 100u);
  user_source s(r.value(), "");
  EXPECT_EQ(name(s, 0), "u0001x");
  EXPECT_EQ(name(s, 99), "u0100x");
  auto zero = user_range::parse("[0-2]");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->size(), 3u);
  EXPECT_EQ(name(user_source(zero.value(), ""), 2), "2");
}

TEST(user_range, single_user) {
  auto r = user_range::parse("alice");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 1u);
  EXPECT_EQ(name(user_source(r.value(), ""), 0), "alice");
}

TEST(user_range, errors) {
  for (const char* bad : {"", "u[", "u[1-]", "u[-5]", "u[5-1]", "u[a-b]", "u[1-2", "u 1",
                          "u@x[1-2]", "u[1-2][3-4]", "u[1:2]", "u]"})
    EXPECT_FALSE(user_range::parse(bad)) << bad;
}

TEST(users_csv, lines_comments_and_errors) {
  auto r = parse_users_csv("# users\nalice;secret\r\n\n  bob ; pw2 \ncarol\n");
  ASSERT_TRUE(r) << r.err().reason;
  ASSERT_EQ(r->size(), 3u);
  user_source s(std::move(r.value()));
  EXPECT_EQ(name(s, 0), "alice");
  EXPECT_EQ(s.password(0), "secret");
  EXPECT_EQ(name(s, 1), "bob");
  EXPECT_EQ(s.password(1), "pw2");
  EXPECT_EQ(s.password(2), "");
  auto empty = parse_users_csv("# nothing\n\n");
  EXPECT_FALSE(empty);
  auto bad = parse_users_csv("ok;1\nbad user;2\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.err().reason.find("line 2"), std::string::npos);
}
