#pragma once

#include "actors/store/binding_store.hpp"
#include "actors/store/store_messages.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <spdlog/logger.h>

#include <chrono>
#include <memory>

namespace centralita::actors {

/// Write-behind settings.
struct store_writer_config {
  /// Pending changes are written at most this long after the first of them
  /// arrives. After `kill -9`, at most this interval of changes is lost.
  std::chrono::milliseconds flush_interval{1000};
};

/// What the writer needs.
struct store_writer_deps {
  std::shared_ptr<binding_store> store;  ///< used only from the writer's thread
  store_writer_config config;
  std::shared_ptr<spdlog::logger> log;   ///< may be null
};

/// The store writer: one per process, spawned detached (its own thread, so no
/// scheduler worker ever blocks on disk). Lives until it is sent an exit message
/// (any reason); it owns the store and the pending changes. It takes
/// `binding_changes` batches from the registrar shards, coalesces
/// changes to the same (aor, contact) (the last one wins), and writes them in one
/// transaction per batch: `flush_interval` after the first pending change, at once
/// on `flush_store` (replying `store_flushed`), and, whatever the exit reason,
/// before it terminates. Messages a sender sent before the exit message are
/// handled first (one mailbox, FIFO per sender). A failed write keeps the changes
/// pending and retries at the next interval.
///
/// The owner must send it an exit message before destroying the actor system
/// (which waits for every actor): e.g. `caf::anon_send_exit(w, caf::exit_reason::user_shutdown)`.
caf::actor spawn_store_writer(caf::actor_system& sys, store_writer_deps deps);

} // namespace centralita::actors
