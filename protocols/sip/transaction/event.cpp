#include "protocols/sip/transaction/event.hpp"

#include <type_traits>

namespace centralita::sip::txn {

namespace {
template <class... Fs>
struct overloaded : Fs... { using Fs::operator()...; };
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

constexpr std::chrono::milliseconds one_hour{3'600'000};
} // namespace

const char* to_string(timer_id id) noexcept {
  static constexpr const char* names[timer_count] = {"A", "B", "D", "E", "F", "G",
                                                     "H", "I", "J", "K", "L", "M"};
  auto i = static_cast<size_t>(id);
  return i < timer_count ? names[i] : "?";
}

const char* to_string(state s) noexcept {
  switch (s) {
    case state::idle: return "idle";
    case state::calling: return "calling";
    case state::trying: return "trying";
    case state::proceeding: return "proceeding";
    case state::completed: return "completed";
    case state::confirmed: return "confirmed";
    case state::accepted: return "accepted";
    case state::terminated: return "terminated";
  }
  return "?";
}

std::string to_string(const action& a) {
  return std::visit(
      overloaded{
          [](const send_request&) -> std::string { return "send_request"; },
          [](const send_response&) -> std::string { return "send_response"; },
          [](const send_ack&) -> std::string { return "send_ack"; },
          [](const start_timer& t) -> std::string {
            return std::string("start_timer(") + to_string(t.id) + ", " +
                   std::to_string(t.after.count()) + "ms)";
          },
          [](const cancel_timer& t) -> std::string {
            return std::string("cancel_timer(") + to_string(t.id) + ")";
          },
          [](const pass_to_tu& p) -> std::string {
            return "pass_to_tu(" + std::to_string(p.status) + ")";
          },
          [](const timeout&) -> std::string { return "timeout"; },
          [](const transport_failed&) -> std::string { return "transport_failed"; },
          [](const terminated&) -> std::string { return "terminated"; },
      },
      a);
}

std::string to_string(const event& e) {
  return std::visit(
      overloaded{
          [](const request_from_tu&) -> std::string { return "request_from_tu"; },
          [](const response_from_tu& r) -> std::string {
            return "response_from_tu(" + std::to_string(r.status) + ")";
          },
          [](const request_received&) -> std::string { return "request_received"; },
          [](const ack_received&) -> std::string { return "ack_received"; },
          [](const response_received& r) -> std::string {
            return "response_received(" + std::to_string(r.status) + ")";
          },
          [](const timer_fired& t) -> std::string {
            return std::string("timer_fired(") + to_string(t.id) + ")";
          },
          [](const transport_error&) -> std::string { return "transport_error"; },
      },
      e);
}

result<void> validate(const timer_config& cfg) {
  auto bad = [](const char* why) { return error{errc::invalid_argument, why}; };
  if (cfg.t1.count() <= 0) return bad("T1 must be positive");
  if (cfg.t2 < cfg.t1) return bad("T2 must not be below T1");
  if (cfg.t4.count() <= 0) return bad("T4 must be positive");
  // RFC 3261 §17.1.1.2: Timer D is at least 32 seconds on unreliable transports.
  if (cfg.d < std::chrono::milliseconds(32000)) return bad("Timer D must be at least 32 s");
  if (64 * cfg.t1 >= one_hour || cfg.t2 >= one_hour || cfg.t4 >= one_hour || cfg.d >= one_hour)
    return bad("timers (64*T1, T2, T4, D) must stay under one hour");
  return {};
}

} // namespace centralita::sip::txn
