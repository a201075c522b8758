#include "actors/store/sqlite_user_store.hpp"

#include <sqlite3.h>

#include <memory>

namespace centralita::actors {

namespace {

struct db_closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct stmt_closer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_closer>;

const char* kind_name(auth::secret_kind k) {
  switch (k) {
    case auth::secret_kind::password: return "password";
    case auth::secret_kind::ha1_md5: return "md5";
    case auth::secret_kind::ha1_sha256: return "sha256";
  }
  return "password";
}

std::optional<auth::secret_kind> kind_of(std::string_view name) {
  if (name == "password") return auth::secret_kind::password;
  if (name == "md5") return auth::secret_kind::ha1_md5;
  if (name == "sha256") return auth::secret_kind::ha1_sha256;
  return std::nullopt;
}

result<db_ptr> open_db(const std::string& data_dir) {
  auto path = data_dir + "/centralita.db";
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  db_ptr db(raw);
  if (rc != SQLITE_OK)
    return error{errc::io_error, path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc))};
  sqlite3_busy_timeout(raw, 2000);
  char* msg = nullptr;
  rc = sqlite3_exec(raw,
                    "CREATE TABLE IF NOT EXISTS users ("
                    " username TEXT NOT NULL, domain TEXT NOT NULL,"
                    " kind TEXT NOT NULL CHECK (kind IN ('password','md5','sha256')),"
                    " secret TEXT NOT NULL, PRIMARY KEY (username, domain))",
                    nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string why = msg ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    return error{errc::io_error, path + ": " + why};
  }
  return db;
}

} // namespace

result<void> sqlite_user_store::import(const std::string& data_dir,
                                       const std::vector<auth::user_entry>& users) {
  auto db = open_db(data_dir);
  if (!db)
    return db.err();
  auto* raw = db->get();
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(raw, "INSERT OR REPLACE INTO users VALUES (?1, ?2, ?3, ?4)", -1, &s,
                         nullptr) != SQLITE_OK)
    return error{errc::io_error, data_dir + "/centralita.db: " + sqlite3_errmsg(raw)};
  stmt_ptr stmt(s);
  sqlite3_exec(raw, "BEGIN", nullptr, nullptr, nullptr);
  for (auto& u : users) {
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, u.user.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, u.domain.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, kind_name(u.kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, u.secret.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
      std::string why = sqlite3_errmsg(raw);
      sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
      return error{errc::io_error, data_dir + "/centralita.db: users: " + why};
    }
  }
  if (sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    return error{errc::io_error, data_dir + "/centralita.db: users: " + sqlite3_errmsg(raw)};
  return {};
}

result<std::vector<auth::user_entry>> sqlite_user_store::load(const std::string& data_dir) {
  auto db = open_db(data_dir);
  if (!db)
    return db.err();
  auto* raw = db->get();
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(raw, "SELECT username, domain, kind, secret FROM users", -1, &s,
                         nullptr) != SQLITE_OK)
    return error{errc::io_error, data_dir + "/centralita.db: " + sqlite3_errmsg(raw)};
  stmt_ptr stmt(s);
  std::vector<auth::user_entry> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    auto text = [&](int i) {
      auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
      return std::string(p ? p : "");
    };
    auto kind = kind_of(text(2));
    if (!kind)
      continue;  // the CHECK constraint keeps this from happening
    out.push_back(auth::user_entry{text(0), text(1), *kind, text(3)});
  }
  if (rc != SQLITE_DONE)
    return error{errc::io_error, data_dir + "/centralita.db: users: " + sqlite3_errmsg(raw)};
  return out;
}

} // namespace centralita::actors
