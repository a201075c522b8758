"""WebSocket helpers for test_event_stream.py (Python 3.11, stdlib only).

* ``RawWebSocket``: an RFC 6455 client over a plain socket, handshake written by hand, for
  what a library would never send (unmasked, binary, bad UTF-8, oversized frames, garbage)
  and for consumers that read late or never (a small SO_RCVBUF set before connecting).
* ``StreamClients``: test/integration/node/stream_client.mjs (N `ws` clients) as a child
  process: its READY / FRAME / SUMMARY lines read by a thread, waits bounded.
* ``expand``, ``dropped_accounts``: whether a client's seqs and its ``dropped`` notice add
  up against a reference client's.
* ``http_call``, ``metric``, ``api_stats``: the switch's HTTP API and /metrics.

Every wait is a socket timeout or a bounded condition wait: nothing sleeps.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from centralita_test import HOST, ConnectionClosed

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"   # RFC 6455 §1.3
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
CLIENT_JS = NODE_DIR / "stream_client.mjs"


# --------------------------------------------------------------------------- frames

@dataclass
class Frame:
    opcode: int
    payload: bytes
    fin: bool = True
    masked: bool = False      # a server must never mask (RFC 6455 §5.1)
    rsv: int = 0

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", "replace")

    def json(self) -> dict | None:
        if self.opcode != OP_TEXT:
            return None
        try:
            v = json.loads(self.payload)
        except ValueError:
            return None
        return v if isinstance(v, dict) else None

    @property
    def close_code(self) -> int | None:
        """§5.5.1: the status code of a close frame (None: not a close, or no code)."""
        if self.opcode != OP_CLOSE or len(self.payload) < 2:
            return None
        return struct.unpack("!H", self.payload[:2])[0]

    @property
    def close_reason(self) -> str:
        return self.payload[2:].decode("utf-8", "replace") if self.opcode == OP_CLOSE else ""

    def brief(self) -> str:
        names = {OP_CONT: "cont", OP_TEXT: "text", OP_BINARY: "binary", OP_CLOSE: "close",
                 OP_PING: "ping", OP_PONG: "pong"}
        if self.opcode == OP_CLOSE:
            return f"close {self.close_code} {self.close_reason!r}"
        body = self.text if self.opcode == OP_TEXT else repr(self.payload[:60])
        return f"{names.get(self.opcode, hex(self.opcode))} {body[:200]}"


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True,
                 rsv: int = 0, length: int | None = None) -> bytes:
    """One frame (§5.2); a client masks (§5.3) unless told not to. length: lie about it."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n <= 0xFFFF:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    # XOR with the 4-byte key, repeated (fast path: one big int).
    reps = (len(payload) + 3) // 4
    k = int.from_bytes((key * reps)[:len(payload)], "big") if payload else 0
    body = (int.from_bytes(payload, "big") ^ k).to_bytes(len(payload), "big") if payload else b""
    return head + key + body


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode()


# --------------------------------------------------------------------------- raw client

