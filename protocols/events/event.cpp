#include "protocols/events/event.hpp"

#include "protocols/util/ascii.hpp"

namespace centralita::events {

event::event(std::string_view n) : name(upper(n)) {}

const std::string* event::find(std::string_view attr) const noexcept {
  // Events carry about a dozen attributes: a linear scan beats a map.
  for (const auto& a : attrs)
    if (ascii::iequals(a.name, attr))
      return &a.value;
  return nullptr;
}

event& event::set(std::string_view attr, std::string value) {
  for (auto& a : attrs) {
    if (ascii::iequals(a.name, attr)) {
      a.value = std::move(value);
      return *this;
    }
  }
  attrs.push_back(attribute{lower(attr), std::move(value)});
  return *this;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = ascii::to_upper(c);
  return out;
}

std::string lower(std::string_view s) { return ascii::to_lower(s); }

} // namespace centralita::events
