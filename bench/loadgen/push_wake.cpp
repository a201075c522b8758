#include "bench/loadgen/push_wake.hpp"

namespace centralita::loadgen {

result<void> register_phones(const drivers::endpoint& registrar, const user_source& phones,
                             const engine_config::push_wake& p, bool remove) {
  std::string user;
  for (uint64_t i = 0; i < phones.size(); ++i) {
    user.clear();
    phones.append_name(user, i);
    // Asleep: a Contact at the discard port of our address, which the switch
    // never rings for a push binding (docs/push.md: "where the phone slept,
    // gets nothing"); the first CSeq numbers 1 and 2 (a challenge), the
    // removal one above every refresh of the run.
    auto contact = remove ? std::string("*") : phone_contact(user, "127.0.0.1:9", p);
    auto r = register_binding(registrar, p.request_uri, "sip:" + user + "@" + p.domain, user,
                              phones.password(i), contact, remove ? 0 : p.expires,
                              std::chrono::seconds{10}, phone_call_id(user),
                              remove ? 1'000'000'000u : 1u);
    if (!r)
      return error{errc::io_error, "phone " + user + ": " + r.err().reason};
  }
  return {};
}

std::string push_wake_summary(const engine_extras& e) {
  return "push-wake: " + std::to_string(e.pushes) + " pushes (" + std::to_string(e.pushes_unmatched)
         + " for no call of this run), " + std::to_string(e.uas.woke) + " phones woke ("
         + std::to_string(e.uas.wake_failures) + " REGISTERs failed), "
         + std::to_string(e.uas.woken_invites) + " calls reached a woken phone";
}

} // namespace centralita::loadgen
