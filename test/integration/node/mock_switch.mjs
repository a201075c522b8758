#!/usr/bin/env node
// mock_switch.mjs — a fake centralita HTTP server for developing the dashboard (web/) and
// its browser check (dashboard_check.mjs) without building the switch.
//
// It implements the dashboard's side of the switch's HTTP contract with fake data: the
// static files of web/ (`/` -> index.html, `/<file>`), GET /api/stats,
// /api/registrations (aor=glob, limit, after=cursor), /api/calls, and the WebSocket event
// stream /events (hello, event=/attribute filters, since= replay with missed/replayed,
// subscribe/unsubscribe, dropped + close 1008), with Bearer / ?token= auth when --token is set.
//
//   cd test/integration/node && npm install
//   node mock_switch.mjs [--port 8080] [--host 127.0.0.1] [--token T] [--rate 20]
//                        [--registrations 40] [--calls 6] [--heartbeat-s 20] [--quiet]
//                        [--web ../../../web]
//
//   --rate N      random events per second (REGISTER refreshes, calls, DTMF, pushes, ...)
//   --quiet       no random events, no seeded data: only what you ask for (used by the check)
//   --port 0      picks a free port; the first stdout line is always "LISTENING <port>"
//
// Control, to provoke what the page must show:
//   stdin lines:  register AOR [CONTACT]   unregister AOR [CONTACT]   call FROM TO
//                 push AOR                 rate N                      burst N (N events now)
//                 drop     (send "dropped" and close 1008 to every stream client)
//                 close    (close every stream client, 1001: the page reconnects with since=)
//                 forget N (forget the oldest N replay events so the next reconnect is "missed")
//   HTTP:         POST or GET /mock/register?aor=AOR[&contact=C]   (also /mock/unregister,
//                 /mock/drop, /mock/close, /mock/forget?n=N) — no auth needed.

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { WebSocketServer } from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));

function parse_args(argv) {
  const opts = {
    port: 8080, host: '127.0.0.1', token: '', rate: 20, registrations: 40, calls: 6,
    heartbeat_s: 20, quiet: false, web: path.resolve(here, '../../../web'),
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--port') opts.port = Number(next());
    else if (a === '--host') opts.host = next();
    else if (a === '--token') opts.token = next();
    else if (a === '--rate') opts.rate = Number(next());
    else if (a === '--registrations') opts.registrations = Number(next());
    else if (a === '--calls') opts.calls = Number(next());
    else if (a === '--heartbeat-s') opts.heartbeat_s = Number(next());
    else if (a === '--quiet') opts.quiet = true;
    else if (a === '--web') opts.web = path.resolve(next());
    else { console.error(`unknown argument ${a}`); process.exit(2); }
  }
  if (opts.quiet) { opts.rate = 0; opts.registrations = 0; opts.calls = 0; }
  return opts;
}

const opts = parse_args(process.argv);
const NODE = 'mock1';
const VERSION = '0.6.0';
const REPLAY_SIZE = 10000;
const started = Date.now();

// ---------------------------------------------------------------------------------------
// Shell wildcards (*, ?, [...]) as used by the stream's attribute filters and ?aor=.

function glob_to_regexp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else { re += '[' + glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']'; i = end; }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

// ---------------------------------------------------------------------------------------
// Fake switch state.

const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan',
  'judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert', 'sybil', 'trent', 'victor',
  'walter', 'zoe'];
const domains = ['example.com', 'voip.example.net', 'pbx.acme.test'];
const agents = ['Linphone/5.2.5 (belle-sip/5.2.94)', 'Zoiper rv2.10.19.3', 'Yealink SIP-T46U 108.86.0.45',
  'Bria iOS 6.17.2', 'baresip v3.10.1 (x86_64/linux)', 'sipp', 'Grandstream GXP2170 1.0.11.23',
  'MicroSIP/3.21.3', 'Acrobits Softphone 7.1 (iOS)'];
