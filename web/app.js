// centralita live dashboard: wires the event stream and the HTTP API to the model, and
// the model to the views, redrawing only what changed once per animation frame.
//
// State comes from two places that must agree: API snapshots (/api/registrations,
// /api/calls) and the event stream. On the first hello, after a "missed" and after a
// switch restart the page reloads the snapshots; events that arrive while a snapshot is
// loading (the replay of the switch's buffer included) are applied again on top of it.
// REGISTER/UNREGISTER/EXPIRED and CALL_* are last-writer-wins per binding or call and the
// replayed + live events form one unbroken, ordered run up to now, so the result is the
// switch's state whichever moment the snapshot was taken.

import { api_error, events_url, get_json } from './api.js';
import { cps_chart } from './chart.js';
import { el, fmt_compact, fmt_int, fmt_rate, fmt_uptime, set_text } from './format.js';
import { log_view } from './log_view.js';
import { REGISTRATIONS_CAP, model } from './model.js';
import { worker_stream } from './stream.js';
import { calls_view, registrations_view, waits_view } from './views.js';

const STATS_EVERY_MS = 5000;
const PAGE_LIMIT = 1000;
// How often the lists and the log may redraw, by events per second: each redraw costs a
// layout and a paint whatever it changed, so a busy switch gets fewer, bigger updates.
const CADENCE = [   // [events/s below, heavy lists ms, log ms]
  [50, 0, 0],       // a quiet switch: every change shows in the next frame
  [500, 500, 250],
  [Infinity, 1000, 500],
];
const RESYNC_MIN_GAP_MS = 60000;

const $ = (id) => document.getElementById(id);
const m = new model();

const regs = new registrations_view(m, { list: $('registrations-list'), empty: $('registrations-empty'),
  meta: $('registrations-meta'), search: $('registration-search') });
const calls = new calls_view(m, { list: $('calls-list'), empty: $('calls-empty'), meta: $('calls-meta') });
const waits = new waits_view(m, { list: $('waits-list'), empty: $('waits-empty') });
const log = new log_view(m, { list: $('event-log'), scroll: $('event-log-scroll'), filter: $('event-filter'),
  pause: $('log-pause'), meta: $('log-meta') });
const chart = new cps_chart($('cps-chart'));

// --- notices --------------------------------------------------------------------------------

const notices = new Map();   // key -> element

/// Show (or replace) a notice; level info|warn|error; ttl_ms 0 = until dismissed/cleared.
function notice(key, level, text, ttl_ms = 0) {
  clear_notice(key);
  const close = el('button', 'notice-x', '×');
  close.type = 'button';
  close.title = 'Dismiss';
  const n = el('div', `notice notice-${level}`, [el('span', null, text), close]);
  n.dataset.key = key;
  close.addEventListener('click', () => clear_notice(key));
  $('notices').appendChild(n);
  notices.set(key, n);
  if (ttl_ms) setTimeout(() => { if (notices.get(key) === n) clear_notice(key); }, ttl_ms);
}

function clear_notice(key) {
  notices.get(key)?.remove();
  notices.delete(key);
}

// --- snapshots --------------------------------------------------------------------------------

let resync_buffer = null;    // events seen while a snapshot loads, or null
let resync_pending = false;
let last_resync_at = 0;

async function load_registrations() {
  const rows = [];
  let after = null;
  let total = 0;
  let capped = false;
  for (;;) {
    const q = new URLSearchParams({ limit: String(Math.min(PAGE_LIMIT, REGISTRATIONS_CAP - rows.length)) });
    if (after) q.set('after', after);
    const page = await get_json(`api/registrations?${q}`);
    rows.push(...(page.registrations ?? []));
    total = page.total ?? rows.length;
    after = page.next ?? null;
    if (!after) break;
    if (rows.length >= REGISTRATIONS_CAP) { capped = true; break; }
  }
  return { rows, total, capped };
}

