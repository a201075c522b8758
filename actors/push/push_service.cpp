#include "actors/push/push_service.hpp"

#include "actors/registrar/location_messages.hpp"
#include "drivers/http/http_client.hpp"

#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace centralita::actors {

namespace {

/// An HTTP answer for push attempt `id` (or, with `token_for`, for the FCM
/// access-token request of provider `token_for`).
struct push_http_done {
  uint64_t id = 0;
  std::shared_ptr<drivers::http_response> resp;
  int token_for = -1;
};

} // namespace
} // namespace centralita::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(centralita::actors::push_http_done)

namespace centralita::actors {

namespace {

result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return error{errc::io_error, path + ": cannot read"};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int64_t wall_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// A filter value matched literally (the filter language gives * ? [ ~ and \ meanings).
std::string literal(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '*' || c == '?' || c == '[' || c == '~' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

using clock = std::chrono::steady_clock;

struct pending_push {
  push::push_message msg;
  std::size_t provider = 0;
  unsigned attempts = 0;
  bool auth_retried = false;
  clock::time_point first_at;
  timer_handle retry;
  subscription_id watch = 0;  ///< the wake watch, filed before the first attempt
};

/// A cached credential: the APNs provider token or the FCM access token.
struct credential {
  std::string token;
  clock::time_point renew_at;
  bool fetching = false;
  std::vector<uint64_t> waiting;  ///< pushes held until the token comes (fcm)
};

struct wake_watch {
  push::push_message msg;
  clock::time_point sent_at;  ///< the push's first attempt
};

struct push_state {
  static constexpr const char* name = "push_service";

  push_service_deps deps;
  caf::event_based_actor* self = nullptr;
  std::unordered_map<uint64_t, pending_push> pushes;
  uint64_t next_id = 1;
  std::vector<credential> creds;
  std::unordered_map<subscription_id, wake_watch> watches;

  spdlog::logger& log() { return *deps.log; }

  void start(caf::event_based_actor* s, push_service_deps d) {
    self = s;
    deps = std::move(d);
    creds.resize(deps.providers.size());
  }

  // -- events ------------------------------------------------------------------------

  bool wanted(std::string_view kind) const {
    return deps.events && (!deps.event_stats || deps.event_stats->wanted(kind));
  }

  /// Every attribute of the push kinds is present (docs/events.md).
  static events::event push_event(std::string_view kind, const push::push_message& m) {
    events::event ev(kind);
    ev.set("push_id", m.push_id);
    ev.set("provider", m.provider);
    ev.set("aor", m.aor);
    ev.set("pn_prid", m.prid);
    ev.set("call_id", m.call_id);
    ev.set("kind", std::string(push::to_string(m.kind)));
    for (auto* a : {"attempts", "latency_ms", "status", "reason", "gone", "delay_ms", "contact"})
      ev.set(a, "");
    return ev;
  }

  void publish(events::event ev) { self->send(deps.events, publish_event{std::move(ev)}); }

  // -- sending -----------------------------------------------------------------------

  void on_send(push_send& s) {
    auto& m = s.msg;
    auto it = std::find_if(deps.providers.begin(), deps.providers.end(),
                           [&](const push_provider& p) { return p.cfg.name == m.provider; });
    auto id = next_id++;
    auto& p = pushes[id];
    p.msg = std::move(m);
    p.first_at = clock::now();
    if (it == deps.providers.end()) {
      fail(id, 0, "no [push." + p.msg.provider + "] provider configured", false);
      return;
    }
    p.provider = static_cast<std::size_t>(it - deps.providers.begin());
    // Watch for the device before the push leaves: a phone may wake and
    // register before the provider's answer is back here.
    p.watch = watch_wake(p.msg, p.first_at);
    attempt(id);
  }

  void attempt(uint64_t id) {
    auto it = pushes.find(id);
    if (it == pushes.end())
      return;
    auto& p = it->second;
    if (++p.attempts > 1)
      deps.counters->retried.fetch_add(1, std::memory_order_relaxed);
    dispatch(id);
  }

  /// Builds the request for push `id` with the current credential and sends it.
  void dispatch(uint64_t id) {
    auto& p = pushes.at(id);
    auto& prov = deps.providers[p.provider];
    auto& type = prov.cfg.type;
    auto now = wall_seconds();
    result<push::http_call> call = error{errc::invalid_argument, "unknown provider type"};
    if (type == "webhook") {
      push::webhook_settings s;
      s.url = prov.cfg.url;
      s.body_template = prov.cfg.body_template;
      for (auto& h : prov.cfg.headers) {
        auto colon = h.find(':');
        auto value = h.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        s.headers.emplace_back(h.substr(0, colon), value);
      }
      call = push::webhook_request(s, p.msg);
    } else if (type == "apns") {
      auto s = apns_settings(prov);
      auto& c = creds[p.provider];
      if (c.token.empty() || clock::now() >= c.renew_at) {
        auto t = push::apns_provider_token(*prov.key, s, now);
        if (!t) {
          fail(id, 0, "APNs provider token: " + t.err().reason, false);
          return;
        }
        c.token = std::move(t.value());
        c.renew_at = clock::now() + std::chrono::minutes{50};  // Apple: at most an hour
      }
      call = push::apns_request(s, c.token, p.msg, now);
    } else if (type == "fcm") {
      auto& c = creds[p.provider];
      if (c.token.empty() || clock::now() >= c.renew_at) {
        c.waiting.push_back(id);
        fetch_fcm_token(p.provider);
        return;
      }
      call = push::fcm_request(fcm_settings(prov), prov.account, c.token, p.msg);
    }
    if (!call) {
      fail(id, 0, call.err().reason, false);
      return;
    }
    send_http(std::move(call.value()), prov.cfg, id, -1);
  }

  static push::apns_settings apns_settings(const push_provider& prov) {
    push::apns_settings s;
    s.base_url = prov.cfg.url;
    s.team_id = prov.cfg.team_id;
    s.key_id = prov.cfg.key_id;
    s.topic = prov.cfg.topic;
    return s;
  }

  static push::fcm_settings fcm_settings(const push_provider& prov) {
    push::fcm_settings s;
    s.base_url = prov.cfg.url;
    s.token_url = prov.cfg.token_url;
    s.project_id = prov.cfg.project_id;
    return s;
  }

  void send_http(push::http_call call, const config::push_provider_config& cfg, uint64_t id,
                 int token_for) {
    drivers::http_request r;
    r.method = std::move(call.method);
    r.url = std::move(call.url);
    r.body = std::move(call.body);
    r.headers = std::move(call.headers);
    r.timeout = std::chrono::seconds{cfg.timeout};
    r.ca_file = cfg.ca_file;
    auto me = caf::actor_cast<caf::actor>(self);
    deps.http->request(std::move(r), [me, id, token_for](drivers::http_response resp) {
      caf::anon_send(me, push_http_done{id, std::make_shared<drivers::http_response>(std::move(resp)),
                                        token_for});
    });
  }

  void fetch_fcm_token(std::size_t provider) {
    auto& c = creds[provider];
    if (c.fetching)
      return;
    auto& prov = deps.providers[provider];
    auto call = push::fcm_token_request(*prov.key, prov.account, fcm_settings(prov), wall_seconds());
    if (!call) {
      fail_waiting(provider, "FCM token request: " + call.err().reason, false);
      return;
    }
    c.fetching = true;
    send_http(std::move(call.value()), prov.cfg, 0, static_cast<int>(provider));
  }

  void on_token(std::size_t provider, const drivers::http_response& resp) {
    auto& c = creds[provider];
    c.fetching = false;
    auto t = push::parse_token_response(resp.status, resp.body);
    if (!t) {
      auto why = "FCM token endpoint: "
                 + (resp.status == 0 ? resp.error : t.err().reason);
      log().warn("push {}: {}", deps.providers[provider].cfg.name, why);
      // No answer or a 5xx: the pushes waiting go the transient way (retried).
      fail_waiting(provider, why, resp.status == 0 || resp.status >= 500 || resp.status == 429);
      return;
    }
    c.token = std::move(t->token);
    auto life = std::max<int64_t>(t->expires_in_s - 60, 30);
    c.renew_at = clock::now() + std::chrono::seconds{life};
    auto waiting = std::move(c.waiting);
    c.waiting.clear();
    for (auto id : waiting)
      if (pushes.count(id))
        dispatch(id);
  }

  void fail_waiting(std::size_t provider, const std::string& why, bool transient) {
    auto waiting = std::move(creds[provider].waiting);
    creds[provider].waiting.clear();
    for (auto id : waiting) {
      if (transient)
        retry_or_fail(id, 0, why, std::nullopt);
      else
        fail(id, 0, why, false);
    }
  }

  // -- answers -----------------------------------------------------------------------

  void on_http(const push_http_done& d) {
    if (d.token_for >= 0) {
      on_token(static_cast<std::size_t>(d.token_for), *d.resp);
      return;
    }
    auto it = pushes.find(d.id);
    if (it == pushes.end())
      return;
    auto& p = it->second;
    auto& prov = deps.providers[p.provider];
    auto& r = *d.resp;
    push::verdict v;
    if (prov.cfg.type == "apns")
      v = push::classify_apns(r.status, r.headers, r.body, r.error);
    else if (prov.cfg.type == "fcm")
      v = push::classify_fcm(r.status, r.headers, r.body, r.error);
    else
      v = push::classify_webhook(r.status, r.headers, r.body, r.error);
    switch (v.what) {
      case push::outcome::delivered:
        delivered(d.id, r.status);
        return;
      case push::outcome::gone:
        if (deps.registrar_of)
          if (auto reg = deps.registrar_of(p.msg.aor))
            self->send(reg, location_drop_push{p.msg.aor, p.msg.prid, v.reason});
        fail(d.id, r.status, v.reason, true);
        return;
      case push::outcome::auth:
        creds[p.provider].token.clear();  // made or fetched again on the next attempt
        if (!p.auth_retried) {
          p.auth_retried = true;
          log().warn("push {}: credential refused ({}), renewing it", prov.cfg.name, v.reason);
          dispatch(d.id);
          return;
        }
        fail(d.id, r.status, v.reason, false);
        return;
      case push::outcome::transient:
        retry_or_fail(d.id, r.status, v.reason, v.retry_after_s);
        return;
      case push::outcome::rejected:
        fail(d.id, r.status, v.reason, false);
        return;
    }
  }

  void retry_or_fail(uint64_t id, int status, const std::string& why,
                     std::optional<int64_t> retry_after_s) {
    auto it = pushes.find(id);
    if (it == pushes.end())
      return;
    auto& p = it->second;
    if (p.attempts > deps.retries) {
      fail(id, status, why + " (after " + std::to_string(p.attempts) + " attempts)", false);
      return;
    }
    auto backoff = deps.retry_backoff * (1u << std::min(p.attempts - 1, 16u));
    if (retry_after_s && std::chrono::seconds{*retry_after_s} > backoff)
      backoff = std::chrono::seconds{std::min<int64_t>(*retry_after_s, 3600)};
    log().info("[cid={}] push {} to {}: {}; retry in {} ms", p.msg.call_id, p.msg.push_id,
               p.msg.aor, why,
               std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count());
    p.retry = deps.timers->arm(self, std::chrono::duration_cast<std::chrono::milliseconds>(backoff),
                               id);
  }

  void delivered(uint64_t id, int status) {
    auto p = std::move(pushes.at(id));
    pushes.erase(id);
    deps.counters->sent.fetch_add(1, std::memory_order_relaxed);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - p.first_at);
    log().info("[cid={}] push {} ({}) to {} pn-prid {}: sent ({} attempt(s), {} ms)",
               p.msg.call_id, p.msg.push_id, push::to_string(p.msg.kind), p.msg.aor, p.msg.prid,
               p.attempts, ms.count());
    if (wanted("PUSH_SENT")) {
      auto ev = push_event("PUSH_SENT", p.msg);
      ev.set("attempts", std::to_string(p.attempts));
      ev.set("latency_ms", std::to_string(ms.count()));
      ev.set("status", std::to_string(status));
      publish(std::move(ev));
    }
  }

  void fail(uint64_t id, int status, const std::string& why, bool gone) {
    auto it = pushes.find(id);
    if (it == pushes.end())
      return;
    auto p = std::move(it->second);
    pushes.erase(it);
    if (p.watch != 0 && watches.erase(p.watch) > 0)
      self->send(deps.events, unsubscribe{p.watch});
    deps.counters->failed.fetch_add(1, std::memory_order_relaxed);
    log().warn("[cid={}] push {} to {} pn-prid {} failed: {}{}", p.msg.call_id, p.msg.push_id,
               p.msg.aor, p.msg.prid, why, gone ? " (token gone: binding removed)" : "");
    if (wanted("PUSH_FAILED")) {
      auto ev = push_event("PUSH_FAILED", p.msg);
      ev.set("attempts", std::to_string(p.attempts));
      ev.set("status", status > 0 ? std::to_string(status) : std::string());
      ev.set("reason", why);
      ev.set("gone", gone ? "true" : "false");
      publish(std::move(ev));
    }
  }

  // -- waking ------------------------------------------------------------------------

  /// The device's next REGISTER (same AOR and pn-prid) after a push is its
  /// wake-up. Filed when the push starts; dropped if the push fails. Returns
  /// the subscription (0: none).
  subscription_id watch_wake(const push::push_message& m, clock::time_point sent_at) {
    if (!deps.events || m.prid.empty() || m.aor.empty())
      return 0;
    std::vector<std::pair<std::string, std::string>> conds{{"aor", literal(m.aor)},
                                                           {"pn_prid", literal(m.prid)}};
    auto f = events::filter::make("REGISTER", conds);
    if (!f)
      return 0;
    auto sid = next_subscription_id();
    watches.emplace(sid, wake_watch{m, sent_at});
    self->send(deps.events, subscribe{sid, std::move(f.value()), caf::actor_cast<caf::actor>(self),
                                      subscription_mode::once, deps.wake_window, 1024, false});
    return sid;
  }

  void on_delivery(const event_delivery& d) {
    auto it = watches.find(d.id);
    if (it == watches.end())
      return;
    auto w = std::move(it->second);
    watches.erase(it);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - w.sent_at);
    deps.counters->woke.fetch_add(1, std::memory_order_relaxed);
    log().info("[cid={}] push {}: {} woke up after {} ms", w.msg.call_id, w.msg.push_id,
               w.msg.aor, ms.count());
    if (wanted("PUSH_WOKE")) {
      auto ev = push_event("PUSH_WOKE", w.msg);
      ev.set("delay_ms", std::to_string(ms.count()));
      if (auto* c = d.ev->find("contact"))
        ev.set("contact", *c);
      publish(std::move(ev));
    }
  }

