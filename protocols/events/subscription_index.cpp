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

struct key_hash {
  using is_transparent = void;
  std::size_t operator()(const key_view& k) const noexcept {
    std::size_t h = fold_hash(fold_hash(fnv_basis, k.event), k.attr);
    // Values are case-sensitive: the standard hash, mixed in.
    return h ^ (std::hash<std::string_view>{}(k.value) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
  }
};

struct key_equal {
  using is_transparent = void;
  bool operator()(const key_view& a, const key_view& b) const noexcept {
    return a.value == b.value && ascii::iequals(a.attr, b.attr) && ascii::iequals(a.event, b.event);
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

// Memory matters here: 100,000 suspended routings are 100,000 subscriptions.
// So an entry lives in the node of `subs` itself, the subscriptions of a
// bucket are an intrusive list through their entries, and an anchored bucket
// is keyed by a member of its own (its hash and equality read that member's
// filter): ~150 bytes for a wait on "REGISTER aor=...", where copies of the
// key strings and a vector per bucket cost twice that.

struct subscription_index::entry {
  id sub;
  filter f;
  entry* prev = nullptr;  ///< the bucket's list
  entry* next = nullptr;

  key_view anchor_key() const noexcept {
    const condition* a = f.anchor();
    return {f.event_name(), a->attr, a->value};
  }
};

struct subscription_index::impl {
  /// An anchored bucket's key: one of its entries (any; re-keyed when that
  /// one leaves). Hashed and compared through its filter's anchor.
  struct member {
    const entry* e;
  };
  struct member_hash : key_hash {
    using key_hash::operator();
    std::size_t operator()(const member& m) const noexcept { return (*this)(m.e->anchor_key()); }
  };
  struct member_equal {
    using is_transparent = void;
    static key_view view(const member& m) noexcept { return m.e->anchor_key(); }
    static key_view view(const key_view& k) noexcept { return k; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return key_equal{}(view(a), view(b));
    }
  };

  std::unordered_map<id, entry> subs;
  std::unordered_map<member, entry*, member_hash, member_equal> anchored;
  std::unordered_map<std::string, entry*, name_hash, name_equal> unanchored;

  static void link(entry*& head, entry& e) {
    e.prev = nullptr;
    e.next = head;
    if (head) head->prev = &e;
    head = &e;
  }
  /// Unlinks `e`; true when its list is empty now.
  static bool unlink(entry*& head, entry& e) {
    if (e.prev) e.prev->next = e.next;
    else head = e.next;
    if (e.next) e.next->prev = e.prev;
    e.prev = e.next = nullptr;
    return head == nullptr;
  }
};

subscription_index::subscription_index() : impl_(std::make_unique<impl>()) {}
subscription_index::~subscription_index() = default;
subscription_index::subscription_index(subscription_index&&) noexcept = default;
subscription_index& subscription_index::operator=(subscription_index&&) noexcept = default;

std::size_t subscription_index::size() const noexcept { return impl_ ? impl_->subs.size() : 0; }

void subscription_index::add(id sub, filter f) {
  if (!impl_) impl_ = std::make_unique<impl>();  // a moved-from index is reusable
  if (impl_->subs.contains(sub)) {
    assert(!"subscription_index::add: id already present");
    remove(sub);  // release builds: the new filter replaces the old one
  }
  entry& e = impl_->subs.try_emplace(sub, entry{sub, std::move(f)}).first->second;
  if (e.f.anchor() != nullptr) {
    auto [it, fresh] = impl_->anchored.try_emplace(impl::member{&e}, nullptr);
    impl::link(it->second, e);
  } else {
    auto [it, fresh] = impl_->unanchored.try_emplace(e.f.event_name(), nullptr);
    impl::link(it->second, e);
  }
}

bool subscription_index::remove(id sub) {
  if (!impl_) return false;
  auto it = impl_->subs.find(sub);
  if (it == impl_->subs.end()) return false;
  entry& e = it->second;
  if (e.f.anchor() != nullptr) {
    auto b = impl_->anchored.find(e.anchor_key());
    assert(b != impl_->anchored.end());
    bool empty = impl::unlink(b->second, e);
    if (empty) {
      // Anchored buckets come and go with their waits.
      impl_->anchored.erase(b);
    } else if (b->first.e == &e) {
      // The key was this entry: another member of the bucket keys it now
      // (same anchor, so the same hash: the node goes back where it was).
      auto node = impl_->anchored.extract(b);
      node.key().e = node.mapped();
      impl_->anchored.insert(std::move(node));
    }
  } else {
    // The per-name lists stay (there are only as many as kinds of events).
    auto b = impl_->unanchored.find(std::string_view(e.f.event_name()));
    assert(b != impl_->unanchored.end());
    impl::unlink(b->second, e);
  }
  impl_->subs.erase(it);
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
      for (const entry* s = it->second; s; s = s->next)
        if (s->f.matches(e)) out.push_back(s->sub);
    }
  }
  if (auto it = impl_->unanchored.find(std::string_view(e.name)); it != impl_->unanchored.end())
    for (const entry* s = it->second; s; s = s->next)
      if (s->f.matches(e)) out.push_back(s->sub);
}

const filter* subscription_index::find(id sub) const {
  if (!impl_) return nullptr;
  auto it = impl_->subs.find(sub);
  return it == impl_->subs.end() ? nullptr : &it->second.f;
}

} // namespace centralita::events