async function resync(why) {
  if (resync_buffer) { resync_pending = true; return; }
  resync_buffer = [];
  last_resync_at = Date.now();
  try {
    const [r, c] = await Promise.all([load_registrations(), get_json('api/calls')]);
    m.load_registrations(r.rows, r);
    m.load_calls(c.calls ?? []);
    for (const e of resync_buffer) m.reapply(e);
    clear_notice('resync');
    if (r.capped) notice('capped', 'info', `The switch has ${fmt_int(Math.max(r.total, r.rows.length))} registrations: the list holds ${fmt_int(REGISTRATIONS_CAP)} of them at most, and the search looks within those.`);
    else clear_notice('capped');
  } catch (e) {
    notice('resync', 'error', `Could not load ${why === 'start' ? 'the initial state' : 'the state again'}: ${e.message}. Retrying…`);
    setTimeout(() => resync(why), 5000);
  } finally {
    resync_buffer = null;
    schedule();
  }
  if (resync_pending) { resync_pending = false; resync(why); }
}

// --- the event stream -------------------------------------------------------------------------

const stream = new worker_stream(events_url, {
  on_hello(h, { restarted, resumed }) {
    m.hello = h;
    m.dirty.header = true;
    if (restarted) {
      notice('restart', 'warn', `The switch ${h.node} restarted (sequence went back): state reloaded.`, 30000);
      m.load_calls([]);
      m.waits.clear();
      m.dirty.waits = true;
    }
    if (!resumed) resync(restarted ? 'restart' : 'start');
    clear_notice('dropped');
    schedule();
  },
  on_event(e, replaying) {
    m.apply(e, replaying);
    if (resync_buffer) resync_buffer.push(e);
    schedule();
  },
  on_control(msg) {
    switch (msg.type) {
      case 'missed':
        if (stream.initial) break;   // since=0 on opening: the buffer just does not reach back to 1
        notice('missed', 'warn', `Missed ${fmt_int(msg.count)} events (${msg.first_seq}–${msg.last_seq}) while disconnected: registrations and calls reloaded from the switch.`, 60000);
        resync('missed');
        break;
      case 'dropped':
        notice('dropped', 'warn', `The switch dropped ${fmt_int(msg.count)} events for this page (it fell behind): reconnecting to replay them.`, 30000);
        break;
      case 'error':
        notice('stream-error', 'error', `Event stream: ${msg.message}`, 30000);
        break;
      default:
    }
  },
  on_change() { m.dirty.header = true; schedule(); },
});

// --- stats polling -------------------------------------------------------------------------------

let auth_failed = false;
const drift = { calls: 0, regs: 0 };

async function poll_stats() {
  try {
    const s = await get_json('api/stats');
    auth_failed = false;
    clear_notice('stats');
    m.set_stats(s);
    check_drift(s);
  } catch (e) {
    if (e.name === 'AbortError') return;
    auth_failed = e instanceof api_error && (e.status === 401 || e.status === 403);
    notice('stats', 'error', auth_failed
      ? `Not authorised (${e.status}): open the page as /?token=<token> with the switch's API token.`
      : `Could not read /api/stats: ${e.message}`);
    m.dirty.header = true;
  } finally {
    schedule();
  }
}

// A counter that disagrees with the lists for three polls in a row (15 s) means the page
// lost track (it should not: since= makes reconnects lossless); reload, at most once a minute.
function check_drift(s) {
  if (stream.state !== 'connected' || resync_buffer) return;
  const dc = Math.sign((s.active_calls ?? m.calls.size) - m.calls.size);
  const dr = m.registrations_capped ? 0 : Math.sign((s.registrations ?? m.bindings.size) - m.bindings.size);
  drift.calls = dc && dc === Math.sign(drift.calls) ? drift.calls + dc : dc;
  drift.regs = dr && dr === Math.sign(drift.regs) ? drift.regs + dr : dr;
  if ((Math.abs(drift.calls) >= 3 || Math.abs(drift.regs) >= 3) && Date.now() - last_resync_at > RESYNC_MIN_GAP_MS) {
    drift.calls = drift.regs = 0;
    resync('drift');
  }
}

// --- rendering ---------------------------------------------------------------------------------

let frame_pending = false;
let last_heavy = 0;
let last_log = 0;
let last_chart = 0;
let retry_timer = 0;

function schedule() {
  if (frame_pending) return;
  frame_pending = true;
  requestAnimationFrame(frame);
}

