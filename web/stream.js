// The switch's event stream (WebSocket /events), kept open across drops.
//
// Lossless reconnect: every event carries the node's sequence number; after a close the
// stream reconnects with since=<last seq seen>, the switch replays what came after it and
// says "missed" when its replay buffer no longer holds some of it. Backoff 1, 2, 4, 8, 10 s.
// A switch that restarted numbers from 0 again: a hello with another "boot" time (or from
// another node, or whose seq is behind ours) is reported as a restart, and the app reloads
// its state from the API.
// The first connection asks for since=0: the switch replays what its buffer holds, so the
// page opens with a filled log and chart (a "missed" then only says the buffer wrapped).

const BACKOFF_MS = [1000, 2000, 4000, 8000, 10000];
const STABLE_MS = 10000;          // a connection that lived this long resets the backoff

export class event_stream {
  /// handlers: on_hello(hello, {restarted, resumed}), on_event(event, replaying),
  /// on_control(message) for missed/replayed/dropped/error/subscribed, on_change() after
  /// any state change (state, retry_at).
  constructor(url_for, handlers) {
    this.url_for_ = url_for;
    this.h_ = handlers;
    this.ws_ = null;
    this.state = 'disconnected';  // connected | reconnecting | disconnected
    this.retry_at = 0;            // when the next attempt starts (ms, Date.now() clock)
    this.last_seq = null;         // last sequence number applied; null before any hello
    this.initial = true;          // until the first connection's replay is over
    this.node = null;
    this.boot = null;             // the switch's start time (hello.boot): a new one is a restart
    this.replaying = false;
    this.ever_connected = false;
    this.last_close = null;       // {code, reason} of the last close
    this.attempt_ = 0;
    this.opened_at_ = 0;
    this.retry_timer_ = 0;
    this.last_message_at_ = 0;
    this.last_heartbeat_at_ = 0;
    this.heartbeat_gap_ = 0;
    this.watchdog_ = setInterval(() => this.check_alive_(), 5000);
  }

  start() { this.connect_(); }

  /// Drop the current connection and reconnect at once (keeps since=).
  reconnect_now() {
    clearTimeout(this.retry_timer_);
    if (this.ws_) { this.ws_.close(4000, 'client reconnect'); return; }
    this.connect_();
  }

