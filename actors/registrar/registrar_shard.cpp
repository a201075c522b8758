#include "actors/registrar/registrar_shard.hpp"

#include "actors/push/push_service.hpp"

#include "actors/events/event_bus.hpp"
#include "actors/store/store_messages.hpp"
#include "actors/system/actor_timers.hpp"
#include "drivers/net/endpoint.hpp"
#include "protocols/sip/proxy/sip_uri.hpp"

#include <fnmatch.h>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <ctime>
#include <memory_resource>
#include <random>
#include <span>
#include <unordered_map>

namespace centralita::actors {

namespace {

int64_t wall_seconds() {
  return static_cast<int64_t>(std::time(nullptr));
}

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// The bus event for a binding change (docs/events.md: REGISTER, UNREGISTER,
/// EXPIRED carry the same attributes).
events::event binding_event(const char* name, const sip::binding& b, int64_t now) {
  events::event e(name);
  e.set("aor", std::string(b.aor()));
  e.set("contact", std::string(b.contact()));
  // An UNREGISTER or EXPIRED binding has no time left, whatever it had.
  bool gone = std::string_view(name) != "REGISTER";
  e.set("expires", gone ? std::string("0") : std::to_string(b.remaining(now)));
  auto source = drivers::endpoint::parse(b.received());  // "ip:port" / "[v6]:port"
  e.set("source_ip", source ? source->address() : std::string());
  e.set("source_port", source ? std::to_string(source->port()) : std::string());
  e.set("transport", std::string(b.transport()));
  e.set("user_agent", std::string(b.user_agent()));
  e.set("instance", std::string(b.instance()));
  e.set("reg_id", b.reg_id != 0 ? std::to_string(b.reg_id) : std::string());
  e.set("pn_provider", std::string(b.pn_provider()));
  e.set("pn_prid", std::string(b.pn_prid()));
  e.set("pn_param", std::string(b.pn_param()));
  e.set("call_id", std::string(b.call_id()));
  return e;
}

constexpr uint64_t sweep_tag = 1;
constexpr uint64_t store_batch_tag = 2;
constexpr std::size_t store_batch_max = 512;

struct registrar_state {
  static constexpr const char* name = "registrar_shard";

  registrar_deps deps;
  caf::event_based_actor* self = nullptr;
  /// The shard's long-lived memory: every AOR key, binding list and binding
  /// text. Kept apart from the worker's heap, where a REGISTER's transient
  /// allocations (parse, transaction, answer) would otherwise interleave with
  /// the bindings it leaves and pin a mostly free page for each. Chunks grow
  /// to 1 MiB and more, which glibc serves by mmap: pages of bindings only.
  /// Only this actor touches it (CAF runs an actor on one thread at a time).
  std::pmr::unsynchronized_pool_resource pool{
    std::pmr::pool_options{.max_blocks_per_chunk = 4096, .largest_required_pool_block = 1024}};
  struct aor_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using binding_list = std::pmr::vector<sip::binding>;
  std::pmr::unordered_map<std::pmr::string, binding_list, aor_hash, std::equal_to<>> aors{&pool};
  std::size_t binding_count = 0;
  std::size_t binding_count_reported = 0;  ///< what sip_counters::registrations holds of ours
  std::size_t sweep_cursor = 0;  ///< the next bucket of `aors` the sweep looks at
  binding_changes store_batch;  ///< changes not yet sent to the writer
  timer_handle store_batch_timer;

  registrar_state() = default;
  registrar_state(const registrar_state&) = delete;
  registrar_state& operator=(const registrar_state&) = delete;

  /// CAF destroys the state when the actor ends, before its monitors hear of
  /// it: the last batch reaches the writer ahead of the stop sequence's
  /// next step (switch_app stops the writer after every registrar is down).
  ~registrar_state() {
    if (deps.store && !store_batch.changes.empty())
      caf::anon_send(deps.store, std::move(store_batch));
  }

  const sip_services& svc() const { return *deps.services; }

  void start() {
    svc().timers->arm(self, std::chrono::seconds{1}, sweep_tag);
  }

