#include "bench/loadgen/sip_scan.hpp"

#include <algorithm>
#include <cstring>

namespace centralita::loadgen {

namespace {

constexpr std::string_view branch_prefix = "z9hG4bK-lg";

bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ws(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back()))
    s.remove_suffix(1);
  return s;
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view lowercase) noexcept {
  if (a.size() != lowercase.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lowercase[i])
      return false;
  return true;
}

error fail(const char* why) {
  return error{errc::parse_error, why};
}

/// The branch parameter of the first value of a Via header (RFC 3261 §20.42):
/// "SIP/2.0/UDP host:port;p=v;branch=z9hG4bK...;rport, <next value>".
std::string_view top_branch(std::string_view value) noexcept {
  // The first value ends at the first comma (Via parameters carry no quoted
  // strings with commas in practice; a quoted comma would only shorten it).
  if (auto comma = value.find(','); comma != std::string_view::npos)
    value = value.substr(0, comma);
  auto semi = value.find(';');
  while (semi != std::string_view::npos) {
    value.remove_prefix(semi + 1);
    semi = value.find(';');
    std::string_view param = value.substr(0, semi);
    auto eq = param.find('=');
    if (eq == std::string_view::npos)
      continue;
    if (iequals(trim(param.substr(0, eq)), "branch"))
      return trim(param.substr(eq + 1));
  }
  return {};
}

/// CSeq (RFC 3261 §20.16): 1*DIGIT LWS Method.
bool parse_cseq(std::string_view value, uint32_t& cseq, std::string_view& cseq_method) noexcept {
  std::size_t i = 0;
  uint64_t n = 0;
  while (i < value.size() && value[i] >= '0' && value[i] <= '9') {
    n = n * 10 + static_cast<uint64_t>(value[i] - '0');
    if (n > 0xffffffffULL)  // RFC 3261 §8.1.1.5: less than 2^31; be lenient up to 2^32
      return false;
    ++i;
  }
  if (i == 0 || i == value.size() || !is_ws(value[i]))
    return false;
  auto method = trim(value.substr(i));
  if (method.empty())
    return false;
  for (char c : method)
    if (is_ws(c))
      return false;
  cseq = static_cast<uint32_t>(n);
  cseq_method = method;
  return true;
}

/// Walks the header lines from `pos` to the blank line (RFC 3261 §7.3:
/// folded lines joined, bare LF tolerated), calling fn(name, value, line)
/// for each; fn returns nullptr to go on or a reason to stop with an error.
template <typename Fn>
result<void> scan_headers(std::string_view bytes, std::size_t pos, Fn&& fn) {
  for (;;) {
    if (pos >= bytes.size())
      return fail("no end of headers");
    // The blank line ends the header block (RFC 3261 §7).
    if (bytes[pos] == '\n' || (bytes[pos] == '\r' && pos + 1 < bytes.size() && bytes[pos + 1] == '\n'))
      return {};
    if (bytes[pos] == ' ' || bytes[pos] == '\t')
      return fail("continuation line without a header");
    // A logical line runs on over folded lines (RFC 3261 §7.3.1: LWS).
    std::size_t end = pos;
    for (;;) {
      end = bytes.find('\n', end);
      if (end == std::string_view::npos)
        return fail("no end of headers");
      if (end + 1 < bytes.size() && (bytes[end + 1] == ' ' || bytes[end + 1] == '\t')) {
        ++end;
        continue;
      }
      break;
    }
    std::string_view line = bytes.substr(pos, end - pos);
    pos = end + 1;
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      return fail("header line without a colon");
    if (const char* why = fn(trim(line.substr(0, colon)), trim(line.substr(colon + 1)), trim(line)))
      return fail(why);
  }
}

/// The tag parameter of a From/To value (RFC 3261 §20.39): after the URI
/// (which, in <>, may carry parameters of its own).
std::string_view tag_of(std::string_view value) noexcept {
  if (auto close = value.find('>'); close != std::string_view::npos)
    value.remove_prefix(close + 1);
  for (auto semi = value.find(';'); semi != std::string_view::npos; semi = value.find(';')) {
    value.remove_prefix(semi + 1);
    auto param = value.substr(0, value.find(';'));
    auto eq = param.find('=');
    if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq)), "tag"))
      return trim(param.substr(eq + 1));
  }
  return {};
}