const transports = ['udp', 'tcp', 'tls', 'ws'];

const bindings = new Map();   // "aor\ncontact" -> binding
const calls = new Map();      // call_id -> call
const waits = new Map();      // push_id -> pending push
const counters = {
  requests: { REGISTER: 0, INVITE: 0, ACK: 0, BYE: 0, CANCEL: 0, OPTIONS: 0, MESSAGE: 0, INFO: 0 },
  responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, '6xx': 0 },
  push: { sent: 0, failed: 0, woke: 0 },
  events: { published: 0, delivered: 0, dropped: 0 },
};
let transactions = 0;
let suspended_routings = 0;
let seq = 0;
const replay = [];            // the last REPLAY_SIZE events, oldest first
let forgotten_up_to = 0;      // events with seq <= this are no longer replayable
let starts_this_interval = 0;
const clients = new Set();    // stream_client, one per open /events socket

const pick = (a) => a[Math.floor(Math.random() * a.length)];
const rand_int = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
const hex = (n) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const random_aor = () => `${pick(users)}${Math.random() < 0.5 ? '' : rand_int(1, 99)}@${pick(domains)}`;

function publish(name, attributes) {
  const event = { type: 'event', name, seq: ++seq, timestamp: Date.now(), node: NODE,
    attributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v ?? '')])) };
  replay.push(event);
  if (replay.length > REPLAY_SIZE) forgotten_up_to = replay.shift().seq;
  counters.events.published++;
  for (const client of clients) client.offer(event);
  return event;
}

function register(aor, contact, extra = {}) {
  const user = aor.split('@')[0];
  contact ??= `sip:${user}@127.0.0.${rand_int(2, 250)}:${rand_int(5060, 5999)}`;
  const m = /@([\d.]+):(\d+)/.exec(contact) ?? [null, '127.0.0.1', '5060'];
  const key = `${aor}\n${contact}`;
  const old = bindings.get(key);
  const b = old ?? {
    aor, contact, source_ip: m[1], source_port: m[2], transport: pick(transports),
    user_agent: pick(agents), instance: Math.random() < 0.3 ? `<urn:uuid:${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}>` : '',
    reg_id: '', pn_provider: '', pn_prid: '', pn_param: '', call_id: `${hex(16)}@mock`,
    ...extra,
  };
  b.expires_at = Date.now() + (extra.expires ?? pick([60, 300, 600, 3600])) * 1000;
  bindings.set(key, b);
  counters.requests.REGISTER++;
  counters.responses['2xx']++;
  publish('REGISTER', binding_attributes(b, Math.round((b.expires_at - Date.now()) / 1000)));
  return b;
}

function binding_attributes(b, expires) {
  return { aor: b.aor, contact: b.contact, expires, source_ip: b.source_ip, source_port: b.source_port,
    transport: b.transport, user_agent: b.user_agent, instance: b.instance, reg_id: b.reg_id,
    pn_provider: b.pn_provider, pn_prid: b.pn_prid, pn_param: b.pn_param, call_id: b.call_id };
}

function unregister(aor, contact, name = 'UNREGISTER') {
  for (const [key, b] of bindings) {
    if (b.aor !== aor || (contact && b.contact !== contact)) continue;
    bindings.delete(key);
    if (name === 'UNREGISTER') { counters.requests.REGISTER++; counters.responses['2xx']++; }
    publish(name, binding_attributes(b, 0));
  }
}

function start_call(from_user, to_user) {
  const domain = pick(domains);
  const call = { call_id: `${hex(20)}@mock`, from: `sip:${from_user}@${domain}`, to: `sip:${to_user}@${domain}`,
    ruri: `sip:${to_user}@${domain}`, state: 'ringing', started_ms: Date.now(), answered_ms: 0 };
  calls.set(call.call_id, call);
  counters.requests.INVITE++;
  counters.responses['1xx'] += 2;
  transactions++;
  starts_this_interval++;
  publish('CALL_START', { call_id: call.call_id, from: call.from, to: call.to, ruri: call.ruri,
    code: '', reason: '', duration_ms: '' });
  return call;
}

