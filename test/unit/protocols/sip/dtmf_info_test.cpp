// DTMF in INFO bodies: both formats (application/dtmf-relay, application/dtmf),
// every key and RFC 4733 event number, whitespace/case/line-ending variants,
// every error with its reason; rapidcheck: any body is safe, and the
// dtmf-relay text we format reads back to the same digit.
//
// The rapidcheck seed and case count come from ctest (RC_PARAMS in
// test/CMakeLists.txt); run the binary with RC_PARAMS="seed=20261122
// max_success=1000" to get the same cases by hand.

#include "protocols/sip/dtmf_info.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <string_view>
#include <vector>

using namespace centralita;
using namespace centralita::sip;
using ::testing::HasSubstr;

namespace {

constexpr std::string_view relay = "application/dtmf-relay";
constexpr std::string_view plain = "application/dtmf";

dtmf_digit must(result<dtmf_digit> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.err().reason);
  return r.ok() ? *r : dtmf_digit{'?', 0};
}

/// The error's reason, failing the test when `r` parsed.
std::string reason(const result<dtmf_digit>& r, errc want = errc::parse_error) {
  EXPECT_FALSE(r.ok()) << "parsed as '" << (r.ok() ? r->digit : '?') << "'";
  if (r.ok()) return {};
  EXPECT_EQ(r.err().code, want) << r.err().reason;
  return r.err().reason;
}

const std::string keys = "0123456789*#ABCD";

} // namespace

// --- application/dtmf-relay ---------------------------------------------------

TEST(dtmf_relay, cisco_body) {
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=5\r\nDuration=160\r\n")), (dtmf_digit{'5', 160}));
}

TEST(dtmf_relay, every_key) {
  for (char k : keys) {
    const std::string body = std::string("Signal=") + k + "\r\nDuration=250\r\n";
    EXPECT_EQ(must(parse_dtmf_info(relay, body)), (dtmf_digit{k, 250})) << body;
  }
}

TEST(dtmf_relay, lower_case_letters_come_back_upper_case) {
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=a\r\n")).digit, 'A');
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=d\r\n")).digit, 'D');
}

TEST(dtmf_relay, event_numbers) {
  // RFC 4733 §3.2 table 3.
  const std::string want = "0123456789*#ABCDF";
  for (int ev = 0; ev <= 16; ++ev) {
    const std::string body = "Signal=" + std::to_string(ev) + "\r\nDuration=100\r\n";
    EXPECT_EQ(must(parse_dtmf_info(relay, body)), (dtmf_digit{want[static_cast<std::size_t>(ev)], 100})) << body;
  }
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=016")).digit, 'F');  // leading zeros are still decimal
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=00")).digit, '0');
}

TEST(dtmf_relay, bang_is_flash) {
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=!\r\nDuration=500\r\n")), (dtmf_digit{'F', 500}));
}

TEST(dtmf_relay, duration_is_optional) {
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=#\r\n")), (dtmf_digit{'#', 0}));
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=#")), (dtmf_digit{'#', 0}));  // no final line end
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=1\r\nDuration=0\r\n")), (dtmf_digit{'1', 0}));
}

TEST(dtmf_relay, keys_fold_case_and_whitespace_is_allowed) {
  EXPECT_EQ(must(parse_dtmf_info(relay, "SIGNAL=7\r\nduration=90\r\n")), (dtmf_digit{'7', 90}));
  EXPECT_EQ(must(parse_dtmf_info(relay, "sIgNaL = 7 \r\n DuRaTiOn\t=\t90\t\r\n")), (dtmf_digit{'7', 90}));
  EXPECT_EQ(must(parse_dtmf_info(relay, "  Signal=  *  \r\n")), (dtmf_digit{'*', 0}));
}

TEST(dtmf_relay, lf_crlf_and_mixed_line_ends) {
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=9\nDuration=40\n")), (dtmf_digit{'9', 40}));
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=9\r\nDuration=40\n")), (dtmf_digit{'9', 40}));
  EXPECT_EQ(must(parse_dtmf_info(relay, "Duration=40\nSignal=9")), (dtmf_digit{'9', 40}));  // any order
  EXPECT_EQ(must(parse_dtmf_info(relay, "\r\n\r\nSignal=9\r\n\r\n")), (dtmf_digit{'9', 0}));
}

