#include "actors/store/store_writer.hpp"

#include "actors/store/sqlite_binding_store.hpp"
#include "store_test_util.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

using namespace centralita;
using namespace centralita::actors;
using centralita::test::sample_binding;
using centralita::test::temp_dir;
using namespace std::chrono_literals;

namespace {

constexpr int64_t t0 = 1'800'000'000;
constexpr auto reply_timeout = 10s;

/// A store that records batches and can be told to fail (shared with the test).
struct fake_store final : binding_store {
  std::mutex mu;
  std::vector<store_batch> batches;
  int failures_left = 0;

  result<std::vector<sip::binding>> load_unexpired(int64_t) override {
    return std::vector<sip::binding>{};
  }
  result<void> apply(const store_batch& b) override {
    std::lock_guard lock(mu);
    if (failures_left > 0) {
      --failures_left;
      return error{errc::io_error, "disk on fire"};
    }
    batches.push_back(b);
    return {};
  }
};

store_flushed flush(caf::actor_system& sys, const caf::actor& writer) {
  store_flushed out;
  out.ok = false;
  out.error = "no reply";
  caf::scoped_actor self{sys};
  self->request(writer, reply_timeout, flush_store{})
      .receive([&](store_flushed& r) { out = std::move(r); },
               [&](caf::error& e) { out.error = sys.render(e); });
  return out;
}

std::vector<sip::binding> load(const std::string& dir) {
  auto store = sqlite_binding_store::open(dir);
  EXPECT_TRUE(store) << (store ? "" : store.err().reason);
  if (!store) return {};
  auto loaded = (*store)->load_unexpired(t0);
  EXPECT_TRUE(loaded);
  return loaded ? *loaded : std::vector<sip::binding>{};
}

std::shared_ptr<binding_store> open_store(const std::string& dir) {
  auto store = sqlite_binding_store::open(dir);
  EXPECT_TRUE(store) << (store ? "" : store.err().reason);
  return store ? std::shared_ptr<binding_store>(std::move(store.value())) : nullptr;
}

/// One-change batches, as a registrar shard would send them.
binding_changes upsert(const sip::binding& b) { return {{binding_change::added(b)}}; }
binding_changes del(std::string_view aor, std::string_view contact) {
  return {{binding_change::removed(aor, contact)}};
}

} // namespace

TEST(store_writer, flush_store_writes_coalesced_changes_and_replies) {
  temp_dir dir;
  auto fake = std::make_shared<fake_store>();
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto w = spawn_store_writer(sys, {fake, {std::chrono::hours(1)}, nullptr});
  auto a = sample_binding("alice@example.com", "sip:alice@h1", t0 + 600, 1);
  auto a2 = sample_binding("alice@example.com", "sip:alice@h1", t0 + 900, 2);
  auto b = sample_binding("bob@example.com", "sip:bob@h2", t0 + 600);
  caf::anon_send(w, upsert(a));
  caf::anon_send(w, upsert(a2));  // replaces the first one
  caf::anon_send(w, upsert(b));
  caf::anon_send(w, del("bob@example.com", "sip:bob@h2"));  // wins over b
  caf::anon_send(w, del("carol@example.com", "sip:carol@h3"));
  auto r = flush(sys, w);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.written, 3u);
  {
    std::lock_guard lock(fake->mu);
    ASSERT_EQ(fake->batches.size(), 1u);  // one transaction
    const store_batch& batch = fake->batches[0];
    ASSERT_EQ(batch.upserts.size(), 1u);
    EXPECT_EQ(batch.upserts[0], a2);
    EXPECT_EQ(batch.deletes.size(), 2u);
  }
  // Nothing pending: a second flush writes nothing and makes no batch.
  r = flush(sys, w);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.written, 0u);
  caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

