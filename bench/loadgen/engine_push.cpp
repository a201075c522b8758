// push-wake: the phones' Call-ID and Contact, a push received by the webhook
// (its latency, and the REGISTER the pushed phone sends from the built-in
// UAS), and the wake-ups delayed by push_wake::wake_delay.

#include "bench/loadgen/engine_impl.hpp"

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace centralita::loadgen {

std::string phone_call_id(std::string_view user) {
  return "pw-" + std::string(user) + "@centralita-bench";
}

std::string phone_contact(std::string_view user, std::string_view hostport,
                          const engine_config::push_wake& p) {
  // RFC 8599 §4.1.2: the push parameters ride in the Contact URI.
  return "<sip:" + std::string(user) + "@" + std::string(hostport) + ";pn-provider="
         + p.pn_provider + ";pn-prid=" + std::string(user) + ";pn-param=" + p.pn_param + ">";
}

/// push-wake: a push reached the webhook (posted from its thread).
void engine::impl::on_push(const push_notice& n) {
  ++extra.pushes;
  // Our Call-IDs: "<run token>-c<hex number>@centralita-bench" (scenario_call.cpp).
  std::string_view id = n.call_id;
  auto token = run_token();
  uint64_t number = 0;
  bool ours = id.size() > token.size() + 2 && id.substr(0, token.size()) == token
              && id.substr(token.size(), 2) == "-c";
  if (ours) {
    auto hex = id.substr(token.size() + 2);
    auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), number, 16);
    ours = ec == std::errc{} && end != hex.data() && *end == '@';
  }
  auto it = ours ? slot_of_number.find(number) : slot_of_number.end();
  if (it == slot_of_number.end()) {
    ++extra.pushes_unmatched;  // another run's call, or one already over
  } else {
    // INVITE sent -> the push read by the gateway (not when the reactor got to it).
    rx_time = n.received;
    in_rx = true;
    record_latency(it->second, "push");
    in_rx = false;
  }
  const auto& p = *cfg.push;
  wake_register w;
  w.registrar = cfg.target;
  w.request_uri = p.request_uri;
  w.user = n.prid;
  w.aor = "sip:" + n.prid + "@" + p.domain;
  w.password = p.password;
  w.contact = phone_contact(n.prid, cfg.uas_local->to_string(), p);
  w.call_id = phone_call_id(n.prid);
  auto& cseq = phone_cseq[n.prid];
  cseq = cseq == 0 ? 10 : cseq + 2;  // the first REGISTER used 1 and 2
  w.cseq = cseq;
  w.expires = p.expires;
  if (p.wake_delay.count() <= 0) {
    callee->wake(std::move(w));
    return;
  }
  auto key = next_delayed++;
  delayed_wakes.emplace(key, std::move(w));
  reactor->timers().schedule(reactor->now() + p.wake_delay, &wake_later, key);
}

void engine::impl::wake_target::on_timer(uint64_t cookie) {
  auto it = owner->delayed_wakes.find(cookie);
  if (it == owner->delayed_wakes.end())
    return;
  owner->callee->wake(std::move(it->second));
  owner->delayed_wakes.erase(it);
}

} // namespace centralita::loadgen
