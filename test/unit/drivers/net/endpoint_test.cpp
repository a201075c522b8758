#include "drivers/net/endpoint.hpp"

#include <gtest/gtest.h>

using centralita::drivers::endpoint;

TEST(endpoint, parses_v4_and_v6_with_and_without_port) {
  auto a = endpoint::parse("127.0.0.1:5070");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "127.0.0.1:5070");
  auto b = endpoint::parse("[::1]:5061");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->to_string(), "[::1]:5061");
  EXPECT_EQ(b->address(), "::1");
  auto c = endpoint::parse("10.0.0.1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port(), 5060);
  auto d = endpoint::parse("::1");
  ASSERT_TRUE(d);  // bare IPv6 literal: no port
  EXPECT_EQ(d->port(), 5060);
}

TEST(endpoint, rejects_names_and_bad_ports) {
  EXPECT_FALSE(endpoint::parse("example.com:5060"));
  EXPECT_FALSE(endpoint::parse("127.0.0.1:99999"));
  EXPECT_FALSE(endpoint::parse("127.0.0.1:"));
  EXPECT_FALSE(endpoint::parse("[::1"));
  EXPECT_FALSE(endpoint::parse(""));
}

TEST(endpoint, equality_and_hash) {
  auto a = endpoint::parse("127.0.0.1:5060");
  auto b = endpoint::from("127.0.0.1", 5060);
  auto c = endpoint::from("127.0.0.1", 5061);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->hash(), b->hash());
  EXPECT_FALSE(*a == *c);
}