  void set_bindings(std::string_view aor, const std::vector<sip::binding>& list) {
    auto it = aors.find(aor);
    if (list.empty()) {
      if (it != aors.end()) {
        binding_count -= it->second.size();
        aors.erase(it);
      }
      return;
    }
    if (it == aors.end())
      it = aors.try_emplace(std::pmr::string(aor, &pool)).first;
    binding_count -= it->second.size();
    binding_count += list.size();
    it->second.assign(list.begin(), list.end());  // copies into the pool
  }

  void store_upsert(const sip::binding& b) {
    if (deps.store)
      queue_change(binding_change::added(b));
  }

  void store_delete(const sip::binding& b) {
    if (deps.store)
      queue_change(binding_change::removed(b.aor(), b.contact()));
  }

  void queue_change(binding_change c) {
    store_batch.changes.push_back(std::move(c));
    if (store_batch.changes.size() >= store_batch_max)
      send_store_batch();
    else if (!store_batch_timer.valid())
      store_batch_timer = svc().timers->arm(self, deps.store_batch_window, store_batch_tag);
  }

  void send_store_batch() {
    svc().timers->cancel(store_batch_timer);
    if (store_batch.changes.empty())
      return;
    self->send(deps.store, std::move(store_batch));
    store_batch = {};
  }

  void publish(events::event e) { self->send(deps.events, publish_event{std::move(e)}); }
  bool wanted(std::string_view name) const {
    return deps.events && (!deps.event_stats || deps.event_stats->wanted(name));
  }

  void respond(const caf::actor& txn, const sip::message& response) {
    svc().counters->count_response_sent(response.status());
    self->send(txn, txn_respond{response.status(), response.serialize()});
  }

  void respond_status(const caf::actor& txn, const sip::message& request, int status,
                      std::string_view reason = {}) {
    if (auto r = sip::make_response(request, status, reason, tag_for(request)))
      respond(txn, *r);
  }

  static std::string tag_for(const sip::message& request) {
    // A To tag stable across retransmissions (the transaction absorbs them
    // anyway): derived from the Call-ID and CSeq.
    auto h = std::hash<std::string_view>{}(request.call_id()) ^ (request.cseq() * 0x9e3779b9u);
    static constexpr char digits[] = "0123456789abcdef";
    std::string tag = "rg";
    for (int i = 0; i < 12; ++i, h >>= 4)
      tag += digits[h & 15];
    return tag;
  }