  void on_ended(const subscription_ended& e) { watches.erase(e.id); }
};

} // namespace

result<std::vector<push_provider>> load_push_providers(const config::push_config& cfg) {
  std::vector<push_provider> out;
  for (auto& p : cfg.providers) {
    push_provider prov;
    prov.cfg = p;
    auto where = "push." + p.name + ".";
    if (p.type == "apns") {
      auto pem = read_file(p.key_file);
      if (!pem)
        return error{errc::invalid_argument, where + "key_file: " + pem.err().reason};
      auto key = push::signing_key::from_pem(pem.value());
      if (!key)
        return error{errc::invalid_argument, where + "key_file: " + p.key_file + ": " + key.err().reason};
      if (key->alg() != push::signing_key::algorithm::es256)
        return error{errc::invalid_argument,
                     where + "key_file: " + p.key_file + ": APNs needs an EC P-256 key (.p8)"};
      prov.key = std::make_shared<const push::signing_key>(std::move(key.value()));
    } else if (p.type == "fcm") {
      auto json = read_file(p.service_account_file);
      if (!json)
        return error{errc::invalid_argument, where + "service_account_file: " + json.err().reason};
      auto sa = push::parse_service_account(json.value());
      if (!sa)
        return error{errc::invalid_argument,
                     where + "service_account_file: " + p.service_account_file + ": " + sa.err().reason};
      auto key = push::signing_key::from_pem(sa->private_key_pem);
      if (!key || key->alg() != push::signing_key::algorithm::rs256)
        return error{errc::invalid_argument, where + "service_account_file: " + p.service_account_file
                                               + ": private_key is not an RSA key"};
      prov.account = std::move(sa.value());
      prov.key = std::make_shared<const push::signing_key>(std::move(key.value()));
    }
    out.push_back(std::move(prov));
  }
  return out;
}

caf::actor spawn_push_service(caf::actor_system& sys, push_service_deps deps) {
  return sys.spawn([deps = std::move(deps)](caf::stateful_actor<push_state>* self) mutable
                   -> caf::behavior {
    auto& st = self->state;
    st.start(self, std::move(deps));
    return {
      [&st](push_send& s) { st.on_send(s); },
      [&st](const push_http_done& d) { st.on_http(d); },
      [&st](const timer_expired& t) { st.attempt(t.tag); },
      [&st](const event_delivery& d) { st.on_delivery(d); },
      [&st](const subscription_ended& e) { st.on_ended(e); },
    };
  });
}

} // namespace centralita::actors
