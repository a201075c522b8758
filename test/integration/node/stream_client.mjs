#!/usr/bin/env node
// stream_client.mjs — N WebSocket clients of the switch's event stream (/events, docs/api.md),
// driven by test/integration/test_event_stream.py (a real client library on the other side of
// the switch's RFC 6455 code: `ws` checks what the server sends, answers pings, masks).
//
//   node stream_client.mjs --url ws://127.0.0.1:PORT/events?event=REGISTER [--url URL2]...
//        [--clients N] [--header "Origin: http://x"]... [--send JSON]... [--expect-event REGISTER]
//        [--until-count K] [--timeout-ms T] [--record-attr aor] [--record-clients M]
//        [--print none|notices|all] [--stdin [--defer-connect]] [--pause-reading]
//
//   --url URL          repeatable: client i connects to the (i mod count)th URL
//   --clients N        how many clients (default: one per --url)
//   --send JSON        a text frame every client sends right after its hello (repeatable)
//   --expect-event E   only events named E count towards --until-count (others are counted apart)
//   --until-count K    stop once every client has K counted events (or is closed); without
//                      it, stop when every client is closed (with --stdin: when stdin says)
//   --timeout-ms T     stop after T ms whatever happened (default 60000; "timeout" in the summary)
//   --record-attr A    keep attribute A of every event (first --record-clients clients, default 1)
//   --print P          print frames as they come: "notices" (all but events), "all", "none"
//   --stdin            take commands from stdin, one JSON object a line:
//                        {"send": <JSON value or string>, "client": I}   (no client: every one)
//                        {"close": CODE, "client": I}
//                        {"connect": true}  open the clients now (with --defer-connect)
//                        {"summary": true}  print a SUMMARY line and go on
//                        {"end": true}      close every client, print the SUMMARY, exit
//                      (stdin at EOF ends too)
//   --pause-reading    stop reading every socket after its hello (a consumer that never reads)
//   --defer-connect    with --stdin: open the clients on {"connect": true}, not at start (so
//                      that they connect at a chosen moment, without node's start-up time)
//
// Output, one line each:
//   READY {"clients":N,"open":n,"failed":m}   once every client got its hello (or failed)
//   FRAME <i> <text>   a frame of client i (--print), the server's text as received, or a
//                      synthetic one: {"type":"_close","code","reason","by":"server"|"client"},
//                      {"type":"_http","status","body"} (handshake refused),
//                      {"type":"_error","message"}, {"type":"_ping"} (with --print all)
//   SUMMARY {...}      at the end (also on SIGTERM), after closing the clients: per client
//                      the hello, event counts, seq ranges, order, duplicates, notices (every
//                      non-event frame), close code, reason and who closed
//
// Memory stays flat for 100 clients x 10,000 events: seqs go into a growing Int32Array and
// only the recorded attribute of the first clients is kept.

import { createInterface } from 'node:readline';
import WebSocket from 'ws';

function parse_args(argv) {
  const o = {
    urls: [], clients: 0, headers: {}, send: [], expect: '', until: 0, timeout_ms: 60000,
    record_attr: '', record_clients: 1, print: 'none', stdin: false, pause: false,
    defer: false,
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--url') o.urls.push(next());
    else if (a === '--clients') o.clients = Number(next());
    else if (a === '--header') {
      const h = next();
      const colon = h.indexOf(':');
      if (colon < 1) fail(`--header "Name: value", not ${h}`);
      o.headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
    } else if (a === '--send') o.send.push(next());
    else if (a === '--expect-event') o.expect = next();
    else if (a === '--until-count') o.until = Number(next());
    else if (a === '--timeout-ms') o.timeout_ms = Number(next());
    else if (a === '--record-attr') o.record_attr = next();
    else if (a === '--record-clients') o.record_clients = Number(next());
    else if (a === '--print') o.print = next();
    else if (a === '--stdin') o.stdin = true;
    else if (a === '--pause-reading') o.pause = true;
    else if (a === '--defer-connect') o.defer = true;
    else fail(`unknown argument ${a}`);
  }
  if (o.urls.length === 0) fail('--url is required');
  if (o.clients === 0) o.clients = o.urls.length;
  if (!(o.clients >= 1)) fail('--clients: a number >= 1');
  if (!['none', 'notices', 'all'].includes(o.print)) fail('--print: none, notices or all');
  if (o.defer && !o.stdin) fail('--defer-connect needs --stdin');
  return o;
}