function answer_call(call) {
  call.state = 'answered';
  call.answered_ms = Date.now();
  counters.responses['2xx']++;
  counters.requests.ACK++;
  publish('CALL_ANSWER', { call_id: call.call_id, from: call.from, to: call.to, ruri: call.ruri,
    code: '200', reason: 'OK', duration_ms: '' });
}

function end_call(call, code, reason) {
  calls.delete(call.call_id);
  transactions = Math.max(0, transactions - 1);
  if (code === 200) { counters.requests.BYE++; counters.responses['2xx']++; }
  else counters.responses[`${String(code)[0]}xx`]++;
  publish('CALL_END', { call_id: call.call_id, from: call.from, to: call.to, ruri: call.ruri, code,
    reason, duration_ms: call.answered_ms ? Date.now() - call.answered_ms : 0 });
}

function send_push(aor, kind = 'call') {
  const push_id = hex(12);
  const provider = pick(['apns', 'fcm']);
  const p = { push_id, provider, aor, pn_prid: hex(32), call_id: `${hex(16)}@mock`, kind, sent: Date.now() };
  waits.set(push_id, p);
  counters.push.sent++;
  suspended_routings++;
  publish('PUSH_SENT', { ...push_fields(p), attempts: 1, latency_ms: rand_int(40, 400), status: 200 });
  return p;
}

function push_fields(p) {
  return { push_id: p.push_id, provider: p.provider, aor: p.aor, pn_prid: p.pn_prid, call_id: p.call_id,
    kind: p.kind, attempts: '', latency_ms: '', status: '', reason: '', gone: '', delay_ms: '', contact: '' };
}

function settle_push(p) {
  waits.delete(p.push_id);
  suspended_routings = Math.max(0, suspended_routings - 1);
  if (Math.random() < 0.75) {
    counters.push.woke++;
    publish('PUSH_WOKE', { ...push_fields(p), attempts: 1, status: 200, delay_ms: Date.now() - p.sent,
      contact: `sip:${p.aor.split('@')[0]}@10.0.0.${rand_int(2, 250)}:${rand_int(30000, 60000)};transport=tcp` });
  } else {
    counters.push.failed++;
    publish('PUSH_FAILED', { ...push_fields(p), attempts: 3, status: '',
      reason: 'timeout after 1000 ms (after 3 attempts)', gone: 'false' });
  }
}

function heartbeat() {
  publish('HEARTBEAT', { active_calls: calls.size, registrations: bindings.size, transactions,
    cps: (starts_this_interval / opts.heartbeat_s).toFixed(2), suspended_routings,
    cpu_idle: rand_int(70, 97), max_sessions: 0, uptime_ms: Date.now() - started, version: VERSION });
  starts_this_interval = 0;
}