TEST(dtmf_relay, unknown_lines_are_ignored) {
  EXPECT_EQ(must(parse_dtmf_info(relay, "Volume=10\r\nSignal=3\r\nGarbage\r\n=x\r\nDuration=80\r\nX-Y=z\r\n")),
            (dtmf_digit{'3', 80}));
  // A key is the whole token before '=': these are not Signal lines.
  EXPECT_THAT(reason(parse_dtmf_info(relay, "Signals=3\r\nXSignal=4\r\nSignal 5\r\n")),
              HasSubstr("Missing DTMF Signal"));
}

TEST(dtmf_relay, content_type_case_parameters_and_whitespace) {
  EXPECT_EQ(must(parse_dtmf_info("Application/DTMF-Relay", "Signal=1")).digit, '1');
  EXPECT_EQ(must(parse_dtmf_info(" application/dtmf-relay ; charset=utf-8", "Signal=1")).digit, '1');
  EXPECT_EQ(must(parse_dtmf_info("application/dtmf-relay;x", "Signal=1")).digit, '1');
}

TEST(dtmf_relay, duration_limit) {
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=1\r\nDuration=86400000\r\n")).duration_ms, 86'400'000u);
  EXPECT_EQ(must(parse_dtmf_info(relay, "Signal=1\r\nDuration=0000000000000000000160\r\n")).duration_ms, 160u);
  EXPECT_THAT(reason(parse_dtmf_info(relay, "Signal=1\r\nDuration=86400001\r\n")),
              HasSubstr("DTMF Duration over 86400000 ms"));
  EXPECT_THAT(reason(parse_dtmf_info(relay, "Signal=1\r\nDuration=4294967296\r\n")),
              HasSubstr("DTMF Duration over"));
  EXPECT_THAT(reason(parse_dtmf_info(relay, "Signal=1\r\nDuration=99999999999999999999999999999\r\n")),
              HasSubstr("DTMF Duration over"));
}

// --- application/dtmf ---------------------------------------------------------

TEST(dtmf_plain, every_key_and_event_number) {
  for (char k : keys)
    EXPECT_EQ(must(parse_dtmf_info(plain, std::string(1, k))), (dtmf_digit{k, 0})) << k;
  const std::string want = "0123456789*#ABCDF";
  for (int ev = 0; ev <= 16; ++ev)
    EXPECT_EQ(must(parse_dtmf_info(plain, std::to_string(ev))).digit, want[static_cast<std::size_t>(ev)]) << ev;
  EXPECT_EQ(must(parse_dtmf_info(plain, "!")).digit, 'F');
  EXPECT_EQ(must(parse_dtmf_info(plain, "b")).digit, 'B');
}

TEST(dtmf_plain, surrounding_whitespace) {
  EXPECT_EQ(must(parse_dtmf_info(plain, " 5\r\n")).digit, '5');
  EXPECT_EQ(must(parse_dtmf_info(plain, "\t11\n")).digit, '#');
  EXPECT_EQ(must(parse_dtmf_info("APPLICATION/DTMF; foo=bar", "\r\n#\r\n")).digit, '#');
}

TEST(dtmf_plain, errors) {
  EXPECT_THAT(reason(parse_dtmf_info(plain, "")), HasSubstr("Missing DTMF Signal"));
  EXPECT_THAT(reason(parse_dtmf_info(plain, " \r\n")), HasSubstr("Missing DTMF Signal"));
  EXPECT_THAT(reason(parse_dtmf_info(plain, "5 6")), HasSubstr("Bad DTMF Signal '5 6'"));
  EXPECT_THAT(reason(parse_dtmf_info(plain, "17")), HasSubstr("Bad DTMF Signal '17'"));
  // The other format's body is not this one's.
  EXPECT_THAT(reason(parse_dtmf_info(plain, "Signal=5")), HasSubstr("Bad DTMF Signal"));
}

// --- errors -------------------------------------------------------------------

