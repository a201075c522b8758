#include "protocols/sdp/sdp_document.hpp"

#include "protocols/sdp/sdp_text.hpp"
#include "protocols/util/ascii.hpp"

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_string.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <charconv>
#include <cstring>
#include <limits>

namespace centralita::sdp {

/// Owns one sofia SDP parser; every structure of the session (and every edit)
/// lives in the parser's memory home and goes with it.
struct sdp_document::impl {
  sdp_parser_t* parser = nullptr;
  sdp_session_t* sdp = nullptr;
  session_description view;
  bool out_of_memory = false;  ///< an edit could not allocate: print() fails

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    if (parser != nullptr) sdp_parser_free(parser);
  }
  su_home_t* home() const noexcept { return sdp_parser_home(parser); }
};

namespace {

/// RFC 3550 §5.1: a payload type has 7 bits, so an m= line naming more than 128
/// formats repeats some; refusing them keeps the edits on a fixed buffer.
constexpr size_t max_formats = 128;

error fail(std::string reason) { return error{errc::parse_error, std::move(reason)}; }
error bad_arg(std::string reason) { return error{errc::invalid_argument, std::move(reason)}; }

std::string nth(std::string_view what, size_t index) {
  return std::string(what) + " " + std::to_string(index + 1);
}

/// sofia's error text quotes input bytes: keep it printable and short, since it
/// may end up in a reason phrase (RFC 3261 §25.1 reason-phrase, no CR/LF).
std::string sanitize(const char* text) {
  std::string out = "bad SDP: ";
  if (text == nullptr) return out + "unparseable";
  for (size_t i = 0; text[i] != '\0' && i < 100; ++i) {
    char c = text[i];
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string_view view_of(const char* s) { return s != nullptr ? std::string_view(s) : std::string_view(); }

bool is_rtp_like(const sdp_media_t* m) {
  if (sdp_media_has_rtp(m)) return true;
  // RFC 4585 (AVPF), RFC 5124 (SAVPF) and RFC 5764 §8 (UDP/TLS/RTP/SAVP[F]) are
  // RTP too; sofia 1.12.11 only knows RTP/AVP and RTP/SAVP.
  std::string_view proto = view_of(m->m_proto_name);
  for (size_t i = 0; i + 4 <= proto.size(); ++i)
    if (ascii::iequals(proto.substr(i, 4), "RTP/")) return true;
  return false;
}

sdp_rtpmap_t* new_rtpmap(su_home_t* home, unsigned pt) {
  auto* rm = static_cast<sdp_rtpmap_t*>(su_salloc(home, sizeof(sdp_rtpmap_t)));
  if (rm == nullptr) return nullptr;
  if (const sdp_rtpmap_t* known = sdp_rtpmap_well_known[pt]; known != nullptr) {
    *rm = *known;  // the RFC 3551 §6 encoding, as sofia fills it for RTP/AVP
    rm->rm_next = nullptr;
  } else {
    rm->rm_predef = 1;
    rm->rm_pt = pt;
    rm->rm_encoding = "";
  }
  return rm;
}

/// Splits "PT rest" (a=rtpmap / a=fmtp value) into the payload type and the rest.
bool split_pt(std::string_view value, unsigned& pt, std::string_view& rest) {
  size_t sp = value.find_first_of(" \t");
  if (sp == std::string_view::npos) sp = value.size();
  if (!parse_number(value.substr(0, sp), pt) || pt >= 128) return false;
  rest = value.substr(sp);
  rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
  return true;
}

/// sofia builds an rtpmap list (one entry per payload type of the m= line, with
/// a=rtpmap and a=fmtp folded in) only for RTP/AVP and RTP/SAVP. Build the same
/// for the other RTP profiles so that reading and editing have one code path.
result<void> normalize_rtp(su_home_t* home, sdp_media_t* m, size_t index) {
  if (m->m_rtpmaps != nullptr || m->m_format == nullptr || !is_rtp_like(m)) return {};
  sdp_rtpmap_t** tail = &m->m_rtpmaps;
  for (const sdp_list_t* l = m->m_format; l != nullptr; l = l->l_next) {
    unsigned pt = 0;
    if (!parse_number(view_of(l->l_text), pt) || pt >= 128)
      return fail(nth("bad payload type in m= line", index));
    sdp_rtpmap_t* rm = new_rtpmap(home, pt);
    if (rm == nullptr) return fail("out of memory");
    *tail = rm;
    tail = &rm->rm_next;
  }
  m->m_format = nullptr;
  for (sdp_attribute_t** a = &m->m_attributes; *a != nullptr;) {
    bool rtpmap = su_casematch((*a)->a_name, "rtpmap");
    if (!rtpmap && !su_casematch((*a)->a_name, "fmtp")) {
      a = &(*a)->a_next;
      continue;
    }
    unsigned pt = 0;
    std::string_view rest;
    if (!split_pt(view_of((*a)->a_value), pt, rest))
      return fail(nth(rtpmap ? "bad a=rtpmap in m= line" : "bad a=fmtp in m= line", index));
    sdp_rtpmap_t* rm = m->m_rtpmaps;
    while (rm != nullptr && rm->rm_pt != pt) rm = rm->rm_next;
    if (rm != nullptr && rtpmap) {
      // RFC 4566 §6: <encoding name>/<clock rate>[/<encoding parameters>]
      size_t s1 = rest.find('/');
      // sofia's own rtpmap parser takes the encoding name as a token too.
      if (s1 == std::string_view::npos || !text::is_token(rest.substr(0, s1)))
        return fail(nth("bad a=rtpmap in m= line", index));
      std::string_view rate = rest.substr(s1 + 1), params;
      if (size_t s2 = rate.find('/'); s2 != std::string_view::npos) {
        params = rate.substr(s2 + 1);
        rate = rate.substr(0, s2);
      }
      unsigned long r = 0;
      if (!parse_number(rate, r)) return fail(nth("bad a=rtpmap in m= line", index));
      rm->rm_predef = 0;
      rm->rm_encoding = su_strndup(home, rest.data(), static_cast<isize_t>(s1));
      rm->rm_rate = r;
      rm->rm_params = params.empty() ? nullptr : su_strndup(home, params.data(), static_cast<isize_t>(params.size()));
    } else if (rm != nullptr) {
      rm->rm_fmtp = su_strndup(home, rest.data(), static_cast<isize_t>(rest.size()));
    }
    // Folded into the rtpmap list, or about a type the m= line lacks: sofia drops
    // those too for RTP/AVP.
    *a = (*a)->a_next;
  }
  return {};
}

/// Puts back what sofia 1.12.11 loses between parse and print, from the text:
///  - the modifier of b= lines: it mislabels all but CT ("b=TIAS:64000" prints
///    back as "b=AS:64000");
///  - media-level i= lines, which it skips.
/// Both splitters see the same lines, so the walk stays aligned; should it not
/// (a b= line sofia did not keep), the rest keeps sofia's labels.
void restore_lost_text(su_home_t* home, sdp_session_t* sdp, std::string_view body) {
  sdp_media_t* m = nullptr;
  sdp_bandwidth_t* next_b = sdp->sdp_bandwidths;
  bool aligned = true;
  text::for_each_line(body, [&](std::string_view line) {
    if (line.size() < 2) return true;
    std::string_view value = line.substr(2);
    switch (line[0]) {
    case 'm':
      m = m == nullptr ? sdp->sdp_media : m->m_next;
      if (m == nullptr) return false;
      next_b = m->m_bandwidths;
      aligned = true;
      break;
    case 'i':
      if (m != nullptr && m->m_information == nullptr)
        m->m_information = su_strndup(home, value.data(), static_cast<isize_t>(value.size()));
      break;
    case 'b': {
      value.remove_prefix(std::min(value.find_first_not_of(" \t"), value.size()));
      size_t colon = value.find(':');
      if (!aligned || next_b == nullptr || colon == std::string_view::npos || colon == 0) {
        aligned = false;
        break;
      }
      if (char* name = su_strndup(home, value.data(), static_cast<isize_t>(colon))) {
        next_b->b_modifier = sdp_bw_x;  // printed by name
        next_b->b_modifier_name = name;
      }
      next_b = next_b->b_next;
      break;
    }
    default: break;
    }
    return true;
  });
}

/// "k=prompt" parses with an empty key and prints back as "k=prompt:".
void fix_key(sdp_key_t* k) {
  if (k != nullptr && k->k_material != nullptr && k->k_material[0] == '\0') k->k_material = nullptr;
}

direction from_mode(unsigned mode) {
  switch (mode) {
  case sdp_sendonly: return direction::sendonly;
  case sdp_recvonly: return direction::recvonly;
  case sdp_inactive: return direction::inactive;
  default: return direction::sendrecv;
  }
}

unsigned to_mode(direction d) {
  switch (d) {
  case direction::sendonly: return sdp_sendonly;
  case direction::recvonly: return sdp_recvonly;
  case direction::inactive: return sdp_inactive;
  case direction::sendrecv: break;
  }
  return sdp_sendrecv;
}

/// RFC 3605 §2.1: "a=rtcp:" port [nettype space addrtype space connection-address]
bool parse_rtcp(std::string_view v, uint16_t& port, std::string& address) {
  v.remove_prefix(std::min(v.find_first_not_of(" \t"), v.size()));
  size_t sp = v.find_first_of(" \t");
  unsigned p = 0;
  if (!parse_number(v.substr(0, sp), p) || p > 65535) return false;
  port = static_cast<uint16_t>(p);
  address.clear();
  if (sp == std::string_view::npos) return true;
  std::array<std::string_view, 3> words{};
  size_t n = 0;
  std::string_view rest = v.substr(sp);
  while (!rest.empty()) {
    rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
    if (rest.empty()) break;
    size_t end = std::min(rest.find_first_of(" \t"), rest.size());
    if (n == words.size()) return false;
    words[n++] = rest.substr(0, end);
    rest.remove_prefix(end);
  }
  if (n == 0) return true;
  if (n != 3) return false;
  address = std::string(words[2]);
  return true;
}

/// The checks our users need on top of sofia's, and the value view. A rewrite
/// runs them too, so a body parse_sdp accepts can always be rewritten.
result<session_description> describe(const sdp_session_t* sdp) {
  session_description sd;
  const sdp_origin_t* o = sdp->sdp_origin;
  if (o == nullptr) return fail("missing o= line");
  // sofia's printer refuses an o= address with a TTL or group count.
  if (o->o_address == nullptr || o->o_address->c_address == nullptr || o->o_address->c_ttl != 0 ||
      o->o_address->c_groups > 1 || o->o_address->c_mcast)
    return fail("bad o= line");
  if (sdp->sdp_media == nullptr) return fail("missing m= line");
  sd.origin_username = view_of(o->o_username);
  sd.session_id = o->o_id;
  sd.session_version = o->o_version;
  sd.origin_address = view_of(o->o_address->c_address);
  const sdp_connection_t* session_c = sdp->sdp_connection;
  // RFC 4566 §5.7: sofia takes "c=IN IP4 /2" as an empty address with a TTL.
  auto bad_connection = [](const sdp_connection_t* c) {
    for (; c != nullptr; c = c->c_next)
      if (c->c_address == nullptr || c->c_address[0] == '\0') return true;
    return false;
  };
  if (bad_connection(session_c)) return fail("bad c= line");
  if (session_c != nullptr) sd.connection_address = view_of(session_c->c_address);

  size_t index = 0;
  for (const sdp_media_t* m = sdp->sdp_media; m != nullptr; m = m->m_next, ++index) {
    media_description md;
    md.type = view_of(m->m_type_name);
    md.proto = view_of(m->m_proto_name);
    if (m->m_port > 65535) return fail(nth("bad port in m= line", index));
    if (m->m_number_of_ports > 65535) return fail(nth("bad port count in m= line", index));
    md.port = static_cast<uint16_t>(m->m_port);
    md.port_count = m->m_number_of_ports > 1 ? static_cast<uint16_t>(m->m_number_of_ports) : 1;

    size_t formats = 0;
    for (const sdp_rtpmap_t* rm = m->m_rtpmaps; rm != nullptr; rm = rm->rm_next, ++formats) {
      if (rm->rm_any) return fail(nth("bad format in m= line", index));
      // sofia accepts "a=rtpmap:31 \f261/8000" with no encoding name and prints it
      // as "(null)/261": RFC 4566 §6 wants a token there.
      if (!rm->rm_predef && !text::is_token(view_of(rm->rm_encoding)))
        return fail(nth("bad a=rtpmap in m= line", index));
      if (rm->rm_rate > std::numeric_limits<uint32_t>::max())
        return fail(nth("bad a=rtpmap in m= line", index));
      codec c;
      c.payload_type = static_cast<uint8_t>(rm->rm_pt);
      c.name = view_of(rm->rm_encoding);
      c.clock_rate = static_cast<uint32_t>(rm->rm_rate);
      // RFC 4566 §6: audio encoding parameters are the channel count (default 1).
      unsigned ch = 0;
      if (parse_number(view_of(rm->rm_params), ch) && ch >= 1 && ch <= 255)
        c.channels = static_cast<uint8_t>(ch);
      c.fmtp = view_of(rm->rm_fmtp);
      md.codecs.push_back(std::move(c));
    }
    for (const sdp_list_t* l = m->m_format; l != nullptr; l = l->l_next, ++formats)
      md.formats.emplace_back(view_of(l->l_text));
    // RFC 4566 §5.14: an m= line has at least one format.
    if (formats == 0) return fail(nth("no formats in m= line", index));
    if (formats > max_formats) return fail(nth("too many formats in m= line", index));

    md.dir = m->m_rejected ? direction::inactive : from_mode(m->m_mode);
    if (bad_connection(m->m_connections)) return fail(nth("bad c= line in m= line", index));
    const sdp_connection_t* c = m->m_connections != nullptr ? m->m_connections : session_c;
    if (c != nullptr) {
      md.connection_address = view_of(c->c_address);
      md.ipv6 = c->c_addrtype == sdp_addr_ip6;
    } else if (m->m_port != 0) {
      // RFC 4566 §5.7: a c= line in every media description or at session level.
      return fail(nth("no connection address for m= line", index));
    }
    for (const sdp_attribute_t* a = m->m_attributes; a != nullptr; a = a->a_next) {
      if (su_casematch(a->a_name, "rtcp")) {
        uint16_t port = 0;
        if (!parse_rtcp(view_of(a->a_value), port, md.rtcp_address))
          return fail(nth("bad a=rtcp in m= line", index));
        md.rtcp_port = port;
      } else if (su_casematch(a->a_name, "rtcp-mux")) {
        md.rtcp_mux = true;
      } else if (su_casematch(a->a_name, "ptime")) {
        // RFC 4566 §6: ptime in milliseconds; a value we cannot read is ignored.
        uint32_t ms = 0;
        md.ptime = parse_number(view_of(a->a_value), ms) ? ms : 0;
      }
    }
    sd.media.push_back(std::move(md));
  }
  return sd;
}

sdp_media_t* media_at(sdp_session_t* sdp, size_t index) {
  sdp_media_t* m = sdp->sdp_media;
  for (; m != nullptr && index > 0; --index) m = m->m_next;
  return m;
}

sdp_connection_t* new_connection(su_home_t* home, std::string_view address, bool ipv6) {
  auto* c = static_cast<sdp_connection_t*>(su_salloc(home, sizeof(sdp_connection_t)));
  if (c == nullptr) return nullptr;
  c->c_nettype = sdp_net_in;
  c->c_addrtype = ipv6 ? sdp_addr_ip6 : sdp_addr_ip4;
  c->c_address = su_strndup(home, address.data(), static_cast<isize_t>(address.size()));
  c->c_groups = 1;
  return c->c_address != nullptr ? c : nullptr;
}

/// Removes every attribute `drop` selects from a list.
template <class Pred>
void remove_attributes(sdp_attribute_t** list, Pred&& drop) {
  while (*list != nullptr) {
    if (drop(**list))
      *list = (*list)->a_next;
    else
      list = &(*list)->a_next;
  }
}

bool is_ice_attribute(const sdp_attribute_t& a) {
  // RFC 8839 §5: the SDP attributes of ICE.
  static constexpr std::array<const char*, 9> names{
      "candidate", "remote-candidates", "ice-ufrag", "ice-pwd", "ice-options",
      "ice-lite", "ice-mismatch", "ice-pacing", "end-of-candidates"};
  for (const char* n : names)
    if (su_casematch(a.a_name, n)) return true;
  return false;
}

} // namespace

// ---------------------------------------------------------------- sdp_document

sdp_document::sdp_document(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
sdp_document::sdp_document(sdp_document&&) noexcept = default;
sdp_document& sdp_document::operator=(sdp_document&&) noexcept = default;
sdp_document::~sdp_document() = default;

result<sdp_document> sdp_document::parse(std::string_view body) {
  if (auto ok = text::check_lines(body); !ok) return ok.err();
  auto p = std::make_unique<impl>();
  // sdp_f_insane: our own checks (describe()) name what is wrong more precisely
  // than sofia's sanity check, and also cover the other RTP profiles.
  p->parser = sdp_parse(nullptr, body.data(), static_cast<issize_t>(body.size()), sdp_f_insane);
  p->sdp = sdp_session(p->parser);
  if (p->sdp == nullptr) return fail(sanitize(sdp_parsing_error(p->parser)));
  su_home_t* home = p->home();
  size_t index = 0;
  for (sdp_media_t* m = p->sdp->sdp_media; m != nullptr; m = m->m_next, ++index) {
    if (auto ok = normalize_rtp(home, m, index); !ok) return ok.err();
    fix_key(m->m_key);
  }
  fix_key(p->sdp->sdp_key);
  restore_lost_text(home, p->sdp, body);
  auto view = describe(p->sdp);
  if (!view) return view.err();
  p->view = std::move(*view);
  return sdp_document(std::move(p));
}

const session_description& sdp_document::description() const noexcept { return impl_->view; }

size_t sdp_document::media_count() const noexcept { return impl_->view.media.size(); }

void sdp_document::set_origin(std::string_view username, std::optional<uint64_t> session_id,
                              std::optional<uint64_t> session_version, std::string_view address) {
  sdp_origin_t* o = impl_->sdp->sdp_origin;
  su_home_t* home = impl_->home();
  if (!username.empty()) {
    char* u = su_strndup(home, username.data(), static_cast<isize_t>(username.size()));
    if (u == nullptr) impl_->out_of_memory = true;
    else o->o_username = u;
  }
  if (session_id) o->o_id = *session_id;
  if (session_version) o->o_version = *session_version;
  if (!address.empty()) {
    sdp_connection_t* c =
        new_connection(home, address, address.find(':') != std::string_view::npos);
    if (c == nullptr) impl_->out_of_memory = true;
    else o->o_address = c;
  }
}

void sdp_document::set_connection(std::string_view address, bool ipv6) {
  sdp_session_t* sdp = impl_->sdp;
  sdp_connection_t* c = new_connection(impl_->home(), address, ipv6);
  if (c == nullptr) {
    impl_->out_of_memory = true;
    return;
  }
  bool per_media = false;
  for (const sdp_media_t* m = sdp->sdp_media; m != nullptr; m = m->m_next)
    per_media = per_media || m->m_connections != nullptr;
  // RFC 4566 §5.7: the session-level c= is the default for every m= section; where
  // the offerer wrote them per media, keep writing them per media.
  sdp->sdp_connection = c;
  if (per_media)
    for (sdp_media_t* m = sdp->sdp_media; m != nullptr; m = m->m_next) m->m_connections = c;
}

void sdp_document::remove_ice() {
  // RFC 8445 §5.1.1 / RFC 8839 §5: candidates and credentials describe the peer's
  // own transport addresses and its connectivity checks. A relay that anchors the
  // media and does not run ICE itself must not pass them on: the other side would
  // check (and maybe pick) paths that bypass the relay, or fail its checks.
  remove_attributes(&impl_->sdp->sdp_attributes, [](const sdp_attribute_t& a) { return is_ice_attribute(a); });
  for (sdp_media_t* m = impl_->sdp->sdp_media; m != nullptr; m = m->m_next)
    remove_attributes(&m->m_attributes, [](const sdp_attribute_t& a) { return is_ice_attribute(a); });
}

void sdp_document::set_port(size_t index, uint16_t port) {
  sdp_media_t* m = media_at(impl_->sdp, index);
  if (m == nullptr || m->m_rejected) return;
  if (port == 0) {
    disable(index);
    return;
  }
  m->m_port = port;
}

void sdp_document::disable(size_t index) {
  sdp_media_t* m = media_at(impl_->sdp, index);
  if (m == nullptr) return;
  // RFC 3264 §6: a rejected stream has port zero; its direction means nothing
  // (sofia prints none for it) and it has no RTCP.
  m->m_port = 0;
  m->m_rejected = 1;
  m->m_mode = sdp_inactive;
  remove_attributes(&m->m_attributes, [](const sdp_attribute_t& a) { return su_casematch(a.a_name, "rtcp"); });
}

void sdp_document::set_rtcp(size_t index, std::optional<uint16_t> port, std::string_view address,
                            bool ipv6) {
  sdp_media_t* m = media_at(impl_->sdp, index);
  if (m == nullptr || m->m_rejected) return;
  auto is_rtcp = [](const sdp_attribute_t& a) { return su_casematch(a.a_name, "rtcp"); };
  if (!port) {
    remove_attributes(&m->m_attributes, is_rtcp);
    return;
  }
  su_home_t* home = impl_->home();
  // RFC 3605 §2.1: a=rtcp:port [IN IP4|IP6 address]
  char* value = address.empty()
                    ? su_sprintf(home, "%u", static_cast<unsigned>(*port))
                    : su_sprintf(home, "%u IN %s %.*s", static_cast<unsigned>(*port),
                                 ipv6 ? "IP6" : "IP4", static_cast<int>(address.size()), address.data());
  if (value == nullptr) {
    impl_->out_of_memory = true;
    return;
  }
  sdp_attribute_t** a = &m->m_attributes;
  while (*a != nullptr && !is_rtcp(**a)) a = &(*a)->a_next;
  if (*a != nullptr) {
    (*a)->a_value = value;  // in place: the attribute order stays as it came
    remove_attributes(&(*a)->a_next, is_rtcp);
    return;
  }
  auto* na = static_cast<sdp_attribute_t*>(su_salloc(home, sizeof(sdp_attribute_t)));
  if (na == nullptr) {
    impl_->out_of_memory = true;
    return;
  }
  na->a_name = "rtcp";
  na->a_value = value;
  *a = na;
}

result<void> sdp_document::set_codecs(size_t index, const std::optional<std::vector<uint8_t>>& keep,
                                      const std::vector<codec>& add) {
  sdp_media_t* m = media_at(impl_->sdp, index);
  if (m == nullptr) return bad_arg(nth("no m= line", index));
  if (!keep && add.empty()) return {};
  if (m->m_rejected) return {};
  if (m->m_rtpmaps == nullptr) return bad_arg(nth("codec edit on the non-RTP m= line", index));
  su_home_t* home = impl_->home();

  std::array<sdp_rtpmap_t*, max_formats> old{};
  size_t n_old = 0;
  for (sdp_rtpmap_t* rm = m->m_rtpmaps; rm != nullptr && n_old < old.size(); rm = rm->rm_next)
    old[n_old++] = rm;

  std::array<sdp_rtpmap_t*, max_formats> kept{};
  size_t n_kept = 0;
  std::bitset<128> present;
  if (keep) {
    for (uint8_t pt : *keep) {
      if (pt >= 128 || present.test(pt)) continue;
      for (size_t i = 0; i < n_old; ++i)
        if (old[i] != nullptr && old[i]->rm_pt == pt) {
          kept[n_kept++] = old[i];
          old[i] = nullptr;
          present.set(pt);
          break;
        }
    }
  } else {
    for (size_t i = 0; i < n_old; ++i) {
      kept[n_kept++] = old[i];
      present.set(old[i]->rm_pt);
    }
  }
  for (const codec& c : add) {
    if (c.payload_type >= 128) return bad_arg("payload type out of range");
    // RFC 4566 §6: the encoding name is a token (what sofia parses back).
    if (!text::is_token(c.name) || c.clock_rate == 0 || !text::is_line_safe(c.fmtp))
      return bad_arg("codec " + std::to_string(c.payload_type) + " cannot be written");
    if (present.test(c.payload_type))
      return bad_arg("payload type " + std::to_string(c.payload_type) + " already in m= line " +
                     std::to_string(index + 1));
    if (n_kept == kept.size()) return bad_arg(nth("too many formats in m= line", index));
    auto* rm = static_cast<sdp_rtpmap_t*>(su_salloc(home, sizeof(sdp_rtpmap_t)));
    if (rm == nullptr) return bad_arg("out of memory");
    rm->rm_pt = c.payload_type;
    rm->rm_predef = 0;  // always written out (RFC 3264 §5.1 recommends it for static types)
    rm->rm_encoding = su_strndup(home, c.name.data(), static_cast<isize_t>(c.name.size()));
    rm->rm_rate = c.clock_rate;
    rm->rm_params = c.channels > 1 ? su_sprintf(home, "%u", static_cast<unsigned>(c.channels)) : nullptr;
    rm->rm_fmtp = c.fmtp.empty() ? nullptr
                                 : su_strndup(home, c.fmtp.data(), static_cast<isize_t>(c.fmtp.size()));
    if (rm->rm_encoding == nullptr) return bad_arg("out of memory");
    kept[n_kept++] = rm;
    present.set(c.payload_type);
  }
  // RFC 4566 §5.14: at least one format.
  if (n_kept == 0) return bad_arg(nth("no format left in m= line", index));

  // RFC 4585 §4.2: a=rtcp-fb lines name a payload type; those of removed types go.
  std::bitset<128> removed;
  for (size_t i = 0; i < n_old; ++i)
    if (old[i] != nullptr && !present.test(old[i]->rm_pt)) removed.set(old[i]->rm_pt);
  if (removed.any())
    remove_attributes(&m->m_attributes, [&](const sdp_attribute_t& a) {
      if (!su_casematch(a.a_name, "rtcp-fb")) return false;
      unsigned pt = 0;
      std::string_view rest;
      return split_pt(view_of(a.a_value), pt, rest) && removed.test(pt);
    });

  // Relink: the removed entries (and their a=rtpmap / a=fmtp) are no longer printed.
  for (size_t i = 0; i < n_kept; ++i) kept[i]->rm_next = i + 1 < n_kept ? kept[i + 1] : nullptr;
  m->m_rtpmaps = kept[0];
  return {};
}

void sdp_document::set_direction(size_t index, direction d) {
  sdp_media_t* m = media_at(impl_->sdp, index);
  if (m == nullptr || m->m_rejected) return;
  m->m_mode = to_mode(d);
}

result<std::string> sdp_document::print() const {
  if (impl_->out_of_memory) return bad_arg("out of memory");
  // A stack buffer holds the usual offer; sofia moves to its home past that.
  std::array<char, 2048> buf;
  buf[0] = '\0';
  // sdp_f_mode_always: without it sofia drops a media-level a=sendrecv (or any
  // direction equal to the session's), which some endpoints then read differently.
  sdp_printer_t* pr = sdp_print(impl_->home(), impl_->sdp, buf.data(), buf.size(),
                                sdp_f_mode_always | sdp_f_realloc);
  const char* text = sdp_message(pr);
  if (text == nullptr) {
    std::string reason = sanitize(sdp_printing_error(pr));
    sdp_printer_free(pr);
    return error{errc::invalid_argument, std::move(reason)};
  }
  std::string out(text, static_cast<size_t>(sdp_message_size(pr)));
  sdp_printer_free(pr);
  return out;
}

} // namespace centralita::sdp
