// `register`: REGISTER with digest authentication (RFC 3261 §10.2, §22.2),
// optionally followed by an unregister (§10.2.2).
#include "bench/loadgen/scenario.hpp"
#include "bench/loadgen/digest_client.hpp"

#include "protocols/auth/auth_header.hpp"
#include "protocols/auth/challenge.hpp"
#include "protocols/auth/credentials.hpp"
#include "protocols/auth/digest.hpp"

#include <charconv>
#include <cstdio>
#include <vector>

namespace centralita::loadgen {

namespace {

class register_scenario final : public scenario {
public:
  explicit register_scenario(register_params p) : p_(std::move(p)) {
    domain_ = p_.domain.empty() ? p_.target.host : p_.domain;
    // RFC 3261 §10.2: the Request-URI names the registrar's domain. Without
    // --domain the target itself (with its port: the digest uri must name
    // the Request-URI, RFC 7616 §3.4.6, and a port-less one would route
    // elsewhere).
    request_uri_ = p_.domain.empty() ? p_.target.uri : "sip:" + p_.domain;
    expires_text_ = std::to_string(p_.expires);
  }

  std::string_view name() const override { return "register"; }

  void resize(std::size_t slots) override { state_.resize(slots); }

  unsigned socket_for(uint64_t number, unsigned sockets) const override {
    // One socket per user: its Contact stays the same on every refresh.
    return static_cast<unsigned>((user_of(number) / socket_run) % sockets);
  }

  void begin(client_ops& ops, uint32_t slot, uint64_t number) override {
    auto& st = state_[slot];
    st = {};
    st.number = number;
    st.user = user_of(number);
    // RFC 3261 §10.2.4: a refresh keeps the Call-ID and raises the CSeq.
    // Attempt k*users + u is user u's k-th: 4 CSeq numbers per attempt keep
    // them growing without per-user state.
    st.cseq = static_cast<uint32_t>((number / p_.users.size()) * 4 + 1);
    send_register(ops, slot, st, p_.expires, false);
  }

  void on_final(client_ops& ops, uint32_t slot, const scanned_response& r) override {
    auto& st = state_[slot];
    bool challenge = r.status == 401 || r.status == 407;
    if (challenge && !st.challenged) {
      // RFC 3261 §22.2: retry once with credentials for the challenge.
      if (!take_challenge(st, r)) {
        if (!st.unregistering)
          ops.record_latency(slot);
        ops.finish(slot, st.unregistering ? "unregister:bad-challenge" : "bad-challenge");
        return;
      }
      st.challenged = true;
      st.nc = 1;
      ++st.cseq;
      send_register(ops, slot, st, st.unregistering ? 0 : p_.expires, true);
      return;
    }
    bool ok = r.status >= 200 && r.status < 300;
    if (st.unregistering) {
      if (ok)
        ops.finish(slot, {});
      else
        ops.finish(slot, "unregister:" + status_text(r.status));
      return;
    }
    ops.record_latency(slot);  // first REGISTER to its final answer
    if (!ok) {
      ops.finish(slot, status_text(r.status));
      return;
    }
    if (!p_.unregister) {
      ops.finish(slot, {});
      return;
    }
    // RFC 3261 §10.2.2: Expires: 0 removes the binding. Credentials go up
    // front with the nonce we hold (RFC 7616 §3.4: nc grows per use).
    st.unregistering = true;
    st.challenged = false;
    ++st.cseq;
    if (st.have_challenge) {
      ++st.nc;
      send_register(ops, slot, st, 0, true);
    } else {
      send_register(ops, slot, st, 0, false);
    }
  }

  void on_timeout(client_ops& ops, uint32_t slot) override {
    ops.finish(slot, state_[slot].unregistering ? "unregister:timeout" : "timeout");
  }

  void on_transport_error(client_ops& ops, uint32_t slot) override {
    ops.finish(slot, state_[slot].unregistering ? "unregister:transport" : "transport");
  }

private:
  struct slot_state {
    uint64_t number = 0;
    uint64_t user = 0;
    uint32_t cseq = 1;
    uint32_t nc = 0;
    bool challenged = false;      // in the current phase
    bool unregistering = false;
    bool have_challenge = false;
    bool proxy = false;           // 407 / Proxy-Authorization
    auth::challenge ch;
  };

  uint64_t user_of(uint64_t number) const { return number % p_.users.size(); }