TEST(dtmf_info, unsupported_content_types) {
  for (std::string_view ct : {"", "text/plain", "application/dtmf-relayx", "application/dtmfx",
                              "application/sdp", "application", "application/ dtmf", "dtmf-relay"}) {
    auto r = parse_dtmf_info(ct, "Signal=5\r\n");
    EXPECT_THAT(reason(r, errc::unsupported), HasSubstr("Unsupported DTMF Content-Type")) << ct;
  }
  EXPECT_EQ(reason(parse_dtmf_info("text/plain;x=1", "5"), errc::unsupported),
            "Unsupported DTMF Content-Type 'text/plain'");
}

TEST(dtmf_info, missing_signal) {
  EXPECT_EQ(reason(parse_dtmf_info(relay, "")), "Missing DTMF Signal");
  EXPECT_EQ(reason(parse_dtmf_info(relay, "Duration=160\r\n")), "Missing DTMF Signal");
  EXPECT_EQ(reason(parse_dtmf_info(relay, "Signal=\r\nDuration=160\r\n")), "Missing DTMF Signal");
  EXPECT_EQ(reason(parse_dtmf_info(relay, "Signal=   \r\n")), "Missing DTMF Signal");
}

TEST(dtmf_info, bad_signals) {
  for (std::string_view v : {"E", "e", "F", "x", "17", "255", "-1", "+1", "1.0", "55555555555555555555555",
                             "**", "1 2", "\x80", "0x5"}) {
    auto r = parse_dtmf_info(relay, "Signal=" + std::string(v) + "\r\n");
    EXPECT_THAT(reason(r), HasSubstr("Bad DTMF Signal")) << v;
  }
  EXPECT_EQ(reason(parse_dtmf_info(relay, "Signal=Z\r\n")), "Bad DTMF Signal 'Z'");
}

TEST(dtmf_info, bad_durations) {
  for (std::string_view v : {"", "x", "-1", "+160", "160ms", "1 60", "1.5", "0x10"}) {
    auto r = parse_dtmf_info(relay, "Signal=1\r\nDuration=" + std::string(v) + "\r\n");
    EXPECT_THAT(reason(r), HasSubstr("Bad DTMF Duration")) << v;
  }
  EXPECT_EQ(reason(parse_dtmf_info(relay, "Signal=1\r\nDuration=abc\r\n")), "Bad DTMF Duration 'abc'");
  // A bad Duration is an error even though Signal is fine: the body is not what the sender meant.
  EXPECT_FALSE(parse_dtmf_info(relay, "Duration=-5\r\nSignal=1\r\n").ok());
}

TEST(dtmf_info, repeated_lines_are_refused) {
  EXPECT_EQ(reason(parse_dtmf_info(relay, "Signal=1\r\nSignal=2\r\n")), "Multiple DTMF Signal lines");
  EXPECT_EQ(reason(parse_dtmf_info(relay, "Signal=1\r\nsignal=1\r\n")), "Multiple DTMF Signal lines");
  EXPECT_EQ(reason(parse_dtmf_info(relay, "Signal=1\r\nDuration=1\r\nDuration=2\r\n")),
            "Multiple DTMF Duration lines");
}

TEST(dtmf_info, echoed_input_is_printable_and_short) {
  // The reason becomes a 400 reason phrase: no CR/LF/control bytes, bounded length.
  const std::string evil = "5\x01\x7f" + std::string(100, 'x') + "\xff";
  auto r = parse_dtmf_info(plain, evil);
  const std::string why = reason(r);
  EXPECT_THAT(why, HasSubstr("Bad DTMF Signal '5??xxx"));
  EXPECT_THAT(why, HasSubstr("...'"));
  EXPECT_LT(why.size(), 64u);
  for (char c : why) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(c);
  const std::string ct = reason(parse_dtmf_info("text/\r\nX-Evil: 1", "5"), errc::unsupported);
  for (char c : ct) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(c);
}

// --- format_dtmf_relay --------------------------------------------------------

TEST(dtmf_relay, format) {
  EXPECT_EQ(format_dtmf_relay({'5', 160}), "Signal=5\r\nDuration=160\r\n");
  EXPECT_EQ(format_dtmf_relay({'#', 0}), "Signal=#\r\nDuration=0\r\n");
  EXPECT_EQ(format_dtmf_relay({'F', 500}), "Signal=16\r\nDuration=500\r\n");
}

// --- properties ---------------------------------------------------------------

