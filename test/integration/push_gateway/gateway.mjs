#!/usr/bin/env node
// A fake push gateway for centralita's integration tests: APNs, FCM HTTP v1 and a
// generic JSON webhook on 127.0.0.1, checking every request the way the real
// provider would and answering with the provider's own error shapes. The test
// acts as the phone: every accepted push is printed on stdout as one JSON line.
//
// Node 18+ built-ins only (http2, http, crypto, fs). Started and driven by
// test/integration/lib/push_gateway.py; run with --help for the flags.
//
// This file: configuration, behaviours, the control API, dispatch and the
// listeners. providers.mjs holds the APNs, FCM and webhook endpoints and lists
// what each checks; the request formats they accept are the ones
// protocols/push/push.hpp specifies.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';

import { answer, configure_providers, endpoint_for, is_object, parse_json, reject } from './providers.mjs';

const USAGE = `usage: node gateway.mjs [--config FILE.json] [flags]

Every flag is also a key of the JSON config file (dashes become underscores);
flags win over the file.

  --host ADDR               listen address (127.0.0.1)
  --tls-port N              HTTPS listener, HTTP/2 with HTTP/1.1 fallback (0 = pick)
  --http-port N             plain HTTP/1.1 listener, webhook + control only (0 = pick)
  --tls-key PEM --tls-cert PEM   the TLS listener's key and certificate (required)
  --apns-public-key PEM     verifies the ES256 provider tokens (a private key PEM works too)
  --apns-key-id ID          the provider token's "kid"
  --team-id ID              the provider token's "iss"
  --topic TOPIC             the only apns-topic accepted
  --fcm-public-key PEM      verifies the service account's RS256 assertions
  --fcm-key-id ID           when set, an assertion's "kid" (if any) must equal it
  --client-email EMAIL      the assertion's "iss"
  --project-id ID           the only project messages:send accepts
  --token-url URL           an accepted assertion "aud" (besides https://<authority>/token)
  --apns-allow-http1        accept APNs requests over HTTP/1.1 (real APNs is HTTP/2 only)
  --ignore-stdin            do not exit when stdin closes

Prints {"ready": {"tls_port": N, "http_port": M}} once listening, then one
{"push": {...}} line per accepted push. Exits 0 on SIGTERM/SIGINT or when stdin closes.`;

const BODY_LIMIT = 1 << 20;           // a request body larger than this gets 413
const LOG_LIMIT = 10000;              // request records kept (oldest dropped first)
const MODES = new Set(['ok', 'bad_device', 'unavailable', 'timeout', 'expired_token']);

// -- configuration ------------------------------------------------------------------

const BOOLEAN_FLAGS = new Set(['apns_allow_http1', 'ignore_stdin']);

function fail_start(message) {
  process.stderr.write(`gateway: ${message}\n`);
  process.exit(2);
}

function parse_command_line(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    if (!arg.startsWith('--')) fail_start(`unexpected argument ${arg}\n${USAGE}`);
    let name = arg.slice(2);
    let value;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const key = name.replace(/-/g, '_');
    if (BOOLEAN_FLAGS.has(key)) {
      flags[key] = value === undefined ? true : !['0', 'false', 'no'].includes(value);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) fail_start(`${arg} needs a value`);
      value = argv[++i];
    }
    flags[key] = value;
  }
  let config = {};
  if (flags.config !== undefined) {
    try {
      config = JSON.parse(fs.readFileSync(flags.config, 'utf8'));
    } catch (e) {
      fail_start(`cannot read config ${flags.config}: ${e.message}`);
    }
    delete flags.config;
  }
  return { host: '127.0.0.1', tls_port: 0, http_port: 0, ...config, ...flags };
}

function load_public_key(path, what, type) {
  if (!path) return null;
  let key;
  try {
    key = crypto.createPublicKey(fs.readFileSync(path, 'utf8'));
  } catch (e) {
    fail_start(`${what}: cannot load a public key from ${path}: ${e.message}`);
  }
  if (key.asymmetricKeyType !== type) fail_start(`${what}: ${path} is a ${key.asymmetricKeyType} key, want ${type}`);
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    fail_start(`${what}: ${path} is not on P-256`);
  }
  return key;
}

const cfg = parse_command_line(process.argv.slice(2));
if (!cfg.tls_key || !cfg.tls_cert) fail_start(`--tls-key and --tls-cert are required\n${USAGE}`);
const apns_key = load_public_key(cfg.apns_public_key, 'APNs', 'ec');
const fcm_key = load_public_key(cfg.fcm_public_key, 'FCM', 'rsa');