/// The URI of a name-addr or addr-spec (RFC 3261 §20.10): inside <> when
/// there are any, else up to the first ';' (header parameters follow).
std::string_view uri_of(std::string_view value) noexcept {
  if (auto open = value.find('<'); open != std::string_view::npos) {
    auto close = value.find('>', open);
    if (close == std::string_view::npos)
      return {};
    return trim(value.substr(open + 1, close - open - 1));
  }
  return trim(value.substr(0, value.find(';')));
}

} // namespace

result<scanned_response> scan_response(std::string_view bytes) {
  scanned_response out;
  constexpr std::string_view version = "SIP/2.0 ";
  if (bytes.size() < version.size() + 3 || bytes.substr(0, version.size()) != version)
    return fail("not a SIP/2.0 response");
  std::size_t pos = version.size();
  int status = 0;
  for (int k = 0; k < 3; ++k) {
    char c = bytes[pos + static_cast<std::size_t>(k)];
    if (c < '0' || c > '9')
      return fail("bad status code");
    status = status * 10 + (c - '0');
  }
  pos += 3;
  if (pos < bytes.size() && bytes[pos] != ' ' && bytes[pos] != '\r' && bytes[pos] != '\n')
    return fail("bad status code");
  if (status < 100 || status > 699)
    return fail("bad status code");
  out.status = status;
  auto eol = bytes.find('\n', pos);
  if (eol == std::string_view::npos)
    return fail("no end of headers");

  bool have_via = false;
  bool have_cseq = false;
  bool have_to = false;
  auto scanned = scan_headers(bytes, eol + 1, [&](std::string_view name, std::string_view value,
                                                  std::string_view) -> const char* {
    if (iequals(name, "via") || iequals(name, "v")) {
      if (!have_via) {  // only the top Via matters (RFC 3261 §17.1.3)
        have_via = true;
        out.branch = top_branch(value);
        if (out.branch.empty())
          return "no branch in the top Via";
      }
    } else if (iequals(name, "cseq")) {
      if (!have_cseq) {
        have_cseq = true;
        if (!parse_cseq(value, out.cseq, out.cseq_method))
          return "bad CSeq";
      }
    } else if (iequals(name, "www-authenticate") || iequals(name, "proxy-authenticate")) {
      if (out.challenge_count < out.challenges.size()) {
        out.challenges[out.challenge_count++] = value;
        out.proxy_challenge = lower(name.front()) == 'p';
      }
    } else if (iequals(name, "to") || iequals(name, "t")) {
      if (!have_to) {
        have_to = true;
        out.to_tag = tag_of(value);
      }
    } else if (iequals(name, "contact") || iequals(name, "m")) {
      if (out.contact_uri.empty())
        out.contact_uri = uri_of(value);
    } else if (iequals(name, "record-route")) {
      if (out.record_route_count == out.record_routes.size())
        return "too many Record-Route headers";
      out.record_routes[out.record_route_count++] = value;
    }
    return nullptr;
  });
  if (!scanned)
    return scanned.err();
  if (!have_via)
    return fail("no Via");
  if (!have_cseq)
    return fail("no CSeq");
  return out;
}