namespace {

rc::Gen<dtmf_digit> any_digit() {
  return rc::gen::construct<dtmf_digit>(rc::gen::elementOf(std::string("0123456789*#ABCDF")),
                                        rc::gen::inRange<uint32_t>(0, max_dtmf_duration_ms + 1));
}

/// Bodies made of the pieces a parser trips on, plus noise.
rc::Gen<std::string> body_like() {
  static const std::vector<std::string> pieces = {
      "Signal", "signal", "Duration", "=", " ", "\t", "\r", "\n", "\r\n", "5", "#", "*", "16", "17",
      "86400000", "86400001", "4294967296", "-", "!", "a", "Z", std::string(1, '\0'), "\xff", "x"};
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(pieces)),
                      [](const std::vector<std::string>& v) {
                        std::string s;
                        for (const auto& p : v) s += p;
                        return s;
                      });
}

bool valid_digit(const dtmf_digit& d) {
  return std::string_view("0123456789*#ABCDF").find(d.digit) != std::string_view::npos &&
         d.duration_ms <= max_dtmf_duration_ms;
}

void check_any(std::string_view ct, const std::string& body) {
  auto r = parse_dtmf_info(ct, body);
  if (r) {
    RC_ASSERT(valid_digit(*r));
    // What we parsed, formatted and read back, is the same.
    auto back = parse_dtmf_info(relay, format_dtmf_relay(*r));
    RC_ASSERT(back.ok());
    RC_ASSERT(*back == *r);
  } else {
    RC_ASSERT(!r.err().reason.empty());
    for (char c : r.err().reason) RC_ASSERT(c >= 0x20 && c < 0x7f);
  }
}

} // namespace

RC_GTEST_PROP(dtmf_info_prop, arbitrary_bodies_never_crash, (const std::string& body)) {
  check_any(relay, body);
  check_any(plain, body);
}

RC_GTEST_PROP(dtmf_info_prop, body_like_inputs_never_crash, ()) {
  const auto body = *body_like();
  check_any(relay, body);
  check_any(plain, body);
}

RC_GTEST_PROP(dtmf_info_prop, arbitrary_content_types_never_crash, (const std::string& ct)) {
  check_any(ct, "Signal=5\r\n");
}

RC_GTEST_PROP(dtmf_info_prop, formatted_relay_reads_back, ()) {
  const auto d = *any_digit();
  auto r = parse_dtmf_info(relay, format_dtmf_relay(d));
  RC_ASSERT(r.ok());
  RC_ASSERT(*r == d);
}

RC_GTEST_PROP(dtmf_info_prop, hand_written_relay_variants_read_back, ()) {
  // The same digit however a peer spells it: key case, spaces, line ends, order.
  const auto d = *any_digit();
  const auto key_case = [](std::string k, const std::vector<bool>& up) {
    for (std::size_t i = 0; i < k.size() && i < up.size(); ++i)
      if (up[i]) k[i] = static_cast<char>(k[i] - 'a' + 'A');
    return k;
  };
  const auto ws = rc::gen::element<std::string>("", " ", "\t", "  ");
  const auto eol = *rc::gen::element<std::string>("\r\n", "\n");
  std::string sig;
  if (d.digit == 'F') sig = *rc::gen::element<std::string>("16", "!");
  else if (d.digit >= 'A' && d.digit <= 'D')
    sig = *rc::gen::element(std::string(1, d.digit), std::string(1, static_cast<char>(d.digit - 'A' + 'a')),
                            std::to_string(12 + d.digit - 'A'));
  else if (d.digit == '*') sig = *rc::gen::element<std::string>("*", "10");
  else if (d.digit == '#') sig = *rc::gen::element<std::string>("#", "11");
  else sig = std::string(1, d.digit);
  const std::string s = *ws + key_case("signal", *rc::gen::container<std::vector<bool>>(6, rc::gen::arbitrary<bool>())) +
                        *ws + "=" + *ws + sig + *ws + eol;
  const std::string u = *ws + key_case("duration", *rc::gen::container<std::vector<bool>>(8, rc::gen::arbitrary<bool>())) +
                        *ws + "=" + *ws + std::to_string(d.duration_ms) + *ws + eol;
  const std::string body = *rc::gen::arbitrary<bool>() ? s + u : u + s;
  auto r = parse_dtmf_info(relay, body);
  RC_ASSERT(r.ok());
  RC_ASSERT(*r == d);
}
