#pragma once

// Subscription filters (docs/events.md, "Filters"): an event name and zero or
// more conditions on its attributes, all of which must hold (AND).
//
// A condition is `attribute = value`; the value says how it matches:
//   bob@example.com     equals (the common case; indexed, O(1) per event)
//   bob@*  sip:*.net    shell-style wildcard: an unescaped * ? or [ makes the
//                       value a pattern for fnmatch(3) (flags 0, so * also
//                       matches '/' and '.'), what OpenSIPS users write
//   ~^bob(\+.*)?@       regular expression after a leading '~' (ECMAScript,
//                       std::regex), searched anywhere in the value
//                       (std::regex_search): anchor it with ^ and $ to match
//                       the whole value. The text after '~' is taken verbatim.
//                       Matching time stays polynomial (libstdc++'s
//                       __polynomial mode), so back-references (\1) are refused.
//   \~literal  a\*b     a backslash makes the next character literal, so a
//                       value with * ? [ ~ can still be an equality (a
//                       wildcard pattern keeps its backslashes: fnmatch reads
//                       them the same way). A value ending in a lone backslash
//                       is an error.
// Attribute names are case-insensitive tokens (letters, digits, '_', '-',
// '.'); values are case-sensitive. A condition on an attribute the event lacks
// never matches. A value holding a NUL byte never matches a wildcard.

#include "protocols/events/event.hpp"
#include "protocols/util/result.hpp"

#include <memory>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace centralita::events {

enum class match_kind : uint8_t { equals, glob, regex };

struct condition {
  std::string attr;    ///< lower case
  match_kind kind = match_kind::equals;
  std::string value;   ///< equals: the literal (unescaped); glob: the pattern; regex: the source
  std::shared_ptr<const std::regex> re;  ///< compiled, for match_kind::regex

  bool matches(std::string_view v) const;
};

class filter {
public:
  /// Builds a filter for `event_name` (any case) from (attribute, value)
  /// pairs. Errors, with a reason meant for the script author: unknown event
  /// ("no event 'REGISTR'; events are: REGISTER, ..."), an attribute the event
  /// does not have ("event REGISTER has no attribute 'aorr'; it has: aor,
  /// contact, ..."), an empty or non-token attribute name, a bad regular
  /// expression (with std::regex's reason), a value ending in a lone
  /// backslash, a wildcard pattern holding a NUL byte; all errc::invalid_argument.
  /// Not an error: the same attribute twice, even with two equalities that
  /// cannot both hold (the filter simply never matches).
  static result<filter> make(std::string_view event_name,
                             std::span<const std::pair<std::string, std::string>> conditions);

  /// Parses the text form "NAME attr=value attr2=value2" (whitespace
  /// separated). A value may be double-quoted to hold spaces; inside the
  /// quotes a backslash before a double quote or a backslash stands for that
  /// character, and any other backslash is kept (so "a\*b" reads as the
  /// unquoted a\*b does). For logs, config and tests.
  static result<filter> parse(std::string_view text);

  const std::string& event_name() const noexcept { return event_; }
  std::span<const condition> conditions() const noexcept { return conds_; }
  /// The first equality condition (the index's key), or nullptr.
  const condition* anchor() const noexcept;

  /// True when `e` is this filter's event and every condition holds. An event
  /// without an attribute a condition names does not match.
  bool matches(const event& e) const;

  /// The text form, canonical: upper-case event, lower-case attributes,
  /// values escaped and quoted only where needed. parse(to_string()) gives an
  /// equivalent filter with the same to_string().
  std::string to_string() const;

private:
  std::string event_;
  std::vector<condition> conds_;
};

} // namespace centralita::events
