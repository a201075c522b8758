#include "actors/store/sqlite_binding_store.hpp"

#include <sqlite3.h>

#include <array>
#include <string_view>

namespace centralita::actors {

namespace {

using field = sip::binding::field;

constexpr const char* schema_sql =
    "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS bindings("
    " aor TEXT NOT NULL, contact TEXT NOT NULL, expires_at INTEGER NOT NULL,"
    " q INTEGER NOT NULL, q_given INTEGER NOT NULL, call_id TEXT NOT NULL,"
    " cseq INTEGER NOT NULL, path TEXT NOT NULL, received TEXT NOT NULL,"
    " transport TEXT NOT NULL, connection INTEGER NOT NULL, instance TEXT NOT NULL,"
    " reg_id INTEGER NOT NULL, user_agent TEXT NOT NULL, pn_provider TEXT NOT NULL,"
    " pn_prid TEXT NOT NULL, pn_param TEXT NOT NULL, pnsreg INTEGER NOT NULL DEFAULT 0,"
    " pn_purr TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY(aor, contact)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS bindings_expires ON bindings(expires_at);";

constexpr const char* columns =
    "aor, contact, expires_at, q, q_given, call_id, cseq, path, received, transport,"
    " connection, instance, reg_id, user_agent, pn_provider, pn_prid, pn_param, pnsreg, pn_purr";

// Text columns in the order of `columns`, with their binding field.
struct text_column {
  int index;  // 1-based parameter / 0-based result column is index - 1
  field f;
};
constexpr std::array<text_column, 12> text_columns{{
    {1, field::aor}, {2, field::contact}, {6, field::call_id}, {8, field::path},
    {9, field::received}, {10, field::transport}, {12, field::instance},
    {14, field::user_agent}, {15, field::pn_provider}, {16, field::pn_prid},
    {17, field::pn_param}, {19, field::pn_purr},
}};

/// Resets a statement when the scope ends, so it never holds a read lock.
struct stmt_reset {
  sqlite3_stmt* s;
  ~stmt_reset() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

int bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  return sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

} // namespace

error sqlite_binding_store::fail(std::string_view what) const {
  return fail(what, db_ != nullptr ? sqlite3_errcode(db_) : SQLITE_ERROR);
}

error sqlite_binding_store::fail(std::string_view what, int rc) const {
  std::string reason = path_;
  reason.append(": ").append(what).append(": ");
  reason.append(db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  return error{errc::io_error, std::move(reason)};
}

result<std::unique_ptr<sqlite_binding_store>> sqlite_binding_store::open(
    const std::string& data_dir) {
  std::string path = data_dir;
  if (!path.empty() && path.back() != '/') path.push_back('/');
  path.append("centralita.db");
  std::unique_ptr<sqlite_binding_store> store(new sqlite_binding_store(std::move(path)));
  if (auto r = store->init(); !r) return r.err();
  return store;
}

result<void> sqlite_binding_store::init() {
  int rc = sqlite3_open_v2(path_.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) return fail("cannot open", rc);
  sqlite3_extended_result_codes(db_, 1);
  // A busy database (another process) waits a little rather than failing at once.
  sqlite3_busy_timeout(db_, 2000);
  // The first read of the header: a corrupt or foreign file fails here.
  if (auto r = exec("PRAGMA journal_mode=WAL"); !r) return r;
  if (auto r = exec("PRAGMA synchronous=NORMAL"); !r) return r;
  if (auto r = exec(schema_sql); !r) return r;

  auto version = prepare("SELECT version FROM schema_version LIMIT 1");
  if (!version) return version.err();
  int step = sqlite3_step(*version);
  int found = step == SQLITE_ROW ? sqlite3_column_int(*version, 0) : 0;
  sqlite3_finalize(*version);
  if (step != SQLITE_ROW && step != SQLITE_DONE) return fail("reading schema_version");
  if (step == SQLITE_DONE) {
    if (auto r = exec("INSERT INTO schema_version(version) VALUES (2)"); !r) return r;
  } else if (found == 1) {
    // Version 1 (before RFC 8599 refresh pushes): its bindings keep everything.
    if (auto r = exec("BEGIN IMMEDIATE;"
                      "ALTER TABLE bindings ADD COLUMN pnsreg INTEGER NOT NULL DEFAULT 0;"
                      "ALTER TABLE bindings ADD COLUMN pn_purr TEXT NOT NULL DEFAULT '';"
                      "UPDATE schema_version SET version = 2;"
                      "COMMIT");
        !r) {
      (void)exec("ROLLBACK");  // the migration's own error is the one to report
      return r;
    }
  } else if (found != schema_version) {
    return error{errc::io_error, path_ + ": unsupported schema version "
                                     + std::to_string(found) + " (this build reads "
                                     + std::to_string(schema_version) + ")"};
  }

  std::string upsert = std::string("INSERT OR REPLACE INTO bindings(") + columns
                       + ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)";
  std::string select = std::string("SELECT ") + columns + " FROM bindings WHERE expires_at > ?1";
  struct {
    sqlite3_stmt** slot;
    const char* sql;
  } stmts[] = {
      {&upsert_, upsert.c_str()},
      {&delete_, "DELETE FROM bindings WHERE aor = ?1 AND contact = ?2"},
      {&select_, select.c_str()},
      {&prune_, "DELETE FROM bindings WHERE expires_at <= ?1"},
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
  };
  for (auto& s : stmts) {
    auto p = prepare(s.sql);
    if (!p) return p.err();
    *s.slot = *p;
  }
  return {};
}

sqlite_binding_store::~sqlite_binding_store() {
  for (sqlite3_stmt* s : {upsert_, delete_, select_, prune_, begin_, commit_, rollback_})
    sqlite3_finalize(s);  // a no-op for nullptr
  sqlite3_close_v2(db_);
}

result<void> sqlite_binding_store::exec(const char* sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
  if (rc == SQLITE_OK) return {};
  std::string reason = path_ + ": " + (msg != nullptr ? msg : sqlite3_errstr(rc));
  sqlite3_free(msg);
  return error{errc::io_error, std::move(reason)};
}

result<sqlite3_stmt*> sqlite_binding_store::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) return fail("prepare");
  return s;
}

