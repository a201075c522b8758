#include "actors/web/web_api.hpp"

#include "actors/registrar/location_messages.hpp"
#include "actors/registrar/registrar_shard.hpp"
#include "actors/sip/messages.hpp"
#include "protocols/events/catalogue.hpp"
#include "protocols/http/prometheus.hpp"

#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <malloc.h>

namespace centralita::actors {

struct embedded_file {
  const char* name;
  const unsigned char* data;
  std::size_t size;
};
extern const embedded_file web_files[];
extern const std::size_t web_file_count;

namespace {

using json = nlohmann::json;
constexpr auto ask_timeout = std::chrono::seconds{5};

http::response json_response(int status, const json& body) {
  http::response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump();
  return r;
}

int64_t uptime_ms(const web_context& ctx) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                               - ctx.deps.started)
    .count();
}

std::string_view content_type_of(std::string_view name) {
  auto dot = name.rfind('.');
  auto ext = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  if (ext == "html")
    return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs")
    return "text/javascript; charset=utf-8";
  if (ext == "css")
    return "text/css; charset=utf-8";
  if (ext == "svg")
    return "image/svg+xml";
  if (ext == "png")
    return "image/png";
  if (ext == "ico")
    return "image/x-icon";
  if (ext == "json")
    return "application/json";
  return "application/octet-stream";
}

json stats_json(const web_context& ctx) {
  auto& d = ctx.deps;
  auto& sip = *d.sip;
  json requests = json::object();
  for (std::size_t m = 0; m < sip_counters::method_count; ++m) {
    auto n = sip.requests_by_method[m].load(std::memory_order_relaxed);
    if (n > 0)
      requests[std::string(sip::to_string(static_cast<sip::method>(m)))] = n;
  }
  json responses = json::object();
  for (std::size_t c = 1; c <= 6; ++c)
    responses[std::to_string(c) + "xx"] = sip.responses_sent_by_class[c].load(std::memory_order_relaxed);
  auto& ev = *d.event_stats;
  json out{
    {"node", d.node},
    {"version", d.version},
    {"uptime_ms", uptime_ms(ctx)},
    {"registrations", sip.registrations.load()},
    {"active_calls", sip.active_calls.load()},
    {"transactions", sip.server_transactions.load()},
    {"suspended_routings", d.scripts ? d.scripts->suspended.load() : 0},
    {"events",
     {{"published", ev.published.load()},
      {"delivered", ev.delivered.load()},
      {"dropped", ev.dropped.load() + ctx.counters->stream_dropped.load()},
      {"subscriptions", ev.subscriptions.load()},
      {"waits", ev.waits.load()},
      {"last_seq", ev.last_seq.load()},
      {"retained", ev.retained.load()},
      {"stream_clients", ctx.counters->stream_clients.load()}}},
    {"push", {{"sent", d.push ? d.push->sent.load() : 0},
              {"failed", d.push ? d.push->failed.load() : 0},
              {"woke", d.push ? d.push->woke.load() : 0}}},
    {"sip",
     {{"requests", requests},
      {"responses", responses},
      {"bad_requests", sip.bad_requests.load()},
      {"calls_started", sip.calls_started.load()}}},
  };
  return out;
}

// -- GET /api/registrations ------------------------------------------------