function fail(msg) {
  process.stderr.write(`stream_client: ${msg}\n`);
  process.exit(2);
}

const opts = parse_args(process.argv);
const t0 = Date.now();

function out(line) {
  process.stdout.write(line + '\n');
}

/// The sequence numbers one client received, in arrival order, in a growing Int32Array.
class SeqLog {
  constructor() {
    this.a = new Int32Array(1024);
    this.n = 0;
  }
  push(v) {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  /// [[first, last], ...] of the distinct values, ascending; duplicates and order breaks counted.
  ranges() {
    const v = this.a.subarray(0, this.n);
    let ordered = true;
    for (let i = 1; i < v.length; i++)
      if (v[i] <= v[i - 1]) { ordered = false; break; }
    const s = ordered ? v : Int32Array.from(v).sort();
    const r = [];
    let dups = 0;
    for (let i = 0; i < s.length; i++) {
      if (i > 0 && s[i] === s[i - 1]) { dups++; continue; }
      if (r.length > 0 && r[r.length - 1][1] + 1 === s[i]) r[r.length - 1][1] = s[i];
      else r.push([s[i], s[i]]);
    }
    return { ranges: r, ordered, duplicates: dups };
  }
}

class Client {
  constructor(i) {
    this.i = i;
    this.hello = null;
    this.seqs = new SeqLog();
    this.events = 0;      // every event frame
    this.counted = 0;     // events named --expect-event (all events without it)
    this.other_names = {};
    this.notices = [];    // every non-event frame but the hello
    this.attrs = i < opts.record_clients && opts.record_attr ? [] : null;
    this.close = null;
    this.error = null;
    this.http = null;
    this.pings = 0;
    this.closing_by_us = false;
    this.done = false;    // hello'd-or-failed (for READY)
    this.ended = false;   // closed or failed
    this.bad_frames = 0;  // frames that are not JSON objects
    this.open();
  }

  open() {
    const ws = new WebSocket(opts.urls[this.i % opts.urls.length], { headers: opts.headers, perMessageDeflate: false,
                                         handshakeTimeout: 10000 });
    this.ws = ws;
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { if (body.length < 4096) body += d; });
      const finish = () => {
        this.http = { status: res.statusCode, body };
        this.show(JSON.stringify({ type: '_http', status: res.statusCode, body }));
        req.destroy();
        this.end();
      };
      res.on('end', finish);
      res.on('error', finish);
    });
    ws.on('error', (e) => {
      if (this.http) return;  // the refused handshake, reported already
      this.error = String(e && e.message || e);
      this.show(JSON.stringify({ type: '_error', message: this.error }));
      this.end();
    });
    ws.on('ping', () => {
      this.pings++;
      if (opts.print === 'all') this.show('{"type":"_ping"}');
    });
    ws.on('message', (data, binary) => this.on_message(data, binary));
    ws.on('close', (code, reason) => {
      this.close = { code, reason: reason.toString(), by: this.closing_by_us ? 'client' : 'server',
                     at_ms: Date.now() - t0 };
      this.show(JSON.stringify({ type: '_close', ...this.close }));
      this.end();
    });
  }

  on_message(data, binary) {
    const text = data.toString();
    let f;
    try {
      f = JSON.parse(text);
    } catch {
      f = null;
    }
    if (binary || f === null || typeof f !== 'object') {
      this.bad_frames++;
      this.notices.push({ type: '_bad', text: text.slice(0, 200), binary });
      return;
    }
    if (f.type === 'event') {
      this.events++;
      this.seqs.push(f.seq);
      if (!opts.expect || f.name === opts.expect) this.counted++;
      else this.other_names[f.name] = (this.other_names[f.name] || 0) + 1;
      if (this.attrs) this.attrs.push(f.attributes ? f.attributes[opts.record_attr] : null);
      if (opts.print === 'all') this.show(text);
      if (opts.until > 0 && this.counted === opts.until) check_done();
      return;
    }
    if (f.type === 'hello' && this.hello === null) {
      this.hello = f;
      if (opts.print !== 'none') this.show(text);
      for (const s of opts.send) this.ws.send(s);
      if (opts.pause) this.ws._socket.pause();
      this.done = true;
      check_ready();
      return;
    }
    this.notices.push(f);
    if (opts.print !== 'none') this.show(text);
  }

  show(text) {
    if (opts.print !== 'none') out(`FRAME ${this.i} ${text}`);
  }

  end() {
    if (this.ended) return;
    this.ended = true;
    this.done = true;
    check_ready();
    check_done();
  }

  summary() {
    const r = this.seqs.ranges();
    const s = {
      i: this.i, hello: this.hello, events: this.events, counted: this.counted,
      other_names: this.other_names, seqs: r.ranges, ordered: r.ordered,
      duplicates: r.duplicates, notices: this.notices, close: this.close, error: this.error,
      http: this.http, pings: this.pings, bad_frames: this.bad_frames,
      open: this.ws.readyState === WebSocket.OPEN,
    };
    if (this.attrs) s.attrs = this.attrs;
    return s;
  }
}

