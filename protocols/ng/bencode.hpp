#pragma once
// bencode (BitTorrent BEP 3), the encoding of RTPEngine's ng control
// protocol: integers `i42e`, byte strings `4:spam`, lists `l...e`,
// dictionaries `d...e` whose keys are byte strings.
//
// Dictionaries keep their keys in INSERTION order, both ways: BEP 3 asks
// for keys sorted as raw bytes, but rtpengine and the Kamailio/OpenSIPS
// modules write them in the order they add them (an offer arrives as
// command, call-id, from-tag, sdp), so the decoder accepts any order and the
// encoder writes the order the caller built (a reply starts with "result",
// as rtpengine's do). Lookups are linear: ng dictionaries hold a handful of
// keys. A repeated key is refused: which value counts would be ambiguous.

#include "protocols/util/result.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace centralita::ng {

class value;
struct dict_entry;
using list = std::vector<value>;
using dict = std::vector<dict_entry>;

/// One bencoded value. Owns its bytes (byte strings are std::string: not
/// necessarily text, may hold NULs).
class value {
public:
  enum class kind { integer, string, list, dict };

  // (Defined below dict_entry: constructing the variant needs it complete.)
  value();
  value(int64_t i);
  value(int i);
  value(std::string s);
  value(std::string_view s);
  value(const char* s);
  value(list l);
  value(dict d);

  kind type() const { return static_cast<kind>(v_.index()); }
  bool is_integer() const { return type() == kind::integer; }
  bool is_string() const { return type() == kind::string; }
  bool is_list() const { return type() == kind::list; }
  bool is_dict() const { return type() == kind::dict; }

  /// The alternatives; calling the wrong one is a bug (asserted).
  int64_t as_integer() const { return std::get<int64_t>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const list& as_list() const { return std::get<ng::list>(v_); }
  list& as_list() { return std::get<ng::list>(v_); }
  const dict& as_dict() const { return std::get<ng::dict>(v_); }
  dict& as_dict() { return std::get<ng::dict>(v_); }

  /// A dictionary's value for `key`; null when absent or not a dictionary.
  const value* find(std::string_view key) const;
  /// A dictionary's byte string for `key`; empty when absent or not a string.
  std::string_view find_string(std::string_view key) const;
  /// Sets `key` in a dictionary (replacing its value, else appending it at
  /// the end). The value must be a dictionary.
  void set(std::string_view key, value v);

  friend bool operator==(const value& a, const value& b);
  friend bool operator!=(const value& a, const value& b) { return !(a == b); }

private:
  std::variant<int64_t, std::string, ng::list, ng::dict> v_;
};

struct dict_entry {
  std::string key;
  value val;
  friend bool operator==(const dict_entry& a, const dict_entry& b) {
    return a.key == b.key && a.val == b.val;
  }
};

inline value::value() : v_(int64_t{0}) {}
inline value::value(int64_t i) : v_(i) {}
inline value::value(int i) : v_(int64_t{i}) {}
inline value::value(std::string s) : v_(std::move(s)) {}
inline value::value(std::string_view s) : v_(std::string(s)) {}
inline value::value(const char* s) : v_(std::string(s)) {}
inline value::value(list l) : v_(std::move(l)) {}
inline value::value(dict d) : v_(std::move(d)) {}

/// What decode() accepts at most: a hostile datagram cannot exhaust the
/// stack (depth) nor the heap (items: every value costs a node).
struct decode_limits {
  std::size_t max_size = 65536;  ///< input bytes (a UDP datagram's payload is less)
  std::size_t max_depth = 32;    ///< nested lists/dictionaries
  std::size_t max_items = 8192;  ///< values in all (strings, integers, containers)
};

/// The one value bencoded in `bytes`; the whole input must be consumed.
/// Errors are errc::parse_error (errc::too_large over a limit) with a
/// reason naming the byte offset ("bencode: ... at byte 17").
result<value> decode(std::string_view bytes, const decode_limits& limits = {});

/// The canonical bencoding of `v` (dictionary keys in their stored order).
std::string encode(const value& v);
/// Appends the bencoding of `v` to `out`.
void encode_into(std::string& out, const value& v);

} // namespace centralita::ng
