// Properties of the bencode codec (rapidcheck):
//  1. decode(encode(x)) == x for any value (any bytes in strings, any 64-bit
//     integer, nesting, dictionaries with distinct keys in any order);
//  2. decoding is exact: whatever decode() accepts re-encodes to the very
//     same bytes (no second spelling of a value is accepted), checked on
//     encodings with one byte changed, cut short or extended;
//  3. decode() never accepts a value deeper than its depth limit.

#include "protocols/ng/bencode.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <set>
#include <string>

using namespace centralita::ng;

namespace {

rc::Gen<std::string> gen_bytes() {
  // Mostly short strings; bytes drawn over the whole range, digits and the
  // syntax letters weighted up so that mutations hit meaningful spots.
  return rc::gen::container<std::string>(rc::gen::oneOf(
    rc::gen::arbitrary<char>(), rc::gen::element('0', '1', '9', ':', 'i', 'e', 'l', 'd', '-')));
}

rc::Gen<value> gen_value(int depth) {
  auto leaf = rc::gen::oneOf(
    rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t i) { return value(i); }),
    rc::gen::map(rc::gen::inRange<int64_t>(-20, 20), [](int64_t i) { return value(i); }),
    rc::gen::map(gen_bytes(), [](std::string s) { return value(std::move(s)); }));
  if (depth <= 0)
    return leaf;
  auto sub = rc::gen::lazy([depth] { return gen_value(depth - 1); });
  auto lists = rc::gen::map(rc::gen::resize(6, rc::gen::container<std::vector<value>>(sub)),
                            [](std::vector<value> v) { return value(list(std::move(v))); });
  auto dicts = rc::gen::map(
    rc::gen::resize(6, rc::gen::container<std::vector<std::pair<std::string, value>>>(
                         rc::gen::pair(gen_bytes(), sub))),
    [](std::vector<std::pair<std::string, value>> kv) {
      value d{dict{}};
      std::set<std::string> seen;
      for (auto& [k, v] : kv)
        if (seen.insert(k).second)  // distinct keys: a repeated one is refused
          d.as_dict().push_back(dict_entry{k, std::move(v)});
      return d;
    });
  return rc::gen::weightedOneOf<value>({{3, leaf}, {1, lists}, {1, dicts}});
}

std::size_t depth_of(const value& v) {
  std::size_t d = 0;
  if (v.is_list())
    for (auto& x : v.as_list())
      d = std::max(d, depth_of(x));
  else if (v.is_dict())
    for (auto& e : v.as_dict())
      d = std::max(d, depth_of(e.val));
  else
    return 0;
  return d + 1;
}

} // namespace

RC_GTEST_PROP(bencode_prop, decode_inverts_encode, ()) {
  auto v = *gen_value(4);
  auto bytes = encode(v);
  auto back = decode(bytes);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == v);
}

RC_GTEST_PROP(bencode_prop, accepted_input_is_the_one_spelling_of_its_value, ()) {
  auto bytes = encode(*gen_value(3));
  RC_PRE(!bytes.empty());
  const auto edit = *rc::gen::inRange(0, 3);
  const auto at = *rc::gen::inRange<std::size_t>(0, bytes.size());
  if (edit == 0)
    bytes[at] = *rc::gen::oneOf(rc::gen::arbitrary<char>(),
                                rc::gen::element('0', '1', ':', 'i', 'e', 'l', 'd', '-'));
  else if (edit == 1)
    bytes.resize(at);
  else
    bytes.insert(at, 1, *rc::gen::element('0', '1', ':', 'i', 'e', 'l', 'd', '-'));
  auto v = decode(bytes);
  if (v.ok()) {
    RC_ASSERT(encode(*v) == bytes);
  } else {
    RC_ASSERT(v.err().reason.find(" at byte ") != std::string::npos);
  }
}

RC_GTEST_PROP(bencode_prop, depth_limit_holds, ()) {
  auto v = *gen_value(5);
  decode_limits l;
  l.max_depth = *rc::gen::inRange<std::size_t>(0, 6);
  auto back = decode(encode(v), l);
  RC_ASSERT(back.ok() == (depth_of(v) <= l.max_depth));
}
