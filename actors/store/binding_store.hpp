#pragma once

// Where registrar bindings persist. An interface so the embedded SQLite store
// can be replaced by a shared one (Redis) without touching the registrar.

#include "protocols/sip/registrar/binding.hpp"
#include "protocols/util/result.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace centralita::actors {

/// The key of a stored binding: address-of-record and contact URI (RFC 3261 §10.3).
struct binding_key {
  std::string aor;
  std::string contact;
  bool operator==(const binding_key&) const = default;
};

/// Changes written together, in one transaction: every upsert, then every delete.
struct store_batch {
  std::vector<sip::binding> upserts;  ///< insert or replace by (aor, contact)
  std::vector<binding_key> deletes;   ///< absent keys are not an error
  bool empty() const noexcept { return upserts.empty() && deletes.empty(); }
};

/// Persistent binding storage. Calls may block on disk: use it from a thread of
/// its own (`store_writer`), never from a scheduler worker. Not thread-safe.
class binding_store {
public:
  virtual ~binding_store() = default;
  /// Every binding with `expires_at > now` (wall-clock seconds since the epoch).
  /// May also drop the expired ones from storage.
  virtual result<std::vector<sip::binding>> load_unexpired(int64_t now) = 0;
  /// Writes the batch atomically: all of it or (on an error) none of it.
  virtual result<void> apply(const store_batch& batch) = 0;
};

} // namespace centralita::actors
