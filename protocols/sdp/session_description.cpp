#include "protocols/sdp/session_description.hpp"

#include "protocols/sdp/sdp_document.hpp"

#include <sofia-sip/sdp.h>

#include <charconv>

namespace centralita::sdp {

const char* to_string(direction d) noexcept {
  switch (d) {
  case direction::sendrecv: return "sendrecv";
  case direction::sendonly: return "sendonly";
  case direction::recvonly: return "recvonly";
  case direction::inactive: return "inactive";
  }
  return "sendrecv";
}

std::optional<codec> static_codec(uint8_t payload_type) {
  // RFC 3551 §6 tables 4 and 5, as sofia's parser fills them for an m= line
  // without a=rtpmap (so parse_sdp and this agree).
  if (payload_type >= 128) return std::nullopt;
  const sdp_rtpmap_t* rm = sdp_rtpmap_well_known[payload_type];
  if (rm == nullptr) return std::nullopt;
  codec c;
  c.payload_type = payload_type;
  c.name = rm->rm_encoding;
  c.clock_rate = static_cast<uint32_t>(rm->rm_rate);
  if (rm->rm_params != nullptr && rm->rm_params[0] == '2') c.channels = 2;  // L16 stereo (PT 10)
  return c;
}

result<session_description> parse_sdp(std::string_view body) {
  auto doc = sdp_document::parse(body);
  if (!doc) return doc.err();
  return doc->description();
}

namespace {

/// Appends `s` without CR, LF or NUL: a value can never end a line early.
void put(std::string& out, std::string_view s) {
  for (char c : s)
    if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
}

void put(std::string& out, uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, p);
}

bool looks_ipv6(std::string_view address) { return address.find(':') != std::string_view::npos; }

/// RFC 4566 §5.7: c=IN IP4|IP6 address
void put_connection(std::string& out, std::string_view address, bool ipv6) {
  out += ipv6 ? "c=IN IP6 " : "c=IN IP4 ";
  put(out, address);
  out += "\r\n";
}

} // namespace

std::string build_sdp(const session_description& sd) {
  std::string out;
  out.reserve(256 + 192 * sd.media.size());
  // RFC 4566 §5: v=, o=, s=, [c=], t= in this order, then the media sections.
  out += "v=0\r\no=";
  put(out, sd.origin_username.empty() ? std::string_view("-") : std::string_view(sd.origin_username));
  out += ' ';
  put(out, sd.session_id);
  out += ' ';
  put(out, sd.session_version);
  std::string_view origin = !sd.origin_address.empty()       ? std::string_view(sd.origin_address)
                            : !sd.connection_address.empty() ? std::string_view(sd.connection_address)
                                                             : std::string_view("0.0.0.0");
  out += looks_ipv6(origin) ? " IN IP6 " : " IN IP4 ";
  put(out, origin);
  out += "\r\ns=-\r\n";
  bool session_ipv6 = looks_ipv6(sd.connection_address);
  if (!sd.connection_address.empty()) put_connection(out, sd.connection_address, session_ipv6);
  out += "t=0 0\r\n";

  for (const auto& m : sd.media) {
    out += "m=";
    put(out, m.type);
    out += ' ';
    put(out, m.port);
    if (m.port_count > 1) {
      out += '/';
      put(out, m.port_count);
    }
    out += ' ';
    put(out, m.proto);
    for (const auto& c : m.codecs) {
      out += ' ';
      put(out, c.payload_type);
    }
    if (m.codecs.empty())
      for (const auto& f : m.formats) {
        out += ' ';
        put(out, f);
      }
    out += "\r\n";
    // A media-level c= only where it says something the session level does not.
    if (!m.connection_address.empty() &&
        (m.connection_address != sd.connection_address || m.ipv6 != session_ipv6))
      put_connection(out, m.connection_address, m.ipv6);
    for (const auto& c : m.codecs) {
      if (!c.name.empty()) {
        // RFC 4566 §6: a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]
        out += "a=rtpmap:";
        put(out, c.payload_type);
        out += ' ';
        put(out, c.name);
        out += '/';
        put(out, c.clock_rate);
        if (c.channels > 1) {
          out += '/';
          put(out, c.channels);
        }
        out += "\r\n";
      }
      if (!c.fmtp.empty()) {
        out += "a=fmtp:";
        put(out, c.payload_type);
        out += ' ';
        put(out, c.fmtp);
        out += "\r\n";
      }
    }
    if (m.ptime != 0) {
      out += "a=ptime:";
      put(out, m.ptime);
      out += "\r\n";
    }
    if (m.rtcp_port) {
      // RFC 3605 §2.1: a=rtcp:port [IN IP4|IP6 address]
      out += "a=rtcp:";
      put(out, *m.rtcp_port);
      if (!m.rtcp_address.empty()) {
        out += looks_ipv6(m.rtcp_address) ? " IN IP6 " : " IN IP4 ";
        put(out, m.rtcp_address);
      }
      out += "\r\n";
    }
    if (m.rtcp_mux) out += "a=rtcp-mux\r\n";  // RFC 5761 §5.1.1
    // Always explicit (RFC 3264 §5.1 defaults to sendrecv, but some endpoints
    // read a missing attribute as whatever they last saw).
    out += "a=";
    out += to_string(m.dir);
    out += "\r\n";
  }
  return out;
}

} // namespace centralita::sdp
