// Properties of request_parser and the percent codecs:
//  1. any stream of valid requests (pipelined, bodies by Content-Length or
//     chunked, percent-encoded paths and queries), cut at any points and fed
//     piece by piece (with empty feeds between), yields the requests it was
//     made of, exactly as fed whole or byte by byte;
//  2. percent_decode(percent_encode(s)) == s for any s without NUL.

#include "protocols/http/request_parser.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

using namespace centralita::http;

namespace {

struct spec {
  std::string method;
  std::vector<std::string> segments;  // decoded path segments
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  std::vector<header> headers;
  std::string body;
  bool chunked = false;
  std::vector<std::size_t> chunk_sizes;  // chunked: how the body is cut
};

std::string no_nul(std::string s) {
  std::replace(s.begin(), s.end(), '\0', '0');
  return s;
}

rc::Gen<std::string> token() {
  return rc::gen::nonEmpty(rc::gen::container<std::string>(
      rc::gen::elementOf(std::string("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$&'*+.^_`|~"))));
}

/// A field value without surrounding whitespace (the parser trims it).
rc::Gen<std::string> field_value() {
  return rc::gen::map(rc::gen::container<std::string>(rc::gen::inRange<char>(' ', '~' + 1)), [](std::string v) {
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    while (!v.empty() && v.back() == ' ') v.pop_back();
    return v;
  });
}

rc::Gen<spec> gen_spec() {
  return rc::gen::exec([] {
    spec s;
    s.method = *rc::gen::elementOf(std::vector<std::string>{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"});
    s.segments = *rc::gen::container<std::vector<std::string>>(
        rc::gen::map(rc::gen::arbitrary<std::string>(), no_nul));
    s.query = *rc::gen::container<std::vector<std::pair<std::string, std::string>>>(rc::gen::pair(
        rc::gen::map(rc::gen::arbitrary<std::string>(), no_nul), rc::gen::map(rc::gen::arbitrary<std::string>(), no_nul)));
    const auto names = *rc::gen::container<std::vector<std::string>>(token());
    for (const std::string& n : names) s.headers.push_back({"X-" + n, *field_value()});
    s.body = *rc::gen::arbitrary<std::string>();
    s.chunked = *rc::gen::arbitrary<bool>();
    if (s.chunked) {
      std::size_t left = s.body.size();
      while (left > 0) {
        const std::size_t n = *rc::gen::inRange<std::size_t>(1, left + 1);
        s.chunk_sizes.push_back(n);
        left -= n;
      }
    }
    return s;
  });
}

std::string wire(const spec& s) {
  std::string target;
  for (const std::string& seg : s.segments) target += "/" + percent_encode(seg);
  if (target.empty()) target = "/";
  for (std::size_t i = 0; i < s.query.size(); ++i)
    target += (i == 0 ? "?" : "&") + percent_encode(s.query[i].first) + "=" + percent_encode(s.query[i].second);
  std::string w = s.method + " " + target + " HTTP/1.1\r\nHost: example.com\r\n";
  for (const header& h : s.headers) w += h.name + ": " + h.value + "\r\n";
  if (!s.chunked) {
    w += "Content-Length: " + std::to_string(s.body.size()) + "\r\n\r\n" + s.body;
    return w;
  }
  w += "Transfer-Encoding: chunked\r\n\r\n";
  std::size_t off = 0;
  char hex[20];
  for (std::size_t n : s.chunk_sizes) {
    std::snprintf(hex, sizeof hex, "%zx", n);
    w += std::string(hex) + "\r\n" + s.body.substr(off, n) + "\r\n";
    off += n;
  }
  return w + "0\r\n\r\n";
}

/// Feeds `pieces` the way a connection does: unconsumed bytes wait for more.
std::vector<request> parse_pieces(const std::vector<std::string_view>& pieces) {
  request_parser p;
  std::vector<request> out;
  std::string pending;
  for (std::string_view piece : pieces) {
    pending.append(piece);
    for (;;) {
      const auto o = p.feed(pending);
      RC_ASSERT(o.st != request_parser::state::error);
      pending.erase(0, o.consumed);
      if (o.st != request_parser::state::complete) break;
      out.push_back(p.take());
    }
    RC_ASSERT(pending.empty());  // the parser keeps whatever it cannot finish yet
  }
  RC_ASSERT(!p.mid_request());
  return out;
}

void expect_matches(const request& r, const spec& s) {
  RC_ASSERT(r.method == s.method);
  std::string path;
  for (const std::string& seg : s.segments) path += "/" + seg;
  RC_ASSERT(r.path == (path.empty() ? "/" : path));
  RC_ASSERT(r.query == s.query);
  RC_ASSERT(r.body == s.body);
  RC_ASSERT(r.keep_alive);
  RC_ASSERT(r.headers.size() == s.headers.size() + 2);
  for (std::size_t i = 0; i < s.headers.size(); ++i) {
    RC_ASSERT(r.headers[i + 1].name == s.headers[i].name);
    RC_ASSERT(r.headers[i + 1].value == s.headers[i].value);
  }
}

} // namespace

RC_GTEST_PROP(request_parser_prop, any_split_yields_the_same_requests, ()) {
  const auto specs = *rc::gen::resize(20, rc::gen::nonEmpty(rc::gen::container<std::vector<spec>>(gen_spec())));
  std::string stream;
  for (const spec& s : specs) stream += wire(s);

  // Cut points anywhere, some repeated (empty feeds).
  auto cuts = *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, stream.size() + 1));
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::string_view> pieces;
  std::size_t prev = 0;
  for (std::size_t c : cuts) {
    pieces.push_back(std::string_view(stream).substr(prev, c - prev));
    prev = c;
  }
  pieces.push_back(std::string_view(stream).substr(prev));

  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < stream.size(); ++i) bytes.push_back(std::string_view(stream).substr(i, 1));

  const auto whole = parse_pieces({stream});
  const auto split = parse_pieces(pieces);
  const auto one_by_one = parse_pieces(bytes);
  RC_ASSERT(whole.size() == specs.size());
  RC_ASSERT(split.size() == specs.size());
  RC_ASSERT(one_by_one.size() == specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    expect_matches(whole[i], specs[i]);
    expect_matches(split[i], specs[i]);
    expect_matches(one_by_one[i], specs[i]);
    RC_ASSERT(split[i].target == whole[i].target);
    RC_ASSERT(one_by_one[i].target == whole[i].target);
  }
}

RC_GTEST_PROP(percent_prop, decode_inverts_encode, (const std::string& raw)) {
  const std::string s = no_nul(raw);
  const std::string e = percent_encode(s);
  RC_ASSERT(e.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%") ==
            std::string::npos);
  const auto d = percent_decode(e, false);
  RC_ASSERT(d.ok());
  RC_ASSERT(*d == s);
  const auto q = percent_decode(e, true);  // encode never emits '+'
  RC_ASSERT(q.ok());
  RC_ASSERT(*q == s);
}