void list_registrations(caf::event_based_actor* self, const web_context& ctx,
                        const http::request& req, respond_fn respond) {
  location_list q;
  if (auto* a = req.query_value("aor"))
    q.pattern = *a;
  uint32_t limit = 100;
  if (auto* l = req.query_value("limit")) {
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc{} || p != l->data() + l->size() || limit < 1 || limit > 1000) {
      respond(http::json_error(400, "limit: a number from 1 to 1000"));
      return;
    }
  }
  q.limit = limit;
  if (auto* after = req.query_value("after"); after != nullptr && !after->empty()) {
    auto tab = after->find('\t');
    if (tab == std::string::npos) {
      respond(http::json_error(400, "after: not a cursor this API gave (use \"next\")"));
      return;
    }
    q.after_aor = after->substr(0, tab);
    q.after_contact = after->substr(tab + 1);
  }
  struct gather {
    std::size_t waiting;
    std::vector<sip::binding> all;
    uint64_t total = 0;
    bool more = false;
    bool failed = false;
    uint32_t limit;
    respond_fn respond;
  };
  auto& regs = ctx.deps.registrars;
  auto g = std::make_shared<gather>(gather{regs.size(), {}, 0, false, false, limit, std::move(respond)});
  if (regs.empty()) {
    g->respond(json_response(200, {{"registrations", json::array()}, {"total", 0}, {"next", nullptr}}));
    return;
  }
  auto finish = [g] {
    auto less = [](const sip::binding& a, const sip::binding& b) {
      int c = a.aor().compare(b.aor());
      return c != 0 ? c < 0 : a.contact() < b.contact();
    };
    std::sort(g->all.begin(), g->all.end(), less);
    bool more = g->more || g->all.size() > g->limit;
    if (g->all.size() > g->limit)
      g->all.resize(g->limit);
    auto now = static_cast<int64_t>(std::time(nullptr));
    json list = json::array();
    for (auto& b : g->all)
      list.push_back({{"aor", b.aor()},
                      {"contact", b.contact()},
                      {"expires", b.remaining(now)},
                      {"source", b.received()},
                      {"transport", b.transport()},
                      {"user_agent", b.user_agent()},
                      {"instance", b.instance()},
                      {"call_id", b.call_id()},
                      {"pn_provider", b.pn_provider()},
                      {"pn_prid", b.pn_prid()}});
    json next = nullptr;
    if (more && !g->all.empty())
      next = std::string(g->all.back().aor()) + "\t" + std::string(g->all.back().contact());
    g->respond(json_response(200, {{"registrations", list}, {"total", g->total}, {"next", next}}));
  };
  for (auto& r : regs) {
    self->request(r, ask_timeout, q).then(
      [g, finish](location_page& page) {
        if (g->failed)
          return;
        g->total += page.total;
        g->more = g->more || page.more;
        for (auto& b : page.bindings)
          g->all.push_back(std::move(b));
        if (--g->waiting == 0)
          finish();
      },
      [g](caf::error&) {
        if (std::exchange(g->failed, true))
          return;
        g->respond(http::json_error(503, "a registrar shard did not answer in time"));
      });
  }
}

void remove_registrations(caf::event_based_actor* self, const web_context& ctx, std::string aor,
                          respond_fn respond) {
  if (aor.rfind("sip:", 0) == 0)
    aor.erase(0, 4);
  if (aor.empty() || aor.find('@') == std::string::npos) {
    respond(http::json_error(400, "expected /api/registrations/user@domain"));
    return;
  }
  auto& regs = ctx.deps.registrars;
  auto target = regs[registrar_shard_of(aor, regs.size())];
  self->request(target, ask_timeout, location_remove{aor, "removed through the HTTP API"})
    .then(
      [respond, aor](uint64_t n) {
        if (n == 0)
          respond(http::json_error(404, "no bindings for " + aor));
        else
          respond(json_response(200, {{"aor", aor}, {"removed", n}}));
      },
      [respond](caf::error&) {
        respond(http::json_error(503, "the registrar shard did not answer in time"));
      });
}

// -- GET /api/calls --------------------------------------------------------

void list_calls_api(caf::event_based_actor* self, const web_context& ctx, respond_fn respond) {
  struct gather {
    std::size_t waiting;
    std::vector<call_summary> all;
    bool failed = false;
    respond_fn respond;
  };
  auto& shards = ctx.deps.shards;
  auto g = std::make_shared<gather>(gather{shards.size(), {}, false, std::move(respond)});
  auto finish = [g] {
    std::sort(g->all.begin(), g->all.end(),
              [](auto& a, auto& b) { return a.started_ms > b.started_ms; });
    json list = json::array();
    for (auto& c : g->all)
      list.push_back({{"call_id", c.call_id},
                      {"from", c.from},
                      {"to", c.to},
                      {"ruri", c.ruri},
                      {"state", c.answered ? "answered" : "ringing"},
                      {"started_ms", c.started_ms},
                      {"answered_ms", c.answered_ms}});
    g->respond(json_response(200, {{"calls", list}, {"total", g->all.size()}}));
  };
  if (shards.empty()) {
    finish();
    return;
  }
  for (auto& s : shards)
    self->request(s, ask_timeout, list_calls{}).then(
      [g, finish](calls_listed& l) {
        if (g->failed)
          return;
        for (auto& c : l.calls)
          g->all.push_back(std::move(c));
        if (--g->waiting == 0)
          finish();
      },
      [g](caf::error&) {
        if (std::exchange(g->failed, true))
          return;
        g->respond(http::json_error(503, "a SIP shard did not answer in time"));
      });
}

// -- POST /api/events --------------------------------------------------------