class RawWebSocket:
    """A WebSocket client on a plain TCP socket. The handshake happens in the constructor;
    ``status`` is the HTTP status (101 when upgraded), ``body`` the answer's body otherwise."""

    def __init__(self, port: int, path: str, *, headers: Iterable[tuple[str, str]] = (),
                 rcvbuf: int | None = None, timeout: float = 5.0) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:   # before connect: it sets the window the server sees
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((HOST, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local_port = self.sock.getsockname()[1]
        self.buf = b""
        self.eof = False
        self.reset = False
        self.key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {self.key}",
                 "Sec-WebSocket-Version: 13"]
        lines += [f"{n}: {v}" for n, v in headers]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.status, self.reason, self.headers, self.body = self._read_answer(timeout)
        expected = base64.b64encode(hashlib.sha1((self.key + GUID).encode()).digest()).decode()
        self.accept_ok = self.headers.get("sec-websocket-accept") == expected

    @property
    def accepted(self) -> bool:
        return self.status == 101 and self.accept_ok

    def _read_answer(self, timeout: float) -> tuple[int, str, dict[str, str], bytes]:
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                return 0, "no answer", {}, self.buf
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.1 (\d{3}) ?(.*)", lines[0])
        status, reason = (int(m.group(1)), m.group(2)) if m else (0, lines[0])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                n, v = line.split(":", 1)
                headers[n.strip().lower()] = v.strip()
        body = b""
        if status != 101:
            length = int(headers.get("content-length", "0") or 0)
            while len(self.buf) < length and self._fill(deadline):
                pass
            body, self.buf = self.buf[:length], self.buf[length:]
        return status, reason, headers, body

    def _fill(self, deadline: float) -> bool:
        """More bytes into buf; False on timeout; raises ConnectionClosed on EOF or reset."""
        if self.eof:
            raise ConnectionClosed("EOF")
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(262144)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError) as e:
            self.eof = self.reset = True
            raise ConnectionClosed(str(e)) from e
        if not chunk:
            self.eof = True
            raise ConnectionClosed("EOF")
        self.buf += chunk
        return True

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawWebSocket":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- sending
    def send_raw(self, data: bytes) -> bool:
        """Writes bytes; False if the server had closed the connection already."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def send_frame(self, opcode: int, payload: bytes, **kw) -> bool:
        return self.send_raw(encode_frame(opcode, payload, **kw))

    def send_text(self, text: str, **kw) -> bool:
        return self.send_frame(OP_TEXT, text.encode(), **kw)

    def send_json(self, obj) -> bool:
        return self.send_text(json.dumps(obj))

    def send_close(self, code: int = 1000, reason: str = "") -> bool:
        return self.send_frame(OP_CLOSE, close_payload(code, reason))

    # -- receiving
    def _parse(self) -> Frame | None:
        """A whole frame from buf, or None if it is not all there yet."""
        b = self.buf
        if len(b) < 2:
            return None
        n = b[1] & 0x7F
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n, pos = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, pos = struct.unpack("!Q", b[2:10])[0], 10
        masked = bool(b[1] & 0x80)
        key = b""
        if masked:
            if len(b) < pos + 4:
                return None
            key, pos = b[pos:pos + 4], pos + 4
        if len(b) < pos + n:
            return None
        payload = b[pos:pos + n]
        if masked:
            payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        self.buf = b[pos + n:]
        return Frame(b[0] & 0x0F, payload, bool(b[0] & 0x80), masked, (b[0] >> 4) & 0x7)

    def recv_frame(self, timeout: float = 5.0) -> Frame | None:
        """The next frame within timeout, else None. Raises ConnectionClosed at EOF."""
        deadline = time.monotonic() + timeout
        while True:
            f = self._parse()
            if f is not None:
                return f
            if not self._fill(deadline):
                return None

    def recv_json(self, timeout: float = 5.0, skip_control: bool = True) -> dict | None:
        """The next text frame as JSON (pings and pongs skipped), None on timeout or close."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except ConnectionClosed:
                return None
            if f is None or f.opcode == OP_CLOSE:
                return None
            if skip_control and f.opcode in (OP_PING, OP_PONG):
                continue
            return f.json()

    def read_to_close(self, timeout: float) -> tuple[list[Frame], bool]:
        """Reads every frame until the server's close frame and then EOF (or timeout).
        Returns (frames, tcp closed). Bytes of a frame cut short by EOF stay in buf."""
        deadline = time.monotonic() + timeout
        frames: list[Frame] = []
        while True:
            try:
                f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except ConnectionClosed:
                while (f := self._parse()) is not None:
                    frames.append(f)
                return frames, True
            if f is None:
                return frames, False
            frames.append(f)


def first_close(frames: list[Frame]) -> Frame | None:
    return next((f for f in frames if f.opcode == OP_CLOSE), None)


