// The switch's HTTP API and event stream addresses, with the page's token.
//
// A page opened as /?token=T sends `Authorization: Bearer T` on every fetch and puts
// token=T in the WebSocket URL (a browser cannot set headers on a WebSocket). Without a
// token the switch only answers loopback clients.

const token = new URLSearchParams(location.search).get('token') ?? '';

/// An API failure with the switch's status and message ({"error":{"status","message"}}).
export class api_error extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/// GET `path` (e.g. "api/stats", relative to the page, so the dashboard also works behind
/// a reverse proxy that mounts the switch under a prefix) and return the parsed JSON;
/// throws api_error.
export async function get_json(path, { signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { headers, signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new api_error(0, 'switch unreachable');
  }
  let body = null;
  try { body = await res.json(); } catch { /* a proxy's HTML error page, say */ }
  if (!res.ok) throw new api_error(res.status, body?.error?.message ?? res.statusText ?? `HTTP ${res.status}`);
  if (body === null) throw new api_error(res.status, 'answer is not JSON');
  return body;
}

/// The event stream URL beside the page: ws(s)://host/events?since=..&token=..
export function events_url(params = {}) {
  const url = new URL('events', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) url.searchParams.append(k, String(v));
  if (token) url.searchParams.set('token', token);
  return url.href;
}
