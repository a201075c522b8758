#pragma once

// The users a `register` run registers: a numbered range ("user[1-10000]",
// "u[0001-5000]x") generated on demand, or a list read from a CSV file with
// "user;password" lines. Attempt n uses user n % size(): a count larger than
// the users makes refreshes.

#include "protocols/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::loadgen {

/// PREFIX[START-END]SUFFIX. START with leading zeros pads every number to
/// START's width ("u[001-100]" → u001 ... u100). Without brackets: one user.
struct user_range {
  std::string prefix;
  std::string suffix;
  uint64_t first = 0;
  uint64_t last = 0;
  unsigned width = 0;  ///< 0: no padding
  bool single = false; ///< no brackets: `prefix` is the one user

  uint64_t size() const noexcept { return last - first + 1; }
  /// The i-th name (0-based, i < size()), appended to `out`.
  void append_name(std::string& out, uint64_t i) const;
  /// Errors name what is wrong ("START > END", "empty range", ...).
  static result<user_range> parse(std::string_view text);
};

struct user_entry {
  std::string name;
  std::string password;
};

/// "user;password" per line; blank lines and lines starting with '#' are
/// skipped; a line without ';' is a user with an empty password. Errors give
/// the line number.
result<std::vector<user_entry>> parse_users_csv(std::string_view text);

/// Either a range (with one password for all) or a list.
class user_source {
public:
  user_source() = default;
  user_source(user_range range, std::string password)
    : range_(std::move(range)), password_(std::move(password)), is_range_(true) {}
  explicit user_source(std::vector<user_entry> list) : list_(std::move(list)) {}

  uint64_t size() const noexcept { return is_range_ ? range_.size() : list_.size(); }
  /// Appends the i-th user's name (i < size()).
  void append_name(std::string& out, uint64_t i) const;
  const std::string& password(uint64_t i) const;

private:
  user_range range_;
  std::string password_;
  std::vector<user_entry> list_;
  bool is_range_ = false;
};

} // namespace centralita::loadgen