// One random event, weighted towards what a busy switch does.
function random_event() {
  const r = Math.random();
  const list = [...bindings.values()];
  if (r < 0.30 && list.length) {
    const b = pick(list);
    register(b.aor, b.contact);
  } else if (r < 0.36) {
    register(random_aor());
  } else if (r < 0.40 && list.length > 5) {
    const b = pick(list);
    unregister(b.aor, b.contact, Math.random() < 0.5 ? 'UNREGISTER' : 'EXPIRED');
  } else if (r < 0.62) {
    if (calls.size < 60) start_call(pick(users), pick(users));
  } else if (r < 0.74) {
    const ringing = [...calls.values()].filter((c) => c.state === 'ringing');
    if (ringing.length) answer_call(pick(ringing));
  } else if (r < 0.86) {
    const c = pick([...calls.values()]);
    if (c) {
      if (c.state === 'answered') end_call(c, 200, Math.random() < 0.5 ? 'caller hung up' : 'callee hung up');
      else end_call(c, pick([486, 487, 480, 603, 404]), pick(['Busy Here', 'Request Terminated', 'Temporarily Unavailable', 'Decline', 'Not Found']));
    }
  } else if (r < 0.90) {
    const c = pick([...calls.values()].filter((x) => x.state === 'answered'));
    if (c) publish('DTMF', { call_id: c.call_id, digit: pick([...'0123456789*#']), duration_ms: 250, source: pick(['info', 'rfc2833']) });
  } else if (r < 0.93) {
    if (waits.size < 8) send_push(random_aor(), pick(['call', 'call', 'message', 'refresh']));
  } else if (r < 0.96) {
    const p = pick([...waits.values()]);
    if (p && Date.now() - p.sent > 1500) settle_push(p);
  } else if (r < 0.975) {
    counters.requests.MESSAGE++;
    counters.responses['4xx']++;
    publish('TRANSACTION_TIMEOUT', { call_id: `${hex(16)}@mock`, method: pick(['MESSAGE', 'INVITE', 'OPTIONS']),
      ruri: `sip:${pick(users)}@127.0.0.1:${rand_int(5060, 5999)}`, destination: `127.0.0.1:${rand_int(5060, 5999)}` });
  } else if (r < 0.985) {
    publish('CUSTOM', { subclass: pick(['billing::cdr', 'script::alert', 'lcr::route']), call_id: `${hex(16)}@mock`,
      note: pick(['route chosen: carrier-b', 'credit low', 'blacklisted caller'])});
  } else {
    counters.requests.OPTIONS++;
    counters.responses['2xx']++;
  }
}

// Seed.
for (let i = 0; i < opts.registrations; i++) {
  const b = register(random_aor());
  if (Math.random() < 0.2) Object.assign(b, { pn_provider: pick(['apns', 'fcm']), pn_prid: hex(32) });
}
for (let i = 0; i < opts.calls; i++) {
  const c = start_call(pick(users), pick(users));
  c.started_ms -= rand_int(5, 400) * 1000;
  if (Math.random() < 0.7) { answer_call(c); c.answered_ms = c.started_ms + rand_int(2, 20) * 1000; }
}
if (!opts.quiet) send_push(random_aor());
// Five minutes of history in the replay buffer, so a freshly opened page has a chart.
if (!opts.quiet && opts.rate > 0) {
  const real_now = Date.now;
  for (let t = real_now() - 300000; t < real_now(); t += 1000 / Math.min(opts.rate, 30)) {
    Date.now = () => t;
    random_event();
  }
  Date.now = real_now;
  for (const b of bindings.values()) b.expires_at = Math.max(b.expires_at, Date.now() + 30000);
}

// ---------------------------------------------------------------------------------------
// Event stream clients.

class stream_client {
  constructor(ws, params) {
    this.ws = ws;
    this.subs = new Map();
    this.next_id = 1;
    this.closing = false;
    const names = params.getAll('event');
    const filter = {};
    for (const [k, v] of params) if (!['event', 'since', 'token'].includes(k)) filter[k] = v;
    for (const name of names.length ? names : ['*']) this.add_sub(name, filter, false);
  }
  add_sub(name, filter, announce) {
    const id = this.next_id++;
    const matchers = Object.entries(filter).map(([k, v]) => [k, glob_to_regexp(String(v))]);
    this.subs.set(id, { name, matchers });
    if (announce) {
      const text = [name, ...Object.entries(filter).map(([k, v]) => `${k}=${v}`)].join(' ');
      this.send({ type: 'subscribed', id, event: name, filter: text });
    }
  }
  matches(event) {
    for (const s of this.subs.values()) {
      if (s.name !== '*' && s.name !== event.name) continue;
      if (s.matchers.every(([k, re]) => re.test(event.attributes[k] ?? ''))) return true;
    }
    return false;
  }
  send(obj) { if (this.ws.readyState === 1) this.ws.send(JSON.stringify(obj)); }
  offer(event) {
    if (this.closing || !this.matches(event)) return;
    // The real switch bounds what it queues per client; a browser that cannot keep up is
    // told what it lost and closed with 1008.
    if (this.ws.bufferedAmount > 8 * 1024 * 1024) { this.drop(event.seq, event.seq); return; }
    this.send(event);
    counters.events.delivered++;
  }
  drop(first, last) {
    this.closing = true;
    counters.events.dropped += last - first + 1;
    this.send({ type: 'dropped', count: last - first + 1, first_seq: first, last_seq: last });
    this.ws.close(1008, 'too slow');
  }
  on_message(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { this.send({ type: 'error', message: 'not JSON' }); return; }
    if (typeof msg.subscribe === 'string') this.add_sub(msg.subscribe, msg.filter ?? {}, true);
    else if (msg.unsubscribe !== undefined) {
      if (this.subs.delete(Number(msg.unsubscribe))) this.send({ type: 'unsubscribed', id: Number(msg.unsubscribe) });
      else this.send({ type: 'error', message: `no subscription ${msg.unsubscribe}` });
    } else this.send({ type: 'error', message: 'expected subscribe or unsubscribe' });
  }
}

