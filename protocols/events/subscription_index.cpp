#include "protocols/events/subscription_index.hpp"

#include "protocols/util/ascii.hpp"

#include <cassert>
#include <functional>

namespace centralita::events {

namespace {

/// FNV-1a over the case-folded bytes of a name (event and attribute names
/// match in any case, so their hash must not depend on it).
std::size_t fold_hash(std::size_t h, std::string_view s) noexcept {
  for (char c : s) {
    h ^= static_cast<unsigned char>(ascii::to_lower(c));
    h *= 1099511628211ull;
  }
  return h;
}

constexpr std::size_t fnv_basis = 14695981039346656037ull;

/// A lookup key with no allocation: views into the event being published.
struct key_view {
  std::string_view event, attr, value;
};

/// The stored key of an anchored bucket.
struct anchor_key {
  std::string event, attr, value;
  operator key_view() const noexcept { return {event, attr, value}; }
};

struct key_hash {
  using is_transparent = void;
  std::size_t operator()(const key_view& k) const noexcept {
    std::size_t h = fold_hash(fold_hash(fnv_basis, k.event), k.attr);
    // Values are case-sensitive: the standard hash, mixed in.
    return h ^ (std::hash<std::string_view>{}(k.value) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
  }
  std::size_t operator()(const anchor_key& k) const noexcept { return (*this)(key_view(k)); }
};

struct key_equal {
  using is_transparent = void;
  static bool eq(const key_view& a, const key_view& b) noexcept {
    return a.value == b.value && ascii::iequals(a.attr, b.attr) && ascii::iequals(a.event, b.event);
  }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return eq(key_view(a), key_view(b));
  }
};

struct name_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return fold_hash(fnv_basis, s); }
};

struct name_equal {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return ascii::iequals(a, b); }
};

} // namespace

struct subscription_index::impl {
  /// Subscriptions that share an anchor key, or the unanchored ones of one
  /// event name. Removal swaps the last one into the hole (entry::pos follows).
  struct bucket {
    std::vector<entry*> subs;
  };
  std::unordered_map<anchor_key, bucket, key_hash, key_equal> anchored;
  std::unordered_map<std::string, bucket, name_hash, name_equal> unanchored;
};

struct subscription_index::entry {
  id sub;
  filter f;
  impl::bucket* home = nullptr;  ///< stable: unordered_map nodes do not move on rehash
  std::size_t pos = 0;           ///< index in home->subs
};

subscription_index::subscription_index() : impl_(std::make_unique<impl>()) {}
subscription_index::~subscription_index() = default;
subscription_index::subscription_index(subscription_index&&) noexcept = default;
subscription_index& subscription_index::operator=(subscription_index&&) noexcept = default;

void subscription_index::add(id sub, filter f) {
  if (!impl_) impl_ = std::make_unique<impl>();  // a moved-from index is reusable
  if (subs_.contains(sub)) {
    assert(!"subscription_index::add: id already present");
    remove(sub);  // release builds: the new filter replaces the old one
  }
  auto& slot = subs_[sub];
  slot = std::make_unique<entry>(entry{sub, std::move(f)});
  entry& e = *slot;

  impl::bucket* home;
  if (const condition* a = e.f.anchor()) {
    home = &impl_->anchored[anchor_key{e.f.event_name(), a->attr, a->value}];
  } else {
    home = &impl_->unanchored[e.f.event_name()];
  }
  e.home = home;
  e.pos = home->subs.size();
  home->subs.push_back(&e);
}

bool subscription_index::remove(id sub) {
  auto it = subs_.find(sub);
  if (it == subs_.end()) return false;
  entry& e = *it->second;
  auto& v = e.home->subs;
  assert(e.pos < v.size() && v[e.pos] == &e);
  v[e.pos] = v.back();
  v[e.pos]->pos = e.pos;
  v.pop_back();
  if (v.empty()) {
    // Anchored buckets come and go with their waits; the per-name lists stay
    // (there are only as many as kinds of events).
    if (const condition* a = e.f.anchor())
      impl_->anchored.erase(impl_->anchored.find(key_view{e.f.event_name(), a->attr, a->value}));
  }
  subs_.erase(it);
  return true;
}

void subscription_index::match(const event& e, std::vector<id>& out) const {
  if (!impl_) return;
  if (!impl_->anchored.empty()) {
    for (std::size_t i = 0; i < e.attrs.size(); ++i) {
      const attribute& a = e.attrs[i];
      auto it = impl_->anchored.find(key_view{e.name, a.name, a.value});
      if (it == impl_->anchored.end()) continue;
      // Attribute names are unique by contract; should one repeat, filters
      // see its first value (event::find), whose bucket was visited already.
      bool repeated = false;
      for (std::size_t j = 0; j < i && !repeated; ++j)
        repeated = ascii::iequals(e.attrs[j].name, a.name);
      if (repeated) continue;
      for (const entry* s : it->second.subs)
        if (s->f.matches(e)) out.push_back(s->sub);
    }
  }
  if (auto it = impl_->unanchored.find(std::string_view(e.name)); it != impl_->unanchored.end())
    for (const entry* s : it->second.subs)
      if (s->f.matches(e)) out.push_back(s->sub);
}

const filter* subscription_index::find(id sub) const {
  auto it = subs_.find(sub);
  return it == subs_.end() ? nullptr : &it->second->f;
}

} // namespace centralita::events