const clients = [];
let ready_sent = false;
let finishing = false;

function check_ready() {
  if (ready_sent || clients.length < opts.clients || !clients.every((c) => c.done)) return;
  ready_sent = true;
  const open = clients.filter((c) => c.hello && !c.ended).length;
  out(`READY ${JSON.stringify({ clients: clients.length, open, failed: clients.length - open,
                                at_ms: Date.now() - t0 })}`);
}

/// Done when every client has --until-count events or is closed. With --stdin and no
/// --until-count, stdin says when.
function check_done() {
  if (clients.length < opts.clients || (opts.stdin && opts.until === 0)) return;
  const all = clients.every((c) => c.ended || (opts.until > 0 && c.counted >= opts.until));
  if (all) finish(clients.every((c) => c.ended) ? 'closed' : 'count');
}

function connect_all() {
  if (clients.length > 0) return;
  for (let i = 0; i < opts.clients; i++) clients.push(new Client(i));
  check_ready();
}

function summary_line(reason) {
  return `SUMMARY ${JSON.stringify({ reason, elapsed_ms: Date.now() - t0,
                                     clients: clients.map((c) => c.summary()) })}`;
}

/// Closes every open client (1000), bounded: those that do not finish the closing
/// handshake within 2 s are cut; then the summary, then exit.
function finish(reason) {
  if (finishing) return;
  finishing = true;
  clearTimeout(timer);
  const open = clients.filter((c) => !c.ended);
  let left = open.length;
  // Exit once the line is written: a pipe takes 64 KiB at a time, and the summary of 100
  // clients with recorded attributes is bigger.
  const done = () => process.stdout.write(summary_line(reason) + '\n', () => process.exit(0));
  if (left === 0) return done();
  const cut = setTimeout(() => {
    for (const c of open) if (!c.ended) c.ws.terminate();
    done();
  }, 2000);
  for (const c of open) {
    c.closing_by_us = true;
    c.ws.once('close', () => {
      if (--left === 0) {
        clearTimeout(cut);
        done();
      }
    });
    if (opts.pause) c.ws.terminate();  // a paused socket would never see the answer
    else c.ws.close(1000, 'done');
  }
}

function on_command(line) {
  line = line.trim();
  if (!line) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch {
    process.stderr.write(`stream_client: not a JSON command: ${line}\n`);
    return;
  }
  const targets = cmd.client === undefined ? clients : [clients[cmd.client]].filter(Boolean);
  if (cmd.send !== undefined) {
    const text = typeof cmd.send === 'string' ? cmd.send : JSON.stringify(cmd.send);
    for (const c of targets) if (c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
  } else if (cmd.close !== undefined) {
    for (const c of targets) {
      c.closing_by_us = true;
      c.ws.close(cmd.close, 'asked');
    }
  } else if (cmd.connect) {
    connect_all();
  } else if (cmd.summary) {
    out(summary_line('asked'));
  } else if (cmd.end) {
    finish('end');
  }
}

const timer = setTimeout(() => finish('timeout'), opts.timeout_ms);
process.on('SIGTERM', () => finish('signal'));  // the driver gave up waiting: report anyway
if (opts.stdin) {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', on_command);
  rl.on('close', () => finish('end'));
}
if (!opts.defer) connect_all();
