#pragma once

// Unique identifiers for SIP: Via branches (RFC 3261 §8.1.1.7) and tags (§19.3).

#include <cstdint>
#include <string>

namespace centralita::sip {

/// A source of unique ids: a value type owned by the caller (no globals), seeded
/// explicitly, based on splitmix64. Ids are lower-case base32 text. Not
/// cryptographically strong: seed it from a good source (e.g. std::random_device
/// mixed with the shard number) so two processes do not repeat each other.
class id_generator {
public:
  /// A generator whose sequence is fully determined by `seed`.
  explicit id_generator(uint64_t seed) noexcept;

  /// RFC 3261 §8.1.1.7: "z9hG4bK" followed by 16 base32 characters (80 bits).
  std::string branch();
  /// RFC 3261 §19.3: a tag of 10 base32 characters (50 bits).
  std::string tag();
  /// The next raw 64-bit value.
  uint64_t next() noexcept;

private:
  uint64_t state_;
};

} // namespace centralita::sip
