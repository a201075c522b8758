#pragma once

#include "protocols/sip/registrar/binding.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

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

} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_drop_push)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::location_preload)
