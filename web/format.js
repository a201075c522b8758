// Small formatting helpers shared by the views.

const int_fmt = new Intl.NumberFormat('en-US');

export const fmt_int = (n) => (n === null || n === undefined || Number.isNaN(Number(n)) ? '—' : int_fmt.format(Number(n)));

/// 1.2k, 34.5k, 1.2M for big counters; plain below 10,000.
export function fmt_compact(n) {
  n = Number(n);
  if (!Number.isFinite(n)) return '—';
  if (Math.abs(n) < 10000) return int_fmt.format(n);
  if (Math.abs(n) < 1e6) return `${(n / 1e3).toFixed(n < 1e5 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(n < 1e8 ? 1 : 0)}M`;
}

/// Events or calls per second: one decimal below 10, none above.
export const fmt_rate = (r) => (r < 10 ? (Math.round(r * 10) / 10).toFixed(r === 0 ? 0 : 1) : int_fmt.format(Math.round(r)));

const pad2 = (n) => String(n).padStart(2, '0');

/// m:ss, or h:mm:ss from an hour on.
export function fmt_duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad2(m)}:${pad2(s % 60)}` : `${m}:${pad2(s % 60)}`;
}

/// 3d 04:12:09, or 04:12:09 below a day.
export function fmt_uptime(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const hms = `${pad2(Math.floor((s % 86400) / 3600))}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  return d ? `${d}d ${hms}` : hms;
}

/// A registration's time left: 59s, 12m 03s, 1h 02m.
export function fmt_expires(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad2(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad2(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/// HH:MM:SS.mmm in the browser's time zone.
export function fmt_clock(ms, with_ms = true) {
  const d = new Date(ms);
  const base = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return with_ms ? `${base}.${String(d.getMilliseconds()).padStart(3, '0')}` : base;
}

/// "sip:alice@example.com;tag=x" -> "alice@example.com"; "<sip:..>" and display names too.
export function short_uri(uri) {
  if (!uri) return '';
  let s = String(uri);
  const lt = s.indexOf('<');
  if (lt >= 0) s = s.slice(lt + 1, s.indexOf('>', lt) > 0 ? s.indexOf('>', lt) : undefined);
  s = s.replace(/^sips?:/i, '');
  const semi = s.indexOf(';');
  return semi >= 0 ? s.slice(0, semi) : s;
}

/// Make an element: el('td', 'cls', 'text') or el('span', null, [children]).
export function el(tag, cls, content) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (Array.isArray(content)) e.append(...content);
  else if (content !== undefined && content !== null) e.textContent = content;
  return e;
}

/// Set text only when it changed (saves style recalcs on 1 s ticks).
export function set_text(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