function frame() {
  frame_pending = false;
  const now = performance.now();
  const d = m.dirty;
  const rate = m.events_rate();
  const [, heavy_ms, log_ms] = CADENCE.find(([below]) => rate < below);
  m.busy = rate >= CADENCE[0][0];
  let again = false;
  if (d.header) { d.header = false; render_header(); }
  if (d.bindings || d.calls || d.waits) {
    if (now - last_heavy >= heavy_ms) {
      last_heavy = now;
      if (d.bindings) { d.bindings = false; regs.render(); }
      if (d.calls) { d.calls = false; calls.render(); }
      if (d.waits) { d.waits = false; waits.render(); }
      render_kpis();
    } else again = true;
  }
  if (d.log) {
    if (now - last_log >= log_ms) { last_log = now; d.log = false; log.render(); } else again = true;
  }
  if (d.stats) { d.stats = false; render_stats(); render_kpis(); }
  if (d.chart) {
    if (now - last_chart >= 1000) { last_chart = now; d.chart = false; render_chart(); } else again = true;
  }
  if (again && !retry_timer) retry_timer = setTimeout(() => { retry_timer = 0; schedule(); }, 50);
}

// Once a second: countdowns, durations, ages, uptime, rates, the sliding chart.
function tick() {
  m.expire_waits();
  regs.tick();
  calls.tick();
  waits.tick();
  render_header();
  m.dirty.chart = true;
  render_kpis();
  render_stats_age();
  schedule();
}

function render_header() {
  const h = m.hello;
  const s = m.stats;
  set_text($('node-name'), h?.node ?? s?.node ?? '—');
  set_text($('node-version'), h?.version ?? s?.version ?? m.heartbeat?.version ?? '—');
  set_text($('node-uptime'), fmt_uptime(m.uptime_ms()));
  set_text($('events-rate'), fmt_rate(m.events_rate()));
  const box = $('conn-status');
  let state = stream.state;
  let text;
  if (state === 'connected') text = 'connected';
  else if (state === 'reconnecting') {
    const left = Math.ceil((stream.retry_at - Date.now()) / 1000);
    text = stream.retry_at && left > 0 ? `reconnecting in ${left}s` : 'reconnecting…';
    if (!stream.ever_connected) { state = 'disconnected'; text = stream.retry_at && left > 0 ? `disconnected · retry in ${left}s` : 'connecting…'; }
  } else text = 'connecting…';
  if (auth_failed && state !== 'connected') { state = 'disconnected'; text = 'disconnected · not authorised'; }
  if (box.dataset.state !== state) box.dataset.state = state;
  document.body.classList.toggle('stale', state !== 'connected' && stream.ever_connected);
  set_text(box.querySelector('.conn-text'), text);
  box.title = stream.last_close ? `last close: code ${stream.last_close.code}${stream.last_close.reason ? ` (${stream.last_close.reason})` : ''}` : '';
  document.title = state === 'connected' ? `centralita · ${h?.node ?? 'live'}` : `centralita · ${state}`;
}

function render_kpis() {
  const capped = m.registrations_capped;
  const reg_total = capped ? (m.heartbeat?.registrations ?? m.stats?.registrations ?? m.registrations_total) : m.bindings.size;
  set_text($('registrations-count'), fmt_int(reg_total));
  let aors = 0;
  if (!capped) { const seen = new Set(); for (const b of m.bindings.values()) seen.add(b.aor); aors = seen.size; }
  set_text($('registrations-sub'), capped ? `bindings · list holds ${fmt_int(m.bindings.size)}` : `bindings · ${fmt_int(aors)} AOR${aors === 1 ? '' : 's'}`);
  let ringing = 0;
  for (const c of m.calls.values()) if (c.state !== 'answered') ringing++;
  set_text($('calls-count'), fmt_int(m.calls.size));
  set_text($('calls-sub'), `${fmt_int(ringing)} ringing · ${fmt_int(m.calls.size - ringing)} answered`);
  set_text($('waits-count'), fmt_int(m.waits.size));
  $('waits-count').closest('.kpi').classList.toggle('hot', m.waits.size > 0);
  set_text($('suspended-routings'), fmt_int(m.suspended_routings ?? 0));
}