result<std::vector<sip::binding>> sqlite_binding_store::load_unexpired(int64_t now) {
  {
    stmt_reset guard{prune_};
    sqlite3_bind_int64(prune_, 1, now);
    if (sqlite3_step(prune_) != SQLITE_DONE) return fail("pruning expired bindings");
  }
  std::vector<sip::binding> out;
  stmt_reset guard{select_};
  sqlite3_bind_int64(select_, 1, now);
  int rc;
  while ((rc = sqlite3_step(select_)) == SQLITE_ROW) {
    sip::binding b;
    for (const text_column& c : text_columns) {
      const auto* text = sqlite3_column_text(select_, c.index - 1);
      int len = sqlite3_column_bytes(select_, c.index - 1);
      b.set(c.f, text != nullptr ? std::string_view(reinterpret_cast<const char*>(text),
                                                    static_cast<size_t>(len))
                                 : std::string_view());
    }
    b.expires_at = sqlite3_column_int64(select_, 2);
    b.q = static_cast<uint16_t>(sqlite3_column_int(select_, 3));
    b.q_given = sqlite3_column_int(select_, 4) != 0;
    b.cseq = static_cast<uint32_t>(sqlite3_column_int64(select_, 6));
    b.connection = static_cast<uint64_t>(sqlite3_column_int64(select_, 10));
    b.reg_id = static_cast<uint32_t>(sqlite3_column_int64(select_, 12));
    b.pnsreg = sqlite3_column_int(select_, 17) != 0;
    out.push_back(std::move(b));
  }
  if (rc != SQLITE_DONE) return fail("loading bindings");
  return out;
}

result<void> sqlite_binding_store::apply(const store_batch& batch) {
  if (batch.empty()) return {};
  {
    stmt_reset guard{begin_};
    if (sqlite3_step(begin_) != SQLITE_DONE) return fail("begin");
  }
  auto abort = [this](std::string_view what) {
    error e = fail(what);
    sqlite3_step(rollback_);
    sqlite3_reset(rollback_);
    return e;
  };
  for (const sip::binding& b : batch.upserts) {
    stmt_reset guard{upsert_};
    for (const text_column& c : text_columns) bind_text(upsert_, c.index, b.get(c.f));
    sqlite3_bind_int64(upsert_, 3, b.expires_at);
    sqlite3_bind_int(upsert_, 4, b.q);
    sqlite3_bind_int(upsert_, 5, b.q_given ? 1 : 0);
    sqlite3_bind_int(upsert_, 18, b.pnsreg ? 1 : 0);
    sqlite3_bind_int64(upsert_, 7, b.cseq);
    // SQLite integers are signed 64-bit: the id's bits are kept as they are.
    sqlite3_bind_int64(upsert_, 11, static_cast<sqlite3_int64>(b.connection));
    sqlite3_bind_int64(upsert_, 13, b.reg_id);
    if (sqlite3_step(upsert_) != SQLITE_DONE) return abort("writing a binding");
  }
  for (const binding_key& k : batch.deletes) {
    stmt_reset guard{delete_};
    bind_text(delete_, 1, k.aor);
    bind_text(delete_, 2, k.contact);
    if (sqlite3_step(delete_) != SQLITE_DONE) return abort("deleting a binding");
  }
  stmt_reset guard{commit_};
  if (sqlite3_step(commit_) != SQLITE_DONE) return abort("commit");
  return {};
}

} // namespace centralita::actors
