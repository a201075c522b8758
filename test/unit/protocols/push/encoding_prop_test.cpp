// Properties of base64url:
//  1. any bytes round-trip, and the text uses only the URL-safe alphabet;
//  2. decoding any text never crashes, and what it accepts is canonical: it
//     encodes back to the same text without its padding.

#include "protocols/push/push.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>

using namespace centralita::push;

RC_GTEST_PROP(base64url_prop, any_bytes_round_trip, (const std::string& bytes)) {
  const std::string text = base64url(bytes);
  RC_ASSERT(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
            std::string::npos);
  RC_ASSERT(text.size() == (bytes.size() * 4 + 2) / 3);
  auto back = base64url_decode(text);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == bytes);
}

RC_GTEST_PROP(base64url_prop, accepted_text_is_canonical, ()) {
  // Mostly alphabet characters, so that many inputs decode.
  const auto text = *rc::gen::container<std::string>(rc::gen::weightedOneOf<char>(
      {{20, rc::gen::elementOf(std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))},
       {2, rc::gen::just('=')},
       {1, rc::gen::arbitrary<char>()}}));
  auto r = base64url_decode(text);
  if (!r) return;
  std::string unpadded = text;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
  RC_ASSERT(base64url(*r) == unpadded);
}
