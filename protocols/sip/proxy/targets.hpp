#pragma once

// RFC 3261 §16.5 / §16.6: from location-service bindings to the order in which the
// proxy tries them — parallel within one q-value, serial from the highest q down.

#include <string>
#include <vector>

namespace centralita::sip::proxy {

/// One candidate from the location service (or any other target source).
struct contact_target {
  std::string uri;                ///< the Contact URI (angle brackets allowed)
  double q = 1.0;                 ///< RFC 3261 §20.10 q-value, 0..1 (clamped)
  std::vector<std::string> path;  ///< RFC 3327 Path values stored with the binding, in order
};

/// One branch to create: the new Request-URI and the Route values to put in front.
struct branch_target {
  std::string uri;                ///< RFC 3261 §16.6 step 2: the new Request-URI
  std::vector<std::string> path;  ///< RFC 3327 §5.3: pushed as Route values, in order
};

/// RFC 3261 §16.6 (and §16.5's "a URI MUST NOT be added more than once"): groups of
/// targets from the highest q-value to the lowest. All targets of one group are
/// tried in parallel; the next group only when every branch of the previous one has
/// ended without a 2xx or 6xx (serial forking). Within a group the input order is
/// kept. q-values are compared to three decimals (the precision of RFC 3261 §25.1
/// qvalue). Duplicate URIs (same text without brackets, scheme and host case-
/// insensitive) keep their first, highest-q occurrence; unparseable URIs are dropped.
std::vector<std::vector<branch_target>> targets_from_contacts(const std::vector<contact_target>& contacts);

} // namespace centralita::sip::proxy