result<scanned_request> scan_request(std::string_view bytes) {
  scanned_request out;
  // Request-Line (RFC 3261 §7.1): Method SP Request-URI SP SIP-Version CRLF.
  auto eol = bytes.find('\n');
  if (eol == std::string_view::npos)
    return fail("no end of headers");
  auto first = trim(bytes.substr(0, eol));
  auto sp1 = first.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : first.find(' ', sp1 + 1);
  if (sp1 == 0 || sp2 == std::string_view::npos || first.substr(sp2 + 1) != "SIP/2.0")
    return fail("not a SIP/2.0 request");
  out.method = first.substr(0, sp1);
  out.request_uri = first.substr(sp1 + 1, sp2 - sp1 - 1);
  for (char c : out.method)
    if (!(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && c != '-' && c != '_')
      return fail("bad method");
  if (out.request_uri.empty())
    return fail("no Request-URI");

  bool have_via = false, have_from = false, have_to = false, have_cseq = false;
  auto scanned = scan_headers(bytes, eol + 1, [&](std::string_view name, std::string_view value,
                                                  std::string_view line) -> const char* {
    bool echo = false;
    if (iequals(name, "via") || iequals(name, "v")) {
      if (!have_via) {
        have_via = true;
        out.branch = top_branch(value);
      }
      echo = true;
    } else if (iequals(name, "from") || iequals(name, "f")) {
      echo = !have_from;
      have_from = true;
    } else if (iequals(name, "to") || iequals(name, "t")) {
      if (!have_to) {
        have_to = true;
        out.to_tag = tag_of(value);
        out.to_index = out.echo_count;
        echo = true;
      }
    } else if (iequals(name, "call-id") || iequals(name, "i")) {
      if (out.call_id.empty()) {
        out.call_id = value;
        echo = true;
      }
    } else if (iequals(name, "cseq")) {
      if (!have_cseq) {
        have_cseq = true;
        if (!parse_cseq(value, out.cseq, out.cseq_method))
          return "bad CSeq";
        echo = true;
      }
    } else if (iequals(name, "record-route")) {
      echo = true;
      if (out.echo_count < out.echo.size())
        out.record_route_mask |= uint32_t{1} << out.echo_count;
    }
    if (echo) {
      if (out.echo_count == out.echo.size())
        return "too many headers to echo";
      out.echo[out.echo_count++] = line;
    }
    return nullptr;
  });
  if (!scanned)
    return scanned.err();
  if (!have_via)
    return fail("no Via");
  if (!have_from || !have_to)
    return fail("no From or To");
  if (out.call_id.empty())
    return fail("no Call-ID");
  if (!have_cseq)
    return fail("no CSeq");
  return out;
}

bool uri_host_port(std::string_view uri, std::string_view& host, uint16_t& port) noexcept {
  uri = trim(uri);
  if (!uri.empty() && uri.front() == '<') {
    auto close = uri.find('>');
    if (close == std::string_view::npos)
      return false;
    uri = uri.substr(1, close - 1);
  }
  if (uri.size() < 4 || !iequals(uri.substr(0, 4), "sip:"))
    return false;
  uri.remove_prefix(4);
  // hostport ends at the URI parameters or headers (RFC 3261 §19.1.1).
  uri = uri.substr(0, std::min(uri.find(';'), uri.find('?')));
  if (auto at = uri.rfind('@'); at != std::string_view::npos)
    uri.remove_prefix(at + 1);
  std::string_view rest;
  if (!uri.empty() && uri.front() == '[') {
    auto close = uri.find(']');
    if (close == std::string_view::npos)
      return false;
    host = uri.substr(1, close - 1);
    rest = uri.substr(close + 1);
  } else {
    auto colon = uri.find(':');
    host = uri.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : uri.substr(colon);
  }
  if (host.empty())
    return false;
  port = 5060;
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6)
      return false;
    uint32_t p = 0;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9')
        return false;
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535)
      return false;
    port = static_cast<uint16_t>(p);
  }
  return true;
}

std::size_t format_branch(char* out, uint32_t run_id, branch_key key) noexcept {
  static constexpr char hex[] = "0123456789abcdef";
  std::memcpy(out, branch_prefix.data(), branch_prefix.size());
  std::size_t n = branch_prefix.size();
  for (int shift = 28; shift >= 0; shift -= 4)
    out[n++] = hex[(run_id >> shift) & 0xf];
  auto put = [&](uint32_t v) {
    out[n++] = '.';
    int shift = 28;
    while (shift > 0 && ((v >> shift) & 0xf) == 0)
      shift -= 4;
    for (; shift >= 0; shift -= 4)
      out[n++] = hex[(v >> shift) & 0xf];
  };
  put(key.slot);
  put(key.generation);
  return n;
}

std::optional<branch_key> parse_branch(std::string_view branch, uint32_t run_id) noexcept {
  // RFC 3261 §17.1.3 compares branches case-sensitively; so do we.
  if (branch.size() < branch_prefix.size() + 8 + 4
      || branch.substr(0, branch_prefix.size()) != branch_prefix)
    return std::nullopt;
  auto hex_value = [](std::string_view s, uint32_t& v) {
    if (s.empty() || s.size() > 8)
      return false;
    v = 0;
    for (char c : s) {
      uint32_t d;
      if (c >= '0' && c <= '9')
        d = static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        d = static_cast<uint32_t>(c - 'a' + 10);
      else
        return false;
      v = (v << 4) | d;
    }
    return true;
  };
  branch.remove_prefix(branch_prefix.size());
  uint32_t run = 0;
  if (!hex_value(branch.substr(0, 8), run) || run != run_id || branch[8] != '.')
    return std::nullopt;
  branch.remove_prefix(9);
  auto dot = branch.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  branch_key key;
  if (!hex_value(branch.substr(0, dot), key.slot)
      || !hex_value(branch.substr(dot + 1), key.generation))
    return std::nullopt;
  return key;
}

} // namespace centralita::loadgen