  void on_register(txn_request& req) {
    auto& request = *req.request;
    auto& log = *svc().sip_log;
    std::string cid(request.call_id());
    // §10.3 step 1: only our own domains are registered here.
    auto ruri = sip::proxy::sip_uri::parse(request.request_uri());
    if (!ruri || !deps.is_local_domain(ruri->host)) {
      respond_status(req.server_txn, request, 403, "Not Our Domain");
      return;
    }
    // §10.3 step 3: authenticate.
    if (deps.guard && !req.script_routed) {
      if (auto refusal = deps.guard(request, wall_ms())) {
        log.debug("[cid={}] REGISTER challenged: {}", cid, refusal->status());
        respond(req.server_txn, *refusal);
        return;
      }
    }
    std::string source = req.peer.source.to_string();
    auto transport = req.peer.transport == drivers::transport_kind::tcp ? "tcp" : "udp";
    auto extracted = sip::extract_register(request, source, transport, req.peer.conn.value);
    if (!extracted) {
      respond_status(req.server_txn, request, 400, extracted.err().reason);
      return;
    }
    auto& r = *extracted;
    auto now = wall_seconds();
    auto it = aors.find(std::string_view(r.aor));
    std::span<const sip::binding> current;
    if (it != aors.end())
      current = it->second;
    auto outcome = sip::process_register(current, r, deps.rules, now);
    if (!outcome.ok()) {
      auto resp = sip::make_response(request, outcome.status, outcome.reason, tag_for(request));
      if (!resp)
        return;
      if (outcome.status == 423)  // §10.3 step 7
        resp->add_header("Min-Expires", std::to_string(outcome.min_expires));
      respond(req.server_txn, *resp);
      return;
    }
    give_pn_purr(outcome);
    for (auto& b : outcome.added)
      store_upsert(b);
    for (auto& b : outcome.refreshed)
      store_upsert(b);
    for (auto& b : outcome.removed) {
      if (b.pnsreg)
        refreshes.erase(refresh_key(b));
      store_delete(b);
    }
    for (auto& b : outcome.expired)
      store_delete(b);
    if (wanted("REGISTER")) {
      for (auto& b : outcome.added)
        publish(binding_event("REGISTER", b, now));
      for (auto& b : outcome.refreshed)
        publish(binding_event("REGISTER", b, now));
    }
    if (wanted("UNREGISTER"))
      for (auto& b : outcome.removed)
        publish(binding_event("UNREGISTER", b, now));
    if (wanted("EXPIRED"))
      for (auto& b : outcome.expired)
        publish(binding_event("EXPIRED", b, now));
    log.debug("[cid={}] REGISTER {}: {} binding(s), +{} ~{} -{}", cid, r.aor,
              outcome.bindings.size(), outcome.added.size(), outcome.refreshed.size(),
              outcome.removed.size());
    set_bindings(r.aor, outcome.bindings);
    auto resp = sip::make_response(request, 200, {}, tag_for(request));
    if (!resp)
      return;
    for (auto& c : outcome.contacts)  // §10.3 step 8
      resp->add_header("Contact", c);
    for (auto& p : outcome.path)  // RFC 3327 §5.3
      resp->add_header("Path", p);
    for (auto& f : outcome.feature_caps)  // RFC 8599 §5.3
      resp->add_header("Feature-Caps", f);
    char date[64];
    auto t = std::time(nullptr);
    std::tm gm{};
    gmtime_r(&t, &gm);
    std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &gm);
    resp->add_header("Date", date);  // §10.3 step 8: SHOULD include Date
    respond(req.server_txn, *resp);
  }

  location_result on_lookup(const location_lookup& q) {
    location_result out;
    out.known_user = deps.is_known_user && deps.is_known_user(q.aor);
    auto it = aors.find(std::string_view(q.aor));
    if (it == aors.end())
      return out;
    auto now = wall_seconds();
    for (auto& b : it->second)
      if (b.expires_at > now)
        out.bindings.push_back(b);
    return out;
  }

  // -- binding-refresh pushes (RFC 8599 §5.3, +sip.pnsreg) ----------------------

  /// Per binding whose UA asked: the pushes of its current lifetime (a refresh
  /// changes expires_at and starts a new count).
  struct refresh_state {
    int64_t expires_at = 0;
    unsigned sent = 0;
    int64_t last = 0;
  };
  std::unordered_map<std::string, refresh_state> refreshes;  ///< "<aor>\n<contact>"
  std::mt19937_64 push_ids{std::random_device{}()};

  static std::string refresh_key(const sip::binding& b) {
    std::string k(b.aor());
    k += '\n';
    k += b.contact();
    return k;
  }

  void maybe_refresh_push(const sip::binding& b, int64_t now) {
    auto& st = refreshes[refresh_key(b)];
    if (st.expires_at != b.expires_at)
      st = refresh_state{b.expires_at, 0, 0};
    auto due = sip::refresh_push_due(b.expires_at, deps.rules.pnsreg_interval, st.sent, st.last);
    if (!due || now < *due)
      return;
    push::push_message m;
    m.provider = std::string(b.pn_provider());
    m.prid = std::string(b.pn_prid());
    m.param = std::string(b.pn_param());
    m.aor = std::string(b.aor());
    m.kind = push::push_kind::refresh;
    m.ttl_s = std::max<int64_t>(1, b.expires_at - now);
    m.push_id = push::uuid_v4(push_ids(), push_ids());
    ++st.sent;
    st.last = now;
    svc().sip_log->info("{}: binding {} expires in {} s without a refresh: refresh push {} ({})",
                        m.aor, b.contact(), b.expires_at - now, m.push_id, st.sent);
    self->send(deps.push, push_send{std::move(m)});
  }

