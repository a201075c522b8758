// What the page knows about the switch, built from API snapshots and stream events.
//
// Times are the switch's clock (event timestamps, started_ms): server_now() estimates it
// from the freshest event, so countdowns and durations do not depend on the browser's
// clock being right. Nothing here touches the DOM: the views read the model and the
// `dirty` flags once per animation frame.

export const REGISTRATIONS_CAP = 5000;   // bindings loaded from the API at most
export const LOG_KEEP = 2000;            // events kept for the log (filtering digs into these)
export const WAIT_GIVE_UP_MS = 60000;
const CPS_WINDOW_S = 300;

export const binding_key = (aor, contact) => `${aor}\n${contact}`;

export class model {
  constructor() {
    this.bindings = new Map();      // binding_key -> binding
    this.calls = new Map();         // call_id -> call
    this.waits = new Map();         // push_id -> wait
    this.log = [];                  // newest last, at most LOG_KEEP
    this.log_seq = 0;               // events ever added to the log (rows know theirs)
    this.cps = new Uint32Array(CPS_WINDOW_S);  // calls started per second, ring indexed by epoch second
    this.cps_sec = new Float64Array(CPS_WINDOW_S);  // which epoch second each slot holds
    this.stats = null;              // last /api/stats answer
    this.stats_at = 0;              // when (browser clock)
    this.prev_stats = null;
    this.prev_stats_at = 0;
    this.heartbeat = null;          // attributes of the last HEARTBEAT
    this.suspended_routings = null;
    this.hello = null;
    this.uptime_base = null;        // {uptime_ms, at} for a ticking uptime
    this.clock_offset = null;       // switch clock minus browser clock, ms
    this.registrations_capped = false;
    this.registrations_total = 0;   // the API's total at the last load
    this.event_times = [];          // browser receive times of live events, for events/s
    this.busy = false;              // set by the app when events come too fast for row effects
    this.dirty = { bindings: true, calls: true, waits: true, log: true, chart: true, stats: true, header: true };
  }

  server_now() { return Date.now() + (this.clock_offset ?? 0); }

  // An event reaches us after it was stamped, so timestamp - now underestimates the offset;
  // the largest recent sample is the best estimate. Decay lets a clock step show through.
  note_clock_(timestamp) {
    const sample = timestamp - Date.now();
    if (this.clock_offset === null || sample > this.clock_offset) this.clock_offset = sample;
    else this.clock_offset -= Math.min(1, this.clock_offset - sample);
  }

  // --- snapshots from the API ---------------------------------------------------------

  /// Replace the bindings with an API snapshot (rows of /api/registrations).
  load_registrations(rows, { total, capped }) {
    const now = this.server_now();
    this.bindings.clear();
    for (const r of rows) {
      const [ip, port] = split_source(r.source);
      this.bindings.set(binding_key(r.aor, r.contact), {
        aor: r.aor, contact: r.contact, transport: r.transport ?? '', source: r.source ?? '',
        source_ip: ip, source_port: port, user_agent: r.user_agent ?? '', instance: r.instance ?? '',
        pn_provider: r.pn_provider ?? '', pn_prid: r.pn_prid ?? '',
        expires_at: now + Number(r.expires ?? 0) * 1000, changed_at: 0,
      });
    }
    this.registrations_total = total;
    this.registrations_capped = capped;
    this.dirty.bindings = true;
  }

  /// Replace the calls with an API snapshot (rows of /api/calls).
  load_calls(rows) {
    this.calls.clear();
    for (const c of rows) this.calls.set(c.call_id, { ...c, changed_at: 0 });
    this.dirty.calls = true;
  }

  set_stats(s) {
    this.prev_stats = this.stats;
    this.prev_stats_at = this.stats_at;
    this.stats = s;
    this.stats_at = Date.now();
    this.uptime_base = { uptime_ms: s.uptime_ms, at: Date.now() };
    this.suspended_routings = s.suspended_routings;
    this.dirty.stats = this.dirty.header = true;
  }

  uptime_ms() {
    return this.uptime_base ? this.uptime_base.uptime_ms + (Date.now() - this.uptime_base.at) : null;
  }

  // --- events ---------------------------------------------------------------------------

  /// Apply one stream event; `replaying` is true for events the switch replays after a
  /// reconnect (they update state and the log but not the events/s rate).
  apply(e, replaying = false) {
    if (!replaying) {
      if (typeof e.timestamp === 'number') this.note_clock_(e.timestamp);
      this.event_times.push(Date.now());
    }
    const a = e.attributes ?? {};
    switch (e.name) {
      case 'REGISTER': this.on_register_(e, a, replaying); break;
      case 'UNREGISTER':
      case 'EXPIRED': this.on_unregister_(a); break;
      case 'CALL_START': this.on_call_start_(e, a, replaying); break;
      case 'CALL_ANSWER': this.on_call_answer_(e, a); break;
      case 'CALL_END':
        if (this.calls.delete(a.call_id)) this.dirty.calls = true;
        break;
      case 'PUSH_SENT':
        if (a.kind === 'call' || a.kind === 'message') {
          this.waits.set(a.push_id, { push_id: a.push_id, aor: a.aor, provider: a.provider, kind: a.kind,
            call_id: a.call_id, sent_ms: e.timestamp - Number(a.latency_ms || 0) });
          this.dirty.waits = true;
        }
        break;
      case 'PUSH_WOKE':
      case 'PUSH_FAILED':
        if (this.waits.delete(a.push_id)) this.dirty.waits = true;
        break;
      case 'HEARTBEAT':
        this.heartbeat = a;
        this.suspended_routings = Number(a.suspended_routings);
        if (a.uptime_ms) this.uptime_base = { uptime_ms: Number(a.uptime_ms) + (Date.now() + (this.clock_offset ?? 0) - e.timestamp), at: Date.now() };
        this.dirty.stats = this.dirty.header = true;
        break;
      default:
    }
    this.log.push({ n: ++this.log_seq, e, search: null });
    if (this.log.length > LOG_KEEP + 500) this.log.splice(0, this.log.length - LOG_KEEP);
    this.dirty.log = true;
  }

