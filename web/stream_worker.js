// Runs event_stream (stream.js) off the page's thread: the WebSocket, JSON parsing,
// sequence bookkeeping and reconnects happen here, and the page gets what happened as
// ordered batches (worker_stream in stream.js), one postMessage per FLUSH_MS at most.

import { event_stream } from './stream.js';

const FLUSH_MS = 40;
let stream = null;
let queue = [];
let timer = 0;
let last_flush = 0;

function snapshot() {
  const s = stream;
  return { state: s.state, retry_at: s.retry_at, last_seq: s.last_seq, node: s.node, replaying: s.replaying,
    initial: s.initial, ever_connected: s.ever_connected, last_close: s.last_close };
}

function flush() {
  clearTimeout(timer);
  timer = 0;
  if (!queue.length) return;
  const items = queue;
  queue = [];
  last_flush = Date.now();
  postMessage({ items });
}

// Events wait for the next flush: at once (next turn) when the stream was quiet, so a
// lone REGISTER shows without delay, else within FLUSH_MS together with the others.
// Anything else (hello, state change, missed, dropped) goes out at once with the stream's
// state as it was at that moment.
function push(item, urgent) {
  queue.push(item);
  if (urgent) flush();
  else if (!timer) timer = setTimeout(flush, Date.now() - last_flush >= FLUSH_MS ? 0 : FLUSH_MS);
}

self.onmessage = (m) => {
  const d = m.data;
  if (d.init && !stream) {
    const base = d.init.base;
    stream = new event_stream((params) => {
      const url = new URL(base);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
      return url.href;
    }, {
      on_hello: (h, info) => push({ k: 'hello', h, info, snap: snapshot() }, true),
      on_event: (e, replaying) => push({ k: 'event', e, replaying }, false),
      on_control: (c) => push({ k: 'control', c, snap: snapshot() }, true),
      on_change: () => push({ k: 'change', snap: snapshot() }, true),
    });
    stream.start();
  } else if (d.send) stream?.send(d.send);
  else if (d.reconnect) stream?.reconnect_now();
};