// ---------------------------------------------------------------------------------------
// HTTP.

const content_types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon' };

function send_json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(text);
}
const api_error = (res, status, message) => send_json(res, status, { error: { status, message } });

function authorised(req, url) {
  if (!opts.token) return true;
  return req.headers.authorization === `Bearer ${opts.token}` || url.searchParams.get('token') === opts.token;
}

function stats() {
  return { node: NODE, version: VERSION, uptime_ms: Date.now() - started, registrations: bindings.size,
    active_calls: calls.size, transactions, suspended_routings,
    events: { ...counters.events, subscriptions: [...clients].reduce((n, c) => n + c.subs.size, 0), stream_clients: clients.size },
    push: counters.push, sip: { requests: counters.requests, responses: counters.responses } };
}

function registrations_page(url) {
  const limit = Math.max(1, Math.min(1000, Number(url.searchParams.get('limit') ?? 100) || 100));
  const pattern = url.searchParams.get('aor');
  const re = pattern ? glob_to_regexp(pattern) : null;
  const all = [...bindings.values()].filter((b) => !re || re.test(b.aor))
    .sort((a, b) => (a.aor + '\n' + a.contact).localeCompare(b.aor + '\n' + b.contact));
  const after = url.searchParams.get('after');
  const start = after ? all.findIndex((b) => Buffer.from(`${b.aor}\n${b.contact}`).toString('base64url') > after) : 0;
  const page = start < 0 ? [] : all.slice(start, start + limit);
  const last = page.at(-1);
  const more = start >= 0 && start + limit < all.length;
  return { registrations: page.map((b) => ({ aor: b.aor, contact: b.contact,
    expires: Math.max(0, Math.round((b.expires_at - Date.now()) / 1000)), source: `${b.source_ip}:${b.source_port}`,
    transport: b.transport, user_agent: b.user_agent, instance: b.instance, pn_provider: b.pn_provider, pn_prid: b.pn_prid })),
  total: all.length, next: more ? Buffer.from(`${last.aor}\n${last.contact}`).toString('base64url') : null };
}