  /// Apply a binding or call event again on top of a snapshot loaded after it arrived
  /// (no log row, no chart count: apply() did those).
  reapply(e) {
    const a = e.attributes ?? {};
    switch (e.name) {
      case 'REGISTER': this.on_register_(e, a, true); break;
      case 'UNREGISTER':
      case 'EXPIRED': this.on_unregister_(a); break;
      case 'CALL_START':
        if (!this.calls.has(a.call_id)) {
          this.calls.set(a.call_id, { call_id: a.call_id, from: a.from, to: a.to, ruri: a.ruri, state: 'ringing',
            started_ms: e.timestamp, answered_ms: 0, changed_at: 0 });
          this.dirty.calls = true;
        }
        break;
      case 'CALL_ANSWER': this.on_call_answer_(e, a); break;
      case 'CALL_END':
        if (this.calls.delete(a.call_id)) this.dirty.calls = true;
        break;
      default:
    }
  }

  // changed_at: when the row appeared (it glows a moment), 0 for what a replay or snapshot brought.
  on_register_(e, a, replaying) {
    const key = binding_key(a.aor, a.contact);
    const old = this.bindings.get(key);
    // A capped list is a partial view: it takes new bindings only while below the cap.
    if (!old && this.registrations_capped && this.bindings.size >= REGISTRATIONS_CAP) return;
    this.bindings.set(key, {
      aor: a.aor, contact: a.contact, transport: a.transport ?? '',
      source: a.source_ip ? `${a.source_ip}:${a.source_port}` : (old?.source ?? ''),
      source_ip: a.source_ip ?? '', source_port: a.source_port ?? '', user_agent: a.user_agent ?? '',
      instance: a.instance ?? '', pn_provider: a.pn_provider ?? '', pn_prid: a.pn_prid ?? '',
      expires_at: e.timestamp + Number(a.expires || 0) * 1000,
      changed_at: old ? old.changed_at : (replaying ? 0 : Date.now()),
      refreshed_at: Date.now(),
    });
    this.dirty.bindings = true;
  }

  on_unregister_(a) {
    if (this.bindings.delete(binding_key(a.aor, a.contact))) this.dirty.bindings = true;
  }

  on_call_start_(e, a, replaying) {
    // RFC 3261 §12: a call is a dialog; the switch names it by its Call-ID.
    if (!this.calls.has(a.call_id)) {
      this.calls.set(a.call_id, { call_id: a.call_id, from: a.from, to: a.to, ruri: a.ruri, state: 'ringing',
        started_ms: e.timestamp, answered_ms: 0, changed_at: replaying ? 0 : Date.now() });
      this.dirty.calls = true;
    }
    const sec = Math.floor(e.timestamp / 1000);
    const i = sec % CPS_WINDOW_S;
    if (this.cps_sec[i] !== sec) { this.cps_sec[i] = sec; this.cps[i] = 0; }
    this.cps[i]++;
    this.dirty.chart = true;
  }

  on_call_answer_(e, a) {
    const c = this.calls.get(a.call_id);
    if (!c) return;
    c.state = 'answered';
    c.answered_ms = e.timestamp;
    this.dirty.calls = true;
  }

  /// Calls started in each of the last `n` seconds, oldest first, ending with the current one.
  cps_series(n = CPS_WINDOW_S) {
    const now_sec = Math.floor(this.server_now() / 1000);
    const out = new Array(n);
    for (let k = 0; k < n; k++) {
      const sec = now_sec - (n - 1) + k;
      const i = ((sec % CPS_WINDOW_S) + CPS_WINDOW_S) % CPS_WINDOW_S;
      out[k] = this.cps_sec[i] === sec ? this.cps[i] : 0;
    }
    return { series: out, end_sec: now_sec };
  }

  /// Events received per second over the last 3 s.
  events_rate() {
    const cutoff = Date.now() - 3000;
    let i = 0;
    while (i < this.event_times.length && this.event_times[i] < cutoff) i++;
    if (i) this.event_times.splice(0, i);
    return this.event_times.length / 3;
  }

  /// Drop waits older than WAIT_GIVE_UP_MS; true when any went.
  expire_waits() {
    const cutoff = this.server_now() - WAIT_GIVE_UP_MS;
    let gone = false;
    for (const [id, w] of this.waits) if (w.sent_ms < cutoff) { this.waits.delete(id); gone = true; }
    if (gone) this.dirty.waits = true;
    return gone;
  }
}

function split_source(source) {
  const s = String(source ?? '');
  const i = s.lastIndexOf(':');
  return i < 0 ? [s, ''] : [s.slice(0, i).replace(/^\[|\]$/g, ''), s.slice(i + 1)];
}
