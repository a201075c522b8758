// Properties of the SDP layer (rapidcheck):
//  1. parse_sdp(build_sdp(x)) == x for generated descriptions;
//  2. rewrite_sdp(build_sdp(x), r) parses and shows exactly r's ports and addresses;
//  3. random mutations of a valid SDP parse or fail cleanly, and whatever parses
//     can be rewritten into something that parses again;
//  4. common_codecs returns a subsequence of the offer.

#include "protocols/sdp/offer_answer.hpp"
#include "protocols/sdp/sdp_rewrite.hpp"
#include "protocols/sdp/session_description.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

using namespace centralita;
using namespace centralita::sdp;

namespace {

rc::Gen<std::string> chars(const std::string& alphabet, size_t min, size_t max) {
  return rc::gen::mapcat(rc::gen::inRange(min, max + 1), [alphabet](size_t n) {
    return rc::gen::container<std::string>(n, rc::gen::elementOf(alphabet));
  });
}

rc::Gen<std::string> ipv4() {
  return rc::gen::apply(
      [](int a, int b, int c, int d) {
        return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c) + "." +
               std::to_string(d);
      },
      rc::gen::inRange(1, 224), rc::gen::inRange(0, 256), rc::gen::inRange(0, 256),
      rc::gen::inRange(1, 255));
}

rc::Gen<std::string> ipv6() {
  return rc::gen::apply([](std::string a, std::string b) { return "2001:db8:" + a + "::" + b; },
                        chars("0123456789abcdef", 1, 4), chars("0123456789abcdef", 1, 4));
}

rc::Gen<std::string> address() { return rc::gen::oneOf(ipv4(), ipv6()); }

bool has_colon(const std::string& s) { return s.find(':') != std::string::npos; }

/// Codecs with distinct payload types, as parse_sdp reports them: static types
/// carry their RFC 3551 encoding (or one written in a=rtpmap), dynamic types a
/// name and rate or nothing at all.
rc::Gen<std::vector<codec>> codecs() {
  auto type = rc::gen::oneOf(rc::gen::elementOf(std::vector<uint8_t>{0, 3, 8, 9, 13, 18}),
                            rc::gen::inRange<uint8_t>(96, 128));
  auto some_types = rc::gen::mapcat(rc::gen::inRange<size_t>(1, 9), [type](size_t n) {
    return rc::gen::container<std::vector<uint8_t>>(n, type);
  });
  return rc::gen::mapcat(some_types,
                         [](std::vector<uint8_t> types) {
                           std::vector<rc::Gen<codec>> gens;
                           std::vector<bool> seen(128);
                           for (uint8_t pt : types) {
                             if (seen[pt]) continue;  // one entry per payload type
                             seen[pt] = true;
                             gens.push_back(rc::gen::apply(
                                 [pt](int kind, std::string name, uint32_t rate, uint8_t ch, std::string fmtp) {
                                   codec c;
                                   c.payload_type = pt;
                                   if (auto s = static_codec(pt); s && kind != 0) c = *s;
                                   else if (kind != 2) {
                                     c.name = name;
                                     c.clock_rate = rate;
                                     c.channels = ch;
                                   }
                                   c.fmtp = fmtp;
                                   return c;
                                 },
                                 rc::gen::inRange(0, 3), chars("abcdefghijklmnopqrstuvwxyzABCDEFGH0123456789-", 1, 16),
                                 rc::gen::inRange<uint32_t>(1, 200000), rc::gen::inRange<uint8_t>(1, 3),
                                 rc::gen::oneOf(rc::gen::just(std::string()),
                                                chars("abcdefgh0123456789=;-/,", 1, 30))));
                           }
                           return rc::gen::exec([gens] {
                             std::vector<codec> out;
                             for (const auto& g : gens) out.push_back(*g);
                             return out;
                           });
                         });
}