  /// RFC 8599 §4.1.3: every push binding gets a pn-purr (kept on refresh by
  /// process_register), announced as +sip.pnspurr in the 200's Feature-Caps of
  /// its provider; the UA puts it in the Contact of its dialogs, so a mid-dialog
  /// request to a sleeping phone can wake it (docs/push.md).
  void give_pn_purr(sip::registrar_outcome& outcome) {
    auto fill = [&](sip::binding& b) {
      if (b.pn_provider().empty() || b.pn_prid().empty())
        return;
      if (b.pn_purr().empty())
        b.set(sip::binding::field::pn_purr, sip::make_pn_purr(b.aor(), push_ids()));
      for (auto& caps : outcome.feature_caps)
        if (caps.find("+sip.pns=\"" + std::string(b.pn_provider()) + "\"") != std::string::npos
            && caps.find("+sip.pnspurr") == std::string::npos)
          caps += ";+sip.pnspurr=\"" + std::string(b.pn_purr()) + "\"";
    };
    for (auto& b : outcome.added)
      fill(b);
    for (auto& b : outcome.refreshed)
      fill(b);
    // outcome.bindings holds the same bindings: keep the two in step.
    for (auto& b : outcome.bindings)
      for (auto* list : {&outcome.added, &outcome.refreshed})
        for (auto& c : *list)
          if (c.contact() == b.contact())
            b.set(sip::binding::field::pn_purr, c.pn_purr());
  }

  void on_drop_push(const location_drop_push& d) {
    auto it = aors.find(std::string_view(d.aor));
    if (it == aors.end() || d.pn_prid.empty())
      return;
    auto now = wall_seconds();
    std::vector<sip::binding> kept;
    std::size_t dropped = 0;
    for (auto& b : it->second) {
      if (b.pn_prid() != d.pn_prid) {
        kept.push_back(b);
        continue;
      }
      ++dropped;
      refreshes.erase(refresh_key(b));
      store_delete(b);
      if (wanted("UNREGISTER"))
        publish(binding_event("UNREGISTER", b, now));
      svc().sip_log->info("{}: binding {} removed: the push provider says its token is gone ({})", d.aor,
               b.contact(), d.reason);
    }
    if (dropped > 0)
      set_bindings(d.aor, kept);
  }

  location_page on_list(const location_list& q) {
    location_page out;
    auto now = wall_seconds();
    // The page's candidates: matching, live, after the cursor; the smallest
    // `limit` of them by (aor, contact) with a bounded heap would do, but an
    // API page over a shard's bindings is rare: collect, sort, cut.
    std::vector<const sip::binding*> hits;
    for (auto& [aor, list] : aors) {
      if (!q.pattern.empty()
          && fnmatch(q.pattern.c_str(), std::string(aor).c_str(), 0) != 0)
        continue;
      for (auto& b : list) {
        if (b.expires_at <= now)
          continue;
        ++out.total;
        if (!q.after_aor.empty() || !q.after_contact.empty()) {
          int c = b.aor().compare(q.after_aor);
          if (c < 0 || (c == 0 && b.contact() <= std::string_view(q.after_contact)))
            continue;
        }
        hits.push_back(&b);
      }
    }
    auto less = [](const sip::binding* a, const sip::binding* b) {
      int c = a->aor().compare(b->aor());
      return c != 0 ? c < 0 : a->contact() < b->contact();
    };
    std::size_t n = std::min<std::size_t>(hits.size(), q.limit);
    std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(n), hits.end(), less);
    out.more = hits.size() > n;
    for (std::size_t i = 0; i < n; ++i)
      out.bindings.push_back(*hits[i]);
    return out;
  }

  uint64_t on_remove(const location_remove& r) {
    auto it = aors.find(std::string_view(r.aor));
    if (it == aors.end())
      return 0;
    auto now = wall_seconds();
    uint64_t n = 0;
    for (auto& b : it->second) {
      refreshes.erase(refresh_key(b));
      store_delete(b);
      if (b.expires_at > now) {
        ++n;
        if (wanted("UNREGISTER"))
          publish(binding_event("UNREGISTER", b, now));
      }
    }
    svc().sip_log->info("{}: {} binding(s) removed ({})", r.aor, n, r.reason);
    set_bindings(r.aor, {});
    return n;
  }

