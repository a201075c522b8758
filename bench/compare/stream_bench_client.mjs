// The receiving side of bench/compare/stream_bench.py: N WebSocket clients on
// one /events URL, counting event frames (not parsing them: the bench measures
// the switch, and JSON.parse per frame would make this process the limit).
//
//   node stream_bench_client.mjs --url ws://127.0.0.1:8080/events?event=CUSTOM \
//        --clients 100 --count 20000 --timeout-ms 120000
//
// Prints "READY" once every client is open and has its hello, then, when each
// client has --count events (or closed, or the timeout), one JSON line:
// {"done":true,"clients":N,"min":..,"max":..,"first_ms":..,"last_ms":..,"closed":k,"dropped":d}
// Reads "stop" on stdin to end early (a "counting forever" run).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../test/integration/node/package.json'));
const WebSocket = require('ws');

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const url = args.url;
const clients = Number(args.clients || 1);
const count = Number(args.count || 0);
const timeoutMs = Number(args['timeout-ms'] || 120000);

const counts = new Array(clients).fill(0);
let open = 0, hellos = 0, closed = 0, dropped = 0, finished = 0;
let firstMs = 0, lastMs = 0;
const sockets = [];

function report() {
  console.log(JSON.stringify({
    done: finished === clients, clients, min: Math.min(...counts), max: Math.max(...counts),
    first_ms: firstMs, last_ms: lastMs, closed, dropped,
  }));
  for (const s of sockets) s.terminate();
  process.exit(0);
}

for (let i = 0; i < clients; i++) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  sockets.push(ws);
  ws.on('open', () => { open++; });
  ws.on('message', (data) => {
    // Event frames start with {"type":"event"; notices are rare: parse those.
    if (data[9] === 0x65 /* e */ && data[2] === 0x74 && data.length > 16 && data[10] === 0x76) {
      const now = performance.now();
      if (firstMs === 0) firstMs = now;
      lastMs = now;
      if (++counts[i] === count) {
        if (++finished === clients) report();
      }
      return;
    }
    const f = JSON.parse(String(data));
    if (f.type === 'hello' && ++hellos === clients) console.log('READY');
    if (f.type === 'dropped') dropped += f.count;
  });
  ws.on('close', () => { closed++; if (closed === clients) report(); });
  ws.on('error', (e) => { console.error(`client ${i}: ${e.message}`); });
}
setTimeout(report, timeoutMs).unref();
process.stdin.on('data', (d) => { if (String(d).includes('stop')) report(); });
