#include "bench/loadgen/users.hpp"

#include <charconv>

namespace centralita::loadgen {

namespace {

error bad(std::string why) {
  return error{errc::invalid_argument, std::move(why)};
}

bool parse_number(std::string_view s, uint64_t& v) {
  if (s.empty() || s.size() > 18)
    return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool valid_user_chars(std::string_view s) {
  // RFC 3261 §25.1 user: unreserved / escaped / user-unreserved; we refuse
  // only what would break the message (whitespace, controls, '@', '<', '>').
  for (unsigned char c : s)
    if (c <= ' ' || c == 0x7f || c == '@' || c == '<' || c == '>' || c == ':' || c == ';')
      return false;
  return true;
}

} // namespace

void user_range::append_name(std::string& out, uint64_t i) const {
  out += prefix;
  if (single)
    return;
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), first + i);
  auto len = static_cast<std::size_t>(end - digits);
  for (std::size_t pad = len; pad < width; ++pad)
    out += '0';
  out.append(digits, len);
  out += suffix;
}

result<user_range> user_range::parse(std::string_view text) {
  user_range r;
  auto open = text.find('[');
  if (open == std::string_view::npos) {
    if (text.empty() || !valid_user_chars(text) || text.find(']') != std::string_view::npos)
      return bad("not a user name or PREFIX[START-END]: '" + std::string(text) + "'");
    // One user: a range of one with no number printed.
    r.prefix = std::string(text);
    r.single = true;
    return r;
  }
  auto close = text.find(']', open);
  if (close == std::string_view::npos)
    return bad("missing ']' in '" + std::string(text) + "'");
  auto inner = text.substr(open + 1, close - open - 1);
  auto dash = inner.find('-');
  if (dash == std::string_view::npos)
    return bad("expected [START-END] in '" + std::string(text) + "'");
  auto a = inner.substr(0, dash);
  auto b = inner.substr(dash + 1);
  if (!parse_number(a, r.first) || !parse_number(b, r.last))
    return bad("START and END must be numbers in '" + std::string(text) + "'");
  if (r.first > r.last)
    return bad("START > END in '" + std::string(text) + "'");
  r.prefix = std::string(text.substr(0, open));
  r.suffix = std::string(text.substr(close + 1));
  if (!valid_user_chars(r.prefix) || !valid_user_chars(r.suffix)
      || r.suffix.find_first_of("[]") != std::string::npos)
    return bad("user names may not hold spaces, '@', ':', ';', '<', '>' or a second range: '"
               + std::string(text) + "'");
  if (a.size() > 1 && a.front() == '0')
    r.width = static_cast<unsigned>(a.size());
  return r;
}

result<std::vector<user_entry>> parse_users_csv(std::string_view text) {
  std::vector<user_entry> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#')
      continue;
    auto semi = line.find(';');
    auto name = trim(line.substr(0, semi));
    std::string_view password = semi == std::string_view::npos ? std::string_view{}
                                                               : trim(line.substr(semi + 1));
    if (name.empty() || !valid_user_chars(name))
      return bad("line " + std::to_string(line_no) + ": bad user name '" + std::string(name) + "'");
    out.push_back({std::string(name), std::string(password)});
  }
  if (out.empty())
    return bad("no users in the file");
  return out;
}

void user_source::append_name(std::string& out, uint64_t i) const {
  if (is_range_)
    range_.append_name(out, i);
  else
    out += list_[i].name;
}

const std::string& user_source::password(uint64_t i) const {
  return is_range_ ? password_ : list_[i].password;
}

} // namespace centralita::loadgen