  void on_preload(location_preload& p) {
    auto now = wall_seconds();
    for (auto& b : p.bindings) {
      if (b.expires_at <= now)
        continue;
      b.connection = 0;  // TCP connections do not survive a restart
      auto it = aors.find(b.aor());
      if (it == aors.end())
        it = aors.try_emplace(std::pmr::string(b.aor(), &pool)).first;
      it->second.push_back(b);  // a copy in the pool
      ++binding_count;
    }
  }

  /// Bindings expire here (RFC 3261 §10.2.1.1: the registrar removes them).
  /// Each one-second tick looks at a fifth of the table's buckets, so a
  /// binding is removed (EXPIRED event, store delete) at most 5 s after it
  /// expired and an idle registrar with 100,000 bindings does not walk them
  /// all every second. Lookups never return an expired binding meanwhile.
  void sweep() {
    constexpr std::size_t passes = 5;
    auto now = wall_seconds();
    auto buckets = aors.bucket_count();
    if (sweep_cursor >= buckets)
      sweep_cursor = 0;
    auto end = std::min(buckets, sweep_cursor + std::max<std::size_t>(1, (buckets + passes - 1) / passes));
    std::vector<std::string> emptied;
    for (auto bucket = sweep_cursor; bucket < end; ++bucket) {
      for (auto it = aors.begin(bucket); it != aors.end(bucket); ++it) {
        auto& list = it->second;
        auto before = list.size();
        for (auto b = list.begin(); b != list.end();) {
          if (b->expires_at <= now) {
            if (b->pnsreg)
              refreshes.erase(refresh_key(*b));
            store_delete(*b);
            if (wanted("EXPIRED"))
              publish(binding_event("EXPIRED", *b, now));
            b = list.erase(b);
          } else {
            if (b->pnsreg && deps.push && deps.rules.pnsreg_interval > 0)
              maybe_refresh_push(*b, now);
            ++b;
          }
        }
        binding_count -= before - list.size();
        if (list.empty())
          emptied.emplace_back(it->first);
      }
    }
    for (auto& aor : emptied)
      if (auto it = aors.find(std::string_view(aor)); it != aors.end())
        aors.erase(it);
    sweep_cursor = end >= buckets ? 0 : end;
    svc().counters->registrations.fetch_add(
      static_cast<int64_t>(binding_count) - static_cast<int64_t>(binding_count_reported),
      std::memory_order_relaxed);
    binding_count_reported = binding_count;
    svc().timers->arm(self, std::chrono::seconds{1}, sweep_tag);
  }
};

caf::behavior registrar_shard(caf::stateful_actor<registrar_state>* self, registrar_deps deps) {
  auto& st = self->state;
  st.deps = std::move(deps);
  st.self = self;
  st.start();
  return {
    [&st](txn_request& r) { st.on_register(r); },
    [&st](const location_lookup& q) { return st.on_lookup(q); },
    [&st](location_preload& p) { st.on_preload(p); },
    [&st](const location_drop_push& d) { st.on_drop_push(d); },
    [&st](const location_list& q) { return st.on_list(q); },
    [&st](const location_remove& r) { return st.on_remove(r); },
    [&st](timer_expired t) {
      if (t.tag == sweep_tag) {
        st.sweep();
      } else if (t.tag == store_batch_tag) {
        st.store_batch_timer = {};
        st.send_store_batch();
      }
    },
  };
}

} // namespace

caf::actor spawn_registrar_shard(caf::actor_system& sys, registrar_deps deps) {
  return sys.spawn(registrar_shard, std::move(deps));
}

std::size_t registrar_shard_of(std::string_view aor, std::size_t shards) {
  return std::hash<std::string_view>{}(aor) % shards;
}

} // namespace centralita::actors
