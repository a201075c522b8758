// Calls per second over the last 5 minutes: 1 s bars and a 10 s moving average, drawn as
// inline SVG (one <path> per series, so 300 buckets cost two attribute writes per redraw).

import { fmt_clock } from './format.js';

const NS = 'http://www.w3.org/2000/svg';
const PAD = { left: 34, right: 10, top: 10, bottom: 20 };
const AVG_S = 10;

function svg(tag, attrs = {}, parent = null) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

// Smallest "nice" step (1, 2, 2.5, 5 x 10^k) such that 4 steps cover the peak.
function axis_max(peak) {
  const want = Math.max(peak, 4) / 4;
  const p = 10 ** Math.floor(Math.log10(want));
  for (const m of [1, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    const step = m * p;
    if (step >= want && (step >= 1 ? Number.isInteger(step) : true)) return { max: step * 4, step };
  }
  return { max: 40 * p, step: 10 * p };
}

export class cps_chart {
  constructor(host) {
    this.host_ = host;
    this.w_ = 600;
    this.h_ = 200;
    this.data_ = { series: [], end_sec: 0 };
    this.hover_ = -1;
    this.root_ = svg('svg', { class: 'cps-svg', role: 'img', 'aria-label': 'calls per second, last 5 minutes' }, host);
    const defs = svg('defs', {}, this.root_);
    const grad = svg('linearGradient', { id: 'cps-fill', x1: 0, y1: 0, x2: 0, y2: 1 }, defs);
    svg('stop', { offset: '0%', 'stop-color': 'var(--accent)', 'stop-opacity': '0.55' }, grad);
    svg('stop', { offset: '100%', 'stop-color': 'var(--accent)', 'stop-opacity': '0.08' }, grad);
    this.grid_ = svg('g', { class: 'chart-grid' }, this.root_);
    this.bars_ = svg('path', { class: 'chart-bars', fill: 'url(#cps-fill)' }, this.root_);
    this.avg_ = svg('path', { class: 'chart-avg', fill: 'none' }, this.root_);
    this.cursor_ = svg('line', { class: 'chart-cursor', visibility: 'hidden' }, this.root_);
    this.tip_ = document.createElement('div');
    this.tip_.className = 'chart-tip';
    this.tip_.hidden = true;
    host.appendChild(this.tip_);
    new ResizeObserver(() => this.resize_()).observe(host);
    this.root_.addEventListener('pointermove', (ev) => this.on_pointer_(ev));
    this.root_.addEventListener('pointerleave', () => { this.hover_ = -1; this.draw_hover_(); });
    this.resize_();
  }

  resize_() {
    const r = this.host_.getBoundingClientRect();
    if (r.width < 10 || r.height < 10) return;
    this.w_ = Math.round(r.width);
    this.h_ = Math.round(r.height);
    this.root_.setAttribute('viewBox', `0 0 ${this.w_} ${this.h_}`);
    this.root_.setAttribute('width', this.w_);
    this.root_.setAttribute('height', this.h_);
    this.draw_();
  }

  /// series: calls started per second, oldest first; end_sec: the epoch second of the last.
  update(data) {
    this.data_ = data;
    this.draw_();
  }

  plot_() {
    return { x0: PAD.left, y0: PAD.top, w: this.w_ - PAD.left - PAD.right, h: this.h_ - PAD.top - PAD.bottom };
  }

  draw_() {
    const { series } = this.data_;
    const n = series.length;
    if (!n) return;
    const p = this.plot_();
    const peak = series.reduce((a, b) => Math.max(a, b), 0);
    const avg = moving_average(series, AVG_S);
    const { max, step } = axis_max(Math.max(peak, ...avg));
    this.scale_ = { max, p, n };
    const y = (v) => p.y0 + p.h - (v / max) * p.h;
    const bw = p.w / n;

    this.grid_.replaceChildren();
    for (let v = 0; v <= max + 1e-9; v += step) {
      const yy = Math.round(y(v)) + 0.5;
      svg('line', { x1: p.x0, x2: p.x0 + p.w, y1: yy, y2: yy, class: v === 0 ? 'axis' : '' }, this.grid_);
      const t = svg('text', { x: p.x0 - 6, y: yy + 3.5, 'text-anchor': 'end' }, this.grid_);
      t.textContent = Number.isInteger(v) ? String(v) : v.toFixed(1);
    }
    for (let m = 5; m >= 0; m--) {
      const xx = p.x0 + p.w - (m * 60 / n) * p.w;
      const t = svg('text', { x: Math.min(xx, p.x0 + p.w), y: p.y0 + p.h + 14, 'text-anchor': m === 0 ? 'end' : (m === 5 ? 'start' : 'middle') }, this.grid_);
      t.textContent = m === 0 ? 'now' : `−${m} min`;
      if (m > 0 && m < 5) svg('line', { x1: xx, x2: xx, y1: p.y0, y2: p.y0 + p.h, class: 'vert' }, this.grid_);
    }

    const gap = bw > 3 ? 0.8 : 0;
    let d = '';
    for (let i = 0; i < n; i++) {
      if (!series[i]) continue;
      const x = p.x0 + i * bw;
      const top = y(series[i]);
      d += `M${x.toFixed(1)} ${(p.y0 + p.h).toFixed(1)}V${top.toFixed(1)}H${(x + bw - gap).toFixed(1)}V${(p.y0 + p.h).toFixed(1)}Z`;
    }
    this.bars_.setAttribute('d', d);
    let l = '';
    for (let i = 0; i < n; i++) l += `${i ? 'L' : 'M'}${(p.x0 + (i + 0.5) * bw).toFixed(1)} ${y(avg[i]).toFixed(1)}`;
    this.avg_.setAttribute('d', l);
    this.draw_hover_();
  }

  on_pointer_(ev) {
    if (!this.scale_) return;
    const r = this.root_.getBoundingClientRect();
    const { p, n } = this.scale_;
    const i = Math.floor(((ev.clientX - r.left - p.x0) / p.w) * n);
    this.hover_ = i >= 0 && i < n ? i : -1;
    this.draw_hover_();
  }

  draw_hover_() {
    const i = this.hover_;
    if (i < 0 || !this.scale_ || !this.data_.series.length) {
      this.cursor_.setAttribute('visibility', 'hidden');
      this.tip_.hidden = true;
      return;
    }
    const { p, n } = this.scale_;
    const x = p.x0 + (i + 0.5) * (p.w / n);
    this.cursor_.setAttribute('x1', x);
    this.cursor_.setAttribute('x2', x);
    this.cursor_.setAttribute('y1', p.y0);
    this.cursor_.setAttribute('y2', p.y0 + p.h);
    this.cursor_.setAttribute('visibility', 'visible');
    const sec = this.data_.end_sec - (n - 1 - i);
    const v = this.data_.series[i];
    this.tip_.textContent = `${fmt_clock(sec * 1000, false)} · ${v} call${v === 1 ? '' : 's'} started`;
    this.tip_.hidden = false;
    const tw = this.tip_.offsetWidth;
    this.tip_.style.left = `${Math.max(4, Math.min(this.w_ - tw - 4, x - tw / 2))}px`;
  }
}

function moving_average(series, k) {
  const out = new Array(series.length);
  let sum = 0;
  for (let i = 0; i < series.length; i++) {
    sum += series[i];
    if (i >= k) sum -= series[i - k];
    out[i] = sum / Math.min(i + 1, k);
  }
  return out;
}
