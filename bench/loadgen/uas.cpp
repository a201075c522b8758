#include "bench/loadgen/uas.hpp"

#include "bench/loadgen/digest_client.hpp"
#include "bench/loadgen/histogram.hpp"
#include "drivers/transport/udp_socket.hpp"
#include "drivers/uring/reactor.hpp"
#include "protocols/auth/challenge.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <random>

namespace centralita::loadgen {

namespace {

using tw_clock = drivers::timer_wheel::clock;

/// Timer cookies of the phones' REGISTERs (the calls' are their ids).
constexpr uint64_t wake_cookie = uint64_t{1} << 63;

/// The user part of a SIP URI ("sip:p1@host;x" -> "p1"), or empty.
std::string_view user_of(std::string_view uri) {
  auto colon = uri.find(':');
  auto at = uri.find('@');
  if (colon == std::string_view::npos || at == std::string_view::npos || at < colon)
    return {};
  return uri.substr(colon + 1, at - colon - 1);
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

} // namespace

void build_response(std::string& out, const scanned_request& req, int code,
                    std::string_view reason, std::string_view to_tag, std::string_view contact,
                    bool record_route) {
  out += "SIP/2.0 ";
  append_number(out, static_cast<uint64_t>(code));
  out += ' ';
  out += reason;
  out += "\r\n";
  for (uint8_t i = 0; i < req.echo_count; ++i) {
    auto line = req.echo[i];
    if ((req.record_route_mask >> i & 1) != 0 && !record_route)
      continue;
    out += line;
    if (i == req.to_index && req.to_tag.empty() && !to_tag.empty()) {
      out += ";tag=";
      out += to_tag;
    }
    out += "\r\n";
  }
  if (!contact.empty()) {
    out += "Contact: ";
    out += contact;
    out += "\r\n";
  }
  out += "Server: centralita-bench\r\nContent-Length: 0\r\n\r\n";
}

uas::uas(drivers::reactor& r, uas_config cfg) : reactor_(r), cfg_(std::move(cfg)) {}

uas::~uas() { close(); }

result<void> uas::open(const drivers::endpoint& local, const drivers::transport_options& opts,
                       drivers::transport_counters& counters, uint16_t tag) {
  auto s = drivers::udp_socket::open(reactor_, local, opts, *this, counters, tag);
  if (!s)
    return s.err();
  socket_ = std::move(s.value());
  socket_->start();
  return {};
}

void uas::close() {
  for (auto& [id, c] : calls_)
    if (c.timer.valid())
      reactor_.timers().cancel(c.timer);
  for (auto& [id, w] : wakes_)
    if (w.timer.valid())
      reactor_.timers().cancel(w.timer);
  wakes_.clear();
  calls_.clear();
  call_ids_.clear();
  by_call_id_.clear();
  socket_.reset();
}

void uas::on_message(const drivers::inbound_message& msg) {
  if (msg.bytes.substr(0, 8) == "SIP/2.0 ") {
    on_response(msg.bytes);  // to a phone's REGISTER
    return;
  }
  auto scanned = scan_request(msg.bytes);
  if (!scanned) {
    // Answers to our own requests (none: the UAS sends no requests) or junk.
    ++counters_.malformed;
    return;
  }
  const auto& req = scanned.value();
  if (req.method == "INVITE") {
    arrived_ = msg.rx_realtime_ns != 0
                   ? drivers::timer_wheel::clock::time_point(
                         std::chrono::nanoseconds(msg.rx_realtime_ns - realtime_offset_ns_))
                   : reactor_.now();
    on_invite(req, msg.source);
  }
  else if (req.method == "ACK")
    on_ack(req);
  else if (req.method == "BYE")
    on_bye(req, msg.source);
  else if (req.method == "CANCEL")
    on_cancel(req, msg.source);
  else if (req.method == "OPTIONS")
    reply(req, msg.source, 200, "OK", {});
  else
    reply(req, msg.source, 405, "Method Not Allowed", {});  // RFC 3261 §8.2.1
}

void uas::on_invite(const scanned_request& req, const drivers::endpoint& peer) {
  std::string call_id(req.call_id);
  if (auto it = by_call_id_.find(call_id); it != by_call_id_.end()) {
    // A retransmission (RFC 3261 §17.2.1): the last answer again. A re-INVITE
    // (To tag set, new CSeq) is answered 200 as well.
    auto& c = calls_[it->second];
    if (!req.to_tag.empty() && c.at == state::confirmed) {
      scratch_.clear();
      build_response(scratch_, req, 200, "OK", c.to_tag, cfg_.contact, true);
      socket_->send(peer, scratch_);
      return;
    }
    if (!c.last.empty()) {
      ++counters_.retransmissions;
      socket_->send(peer, c.last);
    }
    return;
  }
  ++counters_.invites;
  if (!woken_at_.empty()) {
    // push-wake: the call reached the phone that registered after its push.
    if (auto w = woken_at_.find(std::string(user_of(req.request_uri))); w != woken_at_.end()) {
      ++counters_.woken_invites;
      if (wake_latency_ != nullptr) {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(arrived_ - w->second);
        wake_latency_->record(static_cast<uint64_t>(std::max<int64_t>(us.count(), 0)));
      }
      woken_at_.erase(w);
    }
  }
  auto id = next_id_++;
  auto& c = calls_[id];
  by_call_id_.emplace(call_id, id);
  call_ids_.emplace(id, std::move(call_id));
  c.peer = peer;
  c.to_tag = "uas";
  append_number(c.to_tag, id);
  // §13.3.1.1: ringing at once (the dialog's To tag and Contact in it), then
  // the 200 now or after the ring time.
  scratch_.clear();
  build_response(scratch_, req, 180, "Ringing", c.to_tag, cfg_.contact, true);
  c.last = scratch_;
  socket_->send(peer, scratch_);
  std::string ok;
  build_response(ok, req, 200, "OK", c.to_tag, cfg_.contact, true);
  if (cfg_.ring.count() <= 0) {
    send_final(id, c, std::move(ok));
    c.at = state::answered;
    c.answered = true;
    ++counters_.answered;
    return;
  }
  c.pending = std::move(ok);
  build_response(c.terminated, req, 487, "Request Terminated", c.to_tag, {}, false);
  c.at = state::ringing;
  c.deadline = reactor_.now() + cfg_.ring;
  arm(id, c, c.deadline);
}

void uas::on_ack(const scanned_request& req) {
  auto it = by_call_id_.find(std::string(req.call_id));
  if (it == by_call_id_.end())
    return;  // the ACK of an answer we no longer hold: nothing to stop
  auto id = it->second;
  auto& c = calls_[id];
  if (c.at == state::answered || (c.at == state::closed && !c.acked && c.answered)) {
    // (An ACK overtaken by its BYE on the way through a multi-threaded
    // proxy still counts.)
    ++counters_.acks;
    c.acked = true;
    if (c.at == state::answered)
      c.at = state::confirmed;
  }
  if (c.timer.valid()) {
    reactor_.timers().cancel(c.timer);
    c.timer = {};
  }
  if (c.at == state::terminated)  // the 487's ACK ends the call (§17.2.1)
    forget_later(id, c);
}

void uas::on_bye(const scanned_request& req, const drivers::endpoint& peer) {
  auto it = by_call_id_.find(std::string(req.call_id));
  if (it == by_call_id_.end()) {
    ++counters_.unknown_dialog;
    reply(req, peer, 481, "Call/Transaction Does Not Exist", {});  // §15.1.2
    return;
  }
  auto id = it->second;
  auto& c = calls_[id];
  if (c.at != state::closed) {
    ++counters_.byes;
    // A BYE before the ACK also ends the 200's retransmissions.
    forget_later(id, c);
  }
  // A retransmitted BYE of a closed call gets its 200 again.
  reply(req, peer, 200, "OK", {});
}

void uas::on_cancel(const scanned_request& req, const drivers::endpoint& peer) {
  auto it = by_call_id_.find(std::string(req.call_id));
  if (it == by_call_id_.end()) {
    ++counters_.unknown_dialog;
    reply(req, peer, 481, "Call/Transaction Does Not Exist", {});  // §9.2
    return;
  }
  auto id = it->second;
  auto& c = calls_[id];
  // §9.2: the CANCEL gets its own 200 whenever it matches; a ringing INVITE
  // then ends with 487.
  reply(req, peer, 200, "OK", c.to_tag);
  if (c.at != state::ringing)
    return;
  ++counters_.cancels;
  c.at = state::terminated;
  if (c.timer.valid()) {
    reactor_.timers().cancel(c.timer);
    c.timer = {};
  }
  c.pending.clear();
  send_final(id, c, std::move(c.terminated));
}

void uas::reply(const scanned_request& req, const drivers::endpoint& peer, int code,
                std::string_view reason, std::string_view to_tag) {
  scratch_.clear();
  build_response(scratch_, req, code, reason, to_tag, {}, false);
  socket_->send(peer, scratch_);
}

void uas::send_final(uint64_t id, call& c, std::string response) {
  c.last = std::move(response);
  socket_->send(c.peer, c.last);
  // §13.3.1.4 (2xx) and §17.2.1 (Timer G, non-2xx): sent again at T1,
  // doubling up to T2, until the ACK; given up after 64·T1 (Timer H).
  c.interval = cfg_.t1;
  c.deadline = reactor_.now() + 64 * cfg_.t1;
  arm(id, c, reactor_.now() + c.interval);
}

void uas::arm(uint64_t id, call& c, tw_clock::time_point at) {
  if (c.timer.valid())
    reactor_.timers().cancel(c.timer);
  c.timer = reactor_.timers().schedule(at, this, id);
}

void uas::forget_later(uint64_t id, call& c) {
  // Kept 64·T1 (Timer J) to answer retransmitted BYEs and swallow late ACKs.
  c.at = state::closed;
  c.last.clear();
  c.deadline = reactor_.now() + 64 * cfg_.t1;
  arm(id, c, c.deadline);
}

void uas::erase(uint64_t id) {
  auto it = call_ids_.find(id);
  if (it != call_ids_.end()) {
    by_call_id_.erase(it->second);
    call_ids_.erase(it);
  }
  calls_.erase(id);
}

void uas::on_timer(uint64_t id) {
  if ((id & wake_cookie) != 0) {
    on_wake_timer(id & ~wake_cookie);
    return;
  }
  auto it = calls_.find(id);
  if (it == calls_.end())
    return;
  auto& c = it->second;
  c.timer = {};
  auto now = reactor_.now();
  switch (c.at) {
  case state::ringing:
    // The ring time is over: answer.
    c.at = state::answered;
    c.answered = true;
    ++counters_.answered;
    send_final(id, c, std::move(c.pending));
    c.terminated.clear();
    return;
  case state::answered:
  case state::terminated:
    if (now >= c.deadline) {
      if (c.at == state::answered)
        ++counters_.ack_timeouts;
      forget_later(id, c);
      return;
    }
    ++counters_.retransmissions;
    socket_->send(c.peer, c.last);
    c.interval = std::min(c.interval * 2, cfg_.t2);
    arm(id, c, std::min(now + c.interval, c.deadline));
    return;
  case state::confirmed:
    return;  // waits for the BYE
  case state::closed:
    erase(id);
    return;
  }
}

// ---- push-wake: a phone's REGISTER after its push --------------------------------

void uas::wake(wake_register w) {
  auto id = next_wake_++;
  auto& p = wakes_[id];
  p.w = std::move(w);
  ++counters_.wakes;
  woken_at_[p.w.user] = reactor_.now();
  send_wake(id);
}

void uas::send_wake(uint64_t id) {
  auto& p = wakes_[id];
  auto sent_by = socket_->local().to_string();
  p.branch = "z9hG4bK-lgwake" + std::to_string(id) + "." + std::to_string(p.w.cseq);
  auto& r = p.request;
  r.clear();
  r += "REGISTER " + p.w.request_uri + " SIP/2.0\r\nVia: SIP/2.0/UDP " + sent_by + ";branch="
       + p.branch + ";rport\r\nMax-Forwards: 70\r\nFrom: <" + p.w.aor + ">;tag=w"
       + std::to_string(id) + "\r\nTo: <" + p.w.aor + ">\r\nCall-ID: " + p.w.call_id
       + "\r\nCSeq: " + std::to_string(p.w.cseq) + " REGISTER\r\nContact: " + p.w.contact
       + "\r\nExpires: " + std::to_string(p.w.expires) + "\r\n";
  if (p.challenged)
    r += challenge_answer_;
  r += "User-Agent: centralita-bench\r\nContent-Length: 0\r\n\r\n";
  socket_->send(p.w.registrar, r);
  // RFC 3261 §17.1.2.2: Timer E from T1, Timer F at 64·T1.
  p.interval = cfg_.t1;
  p.deadline = reactor_.now() + 64 * cfg_.t1;
  if (p.timer.valid())
    reactor_.timers().cancel(p.timer);
  p.timer = reactor_.timers().schedule(reactor_.now() + p.interval, this, id | wake_cookie);
}

void uas::on_wake_timer(uint64_t id) {
  auto it = wakes_.find(id);
  if (it == wakes_.end())
    return;
  auto& p = it->second;
  p.timer = {};
  auto now = reactor_.now();
  if (now >= p.deadline) {
    ++counters_.wake_failures;
    woken_at_.erase(p.w.user);
    wakes_.erase(it);
    return;
  }
  socket_->send(p.w.registrar, p.request);
  p.interval = std::min(p.interval * 2, cfg_.t2);
  p.timer = reactor_.timers().schedule(std::min(now + p.interval, p.deadline), this,
                                       id | wake_cookie);
}

void uas::on_response(std::string_view bytes) {
  auto r = scan_response(bytes);
  if (!r) {
    ++counters_.malformed;
    return;
  }
  constexpr std::string_view prefix = "z9hG4bK-lgwake";
  if (r->branch.substr(0, prefix.size()) != prefix || r->status < 200)
    return;
  auto rest = r->branch.substr(prefix.size());
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
  auto it = ec == std::errc{} ? wakes_.find(id) : wakes_.end();
  if (it == wakes_.end() || it->second.branch != r->branch)
    return;  // a retransmitted answer of a REGISTER already done
  auto& p = it->second;
  if (p.timer.valid()) {
    reactor_.timers().cancel(p.timer);
    p.timer = {};
  }
  if ((r->status == 401 || r->status == 407) && !p.challenged) {
    // RFC 3261 §22.2: once with credentials.
    for (uint8_t i = 0; i < r->challenge_count; ++i) {
      auto c = auth::parse_challenge(r->challenges[i]);
      if (!c)
        continue;
      challenge_answer_.clear();
      append_digest_authorization(challenge_answer_, c.value(), r->proxy_challenge, p.w.user,
                                  p.w.password, p.w.request_uri, "REGISTER", p.w.call_id, 1);
      p.challenged = true;
      ++p.w.cseq;
      send_wake(id);
      return;
    }
  }
  if (r->status >= 200 && r->status < 300) {
    ++counters_.woke;
  } else {
    ++counters_.wake_failures;
    woken_at_.erase(p.w.user);
  }
  wakes_.erase(it);
}

// ---- registration -------------------------------------------------------------

result<void> register_binding(const drivers::endpoint& target, std::string_view request_uri,
                              std::string_view aor, std::string_view user,
                              std::string_view password, std::string_view contact,
                              uint32_t expires, std::chrono::milliseconds timeout,
                              std::string_view call_id, uint32_t first_cseq) {
  int fd = ::socket(target.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return error{errc::io_error, "REGISTER: cannot open a UDP socket"};
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  if (::connect(fd, target.data(), target.size()) != 0)
    return error{errc::io_error, "REGISTER: cannot reach " + target.to_string()};
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  auto sent_by = drivers::endpoint(reinterpret_cast<sockaddr*>(&local), len).to_string();

  std::random_device rd;
  std::string token;
  append_number(token, (uint64_t{rd()} << 32) | rd());
  std::optional<auth::challenge> ch;
  bool proxy = false;
  uint32_t cseq = first_cseq;
  std::string call = call_id.empty() ? token + "-uas@centralita-bench" : std::string(call_id);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int round = 0; round < 2; ++round) {
    std::string branch = "z9hG4bK-lgreg" + token + "." + std::to_string(cseq);
    std::string req = "REGISTER " + std::string(request_uri) + " SIP/2.0\r\nVia: SIP/2.0/UDP "
                      + sent_by + ";branch=" + branch + ";rport\r\nMax-Forwards: 70\r\nFrom: <"
                      + std::string(aor) + ">;tag=" + token + "\r\nTo: <" + std::string(aor)
                      + ">\r\nCall-ID: " + call + "\r\nCSeq: "
                      + std::to_string(cseq) + " REGISTER\r\nContact: " + std::string(contact)
                      + "\r\nExpires: " + std::to_string(expires) + "\r\n";
    if (ch)
      append_digest_authorization(req, *ch, proxy, user, password, request_uri, "REGISTER",
                                  token, 1);
    req += "User-Agent: centralita-bench\r\nContent-Length: 0\r\n\r\n";
    // RFC 3261 §17.1.2.2: Timer E until a final answer or the deadline.
    auto interval = std::chrono::milliseconds{500};
    auto next_send = std::chrono::steady_clock::now();
    std::optional<int> status;
    std::string answer(65536, '\0');
    while (!status) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline)
        return error{errc::io_error, "REGISTER " + std::string(aor) + " at "
                                        + target.to_string() + ": no answer"};
      if (now >= next_send) {
        ::send(fd, req.data(), req.size(), 0);
        next_send = now + interval;
        interval = std::min(interval * 2, std::chrono::milliseconds{4000});
      }
      auto wait = std::min(next_send, deadline) - now;
      pollfd p{fd, POLLIN, 0};
      int ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
      if (::poll(&p, 1, std::max(ms, 1)) <= 0)
        continue;
      auto n = ::recv(fd, answer.data(), answer.size(), 0);
      if (n <= 0)
        continue;
      auto r = scan_response(std::string_view(answer.data(), static_cast<std::size_t>(n)));
      if (!r || r->branch != branch || r->status < 200)
        continue;
      status = r->status;
      if ((r->status == 401 || r->status == 407) && !ch) {
        for (uint8_t i = 0; i < r->challenge_count && !ch; ++i)
          if (auto c = auth::parse_challenge(r->challenges[i]))
            ch = std::move(c.value());
        proxy = r->proxy_challenge;
      }
    }
    if (*status >= 200 && *status < 300)
      return {};
    if ((*status == 401 || *status == 407) && ch && round == 0) {
      ++cseq;
      continue;
    }
    return error{errc::invalid_argument, "REGISTER " + std::string(aor) + " at "
                                             + target.to_string() + ": answered "
                                             + std::to_string(*status)};
  }
  return error{errc::invalid_argument, "REGISTER " + std::string(aor) + ": challenged twice"};
}

} // namespace centralita::loadgen
