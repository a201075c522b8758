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

/// A registrar shard added or refreshed a binding: write it (later, batched).
struct binding_upserted {
  sip::binding value;
};

/// A registrar shard removed a binding (expires=0, "*", replaced or expired).
struct binding_deleted {
  binding_key key;
};

/// One change in a batch: an upsert, or (no value) a delete of `key`.
struct binding_change {
  binding_key key;
  std::optional<sip::binding> upsert;
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
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::binding_upserted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::binding_deleted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::binding_changes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::flush_store)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::store_flushed)