// -- state --------------------------------------------------------------------------

const state = {
  seq: 0,
  requests: [],                 // one record per request (control API excluded)
  behaviours: new Map(),        // token (or "*", or "/token") -> {mode, count|null}
  access_tokens: new Map(),     // issued FCM access token -> {client_email, expires_at_ms}
};
configure_providers(cfg, { apns: apns_key, fcm: fcm_key }, state.access_tokens);

const hanging = new Set();      // responses held open by the "timeout" mode
const sockets = new Set();      // every open connection, destroyed on shutdown

/// The mode for one request with this key, consuming one use of a counted entry.
/// A token's own entry wins over "*"; when a count runs out the entry goes, so the
/// token falls back to "*" (or "ok").
function take_behaviour(key, use_wildcard) {
  let entry_key = key;
  let entry = key !== null && key !== undefined ? state.behaviours.get(key) : undefined;
  if (!entry && use_wildcard) {
    entry_key = '*';
    entry = state.behaviours.get('*');
  }
  if (!entry) return 'ok';
  if (entry.count !== null) {
    entry.count -= 1;
    if (entry.count <= 0) state.behaviours.delete(entry_key);
  }
  return entry.mode;
}

// -- control API ------------------------------------------------------------------------
//   POST /control/behaviour {"token","mode","count"?}   GET /control/behaviour
//   GET /control/requests   POST /control/reset

async function control(ctx, res) {
  const { req, path } = ctx;
  const route = `${req.method} ${path}`;
  if (route === 'GET /control/requests') return send(res, answer(200, state.requests));
  if (route === 'GET /control/behaviour') {
    return send(res, answer(200, Object.fromEntries([...state.behaviours].map(([k, v]) => [k, { ...v }]))));
  }
  if (route === 'POST /control/reset') {
    state.requests.length = 0;
    state.behaviours.clear();
    return send(res, answer(200, { ok: true }));
  }
  if (route === 'POST /control/behaviour') {
    const body = ctx.json;
    const b = body?.ok ? body.value : null;
    const bad = (why) => send(res, answer(400, { ok: false, error: why }));
    if (!is_object(b)) return bad('body must be a JSON object {"token","mode","count"?}');
    if (typeof b.token !== 'string' || b.token === '') return bad('token must be a non-empty string ("*" for every token)');
    if (!MODES.has(b.mode)) return bad(`mode must be one of ${[...MODES].join(', ')}`);
    const count = b.count ?? null;
    if (count !== null && (!Number.isInteger(count) || count < 1)) return bad('count must be a positive integer');
    if (b.mode === 'ok' && count === null) state.behaviours.set(b.token, { mode: 'ok', count: null });
    else state.behaviours.set(b.token, { mode: b.mode, count });
    return send(res, answer(200, { ok: true }));
  }
  return send(res, answer(404, { ok: false, error: `no control route ${route}` }));
}

// -- request dispatch -------------------------------------------------------------------

function read_body(req) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    let too_big = false;
    req.on('data', (c) => {
      size += c.length;
      if (size > BODY_LIMIT) too_big = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(too_big ? null : Buffer.concat(chunks)));
    req.on('error', () => resolve(Buffer.concat(chunks)));
    req.on('aborted', () => resolve(Buffer.concat(chunks)));
  });
}

function send(res, ans) {
  if (res.destroyed || res.writableEnded || (res.stream && res.stream.destroyed)) return false;
  const headers = { ...ans.headers };
  let payload = '';
  if (ans.json !== undefined) {
    payload = JSON.stringify(ans.json);
    headers['content-type'] ??= 'application/json';
  }
  headers['content-length'] = String(Buffer.byteLength(payload));
  try {
    res.writeHead(ans.status, headers);
    res.end(payload);
  } catch (e) {
    process.stderr.write(`gateway: cannot answer: ${e.message}\n`);
    return false;
  }
  return true;
}

function record(listener, req, path) {
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = v;
  const rec = {
    seq: ++state.seq,
    at: new Date().toISOString(),
    listener,
    http_version: req.httpVersion,
    method: req.method,
    path,
    provider: 'unknown',
    token: null,
    headers,
    body: null,
    jwt: null,
    valid: false,
    failed_check: null,
    behaviour: null,
    verdict: null,
    status: null,
    response: null,
    client_gave_up: false,
  };
  state.requests.push(rec);
  if (state.requests.length > LOG_LIMIT) state.requests.shift();
  return rec;
}

