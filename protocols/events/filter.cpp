#include "protocols/events/filter.hpp"

#include "protocols/events/catalogue.hpp"
#include "protocols/util/ascii.hpp"

#include <fnmatch.h>

#include <array>
#include <cstring>

namespace centralita::events {

namespace {

error invalid(std::string reason) { return error{errc::invalid_argument, std::move(reason)}; }

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/// Attribute names are tokens, so the text form can carry every filter.
bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

std::string event_names() {
  std::string s;
  for (const auto& k : catalogue()) {
    if (!s.empty()) s += ", ";
    s += k.name;
  }
  return s;
}

std::string attribute_names(const event_kind& k) {
  std::string s;
  for (auto a : k.attributes) {
    if (!s.empty()) s += ", ";
    s += a;
  }
  return s;
}

/// True when `raw` holds an unescaped * ? or [ (a glob for fnmatch).
bool has_wildcard(std::string_view raw) noexcept {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\') ++i;
    else if (raw[i] == '*' || raw[i] == '?' || raw[i] == '[') return true;
  }
  return false;
}

/// `raw` without its escaping backslashes (an equality's literal).
std::string unescape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\') ++i;
    out.push_back(raw[i]);
  }
  return out;
}

/// The value text that reads back as condition `c` (before any quoting).
std::string raw_value(const condition& c) {
  switch (c.kind) {
  case match_kind::regex:
    return "~" + c.value;
  case match_kind::glob:
    return c.value;
  case match_kind::equals:
    break;
  }
  std::string out;
  out.reserve(c.value.size() + 2);
  for (std::size_t i = 0; i < c.value.size(); ++i) {
    char ch = c.value[i];
    if (ch == '\\' || ch == '*' || ch == '?' || ch == '[' || (i == 0 && ch == '~')) out.push_back('\\');
    out.push_back(ch);
  }
  return out;
}

/// fnmatch(3) wants NUL-terminated strings; values are short, so copy to the stack.
bool glob_matches(const std::string& pattern, std::string_view v) {
  // A NUL would end the value early for fnmatch: such a value never matches.
  if (v.find('\0') != std::string_view::npos) return false;
  std::array<char, 256> buf;
  if (v.size() < buf.size()) {
    std::memcpy(buf.data(), v.data(), v.size());
    buf[v.size()] = '\0';
    return ::fnmatch(pattern.c_str(), buf.data(), 0) == 0;
  }
  return ::fnmatch(pattern.c_str(), std::string(v).c_str(), 0) == 0;
}

/// Filters come from scripts and run on every published event, so a regex must
/// not backtrack exponentially ("(a*)*b"): libstdc++'s polynomial mode runs the
/// breadth-first (Thompson) executor and refuses back-references instead.
constexpr auto regex_flags = std::regex::ECMAScript | std::regex::nosubs
#if defined(__GLIBCXX__)
                             | std::regex_constants::__polynomial
#endif
    ;

/// True when `re` has a repetition count ({n,m}) or a back-reference number
/// longer than 9 digits: libstdc++ accumulates those in a long without an
/// overflow check (undefined behaviour), so they are refused before it sees them.
bool has_oversized_number(std::string_view re) noexcept {
  auto digit_run = [&](std::size_t from) {
    std::size_t n = 0;
    while (from + n < re.size() && re[from + n] >= '0' && re[from + n] <= '9') ++n;
    return n;
  };
  bool in_braces = false;
  for (std::size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\') {
      const std::size_t n = digit_run(i + 1);
      if (n > 9) return true;
      i += n == 0 ? 1 : n;  // skip the escaped character or the digits
    } else if (c == '{') {
      in_braces = true;
    } else if (c == '}') {
      in_braces = false;
    } else if (in_braces) {
      const std::size_t n = digit_run(i);
      if (n > 9) return true;
      if (n > 0) i += n - 1;
    }
  }
  return false;
}

} // namespace

bool condition::matches(std::string_view v) const {
  switch (kind) {
  case match_kind::equals:
    return v == value;
  case match_kind::glob:
    return glob_matches(value, v);
  case match_kind::regex:
    try {
      return re && std::regex_search(v.begin(), v.end(), *re);
    } catch (const std::exception&) {
      // std::regex may give up (error_complexity, error_stack): no match.
      return false;
    }
  }
  return false;
}

