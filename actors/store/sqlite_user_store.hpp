#pragma once

#include "protocols/auth/users_file.hpp"
#include "protocols/util/result.hpp"

#include <string>
#include <vector>

namespace centralita::actors {

/// The users table of the store (`<data_dir>/centralita.db`, table `users`):
/// digest credentials, provisioned by `--users FILE` (imported at start) or
/// by writing the table directly (`sqlite3 data/centralita.db "INSERT INTO
/// users VALUES('carol','example.com','password','s3cret')"`). Read once at
/// start, on the main thread, before any worker runs; blocking I/O.
class sqlite_user_store {
public:
  /// Creates the table when missing. Errors name the file and SQLite's message.
  static result<void> import(const std::string& data_dir,
                             const std::vector<auth::user_entry>& users);
  static result<std::vector<auth::user_entry>> load(const std::string& data_dir);
};

} // namespace centralita::actors