  /// The first challenge we can answer (RFC 8760 §2.4: the server lists them
  /// in its order of preference).
  static bool take_challenge(slot_state& st, const scanned_response& r) {
    for (uint8_t i = 0; i < r.challenge_count; ++i) {
      auto c = auth::parse_challenge(r.challenges[i]);
      if (c) {
        st.ch = std::move(c.value());
        st.have_challenge = true;
        st.proxy = r.proxy_challenge;
        return true;
      }
    }
    return false;
  }

  void append_authorization(std::string& out, const slot_state& st, std::string_view user) {
    cnonce_.assign(token_);
    append_hex(cnonce_, st.number);
    append_digest_authorization(out, st.ch, st.proxy, user, p_.users.password(st.user),
                                request_uri_, "REGISTER", cnonce_, st.nc);
  }

  void send_register(client_ops& ops, uint32_t slot, const slot_state& st, uint32_t expires,
                     bool with_credentials) {
    auto branch = ops.next_branch(slot);
    auto sent_by = ops.sent_by(slot);
    token_ = ops.run_token();
    user_.clear();
    p_.users.append_name(user_, st.user);
    auto& out = ops.request(slot);
    out += "REGISTER ";
    out += request_uri_;
    out += " SIP/2.0\r\nVia: SIP/2.0/";
    out += ops.via_transport();
    out += ' ';
    out += sent_by;
    out += ";branch=";
    out += branch;
    out += ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:";
    out += user_;
    out += '@';
    out += domain_;
    out += ">;tag=";
    out += token_;
    append_hex(out, st.number);
    // RFC 3261 §10.2: To and From carry the address of record.
    out += "\r\nTo: <sip:";
    out += user_;
    out += '@';
    out += domain_;
    out += ">\r\nCall-ID: ";
    out += token_;
    out += "-u";
    append_hex(out, st.user);
    out += "@centralita-bench\r\nCSeq: ";
    out += std::to_string(st.cseq);
    out += " REGISTER\r\nContact: <sip:";
    out += user_;
    out += '@';
    out += sent_by;
    out += ops.contact_params();
    out += ">\r\nExpires: ";
    out += expires == p_.expires ? std::string_view(expires_text_) : std::string_view("0");
    out += "\r\n";
    if (with_credentials)
      append_authorization(out, st, user_);
    out += "User-Agent: centralita-bench\r\nContent-Length: 0\r\n\r\n";
    ops.send(slot, "REGISTER");
  }

  register_params p_;
  std::string domain_;
  std::string request_uri_;
  std::string expires_text_;
  std::vector<slot_state> state_;
  std::string user_;          // scratch
  std::string cnonce_;        // scratch
  std::string_view token_;
};

} // namespace

void append_digest_authorization(std::string& out, const auth::challenge& ch, bool proxy,
                                 std::string_view user, std::string_view password,
                                 std::string_view uri, std::string_view method,
                                 std::string_view cnonce, uint32_t nc) {
  auth::credentials c;
  c.username = std::string(user);
  c.realm = ch.realm;
  c.nonce = ch.nonce;
  c.uri = std::string(uri);
  c.alg = ch.alg;
  c.opaque = ch.opaque;
  if (ch.qop_auth) {
    // RFC 7616 §3.4: qop=auth with a client nonce and a nonce count.
    c.qop = "auth";
    c.cnonce = std::string(cnonce);
    char nc_hex[9];
    std::snprintf(nc_hex, sizeof(nc_hex), "%08x", nc);
    c.nc_hex = nc_hex;
    c.nc = nc;
  }
  auto response = auth::client_response(c, method, password);
  out += proxy ? "Proxy-Authorization: Digest username=" : "Authorization: Digest username=";
  auth::append_quoted(out, c.username);
  out += ", realm=";
  auth::append_quoted(out, c.realm);
  out += ", nonce=";
  auth::append_quoted(out, c.nonce);
  out += ", uri=";
  auth::append_quoted(out, c.uri);
  out += ", response=\"";
  out += response;
  out += "\", algorithm=";
  out += auth::to_string(c.alg);
  if (!c.qop.empty()) {
    out += ", cnonce=";
    auth::append_quoted(out, c.cnonce);
    out += ", qop=auth, nc=";
    out += c.nc_hex;
  }
  if (!c.opaque.empty()) {
    out += ", opaque=";
    auth::append_quoted(out, c.opaque);
  }
  out += "\r\n";
}

std::unique_ptr<scenario> make_register_scenario(register_params params) {
  return std::make_unique<register_scenario>(std::move(params));
}

} // namespace centralita::loadgen