rc::Gen<media_description> media(std::string session_address) {
  return rc::gen::exec([session_address] {
    media_description m;
    m.type = *rc::gen::elementOf(std::vector<std::string>{"audio", "video", "text"});
    m.port = *rc::gen::oneOf(rc::gen::just<uint16_t>(0), rc::gen::inRange<uint16_t>(1, 65535),
                             rc::gen::just<uint16_t>(65535));
    m.port_count = *rc::gen::inRange<uint16_t>(1, 3);
    m.proto = *rc::gen::elementOf(std::vector<std::string>{"RTP/AVP", "RTP/SAVP", "RTP/AVPF", "RTP/SAVPF"});
    m.codecs = *codecs();
    m.dir = m.port == 0 ? direction::inactive
                        : *rc::gen::elementOf(std::vector<direction>{direction::sendrecv, direction::sendonly,
                                                                     direction::recvonly, direction::inactive});
    // A stream uses the session's address unless it has its own (needed when the
    // session has none).
    bool own = session_address.empty() || *rc::gen::arbitrary<bool>();
    m.connection_address = own ? *address() : session_address;
    m.ipv6 = has_colon(m.connection_address);
    if (*rc::gen::arbitrary<bool>()) {
      m.rtcp_port = *rc::gen::inRange<uint16_t>(0, 65535);
      if (*rc::gen::arbitrary<bool>()) m.rtcp_address = *address();
    }
    m.rtcp_mux = *rc::gen::arbitrary<bool>();
    m.ptime = *rc::gen::oneOf(rc::gen::just<uint32_t>(0), rc::gen::inRange<uint32_t>(1, 200));
    return m;
  });
}

rc::Gen<session_description> description() {
  return rc::gen::exec([] {
    session_description sd;
    sd.origin_username = *chars("abcdefghijklmnopqrstuvwxyz0123456789-_.", 1, 12);
    sd.session_id = *rc::gen::arbitrary<uint64_t>();
    sd.session_version = *rc::gen::arbitrary<uint64_t>();
    sd.origin_address = *address();
    sd.connection_address = *rc::gen::oneOf(rc::gen::just(std::string()), address());
    size_t n = *rc::gen::inRange<size_t>(1, 4);
    for (size_t i = 0; i < n; ++i) sd.media.push_back(*media(sd.connection_address));
    return sd;
  });
}

rc::Gen<sdp_rewrite> rewrite_for(size_t media_count) {
  return rc::gen::exec([media_count] {
    sdp_rewrite r;
    r.connection_address = *address();
    r.ipv6 = has_colon(r.connection_address);
    if (*rc::gen::arbitrary<bool>()) r.session_version = *rc::gen::arbitrary<uint64_t>();
    size_t n = *rc::gen::inRange<size_t>(0, media_count + 1);
    for (size_t i = 0; i < n; ++i) {
      media_rewrite m;
      m.port = *rc::gen::inRange<uint16_t>(1, 65535);
      if (*rc::gen::arbitrary<bool>()) m.rtcp_port = *rc::gen::inRange<uint16_t>(1, 65535);
      m.disable = *rc::gen::inRange(0, 8) == 0;
      if (*rc::gen::arbitrary<bool>())
        m.dir = *rc::gen::elementOf(std::vector<direction>{direction::sendrecv, direction::sendonly,
                                                           direction::recvonly, direction::inactive});
      r.media.push_back(m);
    }
    return r;
  });
}

} // namespace

RC_GTEST_PROP(sdp_prop, build_then_parse_round_trips, ()) {
  auto sd = *description();
  auto text = build_sdp(sd);
  auto parsed = parse_sdp(text);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(*parsed == sd);
}