result<filter> filter::make(std::string_view event_name,
                            std::span<const std::pair<std::string, std::string>> conditions) {
  const event_kind* kind = find_kind(event_name);
  if (!kind)
    return invalid("no event '" + std::string(event_name) + "'; events are: " + event_names());
  filter f;
  f.event_ = std::string(kind->name);
  f.conds_.reserve(conditions.size());
  for (const auto& [name, raw] : conditions) {
    if (name.empty()) return invalid("event " + f.event_ + ": a condition has an empty attribute name");
    for (char ch : name)
      if (!is_name_char(ch))
        return invalid("event " + f.event_ + ": attribute name '" + name +
                       "' may hold only letters, digits, '_', '-' and '.'");
    if (!has_attribute(*kind, name))
      return invalid("event " + f.event_ + " has no attribute '" + name + "'; it has: " + attribute_names(*kind));
    condition c;
    c.attr = lower(name);
    if (!raw.empty() && raw.front() == '~') {
      // The rest is the regular expression, verbatim: its backslashes are its own.
      c.kind = match_kind::regex;
      c.value = raw.substr(1);
      if (has_oversized_number(c.value))
        return invalid("event " + f.event_ + ", attribute " + c.attr + ": bad regular expression '" + c.value +
                       "': a repetition count or back-reference has more than 9 digits");
      try {
        c.re = std::make_shared<const std::regex>(c.value, regex_flags);
      } catch (const std::regex_error& e) {
        const bool backref = e.code() == std::regex_constants::error_complexity;
        return invalid("event " + f.event_ + ", attribute " + c.attr + ": bad regular expression '" + c.value +
                       "': " + (backref ? "back-references are not supported" : e.what()));
      }
    } else {
      if (!raw.empty() && raw.back() == '\\') {
        // Count the run: an odd number of trailing backslashes escapes nothing.
        std::size_t n = 0;
        while (n < raw.size() && raw[raw.size() - 1 - n] == '\\') ++n;
        if (n % 2 == 1)
          return invalid("event " + f.event_ + ", attribute " + c.attr + ": value '" + raw +
                         "' ends with a lone backslash (write \\\\ for a backslash)");
      }
      if (has_wildcard(raw)) {
        if (raw.find('\0') != std::string::npos)
          return invalid("event " + f.event_ + ", attribute " + c.attr + ": a wildcard pattern cannot hold a NUL byte");
        c.kind = match_kind::glob;
        c.value = raw;  // fnmatch reads the backslash escapes itself
      } else {
        c.kind = match_kind::equals;
        c.value = unescape(raw);
      }
    }
    f.conds_.push_back(std::move(c));
  }
  return f;
}

result<filter> filter::parse(std::string_view text) {
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && is_space(text[i])) ++i;
  };
  skip_space();
  const std::size_t name_start = i;
  while (i < text.size() && !is_space(text[i])) ++i;
  const std::string_view name = text.substr(name_start, i - name_start);
  if (name.empty()) return invalid("empty filter: expected an event name, then attribute=value conditions");

  std::vector<std::pair<std::string, std::string>> conds;
  for (;;) {
    skip_space();
    if (i >= text.size()) break;
    const std::size_t start = i;
    while (i < text.size() && text[i] != '=' && !is_space(text[i])) ++i;
    if (i >= text.size() || text[i] != '=')
      return invalid("expected attribute=value, got '" + std::string(text.substr(start, i - start)) + "'");
    std::string attr(text.substr(start, i - start));
    ++i;  // '='
    std::string value;
    if (i < text.size() && text[i] == '"') {
      // A quoted value: \" and \\ stand for themselves; any other backslash is
      // kept, so "a\*b" reads like the unquoted a\*b.
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char ch = text[i++];
        if (ch == '"') {
          closed = true;
          break;
        }
        if (ch == '\\' && i < text.size() && (text[i] == '"' || text[i] == '\\')) ch = text[i++];
        value.push_back(ch);
      }
      if (!closed) return invalid("attribute " + attr + ": the quoted value has no closing '\"'");
      if (i < text.size() && !is_space(text[i]))
        return invalid("attribute " + attr + ": expected a space after the closing '\"'");
    } else {
      const std::size_t vstart = i;
      while (i < text.size() && !is_space(text[i])) ++i;
      value = std::string(text.substr(vstart, i - vstart));
    }
    conds.emplace_back(std::move(attr), std::move(value));
  }
  return make(name, conds);
}

const condition* filter::anchor() const noexcept {
  for (const auto& c : conds_)
    if (c.kind == match_kind::equals) return &c;
  return nullptr;
}

bool filter::matches(const event& e) const {
  if (!ascii::iequals(e.name, event_)) return false;
  for (const auto& c : conds_) {
    const std::string* v = e.find(c.attr);
    if (!v || !c.matches(*v)) return false;
  }
  return true;
}

std::string filter::to_string() const {
  std::string out = event_;
  for (const auto& c : conds_) {
    out += ' ';
    out += c.attr;
    out += '=';
    std::string raw = raw_value(c);
    bool quote = raw.empty();
    for (char ch : raw)
      if (is_space(ch) || ch == '"') quote = true;
    if (!quote) {
      out += raw;
      continue;
    }
    out += '"';
    for (char ch : raw) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out;
}

} // namespace centralita::events