  connect_() {
    clearTimeout(this.retry_timer_);
    this.retry_at = 0;
    const since = this.last_seq ?? 0;
    let ws;
    try {
      ws = new WebSocket(this.url_for_({ since }));
    } catch {
      this.schedule_retry_();
      return;
    }
    this.ws_ = ws;
    this.sent_since_ = since;
    ws.onopen = () => {
      this.opened_at_ = Date.now();
      this.last_message_at_ = Date.now();
      this.ever_connected = true;
      this.set_state_('connected');
    };
    ws.onmessage = (m) => this.on_message_(m.data);
    ws.onclose = (c) => {
      if (this.ws_ !== ws) return;
      this.ws_ = null;
      this.replaying = false;
      this.last_close = { code: c.code, reason: c.reason };
      if (this.opened_at_ && Date.now() - this.opened_at_ > STABLE_MS) this.attempt_ = 0;
      this.opened_at_ = 0;
      this.schedule_retry_();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  schedule_retry_() {
    const delay = BACKOFF_MS[Math.min(this.attempt_, BACKOFF_MS.length - 1)];
    this.attempt_++;
    this.retry_at = Date.now() + delay;
    this.retry_timer_ = setTimeout(() => this.connect_(), delay);
    this.set_state_('reconnecting');
  }

  set_state_(s) {
    this.state = s;
    this.h_.on_change?.();
  }

  on_message_(text) {
    this.last_message_at_ = Date.now();
    let m;
    try { m = JSON.parse(text); } catch { return; }
    switch (m.type) {
      case 'event':
        if (this.last_seq !== null && m.seq <= this.last_seq) return;   // already applied
        this.last_seq = m.seq;
        if (m.name === 'HEARTBEAT') this.note_heartbeat_();
        this.h_.on_event(m, this.replaying);
        return;
      case 'hello': {
        const restarted = this.node !== null && (m.node !== this.node
          || (this.boot != null && m.boot != null && m.boot !== this.boot)
          || (this.last_seq !== null && m.seq < this.last_seq));
        const resumed = this.node !== null && !restarted;
        this.node = m.node;
        this.boot = m.boot;
        // Replayed events (seq > since) must not be taken for duplicates.
        this.last_seq = restarted ? m.seq : Math.min(this.sent_since_, m.seq);
        this.replaying = true;
        this.h_.on_hello(m, { restarted, resumed });
        return;
      }
      case 'replayed':
        this.replaying = false;
        this.initial = false;
        this.h_.on_control(m);
        return;
      default:
        this.h_.on_control(m);
    }
  }

  // A socket can die without a close (a NAT forgetting it): with heartbeats flowing,
  // silence for three heartbeat gaps means the connection is gone.
  note_heartbeat_() {
    const now = Date.now();
    if (this.last_heartbeat_at_) this.heartbeat_gap_ = now - this.last_heartbeat_at_;
    this.last_heartbeat_at_ = now;
  }

  check_alive_() {
    if (!this.ws_ || this.state !== 'connected' || !this.heartbeat_gap_) return;
    const limit = Math.max(30000, 3 * this.heartbeat_gap_ + 5000);
    if (Date.now() - this.last_message_at_ > limit) this.ws_.close(4001, 'no heartbeat');
  }

  send(obj) {
    if (this.ws_?.readyState === WebSocket.OPEN) this.ws_.send(JSON.stringify(obj));
  }
}

/// The same stream run in a dedicated worker (stream_worker.js): the worker takes the one
/// WebSocket message per event, parses it and hands the page a batch every FLUSH_MS, so at
/// thousands of events a second the page's thread is not spent on per-message overhead.
/// Exposes event_stream's fields and calls the same handlers, in the same order. Falls
/// back to an in-page event_stream when the worker cannot start.
export class worker_stream {
  constructor(url_for, handlers) {
    this.url_for_ = url_for;
    this.h_ = handlers;
    this.state = 'disconnected';
    this.retry_at = 0;
    this.last_seq = null;
    this.node = null;
    this.replaying = false;
    this.initial = true;
    this.ever_connected = false;
    this.last_close = null;
    this.fallback_ = null;
    this.heard_ = false;
  }

  start() {
    let w;
    try {
      w = new Worker(new URL('stream_worker.js', import.meta.url), { type: 'module' });
    } catch {
      this.use_fallback_();
      return;
    }
    this.worker_ = w;
    w.onmessage = (m) => { this.heard_ = true; this.on_batch_(m.data.items); };
    w.onerror = () => { if (!this.heard_) { w.terminate(); this.use_fallback_(); } };
    w.postMessage({ init: { base: this.url_for_({}) } });
  }

  use_fallback_() {
    const f = new event_stream(this.url_for_, {
      on_hello: (h, info) => { this.copy_(f); this.h_.on_hello(h, info); },
      on_event: (e, r) => { this.last_seq = f.last_seq; this.h_.on_event(e, r); },
      on_control: (c) => { this.copy_(f); this.h_.on_control(c); },
      on_change: () => { this.copy_(f); this.h_.on_change?.(); },
    });
    this.fallback_ = f;
    f.start();
  }

  copy_(s) {
    for (const k of ['state', 'retry_at', 'last_seq', 'node', 'replaying', 'initial', 'ever_connected', 'last_close']) this[k] = s[k];
  }

  on_batch_(items) {
    for (const it of items) {
      if (it.snap) this.copy_(it.snap);
      switch (it.k) {
        case 'event':
          this.last_seq = it.e.seq;
          this.h_.on_event(it.e, it.replaying);
          break;
        case 'hello': this.h_.on_hello(it.h, it.info); break;
        case 'control': this.h_.on_control(it.c); break;
        case 'change': this.h_.on_change?.(); break;
        default:
      }
    }
  }

  reconnect_now() {
    if (this.fallback_) this.fallback_.reconnect_now();
    else this.worker_?.postMessage({ reconnect: true });
  }

  send(obj) {
    if (this.fallback_) this.fallback_.send(obj);
    else this.worker_?.postMessage({ send: obj });
  }
}
