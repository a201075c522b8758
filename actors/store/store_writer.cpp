#include "actors/store/store_writer.hpp"

#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace centralita::actors {

namespace {

/// Self-message: the flush interval elapsed.
using store_tick_atom = caf::atom_constant<caf::atom("store_tick")>;

/// One coalesced change: the latest upsert, or a delete, of one (aor, contact).
using pending_change = binding_change;

std::string map_key(std::string_view aor, std::string_view contact) {
  std::string k;
  k.reserve(aor.size() + 1 + contact.size());
  k.append(aor).push_back('\0');
  k.append(contact);
  return k;
}

struct store_writer_state {
  caf::stateful_actor<store_writer_state>* self = nullptr;
  store_writer_deps deps;
  std::unordered_map<std::string, pending_change> pending;
  bool tick_armed = false;

  store_writer_state() = default;
  store_writer_state(const store_writer_state&) = delete;
  store_writer_state& operator=(const store_writer_state&) = delete;

  /// Runs when the actor terminates, whatever the reason (CAF destroys a stateful
  /// actor's state in on_exit): the last chance to write what is pending.
  ~store_writer_state() {
    if (pending.empty() || !deps.store) return;
    store_flushed r = flush();
    if (deps.log) {
      if (r.ok) deps.log->info("store: wrote {} pending change(s) on exit", r.written);
      else deps.log->error("store: {} change(s) lost on exit: {}", pending.size(), r.error);
    }
  }

  void init(caf::stateful_actor<store_writer_state>* s, store_writer_deps d) {
    self = s;
    deps = std::move(d);
  }

  void on_changes(binding_changes& m) {
    for (auto& c : m.changes) {
      pending_change& p = pending[map_key(c.key.aor, c.key.contact)];
      p.key = std::move(c.key);
      p.upsert = std::move(c.upsert);  // coalesced: the last change wins
    }
    arm_tick();
  }

  store_flushed on_flush() { return flush(); }

  void on_tick() {
    tick_armed = false;
    store_flushed r = flush();
    if (!r.ok) arm_tick();  // retry at the next interval
  }

  /// A delayed message to self only while changes are pending, so an idle
  /// writer never wakes up.
  void arm_tick() {
    if (tick_armed) return;
    tick_armed = true;
    self->delayed_send(self, deps.config.flush_interval, store_tick_atom::value);
  }

  store_flushed flush() {
    store_flushed out;
    if (pending.empty()) return out;
    store_batch batch;
    for (const auto& [k, c] : pending) {
      if (c.upsert) batch.upserts.push_back(*c.upsert);
      else batch.deletes.push_back(c.key);
    }
    auto r = deps.store->apply(batch);
    if (!r) {
      out.ok = false;
      out.error = r.err().reason;
      if (deps.log) deps.log->error("store: write of {} change(s) failed: {}", pending.size(),
                                    out.error);
      return out;
    }
    out.written = pending.size();
    pending.clear();
    if (deps.log) deps.log->debug("store: wrote {} change(s)", out.written);
    return out;
  }
};

caf::behavior store_writer(caf::stateful_actor<store_writer_state>* self, store_writer_deps deps) {
  self->state.init(self, std::move(deps));
  return {
      [self](binding_changes& m) { self->state.on_changes(m); },
      [self](flush_store) { return self->state.on_flush(); },
      [self](store_tick_atom) { self->state.on_tick(); },
  };
}

} // namespace

caf::actor spawn_store_writer(caf::actor_system& sys, store_writer_deps deps) {
  return sys.spawn<caf::detached>(store_writer, std::move(deps));
}

} // namespace centralita::actors
