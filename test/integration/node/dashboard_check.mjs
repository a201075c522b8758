#!/usr/bin/env node
// dashboard_check.mjs — open the live dashboard in headless Chromium and measure how fast a
// new registration shows up in it.
//
//   node dashboard_check.mjs --url http://127.0.0.1:PORT/ [--token T] --expect-aor AOR
//        --screenshot OUT.png [--timeout-ms 1000] [--overall-ms 30000]
//        [--trigger-fifo PATH | --ready-file PATH] [--go-stdin] [--chromium /usr/bin/chromium]
//
// 1. Opens the page (with ?token=T when given) and waits until #conn-status has
//    data-state="connected" (the event stream is open).
// 2. Says it is ready: prints the line READY on stdout, and also writes "READY\n" into
//    --trigger-fifo PATH (a FIFO the caller reads; opening it waits for the reader) or
//    --ready-file PATH (created whole, by rename, for a caller that polls for it).
//    The caller then registers AOR (e.g. with sipp). With --go-stdin the caller writes
//    GO on stdin once the REGISTER was answered, and the clock starts at GO instead of
//    READY (so the start-up time of the caller's tool does not count).
// 3. Within --timeout-ms of READY (or GO), both must appear: a row #registrations-list
//    [data-aor="AOR"] and a REGISTER row for AOR in #event-log newer than READY. Times are
//    taken in the page (MutationObserver + performance.now()), not by polling.
// 4. Prints one JSON line and exits 0:
//      {"ok":true,"appeared_ms":123,"log_ms":125,"log_rows":n,"present_at_ready":false}
//    or exits 1 with {"ok":false,"error":"...", ...what was seen}. Usage errors exit 2.
// The screenshot is always saved (once the rows appeared, or at the failure) and the
// browser always closed; the whole run is bounded by --overall-ms (default 30 s).
//
//   cd test/integration/node && npm ci    # playwright-core + ws; Chromium from Debian (apt-get install chromium)

import { open, rename, writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

function usage(msg) {
  process.stderr.write(`dashboard_check: ${msg}\nusage: node dashboard_check.mjs --url URL [--token T] --expect-aor AOR --screenshot OUT.png [--timeout-ms 1000] [--overall-ms 30000] [--trigger-fifo PATH | --ready-file PATH] [--go-stdin] [--chromium PATH]\n`);
  process.exit(2);
}

function parse_args(argv) {
  const o = { timeout_ms: 1000, overall_ms: 30000, chromium: '/usr/bin/chromium' };
  const names = { '--url': 'url', '--token': 'token', '--expect-aor': 'aor', '--screenshot': 'screenshot',
    '--timeout-ms': 'timeout_ms', '--overall-ms': 'overall_ms', '--trigger-fifo': 'fifo', '--ready-file': 'ready_file',
    '--chromium': 'chromium' };
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--go-stdin') { o.go_stdin = true; continue; }
    const key = names[argv[i]];
    if (!key) usage(`unknown argument ${argv[i]}`);
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    o[key] = argv[++i];
  }
  for (const k of ['url', 'aor', 'screenshot']) if (!o[k]) usage(`--${k === 'aor' ? 'expect-aor' : k} is required`);
  if (o.fifo && o.ready_file) usage('give --trigger-fifo or --ready-file, not both');
  o.timeout_ms = Number(o.timeout_ms);
  o.overall_ms = Number(o.overall_ms);
  if (!(o.timeout_ms > 0) || !(o.overall_ms > 0)) usage('--timeout-ms and --overall-ms must be positive numbers');
  return o;
}

const opts = parse_args(process.argv);
const started = Date.now();
const left = () => Math.max(1, opts.overall_ms - (Date.now() - started));
const log = (msg) => process.stderr.write(`dashboard_check: ${msg}\n`);

function page_url() {
  const u = new URL(opts.url);
  if (opts.token) u.searchParams.set('token', opts.token);
  return u.href;
}

// --go-stdin: after READY the caller registers the user, and writes GO once the
// REGISTER was answered; the clock starts then (a row already there counts as 0 ms).
function wait_go() {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(Object.assign(new Error('no GO on stdin'), { phase: 'go' })), left());
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => {
      buf += d;
      if (buf.includes('GO')) { clearTimeout(timer); process.stdin.pause(); resolve(); }
    });
  });
}

async function signal_ready() {
  process.stdout.write('READY\n');
  if (opts.ready_file) {
    const tmp = `${opts.ready_file}.tmp${process.pid}`;
    await writeFile(tmp, 'READY\n');
    await rename(tmp, opts.ready_file);
  }
  if (opts.fifo) {
    const fh = await open(opts.fifo, 'w');   // waits until the caller opens it for reading
    try { await fh.write('READY\n'); } finally { await fh.close(); }
  }
}

