#pragma once

#include "actors/store/binding_store.hpp"

#include <memory>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace centralita::actors {

/// The embedded binding store: `<data_dir>/centralita.db`, SQLite in WAL mode with
/// `synchronous=NORMAL` (a committed batch survives a process crash; a power loss
/// may drop the last transactions), a schema version table, prepared statements,
/// one transaction per batch. Errors name the file and SQLite's message.
class sqlite_binding_store final : public binding_store {
public:
  /// The schema this code writes (table `schema_version`).
  static constexpr int schema_version = 2;  ///< 2: bindings.pnsreg, pn_purr (RFC 8599)

  /// Opens (creating if needed) `<data_dir>/centralita.db`. Errors
  /// (`errc::io_error`): the directory is missing or unwritable, the file is not
  /// a database (corrupt), or its schema version is not ours.
  static result<std::unique_ptr<sqlite_binding_store>> open(const std::string& data_dir);

  ~sqlite_binding_store() override;
  sqlite_binding_store(const sqlite_binding_store&) = delete;
  sqlite_binding_store& operator=(const sqlite_binding_store&) = delete;

  result<std::vector<sip::binding>> load_unexpired(int64_t now) override;
  result<void> apply(const store_batch& batch) override;

  /// The database file's path.
  const std::string& path() const noexcept { return path_; }

private:
  explicit sqlite_binding_store(std::string path) : path_(std::move(path)) {}
  result<void> init();
  result<void> exec(const char* sql);
  result<sqlite3_stmt*> prepare(const char* sql);
  error fail(std::string_view what) const;
  error fail(std::string_view what, int rc) const;

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  sqlite3_stmt* prune_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
};

} // namespace centralita::actors
