// libFuzzer target: parse_sdp and rewrite_sdp on arbitrary bytes. Invariants:
// whatever parse_sdp accepts, rewrite_sdp accepts too (with a fixed address and
// port rewrite, and with per-stream codec edits), and both outputs parse again
// showing exactly the rewritten ports and address; build_sdp of the parsed view
// parses again. Errors are printable one-line reasons.

#include "protocols/sdp/offer_answer.hpp"
#include "protocols/sdp/sdp_rewrite.hpp"
#include "protocols/sdp/session_description.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace centralita::sdp;

namespace {

void check_reason(const centralita::error& e) {
  for (char c : e.reason)
    if (c < 0x20 || c >= 0x7f) std::abort();  // must fit a SIP reason phrase
}

/// The output parses and shows the relay address and the expected ports.
void check_rewritten(const std::string& out, const session_description& before, const sdp_rewrite& r) {
  auto again = parse_sdp(out);
  if (!again.ok() || again->media.size() != before.media.size()) std::abort();
  if (again->connection_address != r.connection_address) std::abort();
  for (size_t i = 0; i < before.media.size(); ++i) {
    const auto& m = again->media[i];
    if (m.connection_address != r.connection_address) std::abort();
    if (i >= r.media.size()) {
      if (m.port != before.media[i].port) std::abort();
      continue;
    }
    bool rejected = before.media[i].port == 0 || r.media[i].disable;
    if (m.port != (rejected ? 0 : r.media[i].port)) std::abort();
    if (!rejected && m.rtcp_port != r.media[i].rtcp_port) std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_sdp(bytes);
  if (!parsed.ok()) {
    check_reason(parsed.err());
    auto r = rewrite_sdp(bytes, sdp_rewrite{});
    if (r.ok()) std::abort();  // the rewrite parses the same way
    return 0;
  }
  const session_description& sd = *parsed;

  // 1. The fixed rewrite: relay address, o= bump, the first stream moved.
  sdp_rewrite fixed;
  fixed.connection_address = "192.0.2.1";
  fixed.origin_username = "centralita";
  fixed.session_version = sd.session_version + 1;
  media_rewrite first;
  first.port = 40000;
  first.rtcp_port = 40001;
  first.dir = direction::sendonly;
  fixed.media.push_back(first);
  auto out = rewrite_sdp(bytes, fixed);
  if (!out.ok()) std::abort();
  check_rewritten(*out, sd, fixed);

  // 2. Every stream: IPv6 relay, codec filtering and transcoding codecs on RTP streams.
  sdp_rewrite all;
  all.connection_address = "2001:db8::1";
  all.ipv6 = true;
  for (size_t i = 0; i < sd.media.size(); ++i) {
    media_rewrite m;
    m.port = static_cast<uint16_t>(20000 + 2 * i);
    if (i % 2 == 0) m.rtcp_port = static_cast<uint16_t>(20001 + 2 * i);
    m.disable = i == 3;
    if (!sd.media[i].codecs.empty()) {
      m.keep_payload_types = std::vector<uint8_t>{0, 8};
      m.add_codecs = {{101, "telephone-event", 8000, 1, "0-16"}, {96, "opus", 48000, 2, ""}};
    }
    all.media.push_back(m);
  }
  auto out2 = rewrite_sdp(bytes, all);
  if (!out2.ok()) std::abort();
  check_rewritten(*out2, sd, all);

  // 3. The value view prints as a valid SDP again.
  auto rebuilt = parse_sdp(build_sdp(sd));
  if (!rebuilt.ok() || rebuilt->media.size() != sd.media.size()) std::abort();
  for (size_t i = 0; i < sd.media.size(); ++i)
    if (rebuilt->media[i].port != sd.media[i].port || rebuilt->media[i].codecs.size() != sd.media[i].codecs.size())
      std::abort();

  // 4. Offer/answer helpers on whatever came in.
  for (const auto& m : sd.media) {
    (void)common_codecs(m.codecs, {{0, "PCMU", 8000, 1, ""}, {96, "opus", 48000, 2, ""}});
    (void)find_codec(m, "telephone-event", 8000);
  }
  return 0;
}