function render_chart() {
  const data = m.cps_series();
  chart.update(data);
  const s = data.series;
  const last10 = s.slice(-11, -1).reduce((a, b) => a + b, 0) / 10;   // complete seconds only
  const peak = s.reduce((a, b) => Math.max(a, b), 0);
  const total = s.reduce((a, b) => a + b, 0);
  set_text($('cps-now'), fmt_rate(last10));
  set_text($('cps-sub'), `10 s avg · peak ${fmt_int(peak)} · ${fmt_int(total)} in 5 min`);
  set_text($('chart-meta'), `last 5 min · ${fmt_int(total)} calls`);
}

function chips(host, items) {
  host.replaceChildren(...items.map(([label, value, cls, rate, title]) => {
    const c = el('span', `chip${cls ? ` ${cls}` : ''}`, [el('span', 'chip-k', label), el('span', 'chip-v mono', fmt_compact(value))]);
    if (rate) c.appendChild(el('span', 'chip-r mono', `${fmt_rate(rate)}/s`));
    if (title) c.title = title;
    return c;
  }));
}

function render_stats() {
  const s = m.stats;
  const hb = m.heartbeat;
  set_text($('transactions-count'), fmt_int(hb?.transactions ?? s?.transactions));
  const idle = hb ? Number(hb.cpu_idle) : NaN;
  const maxs = hb ? Number(hb.max_sessions) : 0;
  set_text($('cpu-sub'), `${Number.isFinite(idle) ? `CPU ${Math.round(100 - idle)}% busy` : 'CPU —'}${maxs > 0 ? ` · max ${fmt_int(maxs)} sessions` : ''}`);
  if (!s) return;
  const dropped = s.events?.dropped ?? 0;
  set_text($('events-dropped'), fmt_int(dropped));
  $('events-dropped').closest('.kpi').classList.toggle('bad', dropped > 0);
  set_text($('events-sub'), `of ${fmt_compact(s.events?.published ?? 0)} published · ${fmt_int(s.events?.stream_clients ?? 0)} stream${s.events?.stream_clients === 1 ? '' : 's'}`);

  const p = m.prev_stats;
  const dt = p ? (m.stats_at - m.prev_stats_at) / 1000 : 0;
  const rate = (now, before) => (dt > 0 && before !== undefined ? Math.max(0, (now - before) / dt) : 0);
  const req = s.sip?.requests ?? {};
  chips($('counters-requests'), Object.entries(req).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1])
    .map(([k, v]) => [k, v, '', rate(v, p?.sip?.requests?.[k])]));
  const res = s.sip?.responses ?? {};
  chips($('counters-responses'), ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx']
    .map((k) => [k, res[k] ?? 0, `r${k[0]}`, rate(res[k] ?? 0, p?.sip?.responses?.[k])]));
  const push = s.push ?? {};
  chips($('counters-push'), [['sent', push.sent ?? 0, '', rate(push.sent ?? 0, p?.push?.sent)], ['woke', push.woke ?? 0, 'good'],
    ['failed', push.failed ?? 0, (push.failed ?? 0) > 0 ? 'bad' : '']]);
  const ev = s.events ?? {};
  chips($('counters-events'), [
    ['published', ev.published ?? 0, '', rate(ev.published ?? 0, p?.events?.published), `delivered ${fmt_int(ev.delivered)}`],
    ['dropped', ev.dropped ?? 0, (ev.dropped ?? 0) > 0 ? 'bad' : ''],
    ['subs', ev.subscriptions ?? 0, '', 0, 'subscriptions (scripts and streams)'], ['streams', ev.stream_clients ?? 0, '', 0, 'event stream clients']]);
  render_stats_age();
}

function render_stats_age() {
  if (!m.stats_at) return;
  const age = Math.round((Date.now() - m.stats_at) / 1000);
  const a = $('stats-age');
  set_text(a, age <= 12 ? '' : `stats ${age}s old`);
}

// --- start ----------------------------------------------------------------------------------------

stream.start();
poll_stats();
setInterval(poll_stats, STATS_EVERY_MS);
setInterval(tick, 1000);
document.addEventListener('visibilitychange', () => { if (!document.hidden) { Object.keys(m.dirty).forEach((k) => { m.dirty[k] = true; }); schedule(); } });
schedule();

// For debugging in the console: window.centralita.model, .stream
window.centralita = { model: m, stream };
