#include "protocols/sip/stream_framer.hpp"
#include "protocols/util/ascii.hpp"

#include <cstring>

namespace centralita::sip {

namespace {

constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr char lower(char c) noexcept { return ascii::to_lower(c); }

bool is_content_length_name(std::string_view name) noexcept {
  // RFC 3261 §7.3.3: "l" is the compact form of Content-Length.
  if (name.size() == 1) return lower(name[0]) == 'l';
  constexpr std::string_view want = "content-length";
  if (name.size() != want.size()) return false;
  for (size_t i = 0; i < want.size(); ++i)
    if (lower(name[i]) != want[i]) return false;
  return true;
}

enum class cl_status { ok, missing, bad };

/// The Content-Length of a complete header block (RFC 3261 §20.14: 1*DIGIT).
cl_status content_length(std::string_view header, size_t& out) noexcept {
  bool found = false;
  size_t pos = header.find('\n');
  if (pos == std::string_view::npos) return cl_status::missing;
  ++pos;
  while (pos < header.size()) {
    size_t eol = header.find('\n', pos);
    size_t end = eol == std::string_view::npos ? header.size() : eol;
    std::string_view line = header.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if (is_ws(line[0])) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && is_ws(name.back())) name.remove_suffix(1);
    if (!is_content_length_name(name)) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && is_ws(value.front())) value.remove_prefix(1);
    while (!value.empty() && is_ws(value.back())) value.remove_suffix(1);
    if (value.empty() || value.size() > 9) return cl_status::bad;  // 9 digits: < 1 GB
    size_t n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return cl_status::bad;
      n = n * 10 + static_cast<size_t>(c - '0');
    }
    // RFC 4475 §3.3.9: two different Content-Length values cannot be framed.
    if (found && n != out) return cl_status::bad;
    out = n;
    found = true;
  }
  return found ? cl_status::ok : cl_status::missing;
}

} // namespace

stream_framer::stream_framer(size_t max_message_size) : max_(max_message_size) {}

void stream_framer::feed(std::string_view chunk) {
  if (failed_) return;
  if (discard_ > 0) {
    size_t n = chunk.size() < discard_ ? chunk.size() : discard_;
    discard_ -= n;
    chunk.remove_prefix(n);
  }
  if (chunk.empty()) return;
  if (head_ > 0 && head_ * 2 >= buf_.size()) {
    buf_.erase(0, head_);
    head_ = 0;
  }
  buf_.append(chunk);
}

void stream_framer::consume(size_t n) noexcept {
  head_ += n;
  scanned_ = 0;
  header_len_ = 0;
  body_len_ = 0;
  if (head_ >= buf_.size()) {
    buf_.clear();
    head_ = 0;
  }
}

frame stream_framer::fail(frame_kind kind, std::string reason, std::string bytes) {
  failed_ = true;
  buf_.clear();
  head_ = 0;
  return frame{kind, std::move(bytes), std::move(reason)};
}

std::optional<frame> stream_framer::next() {
  while (!failed_) {
    std::string_view data = std::string_view(buf_).substr(head_);
    if (data.empty()) return std::nullopt;
    if (header_len_ == 0) {
      // Between messages (RFC 5626 §3.5.1): CRLFCRLF is a ping, a lone CRLF is skipped.
      if (data[0] == '\r' || data[0] == '\n') {
        if (data.size() >= 4 && data.substr(0, 4) == "\r\n\r\n") {
          consume(4);
          return frame{frame_kind::keepalive, {}, {}};
        }
        std::string_view ping = "\r\n\r\n";
        if (data.size() < 4 && ping.substr(0, data.size()) == data) return std::nullopt;
        consume(data.substr(0, 2) == "\r\n" ? 2 : 1);
        continue;
      }
      // Find the empty line ending the header block (CRLFCRLF, tolerating bare LFs).
      size_t i = scanned_;
      size_t end = 0;
      while (i < data.size()) {
        const void* hit = std::memchr(data.data() + i, '\n', data.size() - i);
        if (hit == nullptr) {
          i = data.size();
          break;
        }
        i = static_cast<size_t>(static_cast<const char*>(hit) - data.data());
        if (i + 1 < data.size() && data[i + 1] == '\n') {
          end = i + 2;
          break;
        }
        if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') {
          end = i + 3;
          break;
        }
        if (i + 2 >= data.size()) break;  // lookahead incomplete: rescan from here
        ++i;
      }
      scanned_ = i;
      // A first line that is not SIP can never become a message.
      size_t first_eol = data.find('\n');
      if (first_eol != std::string_view::npos &&
          data.substr(0, first_eol).find("SIP/") == std::string_view::npos)
        return fail(frame_kind::error, "Malformed start line");
      if (end == 0) {
        if (data.size() <= max_) return std::nullopt;
        if (first_eol == std::string_view::npos)
          return fail(frame_kind::error, "No SIP message within the size limit");
        return fail(frame_kind::oversized, "Header block exceeds the size limit");
      }
      size_t cl = 0;
      switch (content_length(data.substr(0, end), cl)) {
      case cl_status::missing:
        // RFC 3261 §18.3: on a stream, Content-Length is mandatory.
        return fail(frame_kind::error, "Missing Content-Length");
      case cl_status::bad:
        return fail(frame_kind::error, "Bad Content-Length");
      case cl_status::ok:
        break;
      }
      if (end > max_ || cl > max_ - end) {
        // Give back the header block so the caller can answer 513, then skip the body.
        std::string header(data.substr(0, end));
        consume(end);
        size_t drop = cl < buffered() ? cl : buffered();
        consume(drop);
        discard_ = cl - drop;
        return frame{frame_kind::oversized, std::move(header), "Message Too Large"};
      }
      header_len_ = end;
      body_len_ = cl;
    }
    if (data.size() < header_len_ + body_len_) return std::nullopt;
    frame out{frame_kind::message, std::string(data.substr(0, header_len_ + body_len_)), {}};
    consume(header_len_ + body_len_);
    return out;
  }
  return std::nullopt;
}

} // namespace centralita::sip
