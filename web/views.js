// The registrations, calls and push-wait lists: keyed rows reconciled against the model,
// so a refresh rewrites a few cells and the 1 s tick only touches countdown cells.

import { el, fmt_duration, fmt_expires, fmt_int, set_text, short_uri } from './format.js';
import { WAIT_GIVE_UP_MS, binding_key } from './model.js';

const REG_ROWS_MAX = 500;    // rows in the DOM at most; the search narrows the rest
const CALL_ROWS_MAX = 200;
const NEW_FLASH_MS = 2500;

// Put `rows` (elements, in order) into `parent` with the fewest moves; drop the others.
function reconcile(parent, rows) {
  let cur = parent.firstChild;
  for (const row of rows) {
    if (row === cur) cur = cur.nextSibling;
    else parent.insertBefore(row, cur);
  }
  while (cur) {
    const next = cur.nextSibling;
    parent.removeChild(cur);
    cur = next;
  }
}

// A new row glows for a moment (not on a busy switch: every glow is a composited layer).
function flash(row, changed_at, busy) {
  if (!busy && changed_at && Date.now() - changed_at < NEW_FLASH_MS) {
    row.classList.add('row-new');
    setTimeout(() => row.classList.remove('row-new'), NEW_FLASH_MS);
  }
}

const cell = (cls, content) => {
  const c = el('span', cls, content);
  c.setAttribute('role', 'cell');
  return c;
};
const row = (children) => {
  const r = el('div', 'rrow', children);
  r.setAttribute('role', 'row');
  return r;
};

// --- registrations ------------------------------------------------------------------------

export class registrations_view {
  constructor(m, { list, empty, meta, search }) {
    this.m_ = m;
    this.list_ = list;
    this.empty_ = empty;
    this.meta_ = meta;
    this.rows_ = new Map();    // binding_key -> {tr, b, exp}
    this.terms_ = [];
    search.addEventListener('input', () => {
      this.terms_ = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      this.m_.dirty.bindings = true;
    });
  }

  matches_(b) {
    if (!this.terms_.length) return true;
    b.search ??= `${b.aor} ${b.contact} ${b.user_agent} ${b.source} ${b.transport}`.toLowerCase();
    return this.terms_.every((t) => b.search.includes(t));
  }

  render() {
    const all = this.m_.bindings;
    const shown = [];
    for (const b of all.values()) if (this.matches_(b)) shown.push(b);
    shown.sort((a, b) => (a.aor < b.aor ? -1 : a.aor > b.aor ? 1 : a.contact < b.contact ? -1 : a.contact > b.contact ? 1 : 0));
    const visible = shown.length > REG_ROWS_MAX ? shown.slice(0, REG_ROWS_MAX) : shown;
    const keep = new Set();
    const trs = visible.map((b) => {
      const key = binding_key(b.aor, b.contact);
      keep.add(key);
      let r = this.rows_.get(key);
      if (!r) {
        r = this.make_row_(b);
        this.rows_.set(key, r);
        flash(r.tr, b.changed_at, this.m_.busy);
      } else if (r.b !== b) {
        this.fill_row_(r, b);
      }
      return r.tr;
    });
    for (const key of this.rows_.keys()) if (!keep.has(key)) this.rows_.delete(key);
    reconcile(this.list_, trs);
    this.tick();

    this.empty_.hidden = visible.length > 0;
    set_text(this.empty_, all.size ? 'No registration matches the search.' : 'No registrations.');
    const parts = [];
    if (this.terms_.length) parts.push(`${fmt_int(shown.length)} of ${fmt_int(all.size)} match`);
    if (shown.length > visible.length) parts.push(`showing the first ${fmt_int(visible.length)} — refine the search`);
    if (this.m_.registrations_capped) parts.push(`list capped at ${fmt_int(all.size)} bindings`);
    set_text(this.meta_, parts.join(' · '));
    this.meta_.classList.toggle('warn', this.m_.registrations_capped || shown.length > visible.length);
  }

  make_row_(b) {
    const aor = cell('c-aor');
    const contact = cell('c-contact mono');
    const source = cell('c-source');
    const ua = cell('c-ua');
    const exp = cell('c-exp num mono');
    const tr = row([aor, contact, source, ua, exp]);
    const r = { tr, aor, contact, source, ua, exp, b: null, exp_text: '' };
    this.fill_row_(r, b);
    return r;
  }

  fill_row_(r, b) {
    r.b = b;
    r.tr.dataset.aor = b.aor;
    r.tr.dataset.contact = b.contact;
    r.aor.replaceChildren(el('span', 'aor', b.aor));
    if (b.pn_provider) r.aor.append(el('span', 'tag tag-push', b.pn_provider));
    r.aor.title = b.instance ? `${b.aor}\ninstance ${b.instance}` : b.aor;
    set_text(r.contact, b.contact);
    r.contact.title = b.contact;
    r.source.replaceChildren(el('span', `tp tp-${(b.transport || 'x').toLowerCase()}`, (b.transport || '?').toUpperCase()),
      el('span', 'mono', b.source));
    r.source.title = `${b.transport} from ${b.source}`;
    set_text(r.ua, b.user_agent);
    r.ua.title = b.user_agent;
  }

