#include "protocols/sdp/sdp_text.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

namespace centralita::sdp::text {

namespace {

error fail(std::string reason) { return error{errc::parse_error, std::move(reason)}; }

std::string nth(std::string_view what, size_t index) {
  return std::string(what) + " " + std::to_string(index + 1);
}

/// RFC 4566 §5.14: m=<media> <port>[/<number of ports>] <proto> <fmt> ...
/// Checked before sofia sees the line: sofia 1.12.11 loops forever, allocating,
/// on a non-RTP format list holding a character that is not a token-char.
std::optional<error> check_media_line(std::string_view value, size_t index) {
  std::array<std::string_view, 3> head{};
  size_t fields = 0;
  while (!value.empty()) {
    value.remove_prefix(std::min(value.find_first_not_of(" \t"), value.size()));
    if (value.empty()) break;
    size_t end = std::min(value.find_first_of(" \t"), value.size());
    std::string_view field = value.substr(0, end);
    value.remove_prefix(end);
    if (fields < head.size()) {
      head[fields++] = field;
      continue;
    }
    ++fields;
    if (!is_token(field)) return fail(nth("bad format in m= line", index));
  }
  if (fields < 3 || !is_token(head[0])) return fail(nth("malformed m= line", index));
  std::string_view port = head[1], count;
  if (size_t slash = port.find('/'); slash != std::string_view::npos) {
    count = port.substr(slash + 1);
    port = port.substr(0, slash);
    if (!is_digits(count)) return fail(nth("bad port count in m= line", index));
  }
  if (!is_digits(port)) return fail(nth("bad port in m= line", index));
  // proto = token *("/" token): a leading '/' would print back as a port count.
  for (std::string_view proto = head[2];;) {
    size_t slash = proto.find('/');
    if (!is_token(proto.substr(0, slash))) return fail(nth("bad transport in m= line", index));
    if (slash == std::string_view::npos) break;
    proto.remove_prefix(slash + 1);
  }
  if (fields < 4) return fail(nth("no formats in m= line", index));
  return std::nullopt;
}

} // namespace

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

bool is_digits(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool is_line_safe(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// sofia's lenient parser stops silently at a line shorter than two characters
// and ignores unknown lines after the first m=, which would make a rewrite drop
// them: refuse those bodies instead.
result<void> check_lines(std::string_view body) {
  if (body.size() > max_sdp_size) return error{errc::too_large, "SDP body too large"};
  if (body.find('\0') != std::string_view::npos) return fail("NUL byte in SDP");
  if (body.empty() || body[0] != 'v') return fail("missing v= line");
  size_t line_no = 0, media_index = 0;
  bool in_media = false, seen_o = false;
  std::optional<error> err;
  for_each_line(body, [&](std::string_view line) {
    ++line_no;
    if (line.size() < 2 || line[1] != '=') {
      err = fail("malformed line " + std::to_string(line_no));
      return false;
    }
    char type = line[0];
    if (line_no == 1) {
      // RFC 4566 §5.1: "v=0" comes first.
      if (line != "v=0") err = fail("unsupported SDP version");
      return !err;
    }
    // RFC 4566 §5: a type letter the parser does not understand invalidates the
    // whole description.
    constexpr std::string_view known_types = "vosiuepcbtrzkam";
    constexpr std::string_view media_types = "icbkam";
    if (known_types.find(type) == std::string_view::npos) {
      err = fail(std::string("unknown line type '") + (type >= 0x20 && type < 0x7f ? type : '?') +
                 "' (line " + std::to_string(line_no) + ")");
      return false;
    }
    if (type == 'v') {
      err = fail("more than one v= line");
      return false;
    }
    if (type == 'm') {
      in_media = true;
      if (auto e = check_media_line(line.substr(2), media_index++)) {
        err = std::move(e);
        return false;
      }
    }
    if (in_media && media_types.find(type) == std::string_view::npos) {
      // RFC 4566 §5: a media description holds only i=, c=, b=, k= and a= lines.
      err = fail(std::string(1, type) + "= line inside a media description (line " +
                 std::to_string(line_no) + ")");
      return false;
    }
    if (type == 'o') {
      if (seen_o) {
        err = fail("more than one o= line");
        return false;
      }
      seen_o = true;
    }
    return true;
  });
  if (err) return *err;
  if (!seen_o) return fail("missing o= line");
  if (!in_media) return fail("missing m= line");
  return {};
}

} // namespace centralita::sdp::text