async function serve_static(res, pathname) {
  const name = pathname === '/' ? 'index.html' : pathname.slice(1);
  if (!/^[\w.-]+$/.test(name)) { api_error(res, 404, 'not found'); return; }
  try {
    const body = await readFile(path.join(opts.web, name));
    res.writeHead(200, { 'Content-Type': content_types[path.extname(name)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
    res.end(body);
  } catch { api_error(res, 404, 'not found'); }
}

function control(url) {
  const op = url.pathname.slice('/mock/'.length);
  const aor = url.searchParams.get('aor');
  const contact = url.searchParams.get('contact') || undefined;
  if (op === 'register' && aor) return register(aor, contact, { expires: 3600 });
  if (op === 'unregister' && aor) return unregister(aor, contact), {};
  if (op === 'drop') return drop_all(), {};
  if (op === 'close') return close_all(), {};
  if (op === 'forget') return forget(Number(url.searchParams.get('n')) || 0), {};
  return null;
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/mock/')) {
    const r = control(url);
    if (r) send_json(res, 200, { ok: true }); else api_error(res, 400, 'bad mock command');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') { api_error(res, 405, 'method not allowed'); return; }
  if (!url.pathname.startsWith('/api/')) { serve_static(res, url.pathname); return; }
  if (!authorised(req, url)) { api_error(res, 401, 'missing or wrong bearer token'); return; }
  if (url.pathname === '/api/stats') send_json(res, 200, stats());
  else if (url.pathname === '/api/registrations') send_json(res, 200, registrations_page(url));
  else if (url.pathname === '/api/calls') send_json(res, 200, { calls: [...calls.values()], total: calls.size });
  else api_error(res, 404, 'no such API');
});

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/events' || !authorised(req, url)) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const client = new stream_client(ws, url.searchParams);
    client.send({ type: 'hello', node: NODE, version: VERSION, seq, replay_size: REPLAY_SIZE });
    const since = url.searchParams.get('since');
    if (since !== null) {
      const from = Number(since);
      if (from < forgotten_up_to) {
        client.send({ type: 'missed', count: forgotten_up_to - from, first_seq: from + 1, last_seq: forgotten_up_to });
      }
      let n = 0;
      for (const e of replay) if (e.seq > from && client.matches(e)) { client.send(e); n++; }
      client.send({ type: 'replayed', count: n, up_to: seq });
    }
    clients.add(client);
    ws.on('message', (data) => client.on_message(String(data)));
    ws.on('close', () => clients.delete(client));
    ws.on('error', () => clients.delete(client));
  });
});

// Forget the oldest n replay events (0: all), so a client resuming before them is "missed".
function forget(n) {
  n = Math.min(replay.length, n || replay.length);
  if (n) forgotten_up_to = replay.splice(0, n).at(-1).seq;
}

function drop_all() { for (const c of clients) c.drop(Math.max(1, seq - 41), seq); }
function close_all() { for (const c of clients) c.ws.close(1001, 'going away'); }

// ---------------------------------------------------------------------------------------
// Timers and stdin.

let rate = opts.rate;
let carry = 0;
setInterval(() => {
  carry += rate / 20;
  for (; carry >= 1; carry--) random_event();
  for (const p of waits.values()) if (Date.now() - p.sent > 70000) waits.delete(p.push_id);
  for (const [key, b] of bindings) {
    if (b.expires_at < Date.now()) { bindings.delete(key); publish('EXPIRED', binding_attributes(b, 0)); }
  }
}, 50);
if (opts.heartbeat_s > 0) setInterval(heartbeat, opts.heartbeat_s * 1000);

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, a, b] = line.trim().split(/\s+/);
  if (cmd === 'register' && a) register(a, b, { expires: 3600 });
  else if (cmd === 'unregister' && a) unregister(a, b);
  else if (cmd === 'call' && a && b) start_call(a, b);
  else if (cmd === 'push' && a) send_push(a);
  else if (cmd === 'rate') rate = Number(a) || 0;
  else if (cmd === 'burst') for (let i = 0; i < Number(a); i++) random_event();
  else if (cmd === 'drop') drop_all();
  else if (cmd === 'close') close_all();
  else if (cmd === 'forget') forget(Number(a) || 0);
  else if (cmd) console.error(`mock: unknown command: ${line}`);
});
rl.on('close', () => {});   // stdin closed (e.g. </dev/null): keep serving

server.listen(opts.port, opts.host, () => {
  console.log(`LISTENING ${server.address().port}`);
  console.error(`mock switch on http://${opts.host}:${server.address().port}/${opts.token ? `?token=${opts.token}` : ''}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
