// The event log: newest on top, at most LOG_ROWS rows, filtered by event name or any
// attribute text, paused by its button or while the pointer is over it. New rows are
// prepended in one fragment per frame; a filter change rebuilds from the model's log.

import { el, fmt_clock, fmt_duration, fmt_int, set_text, short_uri } from './format.js';

const LOG_ROWS = 500;
const NEW_ROWS_MAX = 120;   // rows added per redraw at most; the rest is counted in a marker row

const BADGE = {
  REGISTER: 'ev-reg', UNREGISTER: 'ev-unreg', EXPIRED: 'ev-expired',
  CALL_START: 'ev-call', CALL_ANSWER: 'ev-answer', CALL_END: 'ev-end',
  TRANSACTION_TIMEOUT: 'ev-timeout', DTMF: 'ev-dtmf', HEARTBEAT: 'ev-heartbeat',
  PUSH_SENT: 'ev-push', PUSH_WOKE: 'ev-woke', PUSH_FAILED: 'ev-pushfail', CUSTOM: 'ev-custom',
};

// One line about an event: [text, class] pieces, the first the most telling.
function summary(name, a) {
  const kv = (keys) => keys.filter((k) => a[k]).map((k) => `${k}=${a[k]}`).join(' ');
  switch (name) {
    case 'REGISTER':
      return [[a.aor, 'm'], [a.contact, 'mono'], [`${(a.transport || '').toUpperCase()} · ${a.expires}s`, 'd'], [a.user_agent, 'd']];
    case 'UNREGISTER':
    case 'EXPIRED':
      return [[a.aor, 'm'], [a.contact, 'mono'], [a.user_agent, 'd']];
    case 'CALL_START':
      return [[`${short_uri(a.from)} → ${short_uri(a.to)}`, 'm'], [a.call_id, 'd mono']];
    case 'CALL_ANSWER':
      return [[`${short_uri(a.from)} → ${short_uri(a.to)}`, 'm'], [`${a.code} ${a.reason}`, ''], [a.call_id, 'd mono']];
    case 'CALL_END': {
      const bad = Number(a.code) >= 300;
      return [[`${short_uri(a.from)} → ${short_uri(a.to)}`, 'm'], [`${a.code} ${a.reason}`, bad ? 'bad' : ''],
        [a.duration_ms && a.duration_ms !== '0' ? fmt_duration(Number(a.duration_ms)) : '', 'mono'], [a.call_id, 'd mono']];
    }
    case 'TRANSACTION_TIMEOUT':
      return [[`${a.method} ${a.ruri}`, 'm'], [`→ ${a.destination}`, 'mono'], [a.call_id, 'd mono']];
    case 'DTMF':
      return [[`digit ${a.digit}`, 'm'], [`${a.duration_ms} ms · ${a.source}`, 'd'], [a.call_id, 'd mono']];
    case 'HEARTBEAT':
      return [[`calls ${a.active_calls} · regs ${a.registrations} · txn ${a.transactions} · cps ${a.cps}`, ''],
        [`idle ${a.cpu_idle}% · suspended ${a.suspended_routings}`, 'd']];
    case 'PUSH_SENT':
      return [[a.aor, 'm'], [`${a.kind} via ${a.provider}`, ''], [`HTTP ${a.status} · ${a.latency_ms} ms · try ${a.attempts}`, 'd']];
    case 'PUSH_WOKE':
      return [[a.aor, 'm'], [`woke after ${a.delay_ms} ms`, 'good'], [a.contact, 'd mono']];
    case 'PUSH_FAILED':
      return [[a.aor, 'm'], [a.reason || `HTTP ${a.status}`, 'bad'], [a.gone === 'true' ? 'token gone' : '', 'bad']];
    case 'CUSTOM':
      return [[a.subclass || 'custom', 'm'], [kv(Object.keys(a).filter((k) => k !== 'subclass')), 'd']];
    default:
      return [[kv(Object.keys(a)), '']];
  }
}

function search_text(e) {
  let s = e.name;
  for (const [k, v] of Object.entries(e.attributes ?? {})) s += ` ${k}=${v}`;
  return s.toLowerCase();
}

