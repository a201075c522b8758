#!/usr/bin/env node
// The client side of test/integration/test_push_gateway.py: signs JWTs with
// node's crypto and makes real HTTP/2 (or HTTP/1.1) requests to the fake push
// gateway, as the switch would. Node 18+ built-ins only.
//
//   node selftest_client.mjs --ca CA.pem
//
// Reads one JSON command per line on stdin and answers each with one JSON line
// on stdout carrying the same "id". Commands run concurrently, so answers may
// come out of order.
//
//   {"id", "op":"jwt", "alg":"ES256"|"RS256", "key": PEM path | "generate": "ec"|"rsa",
//    "header": {...}, "claims": {...}}
//       -> {"id", "jwt"}   (the header is used as given: put "alg" in it yourself;
//          "der": true signs ES256 in DER instead of JWS's R||S, a classic mistake)
//   {"id", "op":"request", "url", "method"?, "headers"?: {...}, "body"?: text,
//    "json"?: value, "http1"?: bool, "timeout_ms"?: n}
//       -> {"id", "status", "headers", "body", "json", "http_version", "error", "elapsed_ms"}
//          error is null, "timeout" (no answer within timeout_ms: the request was
//          cancelled), or the transport error.
// Exits when stdin closes.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import readline from 'node:readline';

let ca;
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--ca') ca = fs.readFileSync(process.argv[++i]);
}

const sessions = new Map();   // origin -> ClientHttp2Session, reused as a real client would

function session_for(origin) {
  let s = sessions.get(origin);
  if (s && !s.closed && !s.destroyed) return s;
  s = http2.connect(origin, { ca });
  s.on('error', () => sessions.delete(origin));
  s.on('close', () => sessions.delete(origin));
  sessions.set(origin, s);
  return s;
}

function make_jwt(cmd) {
  let key;
  if (cmd.generate === 'ec') {
    key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  } else if (cmd.generate === 'rsa') {
    key = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  } else {
    key = crypto.createPrivateKey(fs.readFileSync(cmd.key, 'utf8'));
  }
  const enc = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc(cmd.header)}.${enc(cmd.claims)}`;
  const signature = cmd.alg === 'ES256'
    ? crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: cmd.der ? 'der' : 'ieee-p1363' })
    : crypto.sign('sha256', Buffer.from(input), key);
  return { jwt: `${input}.${signature.toString('base64url')}` };
}

function request_body(cmd) {
  if (cmd.json !== undefined) return Buffer.from(JSON.stringify(cmd.json));
  return Buffer.from(cmd.body ?? '');
}

function finish(t0, status, headers, chunks, http_version, error) {
  const body = Buffer.concat(chunks).toString('utf8');
  let json = null;
  try { json = body ? JSON.parse(body) : null; } catch { /* not JSON */ }
  return { status, headers, body, json, http_version, error, elapsed_ms: Date.now() - t0 };
}

function request_h2(cmd) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const url = new URL(cmd.url);
    let session;
    try {
      session = session_for(url.origin);
    } catch (e) {
      resolve(finish(t0, null, {}, [], '2.0', e.message));
      return;
    }
    const headers = { ':method': cmd.method ?? 'POST', ':path': url.pathname + url.search, ...(cmd.headers ?? {}) };
    const body = request_body(cmd);
    // endStream false: node would otherwise end a GET's stream before req.end() below.
    const req = session.request(headers, { endStream: false });
    const chunks = [];
    let status = null;
    let resp_headers = {};
    let done = false;
    const end = (error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(finish(t0, status, resp_headers, chunks, '2.0', error));
    };
    const timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      end('timeout');
    }, cmd.timeout_ms ?? 5000);
    req.on('response', (h) => {
      status = h[':status'];
      resp_headers = Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith(':')));
    });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => end(null));
    req.on('error', (e) => end(e.message));
    req.end(body);
  });
}

function request_h1(cmd) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const url = new URL(cmd.url);
    const mod = url.protocol === 'https:' ? https : http;
    const body = request_body(cmd);
    const chunks = [];
    let done = false;
    const end = (res, error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(finish(t0, res ? res.statusCode : null, res ? res.headers : {}, chunks, res ? res.httpVersion : null, error));
    };
    const req = mod.request(url, {
      method: cmd.method ?? 'POST',
      headers: { 'content-length': body.length, ...(cmd.headers ?? {}) },
      ca,
      agent: false,
    }, (res) => {
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => end(res, null));
      res.on('error', (e) => end(res, e.message));
    });
    const timer = setTimeout(() => {
      req.destroy();
      end(null, 'timeout');
    }, cmd.timeout_ms ?? 5000);
    req.on('error', (e) => end(null, e.message));
    req.end(body);
  });
}

async function run(cmd) {
  try {
    if (cmd.op === 'jwt') return make_jwt(cmd);
    if (cmd.op === 'request') {
      const h1 = cmd.http1 || cmd.url.startsWith('http:');
      return await (h1 ? request_h1(cmd) : request_h2(cmd));
    }
    return { error: `unknown op ${cmd.op}` };
  } catch (e) {
    return { error: `client exception: ${e.stack}` };
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    process.stdout.write(JSON.stringify({ id: null, error: `bad command: ${e.message}` }) + '\n');
    return;
  }
  run(cmd).then((result) => process.stdout.write(JSON.stringify({ id: cmd.id, ...result }) + '\n'));
});
lines.on('close', () => {
  for (const s of sessions.values()) s.destroy();
  process.exit(0);
});
