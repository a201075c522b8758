#include "protocols/sip/id_generator.hpp"

namespace centralita::sip {

namespace {
constexpr char base32[] = "abcdefghijklmnopqrstuvwxyz234567";

void append_base32(std::string& out, uint64_t v, int chars) {
  for (int i = 0; i < chars; ++i) {
    out.push_back(base32[v & 31u]);
    v >>= 5;
  }
}
} // namespace

id_generator::id_generator(uint64_t seed) noexcept : state_(seed) {}

uint64_t id_generator::next() noexcept {
  // splitmix64 (Steele, Lea, Flood 2014): every seed gives a full-period sequence.
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string id_generator::branch() {
  // RFC 3261 §8.1.1.7: the magic cookie marks a branch unique in space and time.
  std::string out = "z9hG4bK";
  out.reserve(7 + 16);
  append_base32(out, next(), 12);
  append_base32(out, next(), 4);
  return out;
}

std::string id_generator::tag() {
  std::string out;
  out.reserve(10);
  append_base32(out, next(), 10);
  return out;
}

} // namespace centralita::sip
