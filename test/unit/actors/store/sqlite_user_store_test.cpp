#include "actors/store/sqlite_user_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace centralita;
using namespace centralita::actors;

namespace {

std::string temp_dir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() / ("centralita-users-" + std::string(name) + "-"
                                                      + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

} // namespace

TEST(sqlite_user_store, import_then_load_round_trips_and_replaces) {
  auto dir = temp_dir("rt");
  std::vector<auth::user_entry> users{
    {"alice", "example.com", auth::secret_kind::password, "s3cret"},
    {"bob", "example.com", auth::secret_kind::ha1_md5, "0123456789abcdef0123456789abcdef"},
  };
  ASSERT_TRUE(sqlite_user_store::import(dir, users));
  // a second import replaces by (username, domain): nothing is duplicated
  users[0].secret = "changed";
  ASSERT_TRUE(sqlite_user_store::import(dir, users));
  auto loaded = sqlite_user_store::load(dir);
  ASSERT_TRUE(loaded) << loaded.err().reason;
  ASSERT_EQ(loaded->size(), 2u);
  bool alice = false, bob = false;
  for (auto& u : *loaded) {
    if (u.user == "alice") {
      alice = true;
      EXPECT_EQ(u.secret, "changed");
      EXPECT_EQ(u.kind, auth::secret_kind::password);
    }
    if (u.user == "bob") {
      bob = true;
      EXPECT_EQ(u.kind, auth::secret_kind::ha1_md5);
    }
  }
  EXPECT_TRUE(alice && bob);
  std::filesystem::remove_all(dir);
}

TEST(sqlite_user_store, empty_store_loads_no_users) {
  auto dir = temp_dir("empty");
  auto loaded = sqlite_user_store::load(dir);
  ASSERT_TRUE(loaded) << loaded.err().reason;
  EXPECT_TRUE(loaded->empty());
  std::filesystem::remove_all(dir);
}

TEST(sqlite_user_store, unusable_directory_is_a_clear_error) {
  auto loaded = sqlite_user_store::load("/nonexistent/centralita/dir");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.err().reason.find("/nonexistent/centralita/dir/centralita.db"),
            std::string::npos)
    << loaded.err().reason;
}