def server_socket_state(server_port: int, client_port: int) -> str | None:
    """The TCP state of the switch's end of a connection (from /proc/net/tcp), e.g.
    "ESTABLISHED", "FIN_WAIT1"; None when it is gone (or /proc cannot tell)."""
    states = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}
    local, remote = f":{server_port:04X}", f":{client_port:04X}"
    try:
        text = Path("/proc/net/tcp").read_text()
    except OSError:
        return None
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) > 3 and parts[1].endswith(local) and parts[2].endswith(remote):
            return states.get(parts[3], parts[3])
    return None


def stuck_frames(ws: RawWebSocket, timeout: float) -> tuple[list[int], list[dict], Frame | None, bool]:
    """What a client that stopped reading finds when it reads at last: (event seqs, the other
    text frames as JSON, the close frame or None, whether the server closed the connection)."""
    frames, closed = ws.read_to_close(timeout)
    texts = [f.json() or {"type": "_not_json"} for f in frames if f.opcode == OP_TEXT]
    return ([t.get("seq") for t in texts if t.get("type") == "event"],
            [t for t in texts if t.get("type") != "event"], first_close(frames), closed)


# --------------------------------------------------------------------------- accounting

def expand(ranges: list[list[int]]) -> list[int]:
    """stream_client.mjs's seq ranges [[first, last], ...] -> every seq."""
    return [s for a, b in ranges for s in range(a, b + 1)]


def dropped_accounts(got: list[int], ordered: bool, d: dict, ref: list[int]) -> tuple[bool, str]:
    """Whether a client cut off with notice d (dropped) lost nothing unaccounted: what it got
    is a prefix of the reference seqs and count covers every reference seq after it up to
    d.last_seq."""
    k = len(got)
    upto = sum(1 for s in ref if s <= d.get("last_seq", -1))
    prefix = ordered and got == ref[:k]
    first_ok = k >= len(ref) or d.get("first_seq") == ref[k]
    ok = prefix and first_ok and k + d.get("count", -1) == upto
    return ok, (f"got {k} (prefix of the reference: {prefix}), dropped {d}, reference seqs up "
                f"to last_seq: {upto}")


# --------------------------------------------------------------------------- HTTP

def http_call(port: int, method: str, path: str, body: bytes | str | None = None,
              headers: dict[str, str] | None = None, timeout: float = 5.0
              ) -> tuple[int, dict[str, str], bytes]:
    """One request to the switch's HTTP listener: (status, headers lower-cased, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def metric(port: int, name: str, labels: str = "") -> float | None:
    """The sum of /metrics samples named name (whose labels contain labels, if given)."""
    status, _, body = http_call(port, "GET", "/metrics")
    if status != 200:
        return None
    total, seen = 0.0, False
    for line in body.decode("utf-8", "replace").splitlines():
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and m.group(1) == name and labels in (m.group(2) or ""):
            total += float(m.group(3))
            seen = True
    return total if seen else None


def api_stats(port: int, token: str = "") -> dict:
    status, _, body = http_call(port, "GET", "/api/stats",
                                headers={"Authorization": f"Bearer {token}"} if token else None)
    return json.loads(body) if status == 200 else {}


def poll(fn: Callable[[], object], timeout: float, every: float = 0.05):
    """fn() until it returns something true, bounded by timeout; the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(every)   # between two looks of a bounded poll


# --------------------------------------------------------------------------- node clients

def node_binary() -> str | None:
    return shutil.which("node") or shutil.which("nodejs")


def node_missing() -> str | None:
    """Why the Node clients cannot run here, or None."""
    if node_binary() is None:
        return "node is not installed (apt-get install nodejs)"
    if not (NODE_DIR / "node_modules" / "ws" / "package.json").exists():
        return f"the ws package is missing: (cd {NODE_DIR} && npm ci)"
    return None


_running: list["StreamClients"] = []


