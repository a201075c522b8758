// Building responses: from a parsed request (RFC 3261 §8.2.6) and, best effort,
// from the raw bytes of a request that failed to parse.

#include "protocols/sip/message.hpp"

#include "protocols/sip/message_impl.hpp"
#include "protocols/util/ascii.hpp"

#include <cctype>

#include <sofia-sip/sip_status.h>

namespace centralita::sip {

using detail::print_value;

namespace {

/// RFC 3261 §25.1: Reason-Phrase = *(reserved / unreserved / escaped / UTF8-NONASCII /
/// UTF8-CONT / SP / HTAB). We keep printable ASCII and bytes >= 0x80, turn every
/// control character into a space, and trim.
std::string sanitize_reason(std::string_view reason, int status) {
  std::string out;
  out.reserve(reason.size());
  for (char c : reason) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  size_t lead = out.find_first_not_of(' ');
  out.erase(0, lead == std::string::npos ? out.size() : lead);
  if (out.size() > 200) out.resize(200);
  if (out.empty()) out = default_reason_phrase(status);
  return out;
}

void status_line(std::string& out, int status, std::string_view reason) {
  out.append("SIP/2.0 ").append(std::to_string(status)).append(" ");
  out.append(sanitize_reason(reason, status)).append("\r\n");
}

bool ieq(std::string_view a, std::string_view b) { return detail::iequals(a, b); }

/// The canonical name of a header line's name if it is one of those a response
/// copies (RFC 3261 §8.2.6.2), long or compact; empty otherwise.
std::string_view copied_header(std::string_view name) {
  if (ieq(name, "Via") || ieq(name, "v")) return "Via";
  if (ieq(name, "From") || ieq(name, "f")) return "From";
  if (ieq(name, "To") || ieq(name, "t")) return "To";
  if (ieq(name, "Call-ID") || ieq(name, "i")) return "Call-ID";
  if (ieq(name, "CSeq")) return "CSeq";
  return {};
}

/// Printable bytes of a raw header value (no CR/LF/NUL survive).
std::string clean_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 && c != '\t' ? ' ' : c);
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  size_t lead = out.find_first_not_of(" \t");
  out.erase(0, lead == std::string::npos ? out.size() : lead);
  return out;
}

/// Appends one header line: the received bytes when the header still holds them
/// (a value sharing the previous one's line holds none and is skipped), otherwise
/// the printed value. `tag` is appended as a To tag parameter when not empty.
void append_header(std::string& out, std::string_view name, const msg_header_t* h,
                   std::string_view tag, bool printed) {
  const msg_common_t* c = h->sh_common;
  if (c->h_data != nullptr && !printed) {
    if (c->h_len == 0) return;  // printed with the previous value's line
    std::string_view raw(static_cast<const char*>(c->h_data), c->h_len);
    if (tag.empty()) {
      out.append(raw);
      if (raw.back() != '\n') out.append("\r\n");  // the request's last line may lack one
      return;
    }
    while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.remove_suffix(1);
    out.append(raw).append(";tag=").append(tag).append("\r\n");
    return;
  }
  out.append(name).append(": ").append(print_value(h));
  if (!tag.empty()) out.append(";tag=").append(tag);
  out.append("\r\n");
}

} // namespace

const char* default_reason_phrase(int status) noexcept {
  const char* p = sip_status_phrase(status);
  return p != nullptr ? p : "Unknown";
}

result<message> make_response(const message& request, int status, std::string_view reason,
                              std::string_view to_tag) {
  return message::build_response(request, status, reason, to_tag, false);
}

result<message> message::build_response(const message& request, int status, std::string_view reason,
                               std::string_view to_tag, bool printed) {
  if (!request.is_request())
    return error{errc::invalid_argument, "make_response needs a request"};
  if (status < 100 || status > 699)
    return error{errc::invalid_argument, "Status code outside 100..699"};
  const sip_t* sip = request.impl_->sip;
  std::string out;
  out.reserve(512);
  status_line(out, status, reason);
  // RFC 3261 §8.2.6.2: Via values in the same order, From, To, Call-ID, CSeq. The
  // received bytes are copied where sofia kept them (they parsed once, so they parse
  // again); edited headers are printed.
  for (const sip_via_t* v = sip->sip_via; v != nullptr; v = v->v_next)
    append_header(out, "Via", reinterpret_cast<const msg_header_t*>(v), {}, printed);
  append_header(out, "From", reinterpret_cast<const msg_header_t*>(sip->sip_from), {}, printed);
  // §8.2.6.2: the UAS adds a To tag unless the request had one (or this is a 100).
  std::string_view tag;
  if (!to_tag.empty() && sip->sip_to->a_tag == nullptr && detail::is_token(to_tag)) tag = to_tag;
  append_header(out, "To", reinterpret_cast<const msg_header_t*>(sip->sip_to), tag, printed);
  append_header(out, "Call-ID", reinterpret_cast<const msg_header_t*>(sip->sip_call_id), {}, printed);
  append_header(out, "CSeq", reinterpret_cast<const msg_header_t*>(sip->sip_cseq), {}, printed);
  out.append("Content-Length: 0\r\n\r\n");
  auto r = message::parse(out);
  if (r.ok() || printed) return r;
  // Received bytes sofia tolerated once (e.g. a bare CR inside a line) may not
  // survive in a new context: fall back to sofia's printing of every header.
  return build_response(request, status, reason, to_tag, true);
}