RC_GTEST_PROP(sdp_prop, rewrite_shows_exactly_the_relay_ports_and_addresses, ()) {
  auto sd = *description();
  auto r = *rewrite_for(sd.media.size());
  auto out = rewrite_sdp(build_sdp(sd), r);
  RC_ASSERT(out.ok());
  auto got = parse_sdp(*out);
  RC_ASSERT(got.ok());
  RC_ASSERT(got->connection_address == r.connection_address);
  RC_ASSERT(got->media.size() == sd.media.size());
  if (r.session_version) RC_ASSERT(got->session_version == *r.session_version);
  for (size_t i = 0; i < sd.media.size(); ++i) {
    const auto& before = sd.media[i];
    const auto& after = got->media[i];
    RC_ASSERT(after.connection_address == r.connection_address);
    RC_ASSERT(after.ipv6 == r.ipv6);
    RC_ASSERT(after.codecs == before.codecs);
    if (i >= r.media.size()) {
      RC_ASSERT(after.port == before.port);
      RC_ASSERT(after.rtcp_port == before.rtcp_port);
      continue;
    }
    const auto& mr = r.media[i];
    bool rejected = before.port == 0 || mr.disable;
    RC_ASSERT(after.port == (rejected ? 0 : mr.port));
    if (rejected) {
      RC_ASSERT(after.dir == direction::inactive);
      RC_ASSERT(!after.rtcp_port);
    } else {
      RC_ASSERT(after.rtcp_port == mr.rtcp_port);
      if (mr.rtcp_port) RC_ASSERT(after.rtcp_address == r.connection_address);
      RC_ASSERT(after.dir == mr.dir.value_or(before.dir));
    }
  }
}

RC_GTEST_PROP(sdp_prop, mutated_sdp_never_crashes_and_parsed_means_rewritable, ()) {
  auto text = build_sdp(*description());
  const std::string alphabet = "v=0\r\n \tomcat:/IP46ARS-123456789xyz\x01\xff";
  size_t edits = *rc::gen::inRange<size_t>(1, 8);
  for (size_t k = 0; k < edits && !text.empty(); ++k) {
    size_t pos = *rc::gen::inRange<size_t>(0, text.size());
    switch (*rc::gen::inRange(0, 4)) {
    case 0: text[pos] = *rc::gen::elementOf(alphabet); break;
    case 1: text.insert(pos, 1, *rc::gen::elementOf(alphabet)); break;
    case 2: text.erase(pos, *rc::gen::inRange<size_t>(1, 12)); break;
    default: {
      // Duplicate a whole line somewhere else.
      size_t b = text.rfind('\n', pos);
      b = b == std::string::npos ? 0 : b + 1;
      size_t e = text.find('\n', pos);
      std::string line = text.substr(b, e == std::string::npos ? std::string::npos : e - b + 1);
      text.insert(*rc::gen::inRange<size_t>(0, text.size() + 1), line);
    }
    }
  }
  auto parsed = parse_sdp(text);
  if (!parsed.ok()) {
    for (char c : parsed.err().reason) RC_ASSERT(c >= 0x20 && c < 0x7f);
    return;
  }
  sdp_rewrite r;
  r.connection_address = "192.0.2.99";
  r.session_version = parsed->session_version + 1;
  for (size_t i = 0; i < parsed->media.size(); ++i) {
    media_rewrite m;
    m.port = static_cast<uint16_t>(20000 + 2 * i);
    m.rtcp_port = static_cast<uint16_t>(20001 + 2 * i);
    r.media.push_back(m);
  }
  auto out = rewrite_sdp(text, r);
  RC_ASSERT(out.ok());
  auto again = parse_sdp(*out);
  RC_ASSERT(again.ok());
  RC_ASSERT(again->media.size() == parsed->media.size());
  for (size_t i = 0; i < parsed->media.size(); ++i)
    RC_ASSERT(again->media[i].port == (parsed->media[i].port == 0 ? 0 : r.media[i].port));
}

RC_GTEST_PROP(sdp_prop, common_codecs_is_a_subsequence_of_the_offer, ()) {
  auto offer = *codecs();
  auto caps = *codecs();
  auto common = common_codecs(offer, caps);
  size_t j = 0;
  for (const auto& c : common) {
    while (j < offer.size() && !(offer[j] == c)) ++j;
    RC_ASSERT(j < offer.size());
    ++j;
    bool matched = false;
    for (const auto& a : caps) matched = matched || same_encoding(c, a);
    RC_ASSERT(matched);
  }
}