// In the page: watch for the binding row and for a REGISTER log row newer than the
// newest row present now; record when each first appears.
function install_watch(aor) {
  const w = { t0: performance.now(), appeared: null, logged: null, present_at_ready: false };
  const sel = `[data-aor="${CSS.escape(aor)}"]`;
  const rows = document.querySelectorAll('#event-log li[data-seq]');
  let floor = 0;
  for (const r of rows) floor = Math.max(floor, Number(r.dataset.seq));
  w.floor_seq = floor;
  const check = () => {
    const now = performance.now();
    if (w.appeared === null && document.querySelector(`#registrations-list ${sel}`)) w.appeared = now;
    if (w.logged === null) {
      for (const r of document.querySelectorAll(`#event-log li[data-event="REGISTER"]${sel}`)) {
        if (Number(r.dataset.seq) > floor) { w.logged = now; break; }
      }
    }
    if (w.appeared !== null && w.logged !== null) w.observer.disconnect();
  };
  w.observer = new MutationObserver(check);
  w.observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-aor'] });
  check();
  w.present_at_ready = w.appeared !== null;
  window.__dashboard_check = w;
}

async function seen(page) {
  return page.evaluate(() => {
    const w = window.__dashboard_check;
    const status = document.getElementById('conn-status');
    return {
      conn: status?.dataset.state ?? null,
      conn_text: status?.textContent.trim() ?? null,
      registrations_rows: document.querySelectorAll('#registrations-list [data-aor]').length,
      registrations_count: document.getElementById('registrations-count')?.textContent ?? null,
      log_rows: document.querySelectorAll('#event-log [data-event]').length,
      appeared_ms: w && w.appeared !== null ? Math.max(0, Math.round(w.appeared - w.t0)) : null,
      log_ms: w && w.logged !== null ? Math.max(0, Math.round(w.logged - w.t0)) : null,
      notices: document.getElementById('notices')?.textContent.trim() || undefined,
    };
  }).catch((e) => ({ evaluate_error: e.message }));
}

async function run(state) {
  state.browser = await chromium.launch({ executablePath: opts.chromium, headless: true, args: ['--no-sandbox'], timeout: left() });
  const page = await state.browser.newPage({ viewport: { width: 1440, height: 900 } });
  state.page = page;
  page.on('pageerror', (e) => state.page_errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') state.page_errors.push(m.text()); });

  await page.goto(page_url(), { waitUntil: 'domcontentloaded', timeout: left() });
  try {
    await page.waitForSelector('#conn-status[data-state="connected"]', { timeout: left() });
  } catch {
    throw Object.assign(new Error('the page never connected to the event stream'), { phase: 'connect' });
  }
  state.connected_ms = Date.now() - started;
  await page.evaluate(install_watch, opts.aor);
  const ready_at = Date.now();
  await signal_ready();
  state.ready = true;
  if (opts.go_stdin) {
    await wait_go();
    await page.evaluate(() => { window.__dashboard_check.t0 = performance.now(); });
  }

  const budget = Math.min(opts.timeout_ms + 250, left());   // + slack for the wait's own round trip
  try {
    await page.waitForFunction(() => {
      const w = window.__dashboard_check;
      return w.appeared !== null && w.logged !== null;
    }, null, { timeout: budget, polling: 'raf' });
  } catch {
    // judged below from the in-page times
  }
  const s = await seen(page);
  state.seen = s;
  const within = (ms) => ms !== null && ms <= opts.timeout_ms;
  if (!within(s.appeared_ms) || !within(s.log_ms)) {
    const what = [];
    if (!within(s.appeared_ms)) what.push(s.appeared_ms === null ? 'no registrations row' : `registrations row after ${s.appeared_ms} ms`);
    if (!within(s.log_ms)) what.push(s.log_ms === null ? 'no REGISTER log row' : `REGISTER log row after ${s.log_ms} ms`);
    throw Object.assign(new Error(`${what.join(', ')} for ${opts.aor} within ${opts.timeout_ms} ms of READY (waited ${Date.now() - ready_at} ms)`), { phase: 'appear' });
  }
  const present = await page.evaluate(() => window.__dashboard_check.present_at_ready);
  await page.waitForTimeout(150);   // let the row's first paint land in the screenshot
  return { ok: true, appeared_ms: s.appeared_ms, log_ms: s.log_ms, log_rows: s.log_rows, present_at_ready: present };
}

async function main() {
  const state = { browser: null, page: null, page_errors: [], ready: false, seen: null };
  let result;
  let deadline;
  try {
    result = await Promise.race([
      run(state),
      new Promise((_, reject) => { deadline = setTimeout(() => reject(Object.assign(new Error(`no result within ${opts.overall_ms} ms overall`), { phase: 'overall' })), opts.overall_ms); }),
    ]);
  } catch (e) {
    result = { ok: false, error: e.message, phase: e.phase ?? 'setup', ready: state.ready };
    if (state.page && !state.seen) state.seen = await Promise.race([seen(state.page), new Promise((r) => setTimeout(() => r(null), 2000))]);
    if (state.seen) Object.assign(result, state.seen);
    if (state.page_errors.length) result.page_errors = state.page_errors.slice(0, 5);
  } finally {
    clearTimeout(deadline);
  }
  if (state.page) {
    try { await state.page.screenshot({ path: opts.screenshot, timeout: 5000 }); } catch (e) {
      log(`screenshot failed: ${e.message}`);
      if (result.ok) result = { ok: false, error: `screenshot failed: ${e.message}` };
    }
  }
  try { await state.browser?.close(); } catch { /* already gone */ }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.ok ? 0 : 1;
  setTimeout(() => process.exit(process.exitCode), 2000).unref();
}

main();
