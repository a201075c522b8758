// Digest computations against the RFCs' worked examples, the -sess variants
// (expected values computed once with md5sum / sha256sum), RFC 2069 mode, and
// verify() refusing anything that differs.

#include "protocols/auth/credentials.hpp"
#include "protocols/auth/digest.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace centralita;
using namespace centralita::auth;

namespace {

// RFC 7616 §3.9.1.
constexpr const char* nonce_7616 = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
constexpr const char* cnonce_7616 = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
constexpr const char* opaque_7616 = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

std::string rfc7616_header(std::string_view alg, std::string_view response) {
  return std::string("Digest username=\"Mufasa\",\r\n    realm=\"http-auth@example.org\",\r\n"
                     "    uri=\"/dir/index.html\",\r\n    algorithm=") + std::string(alg) +
         ",\r\n    nonce=\"" + nonce_7616 + "\",\r\n    nc=00000001,\r\n    cnonce=\"" + cnonce_7616 +
         "\",\r\n    qop=auth,\r\n    response=\"" + std::string(response) + "\",\r\n    opaque=\"" +
         opaque_7616 + "\"";
}

credentials rfc7616_credentials(algorithm a) {
  credentials c;
  c.username = "Mufasa";
  c.realm = "http-auth@example.org";
  c.nonce = nonce_7616;
  c.uri = "/dir/index.html";
  c.alg = a;
  c.cnonce = cnonce_7616;
  c.qop = "auth";
  c.nc_hex = "00000001";
  c.nc = 1;
  return c;
}

constexpr const char* md5_7616 = "8ca523f5e9506fed4657c9700eebdbec";
constexpr const char* sha256_7616 = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";

} // namespace

TEST(algorithm, round_trips_and_is_case_insensitive) {
  for (auto a : {algorithm::md5, algorithm::md5_sess, algorithm::sha256, algorithm::sha256_sess})
    EXPECT_EQ(parse_algorithm(to_string(a)), a);
  EXPECT_EQ(parse_algorithm("md5"), algorithm::md5);
  EXPECT_EQ(parse_algorithm("sha-256-SESS"), algorithm::sha256_sess);
  EXPECT_FALSE(parse_algorithm("SHA-512-256"));
  EXPECT_FALSE(parse_algorithm(""));
  EXPECT_EQ(to_string(algorithm::md5_sess), "MD5-sess");
  EXPECT_EQ(hex_length(algorithm::sha256_sess), 64u);
  EXPECT_EQ(base_of(algorithm::md5_sess), algorithm::md5);
}