class StreamClients:
    """stream_client.mjs with its arguments; frames[i] collects client i's printed frames
    (parsed JSON), summary the final SUMMARY. Stopped by finish() or stop()."""

    def __init__(self, urls: list[str], *, clients: int = 0, args: Iterable[str] = (),
                 stdin: bool = False, print_frames: str = "all") -> None:
        self.cmd = [node_binary() or "node", str(CLIENT_JS)]
        for u in urls:
            self.cmd += ["--url", u]
        if clients:
            self.cmd += ["--clients", str(clients)]
        self.cmd += ["--print", print_frames, *args]
        if stdin:
            self.cmd.append("--stdin")
        self.n = clients or len(urls)
        self.frames: list[list[dict]] = [[] for _ in range(self.n)]
        self.ready: dict | None = None
        self.summary: dict | None = None
        self.other: list[str] = []
        self.gave_up = False      # the SUMMARY came only after a SIGTERM
        self.cv = threading.Condition()
        self.proc = subprocess.Popen(self.cmd, cwd=NODE_DIR, text=True, bufsize=1,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _running.append(self)
        self.stderr = ""
        self._threads = [threading.Thread(target=self._read_out, daemon=True),
                         threading.Thread(target=self._read_err, daemon=True)]
        for t in self._threads:
            t.start()

    def _read_out(self) -> None:
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            with self.cv:
                if line.startswith("FRAME "):
                    _, i, text = line.split(" ", 2)
                    try:
                        self.frames[int(i)].append(json.loads(text))
                    except ValueError:
                        self.frames[int(i)].append({"type": "_unparsed", "text": text})
                elif line.startswith("READY "):
                    self.ready = json.loads(line[6:])
                elif line.startswith("SUMMARY "):
                    self.summary = json.loads(line[8:])
                else:
                    self.other.append(line)
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def _read_err(self) -> None:
        for line in self.proc.stderr:
            self.stderr += line

    def _wait(self, pred: Callable[[], object], timeout: float):
        with self.cv:
            self.cv.wait_for(lambda: pred() or self.proc.poll() is not None, timeout)
            return pred()

    def wait_ready(self, timeout: float = 15.0) -> dict | None:
        return self._wait(lambda: self.ready, timeout)

    def wait_frame(self, i: int, pred: Callable[[dict], bool], timeout: float = 5.0,
                   start: int = 0) -> dict | None:
        """The first frame of client i from index start on for which pred holds."""
        def find():
            return next((f for f in self.frames[i][start:] if pred(f)), None)
        return self._wait(find, timeout)

    def events(self, i: int, name: str | None = None) -> list[dict]:
        with self.cv:
            return [f for f in self.frames[i]
                    if f.get("type") == "event" and (name is None or f.get("name") == name)]

    def command(self, obj: dict) -> None:
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def send(self, i: int, message) -> None:
        self.command({"client": i, "send": message})

    def wait_summary(self, timeout: float) -> dict | None:
        """Waits (bounded) for the SUMMARY and the exit. Past timeout, SIGTERM makes the
        clients report what they have (5 s more at most); then the process is stopped."""
        got = self._wait(lambda: self.summary, timeout)
        if got is None and self.proc.poll() is None:
            self.gave_up = True
            self.proc.terminate()
            got = self._wait(lambda: self.summary, 5.0)
        self.stop()
        return got

    def finish(self, timeout: float = 10.0) -> dict | None:
        """Asks a --stdin run to end (every client closed), returns its SUMMARY."""
        if self.proc.poll() is None and self.proc.stdin:
            try:
                self.command({"end": True})
            except (BrokenPipeError, OSError):
                pass
        return self.wait_summary(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self._threads:
            t.join(2)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if f:
                    f.close()
            except OSError:
                pass
        if self in _running:
            _running.remove(self)

    def detail(self) -> str:
        return (f"command: {' '.join(self.cmd)}\nexit {self.proc.poll()}\n"
                f"stderr: {self.stderr[-2000:]}\nother output: {self.other[-10:]}")


def stop_all_streams() -> None:
    for s in list(_running):
        if s.proc.poll() is None:
            s.proc.kill()
        s.stop()
