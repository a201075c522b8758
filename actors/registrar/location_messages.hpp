#pragma once

#include "protocols/sip/registrar/binding.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace centralita::actors {

/// Ask a registrar shard for the bindings of an address-of-record
/// (RFC 3261 §16.5: the location service). Replied with `location_result`.
struct location_lookup {
  std::string aor;  ///< normalised "user@domain"
};

/// The live bindings of an AOR at the time of the lookup.
struct location_result {
  std::vector<sip::binding> bindings;
  bool known_user = false;  ///< the AOR is provisioned (users table): 480, not 404, when empty
};

/// Bindings loaded from the store at start, for one registrar shard.
struct location_preload {
  std::vector<sip::binding> bindings;
};

/// Remove the bindings of `aor` registered with push token `pn_prid`: the push
/// provider said the token is dead (APNs BadDeviceToken, FCM UNREGISTERED).
/// Published as UNREGISTER, like a removal by the UA.
struct location_drop_push {
  std::string aor;
  std::string pn_prid;
  std::string reason;  ///< for the log line
};

/// One page of a registrar shard's bindings, for GET /api/registrations:
/// those whose AOR matches `pattern` (fnmatch; empty: all), sorted by
/// (aor, contact), after the cursor (aor, contact) `after_aor`/`after_contact`
/// (both empty: from the start), at most `limit`. Replied with `location_page`.
struct location_list {
  std::string pattern;
  std::string after_aor;
  std::string after_contact;
  uint32_t limit = 100;
};

struct location_page {
  std::vector<sip::binding> bindings;
  uint64_t total = 0;  ///< matching `pattern` in this shard (whatever the cursor)
  bool more = false;   ///< more past this page
};

/// Remove every binding of `aor` (DELETE /api/registrations/<aor>): published
/// as UNREGISTER and written to the store. Replied with the count removed (uint64_t).
struct location_remove {
  std::string aor;
  std::string reason;  ///< for the log line
};

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_drop_push)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_preload)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_remove)
