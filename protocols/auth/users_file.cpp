#include "protocols/auth/users_file.hpp"

#include "protocols/auth/digest.hpp"

#include <map>

namespace centralita::auth {

namespace {

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (is_blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.substr(0, prefix.size()) == prefix;
}

error at(size_t line, std::string what) {
  return error{errc::parse_error, "line " + std::to_string(line) + ": " + std::move(what)};
}

/// The HA1 hex of a "md5:" / "sha256:" value, lowercased; nullopt if malformed.
std::optional<std::string> hex_of(std::string_view s, size_t digits) {
  if (s.size() != digits) return std::nullopt;
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

bool has_control(std::string_view s) noexcept {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return true;
  }
  return false;
}

} // namespace

result<std::vector<user_entry>> parse_users(std::string_view text) {
  std::vector<user_entry> out;
  std::map<std::string, size_t> first_line;  // "user@domain" → line number
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    if (has_control(line)) return at(line_no, "control character");

    size_t sp = 0;
    while (sp < line.size() && !is_blank(line[sp])) ++sp;
    std::string_view aor = line.substr(0, sp);
    std::string_view secret = trim(line.substr(sp));
    size_t atpos = aor.find('@');
    if (atpos == std::string_view::npos) return at(line_no, "expected user@domain, got '" + std::string(aor) + "'");
    if (atpos == 0) return at(line_no, "empty user in '" + std::string(aor) + "'");
    if (atpos + 1 == aor.size()) return at(line_no, "empty domain in '" + std::string(aor) + "'");
    if (aor.find('@', atpos + 1) != std::string_view::npos) return at(line_no, "more than one '@' in '" + std::string(aor) + "'");
    // RFC 7616 §3.4.2 hashes "user:realm:password": a ':' in the user is ambiguous.
    if (aor.substr(0, atpos).find(':') != std::string_view::npos) return at(line_no, "':' in user name");
    if (secret.empty()) return at(line_no, "missing password for " + std::string(aor));

    user_entry e;
    e.user = std::string(aor.substr(0, atpos));
    e.domain = std::string(aor.substr(atpos + 1));
    if (starts_with(secret, "md5:")) {
      auto h = hex_of(secret.substr(4), 32);
      if (!h) return at(line_no, "md5: needs 32 hex digits (use plain: for a literal password)");
      e.kind = secret_kind::ha1_md5;
      e.secret = std::move(*h);
    } else if (starts_with(secret, "sha256:")) {
      auto h = hex_of(secret.substr(7), 64);
      if (!h) return at(line_no, "sha256: needs 64 hex digits (use plain: for a literal password)");
      e.kind = secret_kind::ha1_sha256;
      e.secret = std::move(*h);
    } else {
      if (starts_with(secret, "plain:")) secret.remove_prefix(6);
      if (secret.empty()) return at(line_no, "missing password for " + std::string(aor));
      e.kind = secret_kind::password;
      e.secret = std::string(secret);
    }

    auto [it, inserted] = first_line.emplace(std::string(aor), line_no);
    if (!inserted)
      return at(line_no, "duplicate user " + std::string(aor) + " (first on line " + std::to_string(it->second) + ")");
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<std::string> ha1_for(const user_entry& e, algorithm a, std::string_view realm) {
  switch (e.kind) {
    case secret_kind::password:
      return ha1(a, e.user, realm, e.secret);
    case secret_kind::ha1_md5:
      // RFC 7616 §3.4.2: a stored HA1 is bound to its realm and hash.
      if (is_sha256(a) || realm != e.domain) return std::nullopt;
      return e.secret;
    case secret_kind::ha1_sha256:
      if (!is_sha256(a) || realm != e.domain) return std::nullopt;
      return e.secret;
  }
  return std::nullopt;
}

} // namespace centralita::auth
