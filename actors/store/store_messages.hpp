#pragma once

#include "actors/store/binding_store.hpp"
#include "protocols/sip/registrar/binding.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace centralita::actors {

/// Messages to and from the `store_writer` (local only, never serialized).

/// One change in a batch: a binding added or refreshed (`upsert`), or removed
/// (no value: expires=0, "*", replaced or expired).
struct binding_change {
  binding_key key;
  std::optional<sip::binding> upsert;

  /// Copies `b` with the default allocator (never a registrar shard's pool).
  static binding_change added(const sip::binding& b) {
    return {binding_key{std::string(b.aor()), std::string(b.contact())}, b};
  }
  static binding_change removed(std::string_view aor, std::string_view contact) {
    return {binding_key{std::string(aor), std::string(contact)}, std::nullopt};
  }
};

/// A registrar shard's changes of the last batch window, in order: one
/// message (one wake-up of the writer's thread) instead of one per REGISTER.
struct binding_changes {
  std::vector<binding_change> changes;
};

/// Write everything pending now; the writer replies `store_flushed` once written.
struct flush_store {};

/// The reply to `flush_store`.
struct store_flushed {
  size_t written = 0;  ///< changes (upserts + deletes) written by this flush
  bool ok = true;      ///< false: the write failed; the changes stay pending
  std::string error;   ///< the store's error when !ok
};

} // namespace centralita::actors

// Local messages only, never serialized: no inspect() needed.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::binding_changes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::flush_store)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::store_flushed)