export class log_view {
  constructor(m, { list, scroll, filter, pause, meta }) {
    this.m_ = m;
    this.list_ = list;
    this.meta_ = meta;
    this.pause_btn_ = pause;
    this.terms_ = [];
    this.rendered_n_ = 0;   // the newest log entry (model log_seq) rendered
    this.paused_ = false;
    this.hover_ = false;
    this.rebuild_ = true;
    filter.addEventListener('input', () => {
      this.terms_ = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      this.rebuild_ = true;
      this.m_.dirty.log = true;
    });
    pause.addEventListener('click', () => {
      this.paused_ = !this.paused_;
      pause.setAttribute('aria-pressed', String(this.paused_));
      pause.querySelector('span').textContent = this.paused_ ? 'Resume' : 'Pause';
      pause.querySelector('use').setAttribute('href', this.paused_ ? '#i-play' : '#i-pause');
      this.m_.dirty.log = true;
    });
    scroll.addEventListener('pointerenter', () => { this.hover_ = true; this.m_.dirty.log = true; });
    scroll.addEventListener('pointerleave', () => { this.hover_ = false; this.m_.dirty.log = true; });
    list.addEventListener('click', (ev) => this.toggle_details_(ev));
  }

  get paused() { return this.paused_ || this.hover_; }

  matches_(entry) {
    if (!this.terms_.length) return true;
    entry.search ??= search_text(entry.e);
    return this.terms_.every((t) => entry.search.includes(t));
  }

  render() {
    const log = this.m_.log;
    const newest = log.length ? log[log.length - 1].n : 0;
    if (this.paused) {
      const waiting = newest - this.rendered_n_;
      set_text(this.meta_, `${this.paused_ ? 'paused' : 'paused while hovered'}${waiting > 0 ? ` · ${fmt_int(waiting)} new` : ''}`);
      this.meta_.classList.add('warn');
      return;
    }
    this.meta_.classList.remove('warn');
    // Newest first, matching, not yet shown: at most LOG_ROWS on a rebuild, NEW_ROWS_MAX
    // otherwise (at thousands of events a second nobody reads every row; the filter finds
    // the ones that matter, and a marker row says how many were passed over).
    const fresh = [];
    const since = this.rebuild_ ? 0 : this.rendered_n_;
    const max = this.rebuild_ ? LOG_ROWS : NEW_ROWS_MAX;
    let skipped = 0;
    for (let i = log.length - 1; i >= 0; i--) {
      const entry = log[i];
      if (entry.n <= since) break;
      if (!this.matches_(entry)) continue;
      if (fresh.length < max) fresh.push(entry);
      else if (this.rebuild_) break;
      else skipped++;
    }
    this.rendered_n_ = newest;
    if (this.rebuild_) {
      this.rebuild_ = false;
      this.list_.replaceChildren(...fresh.map((entry) => this.make_row_(entry.e)));
    } else if (fresh.length) {
      const frag = document.createDocumentFragment();
      for (const entry of fresh) frag.appendChild(this.make_row_(entry.e));
      if (skipped) frag.appendChild(el('li', 'ev-skip', `… ${fmt_int(skipped)} more event${skipped === 1 ? '' : 's'} not shown — filter to see them`));
      this.list_.prepend(frag);
      while (this.list_.childElementCount > LOG_ROWS) this.list_.lastElementChild.remove();
    }
    const n = this.list_.childElementCount;
    set_text(this.meta_, this.terms_.length ? `${fmt_int(n)} matching` : `last ${fmt_int(n)}`);
  }

  make_row_(e) {
    const li = el('li', 'ev');
    li.dataset.event = e.name;
    li.dataset.seq = e.seq;
    const a = e.attributes ?? {};
    if (a.aor) li.dataset.aor = a.aor;
    const label = e.name === 'CUSTOM' && a.subclass ? 'CUSTOM' : e.name;
    const badge = el('span', `badge ${BADGE[e.name] ?? 'ev-other'}`, label.replace('TRANSACTION_', 'TXN_'));
    if (e.name === 'CALL_END' && Number(a.code) >= 300) badge.classList.add('ev-endfail');
    li.append(el('time', 'ts mono', fmt_clock(e.timestamp)), badge);
    const text = el('span', 'sum');
    for (const [t, cls] of summary(e.name, a)) if (t) text.appendChild(el('span', cls || null, t));
    li.appendChild(text);
    li._event = e;
    return li;
  }

  toggle_details_(ev) {
    const li = ev.target.closest('li.ev');
    if (!li) return;
    const open = li.querySelector('.details');
    if (open) { open.remove(); li.classList.remove('open'); return; }
    const e = li._event;
    const dl = el('dl', 'details');
    dl.append(el('dt', null, 'seq'), el('dd', 'mono', `${e.seq} · ${e.node ?? ''}`));
    for (const [k, v] of Object.entries(e.attributes ?? {})) {
      if (v === '') continue;
      dl.append(el('dt', null, k), el('dd', 'mono', v));
    }
    li.appendChild(dl);
    li.classList.add('open');
  }
}
