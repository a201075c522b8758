#pragma once

// The `push-wake` scenario's set-up and clean-up around the engine run
// (docs/load-testing.md, "push-wake"): the phones register asleep first
// (RFC 8599 push parameters, a Contact nobody answers at), and their
// bindings are removed at the end. During the run the engine's webhook
// server takes the switch's pushes and the built-in UAS registers each
// pushed phone again and answers its call (engine.hpp, uas.hpp).

#include "bench/loadgen/engine.hpp"
#include "bench/loadgen/users.hpp"
#include "protocols/util/result.hpp"

#include <string>

namespace centralita::loadgen {

/// REGISTERs every phone asleep (Expires `p.expires`), or removes every
/// binding of theirs (`remove`: Contact "*", Expires 0, RFC 3261 §10.2.2);
/// one at a time, each within 10 s. The first error stops it.
result<void> register_phones(const drivers::endpoint& registrar, const user_source& phones,
                             const engine_config::push_wake& p, bool remove);

/// "push-wake: 1000 pushes (0 for no call of this run), 1000 phones woke (0 failed), 1000
/// calls reached a woken phone"
std::string push_wake_summary(const engine_extras& e);

} // namespace centralita::loadgen
