// libFuzzer target: filter::parse on arbitrary bytes. When it parses:
//  - to_string() parses back, to the same text, with the same conditions, and
//    the copy matches exactly the same sample events;
//  - an event built from the filter's own equalities matches when they are
//    its only conditions and name each attribute once;
//  - a subscription_index holding the filter agrees with filter::matches.

#include "protocols/events/filter.hpp"
#include "protocols/events/subscription_index.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace centralita::events;

namespace {

std::vector<event> samples() {
  std::vector<event> v;
  event r("REGISTER");
  r.set("aor", "bob@example.com").set("contact", "sip:bob@192.0.2.7:5060;ob").set("expires", "3600")
      .set("source_ip", "192.0.2.7").set("transport", "udp").set("user_agent", "Linphone/5.2 (x)")
      .set("call_id", "a84b4c76e66710");
  v.push_back(r);
  event u("UNREGISTER");
  u.set("aor", "alice@example.net").set("expires", "0").set("instance", "<urn:uuid:00000000-0000>");
  v.push_back(u);
  event c("CALL_START");
  c.set("call_id", "3848276298220188511").set("from", "sip:alice@atlanta.com").set("to", "sip:bob@biloxi.com")
      .set("ruri", "sip:bob@192.0.2.4").set("code", "");
  v.push_back(c);
  event d("DTMF");
  d.set("call_id", "x").set("digit", "#").set("duration_ms", "160").set("source", "rfc4733");
  v.push_back(d);
  event h("HEARTBEAT");
  h.set("active_calls", "12").set("cps", "3.5").set("version", "0.1.0");
  v.push_back(h);
  event x("CUSTOM");
  x.set("subclass", "myapp::alarm").set("severity", "high").set("text", "a \"quoted\" \\ value*?[");
  v.push_back(x);
  return v;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<event> events = samples();
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto f = filter::parse(text);
  if (!f) {
    if (f.err().reason.empty()) std::abort();
    return 0;
  }
  const std::string s = f->to_string();
  auto back = filter::parse(s);
  if (!back) std::abort();
  if (back->to_string() != s || back->event_name() != f->event_name()) std::abort();
  if (back->conditions().size() != f->conditions().size()) std::abort();
  for (std::size_t i = 0; i < f->conditions().size(); ++i) {
    const condition& a = f->conditions()[i];
    const condition& b = back->conditions()[i];
    if (a.attr != b.attr || a.kind != b.kind || a.value != b.value) std::abort();
  }
  if ((f->anchor() == nullptr) != (back->anchor() == nullptr)) std::abort();

  subscription_index idx;
  idx.add(1, *f);
  std::vector<subscription_index::id> hits;
  for (const event& e : events) {
    const bool m = f->matches(e);
    if (back->matches(e) != m) std::abort();
    hits.clear();
    idx.match(e, hits);
    if (hits.size() != (m ? 1u : 0u)) std::abort();
  }

  // An event made of the filter's equalities satisfies it.
  bool only_equalities = true;
  event own(f->event_name());
  for (const condition& c : f->conditions()) {
    if (c.kind != match_kind::equals || own.find(c.attr)) {
      only_equalities = false;
      break;
    }
    own.set(c.attr, c.value);
  }
  if (only_equalities) {
    if (!f->matches(own)) std::abort();
    hits.clear();
    idx.match(own, hits);
    if (hits.size() != 1) std::abort();
  }
  if (!idx.remove(1) || idx.size() != 0) std::abort();
  return 0;
}
