// GET /metrics: every counter of the switch in Prometheus' text format.

#include "actors/web/web_api.hpp"

#include "actors/media/media_hub.hpp"

#include "protocols/http/prometheus.hpp"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace centralita::actors {

namespace {

/// CPU seconds (user + system) a thread has used, from /proc; -1 when unknown.
double thread_cpu_seconds(int tid) {
  if (tid <= 0)
    return -1;
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  if (!std::getline(in, line))
    return -1;
  // The command name (field 2) may hold spaces: count fields after its ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::stoull(field);
    else if (i == 15)
      stime = std::stoull(field);
  }
  static const long ticks = sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

template <class Atomic>
double v(const Atomic& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

} // namespace

std::string render_metrics(const web_context& ctx) {
  auto& d = ctx.deps;
  http::metrics_writer w;
  using std::string_view;

  w.family("centralita_build_info", "The running build (always 1).", "gauge");
  w.sample("centralita_build_info", {{"version", d.version}, {"node", d.node}}, 1);
  w.family("centralita_uptime_seconds", "Seconds since the switch started.", "gauge");
  w.sample("centralita_uptime_seconds", {},
           std::chrono::duration<double>(std::chrono::steady_clock::now() - d.started).count());

  auto& sip = *d.sip;
  w.family("centralita_sip_requests_total", "SIP requests received, by method.", "counter");
  for (std::size_t m = 0; m < sip_counters::method_count; ++m) {
    std::string name(sip::to_string(static_cast<sip::method>(m)));
    w.sample("centralita_sip_requests_total", {{"method", name}}, v(sip.requests_by_method[m]));
  }
  w.family("centralita_sip_responses_sent_total", "SIP responses sent, by class.", "counter");
  for (std::size_t c = 1; c <= 6; ++c)
    w.sample("centralita_sip_responses_sent_total", {{"class", std::to_string(c) + "xx"}},
             v(sip.responses_sent_by_class[c]));
  w.family("centralita_sip_responses_received_total", "SIP responses received, by class.",
           "counter");
  for (std::size_t c = 1; c <= 6; ++c)
    w.sample("centralita_sip_responses_received_total", {{"class", std::to_string(c) + "xx"}},
             v(sip.responses_received_by_class[c]));
  w.family("centralita_sip_bad_requests_total", "Malformed requests answered 400.", "counter");
  w.sample("centralita_sip_bad_requests_total", {}, v(sip.bad_requests));
  w.family("centralita_transactions_active", "Live SIP server transactions.", "gauge");
  w.sample("centralita_transactions_active", {}, v(sip.server_transactions));
  w.family("centralita_transactions_hibernated", "INVITE server transactions asleep in a shard.",
           "gauge");
  w.sample("centralita_transactions_hibernated", {}, v(sip.hibernated_transactions));
  w.family("centralita_registrations", "Live registration bindings.", "gauge");
  w.sample("centralita_registrations", {}, v(sip.registrations));
  w.family("centralita_calls_active", "Calls started and not ended.", "gauge");
  w.sample("centralita_calls_active", {}, v(sip.active_calls));
  w.family("centralita_calls_started_total", "Initial INVITEs (CALL_START).", "counter");
  w.sample("centralita_calls_started_total", {}, v(sip.calls_started));
  if (d.sip_tcp_connections) {
    w.family("centralita_sip_tcp_connections", "Open SIP TCP connections.", "gauge");
    w.sample("centralita_sip_tcp_connections", {}, static_cast<double>(d.sip_tcp_connections()));
  }

  if (d.scripts) {
    auto& s = *d.scripts;
    w.family("centralita_suspended_routings", "Routing scripts waiting (event, push, sleep, HTTP).",
             "gauge");
    w.sample("centralita_suspended_routings", {}, v(s.suspended));
    w.family("centralita_script_runs_total", "Routing runs started.", "counter");
    w.sample("centralita_script_runs_total", {}, v(s.runs));
    w.family("centralita_script_errors_total", "Routing runs that raised a Lua error.", "counter");
    w.sample("centralita_script_errors_total", {}, v(s.errors));
    w.family("centralita_lua_bytes", "Memory held by the script VMs.", "gauge");
    w.sample("centralita_lua_bytes", {}, v(s.lua_bytes));
  }

  auto& ev = *d.event_stats;
  w.family("centralita_events_published_total", "Events published on the bus.", "counter");
  w.sample("centralita_events_published_total", {}, v(ev.published));
  w.family("centralita_events_delivered_total", "Event deliveries to subscribers.", "counter");
  w.sample("centralita_events_delivered_total", {}, v(ev.delivered));
  w.family("centralita_events_dropped_total",
           "Events dropped for subscribers that did not keep up (bus queue or stream queue).",
           "counter");
  w.sample("centralita_events_dropped_total", {{"where", "bus"}}, v(ev.dropped));
  w.sample("centralita_events_dropped_total", {{"where", "stream"}},
           v(ctx.counters->stream_dropped));
  w.family("centralita_event_subscriptions", "Live event subscriptions (scripts and streams).",
           "gauge");
  w.sample("centralita_event_subscriptions", {}, v(ev.subscriptions));
  w.family("centralita_event_waits", "Live once-subscriptions (events.wait).", "gauge");
  w.sample("centralita_event_waits", {}, v(ev.waits));
  w.family("centralita_event_replay_buffer", "Events held for ?since= replays.", "gauge");
  w.sample("centralita_event_replay_buffer", {}, v(ev.retained));

  auto& web = *ctx.counters;
  w.family("centralita_stream_clients", "Open WebSocket /events clients.", "gauge");
  w.sample("centralita_stream_clients", {}, v(web.stream_clients));
  w.family("centralita_stream_events_total", "Events written to stream clients.", "counter");
  w.sample("centralita_stream_events_total", {}, v(web.stream_events));
  w.family("centralita_stream_overflows_total", "Stream clients closed with 1008 (too slow).",
           "counter");
  w.sample("centralita_stream_overflows_total", {}, v(web.stream_overflows));
  w.family("centralita_stream_protocol_errors_total",
           "Stream clients closed for a WebSocket protocol error.", "counter");
  w.sample("centralita_stream_protocol_errors_total", {}, v(web.stream_protocol_errors));
  w.family("centralita_http_requests_total", "HTTP requests received.", "counter");
  w.sample("centralita_http_requests_total", {}, v(web.requests));
  w.family("centralita_http_responses_total", "HTTP responses sent, by class.", "counter");
  for (std::size_t c = 1; c <= 5; ++c)
    w.sample("centralita_http_responses_total", {{"class", std::to_string(c) + "xx"}},
             v(web.responses_by_class[c]));
  if (ctx.server) {
    auto& sc = ctx.server->counters();
    w.family("centralita_http_connections", "Open HTTP and WebSocket connections.", "gauge");
    w.sample("centralita_http_connections", {}, v(sc.open));
    w.family("centralita_http_connections_refused_total",
             "Connections refused at http.max_connections.", "counter");
    w.sample("centralita_http_connections_refused_total", {}, v(sc.refused));
  }

  // Always there (zero without push providers): a dashboard's query should
  // not depend on the configuration.
  auto push = [&](const std::atomic<uint64_t> push_counters::*field) {
    return d.push ? v((*d.push).*field) : 0.0;
  };
  w.family("centralita_push_sent_total", "Push notifications a provider accepted.", "counter");
  w.sample("centralita_push_sent_total", {}, push(&push_counters::sent));
  w.family("centralita_push_failed_total", "Push notifications that failed for good.", "counter");
  w.sample("centralita_push_failed_total", {}, push(&push_counters::failed));
  w.family("centralita_push_retried_total", "Push attempts after the first.", "counter");
  w.sample("centralita_push_retried_total", {}, push(&push_counters::retried));
  w.family("centralita_push_woke_total", "Devices that registered after a push.", "counter");
  w.sample("centralita_push_woke_total", {}, push(&push_counters::woke));

  // The media relay (docs/media.md): zero when there is none.
  {
    drivers::rtp_relay* relay = d.media && d.media->ready() ? &d.media->relay() : nullptr;
    auto rc = [&](const std::atomic<uint64_t> drivers::rtp_relay_counters::*field) {
      return relay != nullptr ? v(relay->counters().*field) : 0.0;
    };
    auto mc = [&](const std::atomic<uint64_t> media_counters::*field) {
      return d.media ? v(d.media->counters().*field) : 0.0;
    };
    w.family("centralita_media_port_pairs_in_use", "RTP/RTCP port pairs bound by bridged calls.",
             "gauge");
    w.sample("centralita_media_port_pairs_in_use", {},
             relay != nullptr ? static_cast<double>(relay->ports().in_use()) : 0.0);
    w.family("centralita_media_sides_open", "Relay sides open (two per bridged call).", "gauge");
    w.sample("centralita_media_sides_open", {},
             relay != nullptr ? static_cast<double>(relay->sides_open()) : 0.0);
    w.family("centralita_media_sessions", "Live media sessions (bridged calls with media).", "gauge");
    w.sample("centralita_media_sessions", {}, mc(&media_counters::sessions));
    w.family("centralita_media_sessions_total", "Media sessions started.", "counter");
    w.sample("centralita_media_sessions_total", {}, mc(&media_counters::sessions_total));
    w.family("centralita_media_packets_received_total", "RTP and RTCP packets received by the relay.",
             "counter");
    w.sample("centralita_media_packets_received_total", {}, rc(&drivers::rtp_relay_counters::rx_packets));
    w.family("centralita_media_packets_forwarded_total", "Packets the relay sent on to the other party.",
             "counter");
    w.sample("centralita_media_packets_forwarded_total", {}, rc(&drivers::rtp_relay_counters::forwarded));
    w.family("centralita_media_packets_dropped_total",
             "Packets dropped: wrong source, no destination yet, blocked DTMF.", "counter");
    w.sample("centralita_media_packets_dropped_total", {}, rc(&drivers::rtp_relay_counters::dropped));
    w.family("centralita_media_send_errors_total", "Relay sends that failed or found no slot.",
             "counter");
    w.sample("centralita_media_send_errors_total", {},
             rc(&drivers::rtp_relay_counters::send_errors) + rc(&drivers::rtp_relay_counters::send_overflow));
    w.family("centralita_media_sides_released_total", "Relay sides closed with their ports freed.",
             "counter");
    w.sample("centralita_media_sides_released_total", {}, rc(&drivers::rtp_relay_counters::sides_released));
    w.family("centralita_media_timeouts_total", "Bridged calls hung up for RTP inactivity.", "counter");
    w.sample("centralita_media_timeouts_total", {}, mc(&media_counters::timeouts));
    w.family("centralita_media_dtmf_total", "Key presses detected in relayed RTP.", "counter");
    w.sample("centralita_media_dtmf_total", {{"source", "rfc4733"}}, mc(&media_counters::dtmf_rfc4733));
    w.sample("centralita_media_dtmf_total", {{"source", "inband"}}, mc(&media_counters::dtmf_inband));
  }

  w.family("centralita_reactor_queue_depth", "Functions posted to a worker's reactor, not yet run.",
           "gauge");
  for (auto* r : d.reactors)
    w.sample("centralita_reactor_queue_depth", {{"worker", std::to_string(r->index())}},
             v(r->stats().queued));
  w.family("centralita_reactor_completions_total", "io_uring completions handled, per worker.",
           "counter");
  for (auto* r : d.reactors)
    w.sample("centralita_reactor_completions_total", {{"worker", std::to_string(r->index())}},
             v(r->stats().completions));
  w.family("centralita_worker_busy_seconds_total",
           "CPU time each worker thread used (user + system, from /proc).", "counter");
  for (auto* r : d.reactors) {
    auto s = thread_cpu_seconds(r->thread_id());
    if (s >= 0)
      w.sample("centralita_worker_busy_seconds_total", {{"worker", std::to_string(r->index())}}, s);
  }

  auto heap = mallinfo2();
  w.family("centralita_heap_bytes", "Heap in use (malloc).", "gauge");
  w.sample("centralita_heap_bytes", {}, static_cast<double>(heap.uordblks + heap.hblkhd));

  if (d.latency) {
    auto hist = [&](std::string_view name, std::string_view help, const latency_histogram& h) {
      auto s = h.read();
      w.family(name, help, "histogram");
      w.histogram(name, {}, latency_histogram::bounds, s.counts, s.sum);
    };
    hist("centralita_routing_latency_seconds",
         "A request reaching a script VM until its routing answered or relayed it.",
         d.latency->routing);
    hist("centralita_wakeup_latency_seconds",
         "An event published until the routing waiting for it resumed.", d.latency->wakeup);
  }
  return w.take();
}

} // namespace centralita::actors
