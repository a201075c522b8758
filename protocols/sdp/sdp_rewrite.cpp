#include "protocols/sdp/sdp_rewrite.hpp"

#include "protocols/sdp/sdp_document.hpp"

namespace centralita::sdp {

namespace {

error bad_arg(std::string reason) { return error{errc::invalid_argument, std::move(reason)}; }

/// An address or user name that fits one SDP field: printable, no space
/// (RFC 4566 §5.2 username and unicast-address are non-whitespace strings).
bool is_field(std::string_view s) noexcept {
  for (char c : s)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

result<void> check(const sdp_rewrite& r, size_t media_count) {
  if (!is_field(r.connection_address)) return bad_arg("bad connection address");
  if (!is_field(r.origin_username)) return bad_arg("bad origin user name");
  if (!is_field(r.origin_address)) return bad_arg("bad origin address");
  if (r.media.size() > media_count) return bad_arg("more media edits than m= lines");
  return {};
}

} // namespace

result<std::string> rewrite_sdp(std::string_view body, const sdp_rewrite& r) {
  auto parsed = sdp_document::parse(body);
  if (!parsed) return parsed.err();
  sdp_document& doc = *parsed;
  if (auto ok = check(r, doc.media_count()); !ok) return ok.err();

  // RFC 3264 §8: the o= line identifies the session version; the caller bumps it.
  doc.set_origin(r.origin_username, r.session_id, r.session_version, r.origin_address);
  if (!r.connection_address.empty()) {
    doc.set_connection(r.connection_address, r.ipv6);
    // RFC 8445 §5.1.1: candidates advertise the peer's own addresses. Once the
    // media is anchored on our relay (which does not run ICE), passing them on
    // would let the far end send around the relay or fail its checks.
    doc.remove_ice();
  }
  for (size_t i = 0; i < r.media.size(); ++i) {
    const media_rewrite& mr = r.media[i];
    // RFC 3264 §6: port 0 rejects the stream. One that came in rejected stays so
    // (the relay allocated nothing for it) and loses its stale a=rtcp.
    if (mr.disable || mr.port == 0 || doc.description().media[i].port == 0) {
      doc.disable(i);
      continue;
    }
    doc.set_port(i, mr.port);
    doc.set_rtcp(i, mr.rtcp_port, r.connection_address, r.ipv6);
    if (auto ok = doc.set_codecs(i, mr.keep_payload_types, mr.add_codecs); !ok) return ok.err();
    if (mr.dir) doc.set_direction(i, *mr.dir);
  }
  return doc.print();
}

} // namespace centralita::sdp
