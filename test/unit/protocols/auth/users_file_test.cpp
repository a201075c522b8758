// The --users file: passwords, HA1 lines, comments, and errors with line numbers.

#include "protocols/auth/digest.hpp"
#include "protocols/auth/users_file.hpp"

#include <gtest/gtest.h>

using namespace centralita;
using namespace centralita::auth;

namespace {

::testing::AssertionResult fails_at(std::string_view text, std::string_view expected) {
  auto r = parse_users(text);
  if (r) return ::testing::AssertionFailure() << "parsed";
  if (r.err().code != errc::parse_error) return ::testing::AssertionFailure() << "code " << to_string(r.err().code);
  if (r.err().reason.find(expected) == std::string::npos)
    return ::testing::AssertionFailure() << "reason '" << r.err().reason << "' lacks '" << expected << "'";
  return ::testing::AssertionSuccess();
}

} // namespace

TEST(users_file, parses_passwords_and_ha1) {
  auto r = parse_users(
      "# accounts\n"
      "\n"
      "alice@example.com secret\n"
      "  bob@example.com   Circle of Life  \r\n"
      "carol@example.com md5:3D78807DEFE7DE2157E2B0B6573A855F\n"
      "dave@example.com\tsha256:7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232\n"
      "erin@example.com plain:md5:x#y\n"
      "   # indented comment\n"
      "frank@example.org pass");  // no final newline
  ASSERT_TRUE(r) << r.err().reason;
  ASSERT_EQ(r->size(), 6u);
  const auto& v = *r;
  EXPECT_EQ(v[0].user, "alice");
  EXPECT_EQ(v[0].domain, "example.com");
  EXPECT_EQ(v[0].kind, secret_kind::password);
  EXPECT_EQ(v[0].secret, "secret");
  EXPECT_EQ(v[1].secret, "Circle of Life");
  EXPECT_EQ(v[2].kind, secret_kind::ha1_md5);
  EXPECT_EQ(v[2].secret, "3d78807defe7de2157e2b0b6573a855f");
  EXPECT_EQ(v[3].kind, secret_kind::ha1_sha256);
  EXPECT_EQ(v[4].kind, secret_kind::password);
  EXPECT_EQ(v[4].secret, "md5:x#y");
  EXPECT_EQ(v[5].domain, "example.org");
}

TEST(users_file, errors_name_the_line) {
  EXPECT_TRUE(fails_at("a@b x\nnoat secret\n", "line 2: expected user@domain"));
  EXPECT_TRUE(fails_at("\n\n@b x\n", "line 3: empty user"));
  EXPECT_TRUE(fails_at("a@ x\n", "line 1: empty domain"));
  EXPECT_TRUE(fails_at("a@b@c x\n", "line 1: more than one '@'"));
  EXPECT_TRUE(fails_at("# c\na@b\n", "line 2: missing password for a@b"));
  EXPECT_TRUE(fails_at("a@b   \n", "line 1: missing password"));
  EXPECT_TRUE(fails_at("a@b plain:\n", "line 1: missing password"));
  EXPECT_TRUE(fails_at("a@b md5:1234\n", "line 1: md5: needs 32 hex digits"));
  EXPECT_TRUE(fails_at("a@b md5:3d78807defe7de2157e2b0b6573a855g\n", "line 1: md5: needs 32 hex"));
  EXPECT_TRUE(fails_at("a@b sha256:3d78807defe7de2157e2b0b6573a855f\n", "line 1: sha256: needs 64 hex digits"));
  EXPECT_TRUE(fails_at("a@b x\nc@d y\na@b z\n", "line 3: duplicate user a@b (first on line 1)"));
  EXPECT_TRUE(fails_at("a:x@b y\n", "line 1: ':' in user name"));
  EXPECT_TRUE(fails_at("a@b x\x01y\n", "line 1: control character"));
}

TEST(users_file, ha1_for_respects_realm_and_family) {
  auto r = parse_users(
      "mufasa@http-auth@example.org x\n");  // two '@': refused
  EXPECT_FALSE(r);
  r = parse_users("Mufasa@example.org Circle of Life\n"
                  "m5@example.org md5:3d78807defe7de2157e2b0b6573a855f\n"
                  "s2@example.org sha256:7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232\n");
  ASSERT_TRUE(r) << r.err().reason;
  const auto& v = *r;
  EXPECT_EQ(ha1_for(v[0], algorithm::sha256, "example.org"),
            ha1(algorithm::sha256, "Mufasa", "example.org", "Circle of Life"));
  EXPECT_EQ(ha1_for(v[0], algorithm::md5_sess, "example.org"),
            ha1(algorithm::md5, "Mufasa", "example.org", "Circle of Life"));
  EXPECT_EQ(ha1_for(v[1], algorithm::md5, "example.org"), "3d78807defe7de2157e2b0b6573a855f");
  EXPECT_EQ(ha1_for(v[1], algorithm::md5_sess, "example.org"), "3d78807defe7de2157e2b0b6573a855f");
  EXPECT_FALSE(ha1_for(v[1], algorithm::sha256, "example.org"));
  EXPECT_FALSE(ha1_for(v[1], algorithm::md5, "other.org"));
  EXPECT_TRUE(ha1_for(v[2], algorithm::sha256_sess, "example.org"));
  EXPECT_FALSE(ha1_for(v[2], algorithm::md5, "example.org"));
}
