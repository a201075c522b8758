#include "actors/store/sqlite_binding_store.hpp"

#include "store_test_util.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <fstream>

using namespace centralita;
using namespace centralita::actors;
using centralita::test::sample_binding;
using centralita::test::temp_dir;

namespace {

constexpr int64_t t0 = 1'800'000'000;

std::vector<sip::binding> sorted(std::vector<sip::binding> v) {
  std::sort(v.begin(), v.end(), [](const sip::binding& a, const sip::binding& b) {
    return std::pair(a.aor(), a.contact()) < std::pair(b.aor(), b.contact());
  });
  return v;
}

} // namespace

TEST(sqlite_binding_store, round_trip_upsert_delete_and_reopen) {
  temp_dir dir;
  ASSERT_FALSE(dir.path().empty());
  auto a1 = sample_binding("alice@example.com", "sip:alice@192.0.2.7:40000", t0 + 600);
  auto a2 = sample_binding("alice@example.com", "sip:alice@192.0.2.8:40000", t0 + 600);
  auto b1 = sample_binding("bob@example.com", "sip:bob@192.0.2.9", t0 + 60);
  {
    auto store = sqlite_binding_store::open(dir.path());
    ASSERT_TRUE(store) << store.err().reason;
    EXPECT_EQ((*store)->path(), dir.path() + "/centralita.db");
    ASSERT_TRUE((*store)->apply(store_batch{{a1, a2, b1}, {}}));
    auto loaded = (*store)->load_unexpired(t0);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(sorted(*loaded), sorted({a1, a2, b1}));  // every field survives

    // Upsert replaces by (aor, contact); delete removes; unknown deletes are fine.
    auto a1b = a1;
    a1b.cseq = 9;
    a1b.expires_at = t0 + 900;
    ASSERT_TRUE((*store)->apply(store_batch{{a1b}, {{"alice@example.com", "sip:alice@192.0.2.8:40000"},
                                                    {"nobody@example.com", "sip:x@y"}}}));
    loaded = (*store)->load_unexpired(t0);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(sorted(*loaded), sorted({a1b, b1}));
  }
  // Reopening the file keeps the data; expired bindings are filtered out.
  auto store = sqlite_binding_store::open(dir.path());
  ASSERT_TRUE(store) << store.err().reason;
  auto loaded = (*store)->load_unexpired(t0 + 60);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().contact(), "sip:alice@192.0.2.7:40000");
  EXPECT_EQ(loaded->front().cseq, 9u);
  EXPECT_EQ(loaded->front().path().size(), 2u);
  EXPECT_EQ(loaded->front().connection, 0x8000'0000'0000'0001ull);
}

TEST(sqlite_binding_store, empty_batch_is_a_no_op) {
  temp_dir dir;
  auto store = sqlite_binding_store::open(dir.path());
  ASSERT_TRUE(store);
  EXPECT_TRUE((*store)->apply(store_batch{}));
  auto loaded = (*store)->load_unexpired(t0);
  ASSERT_TRUE(loaded);
  EXPECT_TRUE(loaded->empty());
}

TEST(sqlite_binding_store, missing_directory_is_a_clear_error) {
  auto store = sqlite_binding_store::open("/nonexistent/centralita-test-dir");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.err().code, errc::io_error);
  EXPECT_NE(store.err().reason.find("/nonexistent/centralita-test-dir/centralita.db"),
            std::string::npos) << store.err().reason;
  EXPECT_NE(store.err().reason.find("unable to open"), std::string::npos) << store.err().reason;
}

TEST(sqlite_binding_store, corrupt_file_is_a_clear_error) {
  temp_dir dir;
  {
    std::ofstream f(dir.path() + "/centralita.db", std::ios::binary);
    for (int i = 0; i < 512; ++i) f << "this is not an SQLite database. ";
  }
  auto store = sqlite_binding_store::open(dir.path());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.err().code, errc::io_error);
  EXPECT_NE(store.err().reason.find("centralita.db"), std::string::npos) << store.err().reason;
  EXPECT_NE(store.err().reason.find("not a database"), std::string::npos) << store.err().reason;
}

TEST(sqlite_binding_store, foreign_schema_version_is_refused) {
  temp_dir dir;
  {
    auto store = sqlite_binding_store::open(dir.path());
    ASSERT_TRUE(store);
  }
  // A newer build's file: the version table says 99.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/centralita.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = sqlite_binding_store::open(dir.path());
  ASSERT_FALSE(store);
  EXPECT_NE(store.err().reason.find("unsupported schema version 99"), std::string::npos)
      << store.err().reason;
}

TEST(sqlite_binding_store, version_1_file_is_migrated_and_pnsreg_survives) {
  temp_dir dir;
  // A file as version 1 wrote it: no pnsreg column.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/centralita.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE schema_version(version INTEGER NOT NULL);"
                         "INSERT INTO schema_version VALUES (1);"
                         "CREATE TABLE bindings(aor TEXT NOT NULL, contact TEXT NOT NULL,"
                         " expires_at INTEGER NOT NULL, q INTEGER NOT NULL, q_given INTEGER NOT NULL,"
                         " call_id TEXT NOT NULL, cseq INTEGER NOT NULL, path TEXT NOT NULL,"
                         " received TEXT NOT NULL, transport TEXT NOT NULL, connection INTEGER NOT NULL,"
                         " instance TEXT NOT NULL, reg_id INTEGER NOT NULL, user_agent TEXT NOT NULL,"
                         " pn_provider TEXT NOT NULL, pn_prid TEXT NOT NULL, pn_param TEXT NOT NULL,"
                         " PRIMARY KEY(aor, contact)) WITHOUT ROWID;"
                         "INSERT INTO bindings VALUES ('old@example.com', 'sip:old@192.0.2.1', 1800000600,"
                         " 1000, 0, 'c1', 1, '', '192.0.2.1:5060', 'udp', 0, '', 0, 'ua', '', '', '');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = sqlite_binding_store::open(dir.path());
  ASSERT_TRUE(store) << store.err().reason;
  auto loaded = (*store)->load_unexpired(t0);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->front().aor(), "old@example.com");
  EXPECT_FALSE(loaded->front().pnsreg);
  auto p = sample_binding("push@example.com", "sip:push@192.0.2.2;pn-provider=apns", t0 + 600);
  p.pnsreg = true;
  ASSERT_TRUE((*store)->apply(store_batch{{p}, {}}));
  loaded = (*store)->load_unexpired(t0);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(sorted(*loaded).at(1), p);  // pnsreg kept
}