  /// Countdowns, once a second.
  tick() {
    const now = this.m_.server_now();
    for (const r of this.rows_.values()) {
      const left = r.b.expires_at - now;
      const text = left > 0 ? fmt_expires(left) : 'expiring';
      if (text !== r.exp_text) {
        r.exp_text = text;
        r.exp.textContent = text;
        const cls = left <= 0 ? 'c-exp num mono gone' : left < 30000 ? 'c-exp num mono soon' : 'c-exp num mono';
        if (r.exp.className !== cls) r.exp.className = cls;
      }
    }
  }
}

// --- active calls -------------------------------------------------------------------------

export class calls_view {
  constructor(m, { list, empty, meta }) {
    this.m_ = m;
    this.list_ = list;
    this.empty_ = empty;
    this.meta_ = meta;
    this.rows_ = new Map();   // call_id -> {tr, c, state, dur}
  }

  render() {
    const calls = [...this.m_.calls.values()].sort((a, b) => b.started_ms - a.started_ms);
    const visible = calls.slice(0, CALL_ROWS_MAX);
    const keep = new Set();
    const trs = visible.map((c) => {
      keep.add(c.call_id);
      let r = this.rows_.get(c.call_id);
      if (!r) {
        const parties = cell('c-parties', [
          el('span', 'party', short_uri(c.from)), el('span', 'arrow', ' → '), el('span', 'party', short_uri(c.to)),
        ]);
        parties.title = `${c.from} → ${c.to}\nR-URI ${c.ruri}\nCall-ID ${c.call_id}`;
        const state = cell('c-state');
        const dur = cell('c-dur num mono');
        const tr = row([parties, state, dur]);
        tr.dataset.callId = c.call_id;
        r = { tr, state, dur, shown_state: '' };
        this.rows_.set(c.call_id, r);
        flash(tr, c.changed_at, this.m_.busy);
      }
      r.c = c;
      if (r.shown_state !== c.state) {
        r.shown_state = c.state;
        r.tr.dataset.state = c.state;
        r.state.replaceChildren(el('span', `pill pill-${c.state}`, c.state));
      }
      return r.tr;
    });
    for (const id of this.rows_.keys()) if (!keep.has(id)) this.rows_.delete(id);
    reconcile(this.list_, trs);
    this.tick();
    this.empty_.hidden = visible.length > 0;
    const more = calls.length - visible.length;
    set_text(this.meta_, more > 0 ? `newest ${fmt_int(visible.length)} shown` : '');
  }

  tick() {
    const now = this.m_.server_now();
    for (const r of this.rows_.values()) {
      const c = r.c;
      const since = c.state === 'answered' && c.answered_ms ? c.answered_ms : c.started_ms;
      set_text(r.dur, fmt_duration(now - since));
    }
  }
}

// --- push wake-ups waiting ------------------------------------------------------------------

export class waits_view {
  constructor(m, { list, empty }) {
    this.m_ = m;
    this.list_ = list;
    this.empty_ = empty;
    this.rows_ = new Map();
  }

  render() {
    const waits = [...this.m_.waits.values()].sort((a, b) => a.sent_ms - b.sent_ms);
    const keep = new Set();
    const lis = waits.map((w) => {
      keep.add(w.push_id);
      let r = this.rows_.get(w.push_id);
      if (!r) {
        const age = el('span', 'w-age mono');
        const bar = el('span', 'w-bar-fill');
        const li = el('li', 'wait', [
          el('span', 'w-aor', w.aor),
          age,
          el('span', 'w-meta', [el('span', `tag tag-${w.kind}`, w.kind), el('span', 'tag tag-provider', w.provider)]),
          el('span', 'w-bar', [bar]),
        ]);
        li.dataset.pushId = w.push_id;
        li.dataset.aor = w.aor;
        li.title = `push ${w.push_id}\nCall-ID ${w.call_id}`;
        r = { li, age, bar, w };
        this.rows_.set(w.push_id, r);
      }
      return r.li;
    });
    for (const id of this.rows_.keys()) if (!keep.has(id)) this.rows_.delete(id);
    reconcile(this.list_, lis);
    this.tick();
    this.empty_.hidden = waits.length > 0;
  }

  tick() {
    const now = this.m_.server_now();
    for (const r of this.rows_.values()) {
      const age = Math.max(0, now - r.w.sent_ms);
      set_text(r.age, `${(age / 1000).toFixed(age < 10000 ? 1 : 0)} s`);
      r.bar.style.width = `${Math.min(100, (age / WAIT_GIVE_UP_MS) * 100).toFixed(1)}%`;
      r.li.classList.toggle('late', age > WAIT_GIVE_UP_MS / 2);
    }
  }
}