TEST(store_writer, a_batch_of_changes_coalesces_in_order) {
  auto fake = std::make_shared<fake_store>();
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto w = spawn_store_writer(sys, {fake, {std::chrono::hours(1)}, nullptr});
  auto a = sample_binding("alice@example.com", "sip:alice@h1", t0 + 600, 1);
  auto a2 = sample_binding("alice@example.com", "sip:alice@h1", t0 + 900, 2);
  auto b = sample_binding("bob@example.com", "sip:bob@h2", t0 + 600);
  binding_changes first;
  first.changes.push_back(binding_change::added(a));
  first.changes.push_back(binding_change::added(b));
  first.changes.push_back(binding_change::removed("bob@example.com", "sip:bob@h2"));  // wins over b
  binding_changes second;
  second.changes.push_back(binding_change::added(a2));  // wins over a
  caf::anon_send(w, std::move(first));
  caf::anon_send(w, std::move(second));
  auto r = flush(sys, w);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.written, 2u);
  {
    std::lock_guard lock(fake->mu);
    ASSERT_EQ(fake->batches.size(), 1u);
    const store_batch& batch = fake->batches[0];
    ASSERT_EQ(batch.upserts.size(), 1u);
    EXPECT_EQ(batch.upserts[0], a2);
    ASSERT_EQ(batch.deletes.size(), 1u);
    EXPECT_EQ(batch.deletes[0].aor, "bob@example.com");
  }
  caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

TEST(store_writer, flush_reaches_sqlite) {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto w = spawn_store_writer(sys, {open_store(dir.path()), {std::chrono::hours(1)}, nullptr});
  auto a = sample_binding("alice@example.com", "sip:alice@h1", t0 + 600);
  caf::anon_send(w, upsert(a));
  auto r = flush(sys, w);
  ASSERT_TRUE(r.ok) << r.error;
  auto rows = load(dir.path());  // a second connection reads while the writer holds one
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], a);
  caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

TEST(store_writer, failed_write_keeps_changes_and_reports) {
  auto fake = std::make_shared<fake_store>();
  fake->failures_left = 1;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto w = spawn_store_writer(sys, {fake, {std::chrono::hours(1)}, nullptr});
  caf::anon_send(w, upsert(sample_binding("a@x", "sip:a@h", t0 + 60)));
  auto r = flush(sys, w);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "disk on fire");
  r = flush(sys, w);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.written, 1u);
  caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

TEST(store_writer, interval_flush_without_request) {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto w = spawn_store_writer(sys, {open_store(dir.path()), {20ms}, nullptr});
  caf::anon_send(w, upsert(sample_binding("a@x", "sip:a@h", t0 + 60)));
  // Bounded wait: poll the file until the write-behind shows up (or give up).
  auto deadline = std::chrono::steady_clock::now() + 10s;
  size_t rows = 0;
  while (rows == 0 && std::chrono::steady_clock::now() < deadline) {
    rows = load(dir.path()).size();
    if (rows == 0) std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(rows, 1u);
  caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

namespace {

/// Sends `n` changes, then an exit with `reason`, then destroys the actor system.
void send_then_shut_down(const std::string& dir, int n, caf::exit_reason reason) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  // A long interval: only the exit path can write these.
  auto w = spawn_store_writer(sys, {open_store(dir), {std::chrono::hours(1)}, nullptr});
  for (int i = 0; i < n; ++i)
    caf::anon_send(w, upsert(sample_binding(
                          "user" + std::to_string(i) + "@example.com", "sip:u@h", t0 + 600)));
  caf::anon_send(w, del("user0@example.com", "sip:u@h"));
  caf::anon_send_exit(w, reason);
  // ~actor_system waits for the writer to terminate (its state is destroyed then).
}

} // namespace

TEST(store_writer, graceful_stop_loses_nothing) {
  temp_dir dir;
  send_then_shut_down(dir.path(), 500, caf::exit_reason::user_shutdown);
  EXPECT_EQ(load(dir.path()).size(), 499u);
}

TEST(store_writer, killed_writer_still_writes_pending) {
  temp_dir dir;
  send_then_shut_down(dir.path(), 50, caf::exit_reason::kill);
  EXPECT_EQ(load(dir.path()).size(), 49u);
}