TEST(digest, rfc7616_md5_example) {
  std::string h1 = ha1(algorithm::md5, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(h1, "3d78807defe7de2157e2b0b6573a855f");
  std::string h2 = ha2(algorithm::md5, "GET", "/dir/index.html");
  EXPECT_EQ(response(algorithm::md5, h1, nonce_7616, "00000001", cnonce_7616, "auth", h2), md5_7616);

  auto c = parse_credentials(rfc7616_header("MD5", md5_7616));
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_TRUE(verify(*c, "GET", h1));
  EXPECT_EQ(c->opaque, opaque_7616);
}

TEST(digest, rfc7616_sha256_example) {
  std::string h1 = ha1(algorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(h1, "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
  std::string h2 = ha2(algorithm::sha256, "GET", "/dir/index.html");
  EXPECT_EQ(response(algorithm::sha256, h1, nonce_7616, "00000001", cnonce_7616, "auth", h2), sha256_7616);

  auto c = parse_credentials(rfc7616_header("SHA-256", sha256_7616));
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->alg, algorithm::sha256);
  EXPECT_TRUE(verify(*c, "GET", h1));
  EXPECT_EQ(client_response(*c, "GET", "Circle of Life"), sha256_7616);
  // The MD5 HA1 has the wrong length for SHA-256: refused, not truncated.
  EXPECT_FALSE(verify(*c, "GET", ha1(algorithm::md5, "Mufasa", "http-auth@example.org", "Circle of Life")));
}

TEST(digest, rfc2617_md5_example) {
  // RFC 2617 §3.5 (password "Circle Of Life", capital O).
  auto c = parse_credentials(
      "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, "
      "nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", "
      "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->alg, algorithm::md5);  // absent means MD5
  EXPECT_TRUE(verify(*c, "GET", ha1(algorithm::md5, "Mufasa", "testrealm@host.com", "Circle Of Life")));
  EXPECT_FALSE(verify(*c, "GET", ha1(algorithm::md5, "Mufasa", "testrealm@host.com", "Circle of Life")));
  EXPECT_FALSE(verify(*c, "POST", ha1(algorithm::md5, "Mufasa", "testrealm@host.com", "Circle Of Life")));
}

TEST(digest, rfc2069_mode_without_qop) {
  // RFC 2069 §2.4's example (password "CircleOfLife"): H(HA1:nonce:HA2).
  auto c = parse_credentials(
      "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
      "response=\"1949323746fe6a43ef61f9606e7febea\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_FALSE(c->has_qop());
  EXPECT_EQ(c->nc, 0u);
  EXPECT_TRUE(verify(*c, "GET", ha1(algorithm::md5, "Mufasa", "testrealm@host.com", "CircleOfLife")));

  credentials s = rfc7616_credentials(algorithm::sha256);
  s.qop.clear();
  s.cnonce.clear();
  s.nc_hex.clear();
  s.nc = 0;
  s.response = "a1306b0595a6c7fe96c448631fb5cfbd5107bd1fe1da729d978dd7446b812363";
  EXPECT_TRUE(verify(s, "GET", ha1(algorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life")));
}

TEST(digest, session_variants) {
  // Expected values: printf ... | md5sum / sha256sum, with
  // HA1-sess = H(HA1:nonce:cnonce), response = H(HA1-sess:nonce:nc:cnonce:auth:HA2).
  std::string m1 = ha1(algorithm::md5_sess, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(m1, "3d78807defe7de2157e2b0b6573a855f");  // the stored HA1 is the base one
  EXPECT_EQ(session_ha1(algorithm::md5_sess, m1, nonce_7616, cnonce_7616), "2b3d906f52651c3136e1502b3d6f38ee");
  credentials md5s = rfc7616_credentials(algorithm::md5_sess);
  md5s.response = "e783283f46242139c486a698fec7211d";
  EXPECT_TRUE(verify(md5s, "GET", m1));
  EXPECT_EQ(client_response(md5s, "GET", "Circle of Life"), md5s.response);

  std::string s1 = ha1(algorithm::sha256_sess, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(session_ha1(algorithm::sha256_sess, s1, nonce_7616, cnonce_7616),
            "bca21f4c7d7e8bf70d96361085370c7d219947abc1b8cd628f710917b89bed5b");
  credentials shas = rfc7616_credentials(algorithm::sha256_sess);
  shas.response = "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7";
  EXPECT_TRUE(verify(shas, "GET", s1));
  // The non-sess response does not pass as -sess, nor the other way round.
  shas.response = sha256_7616;
  EXPECT_FALSE(verify(shas, "GET", s1));
  // -sess without qop has no cnonce to hash: refused.
  shas.qop.clear();
  EXPECT_FALSE(verify(shas, "GET", s1));
}

TEST(digest, verify_accepts_uppercase_stored_ha1_and_response) {
  auto c = parse_credentials(rfc7616_header("MD5", "8CA523F5E9506FED4657C9700EEBDBEC"));
  ASSERT_TRUE(c) << c.err().reason;
  EXPECT_EQ(c->response, md5_7616);
  EXPECT_TRUE(verify(*c, "GET", "3D78807DEFE7DE2157E2B0B6573A855F"));
}

TEST(digest, verify_rejects_any_changed_field) {
  std::string h1 = ha1(algorithm::sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  credentials base = rfc7616_credentials(algorithm::sha256);
  base.response = sha256_7616;
  ASSERT_TRUE(verify(base, "GET", h1));
  auto refused = [&](auto change) {
    credentials c = base;
    change(c);
    return !verify(c, "GET", h1);
  };
  EXPECT_TRUE(refused([](credentials& c) { c.uri = "/dir/index.htm"; }));
  EXPECT_TRUE(refused([](credentials& c) { c.nonce[0] = 'X'; }));
  EXPECT_TRUE(refused([](credentials& c) { c.cnonce += "x"; }));
  EXPECT_TRUE(refused([](credentials& c) { c.nc_hex = "00000002"; }));
  EXPECT_TRUE(refused([](credentials& c) { c.response[63] = c.response[63] == '0' ? '1' : '0'; }));
  EXPECT_TRUE(refused([](credentials& c) { c.response.pop_back(); }));
  EXPECT_TRUE(refused([](credentials& c) { c.alg = algorithm::md5; }));
  EXPECT_FALSE(verify(base, "REGISTER", h1));
  EXPECT_FALSE(verify(base, "GET", ""));
}

TEST(digest, constant_time_equal) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}
