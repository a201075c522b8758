"""An HTTP/1.1 client for centralita's integration tests (Python 3.11, stdlib only):

* ``call()``: one request on a fresh connection (http.client), the whole answer as a ``Reply``
  (status, lower-cased headers, body; ``json()``, ``error_ok(status)`` for the JSON error body
  every failure of the API carries).
* ``Raw``: a raw TCP connection for what http.client hides (pipelining, HEAD, closes, bad
  requests): ``response()`` reads one whole answer, ``closed()`` waits for the server's close.
* ``parse_metrics()``: Prometheus' text exposition format (0.0.4), line by line.

Every wait is bounded (socket timeouts, polls with deadlines).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from dataclasses import dataclass

from centralita_test import HOST

POLL = 0.05   # seconds between two looks in poll()

# --------------------------------------------------------------------------- clients

@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def error_ok(self, status: int) -> bool:
        """A JSON error body {"error":{"status":status,"message":"..."}}."""
        j = self.json()
        e = j.get("error") if isinstance(j, dict) else None
        return (self.status == status and isinstance(e, dict) and e.get("status") == status
                and isinstance(e.get("message"), str) and e["message"] != ""
                and self.headers.get("content-type", "").startswith("application/json"))

    def __str__(self) -> str:
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"HTTP {self.status}\n{head}\n\n{self.body[:1500]!r}"


def call(port: int, method: str, path: str, *, body=None, headers: dict | None = None,
         token: str | None = None, host: str = HOST) -> Reply:
    """One request to host:port on a fresh connection (http.client), the whole answer read."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def get_json(port: int, path: str, **kw):
    r = call(port, "GET", path, **kw)
    return r, (r.json() if r.status == 200 else None)


class Raw:
    """A raw TCP connection to the HTTP listener that reads whole responses."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=5)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool | None:
        """More bytes into buf: True; timeout: False; EOF or reset: None."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:          # ECONNRESET
            return None
        if not chunk:
            return None
        self.buf += chunk
        return True

    def response(self, head: bool = False, timeout: float = 5) -> Reply | None:
        """The next response (no body read for a HEAD), or None (timeout or closed first)."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                return None
        end = self.buf.index(b"\r\n\r\n")
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0] + " ")
        headers = {}
        for line in lines[1:]:
            n, _, v = line.partition(":")
            headers[n.strip().lower()] = v.strip()
        length = 0 if head else int(headers.get("content-length", "0"))
        while len(self.buf) < end + 4 + length:
            if not self._fill(deadline):
                return None
        body = self.buf[end + 4:end + 4 + length]
        self.buf = self.buf[end + 4 + length:]
        return Reply(int(m.group(1)) if m else 0, headers, body)

    def closed(self, timeout: float = 5) -> bool:
        """Whether the server closes (EOF or reset) within timeout; bytes read meanwhile stay."""
        deadline = time.monotonic() + timeout
        while True:
            got = self._fill(deadline)
            if got is None:
                return True
            if got is False:
                return False


def raw_exchange(port: int, data: bytes) -> tuple[Reply | None, bool]:
    """Sends data on a fresh connection: (the response, whether the server then closed without
    sending anything more)."""
    c = Raw(port)
    try:
        c.send(data)
        r = c.response()
        return r, (r is not None and c.closed(3) and c.buf == b"")
    finally:
        c.close()


def get_req(path: str, *extra: str, version: str = "1.1", method: str = "GET") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", f"Host: {HOST}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def poll(fn, timeout: float = 5):
    """fn() until it returns something truthy (bounded); the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(POLL)


# --------------------------------------------------------------------------- metrics

METRIC_LINE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*,?)?\})?'
    r' ([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))(?: -?[0-9]+)?$')
COMMENT_LINE = re.compile(r"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$")


def parse_metrics(text: str):
    """(samples {(name, labels-text): value}, HELP counts, TYPE map, bad lines, family errors)."""
    samples, helps, types, bad, errors = {}, {}, {}, [], []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            m = COMMENT_LINE.match(line)
            if not m:
                bad.append(line)
            elif m.group(1) == "HELP":
                helps[m.group(2)] = helps.get(m.group(2), 0) + 1
            else:
                if m.group(2) in types:
                    errors.append(f"second TYPE for {m.group(2)}")
                if m.group(3) not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    errors.append(f"bad TYPE line: {line}")
                types[m.group(2)] = m.group(3)
            continue
        m = METRIC_LINE.match(line)
        if not m:
            bad.append(line)
            continue
        name, labels = m.group(1), m.group(2) or ""
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                family = name[:-len(suffix)]
        if family not in types:
            errors.append(f"sample before/without TYPE: {line}")
        samples[(name, labels)] = float(m.group(3))
    errors += [f"{n}: {k} HELP lines" for n, k in helps.items() if k != 1]
    errors += [f"{n}: TYPE without HELP" for n in types if n not in helps]
    return samples, helps, types, bad, errors
