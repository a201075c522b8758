#include "protocols/auth/auth_header.hpp"
#include "protocols/util/ascii.hpp"

namespace centralita::auth {

namespace {

using ascii::to_lower;

bool is_token_char(char c) noexcept {
  // RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'': case '~':
      return true;
    default:
      return false;
  }
}

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

error bad(std::string reason) { return error{errc::bad_header, "auth: " + std::move(reason)}; }

/// A cursor over the header value.
class scanner {
public:
  explicit scanner(std::string_view s) : s_(s) {}

  bool at_end() const noexcept { return pos_ >= s_.size(); }
  char peek() const noexcept { return s_[pos_]; }
  void advance() noexcept { ++pos_; }

  /// True at CRLF followed by WSP (a header fold, RFC 3261 §7.3.1).
  bool at_fold() const noexcept {
    return pos_ + 2 < s_.size() && s_[pos_] == '\r' && s_[pos_ + 1] == '\n' && is_wsp(s_[pos_ + 2]);
  }

  /// Skips LWS; returns whether any was skipped.
  bool skip_lws() noexcept {
    size_t start = pos_;
    for (;;) {
      if (!at_end() && is_wsp(peek())) {
        ++pos_;
      } else if (at_fold()) {
        pos_ += 3;
      } else {
        break;
      }
    }
    return pos_ != start;
  }

  std::string_view token() noexcept {
    size_t start = pos_;
    while (!at_end() && is_token_char(peek())) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  /// Reads a quoted-string whose opening quote is at the cursor.
  result<std::string> quoted(std::string_view param) {
    std::string out;
    ++pos_;  // the opening DQUOTE
    for (;;) {
      if (at_end()) return bad("unterminated quoted string in '" + std::string(param) + "'");
      char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        // RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
        if (pos_ + 1 >= s_.size()) return bad("unterminated quoted string in '" + std::string(param) + "'");
        char e = s_[pos_ + 1];
        if (e == '\r' || e == '\n' || static_cast<unsigned char>(e) >= 0x80)
          return bad("invalid escape in '" + std::string(param) + "'");
        out.push_back(e);
        pos_ += 2;
        continue;
      }
      if (at_fold()) {
        // RFC 3261 §7.3.1: folded LWS is read as a single SP.
        while (!out.empty() && is_wsp(out.back())) out.pop_back();
        out.push_back(' ');
        pos_ += 2;
        while (!at_end() && is_wsp(peek())) ++pos_;
        continue;
      }
      auto u = static_cast<unsigned char>(c);
      // qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII: no other controls.
      if ((u < 0x20 && c != '\t') || u == 0x7f)
        return bad("control character in quoted string '" + std::string(param) + "'");
      out.push_back(c);
      ++pos_;
    }
  }

private:
  std::string_view s_;
  size_t pos_ = 0;
};

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

} // namespace

const auth_param* auth_header::find(std::string_view lowercase_name) const noexcept {
  for (const auto& p : params)
    if (p.name == lowercase_name) return &p;
  return nullptr;
}

std::string_view scheme_of(std::string_view value) noexcept {
  scanner in(value);
  in.skip_lws();
  return in.token();
}

bool iequals(std::string_view a, std::string_view b) noexcept { return ascii::iequals(a, b); }

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n') continue;  // RFC 3261 §25.1: no quoted-pair for CR, LF
    // RFC 3261 §25.1: '"', '\' and controls other than HTAB only as a quoted-pair.
    if (c == '"' || c == '\\' || (u < 0x20 && c != '\t') || u == 0x7f) out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

result<auth_header> parse_auth_header(std::string_view value) {
  scanner in(value);
  auth_header h;
  in.skip_lws();
  std::string_view scheme = in.token();
  if (scheme.empty()) return bad("missing auth scheme");
  h.scheme = std::string(scheme);
  bool space = in.skip_lws();
  if (in.at_end()) return h;
  // RFC 3261 §25.1: credentials = "Digest" LWS digest-response
  if (!space) return bad("expected whitespace after the auth scheme");

  for (;;) {
    std::string_view name = in.token();
    if (name.empty()) return bad(in.at_end() || in.peek() == ',' ? "empty parameter" : "expected a parameter name");
    std::string lname = lowered(name);
    in.skip_lws();
    if (in.at_end() || in.peek() != '=') return bad("expected '=' after '" + lname + "'");
    in.advance();
    in.skip_lws();
    auth_param p{lname, {}, false};
    if (!in.at_end() && in.peek() == '"') {
      auto q = in.quoted(lname);
      if (!q) return q.err();
      p.value = std::move(*q);
      p.quoted = true;
    } else {
      std::string_view v = in.token();
      if (v.empty()) return bad("missing value for '" + lname + "'");
      p.value = std::string(v);
    }
    // RFC 7616 §3.4: each parameter at most once; a duplicate is ambiguous.
    if (h.find(lname)) return bad("duplicate parameter '" + lname + "'");
    if (h.params.size() == max_params) return error{errc::too_large, "auth: too many parameters"};
    h.params.push_back(std::move(p));
    in.skip_lws();
    if (in.at_end()) return h;
    if (in.peek() != ',') return bad("expected ',' after '" + lname + "'");
    in.advance();
    in.skip_lws();
    if (in.at_end()) return bad("trailing ','");
  }
}

} // namespace centralita::auth