namespace {

// RFC 3261 §18.2.1 / RFC 3581 §4 on raw Via text: the first via-parm of the
// value gets received=<ip>, and a bare rport gets the source port.
void annotate_top_via(std::string& value, std::string_view received, uint16_t rport) {
  auto end = value.find(',');
  if (end == std::string::npos) end = value.size();
  std::string first = value.substr(0, end);
  std::string lowered = ascii::to_lower(first);
  auto at = lowered.find(";rport");
  if (at != std::string::npos && rport != 0) {
    auto after = at + 6;
    bool bare = after >= lowered.size() || lowered[after] == ';' || lowered[after] == ' ';
    if (bare) first.insert(after, "=" + std::to_string(rport));
  }
  if (!received.empty() && lowered.find(";received=") == std::string::npos
      && detail::is_line_safe(received))
    first.append(";received=").append(received);
  value = first + value.substr(end);
}

} // namespace

std::optional<std::string> make_error_response(std::string_view raw, int status,
                                               std::string_view reason, std::string_view to_tag,
                                               std::string_view received, uint16_t rport) {
  if (raw.size() >= 4 && raw.substr(0, 4) == "SIP/") return std::nullopt;  // never answer a response
  if (status < 100 || status > 699) status = 400;
  // Collect header lines up to the end of the header block, unfolding
  // continuation lines (RFC 3261 §7.3.1).
  std::vector<std::pair<std::string_view, std::string>> picked;
  size_t pos = raw.find('\n');
  if (pos == std::string_view::npos) return std::nullopt;
  ++pos;
  std::string_view current_name;
  std::string current_value;
  bool have_current = false;
  auto flush = [&] {
    if (have_current) picked.emplace_back(current_name, clean_value(current_value));
    have_current = false;
    current_value.clear();
  };
  while (pos < raw.size()) {
    size_t eol = raw.find('\n', pos);
    std::string_view line = raw.substr(pos, eol == std::string_view::npos ? raw.size() - pos : eol - pos);
    pos = eol == std::string_view::npos ? raw.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    if (line.front() == ' ' || line.front() == '\t') {
      if (have_current) current_value.append(" ").append(line);
      continue;
    }
    flush();
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    std::string_view canon = copied_header(name);
    if (canon.empty()) continue;
    current_name = canon;
    current_value.assign(line.substr(colon + 1));
    have_current = true;
  }
  flush();
  // RFC 3261 §18.2.2: nowhere to send it without a Via. Random bytes can hold
  // a line that starts "v:" (found by a raw-socket test): only a Via that
  // reads "SIP/2.0/<transport> ..." counts, and nothing unprintable is echoed.
  bool has_via = false;
  for (const auto& [name, value] : picked) {
    for (unsigned char c : value) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) return std::nullopt;
      if (c >= 0x80 && name == "Via") return std::nullopt;  // UTF-8 only in display names
    }
    if (name == "Via" && value.size() > 8) {
      std::string head = value.substr(0, 8);
      for (auto& c : head) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (head == "SIP/2.0/") has_via = true;
    }
  }
  if (!has_via) return std::nullopt;
  for (auto& [name, value] : picked)
    if (name == "Via") {
      annotate_top_via(value, received, rport);
      break;
    }
  std::string out;
  status_line(out, status, reason);
  for (std::string_view want : {"Via", "From", "To", "Call-ID", "CSeq"})
    for (const auto& [name, value] : picked) {
      if (name != want) continue;
      out.append(name).append(": ").append(value);
      // RFC 3261 §8.2.6.2: a UAS adds a To tag to a final response unless
      // the request had one.
      if (name == "To" && status >= 200 && !to_tag.empty() && detail::is_token(to_tag)) {
        std::string lowered = ascii::to_lower(value);
        if (lowered.find(";tag=") == std::string::npos) out.append(";tag=").append(to_tag);
      }
      out.append("\r\n");
    }
  out.append("Content-Length: 0\r\n\r\n");
  return out;
}

} // namespace centralita::sip
