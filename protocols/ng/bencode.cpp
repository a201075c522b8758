#include "protocols/ng/bencode.hpp"

#include <charconv>
#include <limits>

namespace centralita::ng {

// -- value ---------------------------------------------------------------------

const value* value::find(std::string_view key) const {
  if (!is_dict())
    return nullptr;
  for (auto& e : as_dict())
    if (e.key == key)
      return &e.val;
  return nullptr;
}

std::string_view value::find_string(std::string_view key) const {
  auto* v = find(key);
  if (v == nullptr || !v->is_string())
    return {};
  return v->as_string();
}

void value::set(std::string_view key, value v) {
  auto& d = as_dict();
  for (auto& e : d) {
    if (e.key == key) {
      e.val = std::move(v);
      return;
    }
  }
  d.push_back(dict_entry{std::string(key), std::move(v)});
}

bool operator==(const value& a, const value& b) { return a.v_ == b.v_; }

// -- decode --------------------------------------------------------------------

namespace {

class decoder {
public:
  decoder(std::string_view in, const decode_limits& limits) : in_(in), limits_(limits) {}

  result<value> run() {
    auto v = parse(0);
    if (!v)
      return v;
    if (pos_ != in_.size())
      return fail("trailing bytes after the value", pos_);
    return v;
  }

private:
  error fail(std::string_view what, std::size_t at, errc code = errc::parse_error) const {
    std::string r = "bencode: ";
    r += what;
    r += " at byte ";
    r += std::to_string(at);
    return error{code, std::move(r)};
  }

  bool at_end() const { return pos_ >= in_.size(); }
  char peek() const { return in_[pos_]; }
  static bool digit(char c) { return c >= '0' && c <= '9'; }

  result<value> parse(std::size_t depth) {
    if (at_end())
      return fail("truncated input", pos_);
    if (++items_ > limits_.max_items)
      return fail("more values than the limit", pos_, errc::too_large);
    char c = peek();
    if (c == 'i')
      return parse_integer();
    if (digit(c)) {
      auto s = parse_string();
      if (!s)
        return s.err();
      return value(std::move(s.value()));
    }
    if (c == 'l' || c == 'd') {
      if (depth >= limits_.max_depth)
        return fail("nesting deeper than the limit", pos_, errc::too_large);
      return c == 'l' ? parse_list(depth + 1) : parse_dict(depth + 1);
    }
    return fail("unexpected byte", pos_);
  }

  // BEP 3: "i" [-] digits "e"; no leading zero, no "-0", at least one digit.
  result<value> parse_integer() {
    std::size_t start = pos_++;
    std::size_t digits_at = pos_;
    bool negative = !at_end() && peek() == '-';
    if (negative)
      digits_at = ++pos_;
    while (!at_end() && digit(peek()))
      ++pos_;
    std::size_t n = pos_ - digits_at;
    if (at_end())
      return fail("unterminated integer", start);
    if (peek() != 'e' || n == 0)
      return fail("bad integer", start);
    if (n > 1 && in_[digits_at] == '0')
      return fail("integer with a leading zero", start);
    if (negative && in_[digits_at] == '0')
      return fail("negative zero", start);
    int64_t x = 0;
    // from_chars handles the sign and refuses what does not fit 64 bits.
    auto [end, ec] = std::from_chars(in_.data() + (negative ? digits_at - 1 : digits_at),
                                     in_.data() + pos_, x);
    if (ec != std::errc{} || end != in_.data() + pos_)
      return fail("integer out of range", start);
    ++pos_;  // the 'e'
    return value(x);
  }

  // BEP 3: a base-ten length (no leading zero), ':', then that many bytes.
  result<std::string> parse_string() {
    std::size_t start = pos_;
    uint64_t len = 0;
    while (!at_end() && digit(peek())) {
      if (pos_ - start > 0 && in_[start] == '0')
        return fail("string length with a leading zero", start);
      len = len * 10 + static_cast<uint64_t>(peek() - '0');
      if (len > in_.size())  // also stops the multiplication overflowing
        return fail("string runs past the end", start);
      ++pos_;
    }
    if (at_end() || peek() != ':')
      return fail("string length without ':'", start);
    ++pos_;
    if (len > in_.size() - pos_)
      return fail("string runs past the end", start);
    std::string s(in_.substr(pos_, static_cast<std::size_t>(len)));
    pos_ += static_cast<std::size_t>(len);
    return s;
  }

  result<value> parse_list(std::size_t depth) {
    std::size_t start = pos_++;
    list out;
    while (true) {
      if (at_end())
        return fail("unterminated list", start);
      if (peek() == 'e') {
        ++pos_;
        return value(std::move(out));
      }
      auto v = parse(depth);
      if (!v)
        return v;
      out.push_back(std::move(v.value()));
    }
  }

  result<value> parse_dict(std::size_t depth) {
    std::size_t start = pos_++;
    dict out;
    while (true) {
      if (at_end())
        return fail("unterminated dictionary", start);
      if (peek() == 'e') {
        ++pos_;
        return value(std::move(out));
      }
      std::size_t key_at = pos_;
      // BEP 3: keys are byte strings (their order is not checked: see the header).
      if (!digit(peek()))
        return fail("dictionary key is not a string", key_at);
      if (++items_ > limits_.max_items)
        return fail("more values than the limit", key_at, errc::too_large);
      auto key = parse_string();
      if (!key)
        return key.err();
      for (auto& e : out)
        if (e.key == *key)
          return fail("repeated dictionary key", key_at);
      auto v = parse(depth);
      if (!v)
        return v;
      out.push_back(dict_entry{std::move(key.value()), std::move(v.value())});
    }
  }

  std::string_view in_;
  const decode_limits& limits_;
  std::size_t pos_ = 0;
  std::size_t items_ = 0;
};

} // namespace

result<value> decode(std::string_view bytes, const decode_limits& limits) {
  if (bytes.size() > limits.max_size)
    return error{errc::too_large, "bencode: input of " + std::to_string(bytes.size())
                                    + " bytes over the limit at byte "
                                    + std::to_string(limits.max_size)};
  return decoder(bytes, limits).run();
}

// -- encode --------------------------------------------------------------------

namespace {

void append_number(std::string& out, int64_t x) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  (void)ec;  // 24 bytes hold any int64_t
  out.append(buf, end);
}

void append_string(std::string& out, std::string_view s) {
  append_number(out, static_cast<int64_t>(s.size()));
  out += ':';
  out += s;
}

} // namespace

void encode_into(std::string& out, const value& v) {
  switch (v.type()) {
    case value::kind::integer:
      out += 'i';
      append_number(out, v.as_integer());
      out += 'e';
      break;
    case value::kind::string:
      append_string(out, v.as_string());
      break;
    case value::kind::list:
      out += 'l';
      for (auto& item : v.as_list())
        encode_into(out, item);
      out += 'e';
      break;
    case value::kind::dict:
      out += 'd';
      for (auto& e : v.as_dict()) {
        append_string(out, e.key);
        encode_into(out, e.val);
      }
      out += 'e';
      break;
  }
}

std::string encode(const value& v) {
  std::string out;
  encode_into(out, v);
  return out;
}

} // namespace centralita::ng
