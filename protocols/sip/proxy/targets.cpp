#include "protocols/sip/proxy/targets.hpp"

#include "protocols/sip/proxy/sip_uri.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace centralita::sip::proxy {

std::vector<std::vector<branch_target>> targets_from_contacts(const std::vector<contact_target>& contacts) {
  struct ranked {
    int q;  // thousandths
    size_t order;
    std::string key;
    branch_target target;
  };
  std::vector<ranked> all;
  all.reserve(contacts.size());
  for (size_t i = 0; i < contacts.size(); ++i) {
    const contact_target& c = contacts[i];
    auto uri = sip_uri::parse(c.uri);
    if (!uri) continue;
    double q = std::isnan(c.q) ? 1.0 : std::clamp(c.q, 0.0, 1.0);
    std::string printed = uri->to_string();
    all.push_back({static_cast<int>(std::lround(q * 1000)), i, printed, {printed, c.path}});
  }
  // RFC 3261 §16.6: highest q first; stable keeps the input order within one q.
  std::stable_sort(all.begin(), all.end(), [](const ranked& a, const ranked& b) { return a.q > b.q; });
  std::vector<std::vector<branch_target>> groups;
  std::vector<std::string_view> seen;
  int current = -1;
  for (auto& r : all) {
    // RFC 3261 §16.5: a URI is added to the target set only once.
    if (std::find(seen.begin(), seen.end(), std::string_view(r.key)) != seen.end()) continue;
    seen.push_back(r.key);
    if (groups.empty() || r.q != current) {
      groups.emplace_back();
      current = r.q;
    }
    groups.back().push_back(std::move(r.target));
  }
  return groups;
}

} // namespace centralita::sip::proxy