async function handle(listener, req, res) {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q >= 0 ? url.slice(0, q) : url;
  const raw = await read_body(req);
  const authority = req.headers[':authority'] ?? req.headers.host ?? '';
  const ctx = { req, path, query: q >= 0 ? url.slice(q + 1) : '', raw: raw ?? Buffer.alloc(0), authority };
  ctx.json = ctx.raw.length ? parse_json(ctx.raw.toString('utf8')) : null;

  if (path.startsWith('/control/')) return control(ctx, res);

  const rec = record(listener, req, path);
  ctx.rec = rec;
  rec.body = ctx.json?.ok ? ctx.json.value : (ctx.raw.length ? ctx.raw.toString('utf8') : null);
  const [provider, handler] = endpoint_for(listener, path);
  rec.provider = provider ?? 'unknown';
  let outcome;
  if (raw === null) {
    outcome = reject(`body larger than ${BODY_LIMIT} bytes`, answer(413, { error: 'request body too large' }));
  } else if (!handler) {
    outcome = reject(`no endpoint ${path} on the ${listener} listener`, answer(404, { error: 'not found' }));
  } else {
    outcome = handler(ctx);
  }
  rec.token = outcome.token ?? null;
  rec.valid = outcome.valid;

  if (!outcome.valid) {
    rec.failed_check = outcome.check;
    return finish(rec, res, outcome.answer, 'rejected');
  }
  const key = outcome.behaviour_key ?? outcome.token;
  const mode = take_behaviour(key, outcome.behaviour_key === undefined);
  rec.behaviour = mode;
  if (mode === 'timeout') {
    // Never answer: the client must give up on its own. Shutdown cancels the stream.
    rec.verdict = 'timeout';
    hanging.add(res);
    res.on('close', () => {
      hanging.delete(res);
      rec.client_gave_up = true;
    });
    return;
  }
  if (mode !== 'ok') return finish(rec, res, outcome.modes[mode](), mode);

  const ans = outcome.accept();
  if (outcome.payload !== undefined) {
    // Printed before the answer leaves, so a test that saw the answer can rely on the line.
    process.stdout.write(JSON.stringify({ push: { provider, token: outcome.token, payload: outcome.payload, seq: rec.seq } }) + '\n');
  }
  return finish(rec, res, ans, 'accepted');
}

function finish(rec, res, ans, verdict) {
  rec.verdict = verdict;
  rec.status = ans.status;
  rec.response = ans.json ?? null;
  rec.response_headers = ans.headers;
  if (!send(res, ans)) rec.client_gave_up = true;
}

function handler_for(listener) {
  return (req, res) => {
    handle(listener, req, res).catch((e) => {
      process.stderr.write(`gateway: internal error on ${req.method} ${req.url}: ${e.stack}\n`);
      send(res, answer(500, { error: 'gateway internal error', detail: String(e) }));
    });
  };
}

// -- listeners and lifetime -------------------------------------------------------------

let tls_server;
let http_server;
try {
  tls_server = http2.createSecureServer({
    allowHTTP1: true,
    key: fs.readFileSync(cfg.tls_key),
    cert: fs.readFileSync(cfg.tls_cert),
  }, handler_for('tls'));
} catch (e) {
  fail_start(`cannot set up TLS: ${e.message}`);
}
http_server = http.createServer(handler_for('http'));
http_server.keepAliveTimeout = 60000;

for (const server of [tls_server, http_server]) {
  server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
}
tls_server.on('sessionError', (e) => process.stderr.write(`gateway: http2 session error: ${e.message}\n`));
tls_server.on('tlsClientError', (e) => process.stderr.write(`gateway: TLS client error: ${e.message}\n`));

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), cfg.host, () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

let stopping = false;
function shutdown(why) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`gateway: stopping (${why})\n`);
  for (const server of [tls_server, http_server]) server.close();
  for (const res of hanging) {
    try {
      if (res.stream) res.stream.close(http2.constants.NGHTTP2_CANCEL);
      else res.destroy();
    } catch { /* already gone */ }
  }
  for (const sock of sockets) sock.destroy();
  process.exit(0);
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.stdout.on('error', () => shutdown('stdout closed'));

try {
  const tls_port = await listen(tls_server, cfg.tls_port);
  const http_port = await listen(http_server, cfg.http_port);
  cfg.tls_port = tls_port;
  process.stdout.write(JSON.stringify({ ready: { tls_port, http_port } }) + '\n');
} catch (e) {
  fail_start(`cannot listen: ${e.message}`);
}

if (!cfg.ignore_stdin) {
  // The test owns our stdin: when it closes (the test ended or died), so do we.
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}