http::response publish_custom(caf::event_based_actor* self, const web_context& ctx,
                              const http::request& req) {
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return http::json_error(400, "the body must be a JSON object: {\"subclass\": \"...\", "
                                 "\"attributes\": {...}}");
  events::event e("CUSTOM");
  auto add = [&](const std::string& k, const json& v) -> std::optional<http::response> {
    auto name = events::lower(k);
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-.") != std::string::npos)
      return http::json_error(400, "attribute '" + k + "': names are letters, digits, _ - .");
    if (v.is_object() || v.is_array())
      return http::json_error(400, "attribute '" + k + "': values are strings, numbers or booleans");
    e.set(name, v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump());
    return std::nullopt;
  };
  for (auto& [k, v] : body.items()) {
    if (k == "attributes") {
      if (!v.is_object())
        return http::json_error(400, "attributes: an object");
      for (auto& [ak, av] : v.items())
        if (auto bad = add(ak, av))
          return *bad;
    } else if (auto bad = add(k, v)) {
      return *bad;
    }
  }
  if (e.find("subclass") == nullptr || e.find("subclass")->empty())
    return http::json_error(400, "a CUSTOM event needs a 'subclass' (e.g. \"billing::rated\")");
  if (e.find("call_id") == nullptr)
    e.set("call_id", "");
  self->send(ctx.deps.events, publish_event{std::move(e)});
  return json_response(202, {{"published", true}, {"event", "CUSTOM"}});
}

http::response method_not_allowed(std::string_view allow) {
  auto r = http::json_error(405, "method not allowed here; allowed: " + std::string(allow));
  r.headers.push_back({"Allow", std::string(allow)});
  return r;
}

} // namespace

std::optional<asset> find_asset(std::string_view path) {
  if (path == "/" || path.empty())
    path = "/index.html";
  path.remove_prefix(1);
  for (std::size_t i = 0; i < web_file_count; ++i)
    if (path == web_files[i].name)
      return asset{content_type_of(path),
                   std::string_view(reinterpret_cast<const char*>(web_files[i].data),
                                    web_files[i].size)};
  return std::nullopt;
}

void answer_request(caf::event_based_actor* self, const web_context& ctx, const http::request& req,
                    respond_fn respond) {
  const auto& path = req.path;
  const auto& m = req.method;
  bool get = m == "GET" || m == "HEAD";
  if (path == "/healthz") {
    if (!get)
      return respond(method_not_allowed("GET, HEAD"));
    return respond(json_response(200, {{"status", "ok"}, {"uptime_ms", uptime_ms(ctx)}}));
  }
  if (path == "/metrics") {
    if (!get)
      return respond(method_not_allowed("GET, HEAD"));
    http::response r;
    r.content_type = http::metrics_writer::content_type;
    r.body = render_metrics(ctx);
    return respond(std::move(r));
  }
  if (path.rfind("/api/", 0) == 0) {
    if (path == "/api/stats")
      return get ? respond(json_response(200, stats_json(ctx)))
                 : respond(method_not_allowed("GET, HEAD"));
    if (path == "/api/registrations")
      return get ? list_registrations(self, ctx, req, std::move(respond))
                 : respond(method_not_allowed("GET, HEAD"));
    if (path.rfind("/api/registrations/", 0) == 0)
      return m == "DELETE"
               ? remove_registrations(self, ctx, path.substr(19), std::move(respond))
               : respond(method_not_allowed("DELETE"));
    if (path == "/api/calls")
      return get ? list_calls_api(self, ctx, std::move(respond))
                 : respond(method_not_allowed("GET, HEAD"));
    if (path == "/api/transactions/count") {
      if (!get)
        return respond(method_not_allowed("GET, HEAD"));
      auto& s = *ctx.deps.sip;
      return respond(json_response(
        200, {{"server", s.server_transactions.load()},
              {"hibernated", s.hibernated_transactions.load()},
              {"timers", ctx.deps.timers ? ctx.deps.timers->live() : 0}}));
    }
    if (path == "/api/scripts/reload") {
      if (m != "POST")
        return respond(method_not_allowed("POST"));
      if (!ctx.deps.reload_script)
        return respond(http::json_error(409, "no routing script to reload"));
      auto r = ctx.deps.reload_script();
      if (!r)
        return respond(http::json_error(r.err().code == errc::unsupported ? 409 : 400,
                                        r.err().reason));
      return respond(json_response(200, {{"reloaded", true}, {"script", *r}}));
    }
    if (path == "/api/events") {
      if (m != "POST")
        return respond(method_not_allowed("POST"));
      return respond(publish_custom(self, ctx, req));
    }
    return respond(http::json_error(404, "no API at " + path + " (see docs/api.md)"));
  }
  if (auto a = find_asset(path)) {
    if (!get)
      return respond(method_not_allowed("GET, HEAD"));
    http::response r;
    r.content_type = std::string(a->content_type);
    r.body = std::string(a->body);
    r.headers.push_back({"Cache-Control", "no-cache"});
    return respond(std::move(r));
  }
  respond(http::json_error(404, "nothing at " + path));
}

} // namespace centralita::actors
