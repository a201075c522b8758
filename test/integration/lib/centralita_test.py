"""Harness for centralita's integration tests (Python 3.11, stdlib only).

What it gives a test script:

* ``main(run)``: parses ``--binary PATH --source-dir DIR``, calls ``run(checks, args)``
  and turns the outcome into the exit-code convention (0 pass, 1 fail, 77 skip).
* ``Checks``: prints one PASS/FAIL line per check and a final "N passed, M failed".
* ``free_port()``: a port free for both UDP and TCP on 127.0.0.1, chosen at run time.
* ``Switch``: starts the real binary on a free port with a temporary data dir, waits
  until it answers OPTIONS over UDP (bounded), stops it with SIGTERM (SIGKILL after
  5 s), checks the exit code and keeps its stderr in a temp file.
* Raw SIP helpers: ``request()`` builds a request with a unique branch and Call-ID,
  ``udp_exchange()`` sends a datagram and waits (bounded) for the answer,
  ``TcpConn`` frames SIP messages read from a stream (RFC 3261 §18.3).

Nothing here sleeps to synchronise: every wait is a socket timeout or a bounded poll.
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

PASS, FAIL, SKIP = 0, 1, 77
HOST = "127.0.0.1"
SOCKET_TIMEOUT = 5.0          # no single wait in a test is longer than this
READY_TIMEOUT = 10.0          # the switch must answer OPTIONS within this after start
STOP_TIMEOUT = 5.0            # SIGTERM -> exit within this, else SIGKILL


class SkipTest(Exception):
    """Raised when the test cannot run here (sipp missing, no io_uring, ...)."""


class StartupError(Exception):
    """The switch did not come up; the message carries its stderr tail."""


# --------------------------------------------------------------------------- output

class Checks:
    """Collects named checks; prints PASS/FAIL per check and a final summary."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.failures: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"PASS: {name}", flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print(f"FAIL: {name}", flush=True)
            if detail:
                for line in detail.rstrip().splitlines():
                    print(f"      {line}", flush=True)
        return ok

    def summary(self) -> int:
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        if self.failures:
            print("failed checks: " + "; ".join(self.failures), flush=True)
        return PASS if self.failed == 0 else FAIL


def show(data: bytes | None, limit: int = 1500) -> str:
    """Printable form of bytes sent/received, for failure details."""
    if data is None:
        return "<nothing (timeout)>"
    text = repr(data[:limit])
    if len(data) > limit:
        text += f" ... ({len(data)} bytes in all)"
    return text


# --------------------------------------------------------------------------- arguments

def parse_args(argv: list[str] | None = None, extra: Callable[[argparse.ArgumentParser], None] | None = None
               ) -> argparse.Namespace:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=sys.modules["__main__"].__doc__)
    parser.add_argument("--binary", default=str(here.parents[2] / "build" / "centralita"),
                        help="path to the centralita executable")
    parser.add_argument("--source-dir", default=str(here.parents[2]),
                        help="the project's source directory")
    if extra:
        extra(parser)
    return parser.parse_args(argv)


def main(run: Callable[[Checks, argparse.Namespace], None],
         extra: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    """Entry point for a test script: exit 0 pass, 1 fail, 77 skip."""
    args = parse_args(extra=extra)
    checks = Checks()
    if not os.access(args.binary, os.X_OK):
        print(f"FAIL: binary {args.binary} is missing or not executable", flush=True)
        sys.exit(FAIL)
    try:
        run(checks, args)
    except SkipTest as e:
        print(f"SKIP: {e}", flush=True)
        sys.exit(SKIP)
    except StartupError as e:
        checks.check("switch starts and answers OPTIONS", False, str(e))
    except Exception:  # a harness/test bug or an unexpected switch behaviour
        checks.check("test ran to completion", False, traceback.format_exc())
    finally:
        Switch.stop_all()
    sys.exit(checks.summary())


# --------------------------------------------------------------------------- ports

def free_port(host: str = HOST, attempts: int = 50) -> int:
    """A port that is free for both UDP and TCP on host right now."""
    for _ in range(attempts):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            try:
                tcp.bind((host, port))
            except OSError:
                continue
            return port
        finally:
            udp.close()
            tcp.close()
    raise RuntimeError("no port free for both UDP and TCP")


# --------------------------------------------------------------------------- SIP text

def new_branch() -> str:
    return "z9hG4bK-" + uuid.uuid4().hex[:20]


def new_call_id() -> str:
    return uuid.uuid4().hex + "@centralita-test"


def new_tag() -> str:
    return uuid.uuid4().hex[:10]


@dataclass
class Request:
    """A request under construction; ``bytes()`` renders it."""
    method: str
    ruri: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    content_length: int | None = None      # None = len(body)

    def header(self, name: str) -> str | None:
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def without(self, *names: str) -> "Request":
        drop = {n.lower() for n in names}
        return Request(self.method, self.ruri, [(n, v) for n, v in self.headers if n.lower() not in drop],
                       self.body, self.content_length)

    def replace(self, name: str, value: str) -> "Request":
        return Request(self.method, self.ruri,
                       [(n, value if n.lower() == name.lower() else v) for n, v in self.headers],
                       self.body, self.content_length)

    def __bytes__(self) -> bytes:
        lines = [f"{self.method} {self.ruri} SIP/2.0"]
        lines += [f"{n}: {v}" for n, v in self.headers]
        length = len(self.body) if self.content_length is None else self.content_length
        lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def request(method: str, target_port: int, *, user: str | None = None, transport: str = "UDP",
            local_port: int = 5999, call_id: str | None = None, cseq: int = 1,
            max_forwards: int | None = 70, to_tag: str | None = None, branch: str | None = None,
            extra: Iterable[tuple[str, str]] = (), body: bytes = b"",
            content_type: str | None = None) -> Request:
    """A well-formed request to the switch at 127.0.0.1:target_port with a fresh branch/Call-ID."""
    ruri = f"sip:{user + '@' if user else ''}{HOST}:{target_port}"
    to_uri = f"sip:{user + '@' if user else ''}{HOST}"
    headers = [
        ("Via", f"SIP/2.0/{transport} {HOST}:{local_port};branch={branch or new_branch()};rport"),
    ]
    if max_forwards is not None:
        headers.append(("Max-Forwards", str(max_forwards)))
    headers += [
        ("From", f"<sip:tester@{HOST}>;tag={new_tag()}"),
        ("To", f"<{to_uri}>" + (f";tag={to_tag}" if to_tag else "")),
        ("Call-ID", call_id or new_call_id()),
        ("CSeq", f"{cseq} {method}"),
        ("Contact", f"<sip:tester@{HOST}:{local_port};transport={transport.lower()}>"),
    ]
    headers += list(extra)
    if body:
        headers.append(("Content-Type", content_type or "text/plain"))
    return Request(method, ruri, headers, body)


COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
           "c": "content-type", "k": "supported", "e": "content-encoding", "s": "subject"}


@dataclass
class Message:
    """A parsed SIP message (only what the tests look at)."""
    raw: bytes
    start_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_response(self) -> bool:
        return self.start_line.startswith("SIP/2.0 ")

    @property
    def status(self) -> int | None:
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)$", self.start_line)
        return int(m.group(1)) if m else None

    @property
    def reason(self) -> str:
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)$", self.start_line)
        return m.group(2) if m else ""

    def all(self, name: str) -> list[str]:
        """Every value of a header (comma-separated values split), compact forms folded."""
        name = name.lower()
        out = []
        for n, v in self.headers:
            n = COMPACT.get(n.lower(), n.lower())
            if n == name:
                out.append(v)
        return out

    def get(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def tokens(self, name: str) -> set[str]:
        """Comma-separated tokens over all instances of a header, lower-cased."""
        return {t.strip().lower() for v in self.all(name) for t in v.split(",") if t.strip()}


def parse_message(data: bytes) -> Message | None:
    """Parses one SIP message (headers unfolded); None if there is no header block."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end].decode("utf-8", "replace")
    lines = head.split("\r\n")
    unfolded: list[str] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()
        else:
            unfolded.append(line)
    headers = []
    for line in unfolded:
        if ":" in line:
            n, v = line.split(":", 1)
            headers.append((n.strip(), v.strip()))
    return Message(data, lines[0], headers, data[end + 4:])


def squash(value: str | None) -> str:
    """Header value without whitespace, for comparisons that ignore formatting."""
    return re.sub(r"\s+", "", value or "")


def tag_of(header_value: str | None) -> str | None:
    m = re.search(r";\s*tag\s*=\s*([^;>\s,]+)", header_value or "", re.I)
    return m.group(1) if m else None


# --------------------------------------------------------------------------- UDP

class UdpClient:
    """A UDP socket on 127.0.0.1 with bounded send/receive helpers."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "UdpClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, (HOST, port))

    def recv(self, timeout: float = SOCKET_TIMEOUT, call_id: str | None = None) -> bytes | None:
        """The next datagram (with that Call-ID if given) within timeout, else None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(70000)
            except socket.timeout:
                return None
            if call_id is None:
                return data
            msg = parse_message(data)
            if msg and msg.get("call-id") == call_id:
                return data

    def exchange(self, data: bytes, port: int, timeout: float = SOCKET_TIMEOUT) -> bytes | None:
        """Send data, return the answer carrying the same Call-ID (or any answer if none)."""
        msg = parse_message(data)
        call_id = msg.get("call-id") if msg else None
        self.send(data, port)
        return self.recv(timeout, call_id)

    def exchange_final(self, data: bytes, port: int, timeout: float = SOCKET_TIMEOUT) -> bytes | None:
        """Like exchange, but skips provisional (1xx) answers, as a UAC does, and returns
        the first final response (or None after the timeout)."""
        msg = parse_message(data)
        call_id = msg.get("call-id") if msg else None
        got = self.exchange(data, port, timeout)
        for _ in range(10):   # bounded: a few provisionals at most
            answer = parse_message(got) if got else None
            if answer is None or answer.status is None or answer.status >= 200:
                return got
            got = self.recv(timeout, call_id)
        return got


def udp_options_ok(port: int, timeout: float = SOCKET_TIMEOUT) -> tuple[bool, bytes | None]:
    """Whether the switch answers one OPTIONS over UDP with 200 within timeout."""
    with UdpClient() as c:
        req = bytes(request("OPTIONS", port, local_port=c.port))
        data = c.exchange(req, port, timeout)
    msg = parse_message(data) if data else None
    return (msg is not None and msg.status == 200), data


# --------------------------------------------------------------------------- TCP

class ConnectionClosed(Exception):
    pass


class TcpConn:
    """A TCP connection to the switch that reads whole SIP messages (RFC 3261 §18.3)."""

    def __init__(self, port: int, timeout: float = SOCKET_TIMEOUT) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local_port = self.sock.getsockname()[1]
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "TcpConn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_bytewise(self, data: bytes) -> None:
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])

    def _fill(self, deadline: float) -> bool:
        """Read more bytes into buf; False on timeout; raises ConnectionClosed on EOF/reset."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError) as e:
            raise ConnectionClosed(str(e)) from e
        if not chunk:
            raise ConnectionClosed("EOF")
        self.buf += chunk
        return True

    def recv_message(self, timeout: float = SOCKET_TIMEOUT) -> bytes | None:
        """One complete SIP message (header block + Content-Length body), or None on timeout.
        Raises ConnectionClosed if the peer closes before a whole message arrived."""
        deadline = time.monotonic() + timeout
        while True:
            stripped = self.buf.lstrip(b"\r\n")
            end = stripped.find(b"\r\n\r\n")
            if end >= 0:
                msg = parse_message(stripped)
                length = 0
                if msg is not None:
                    cl = msg.get("content-length")
                    length = int(cl) if cl and cl.strip().isdigit() else 0
                total = end + 4 + length
                if len(stripped) >= total:
                    self.buf = stripped[total:]
                    return stripped[:total]
            if not self._fill(deadline):
                return None

    def recv_raw(self, nbytes: int, timeout: float = SOCKET_TIMEOUT) -> bytes:
        """Up to nbytes raw bytes: returns once nbytes arrived or the timeout expired."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < nbytes:
            try:
                if not self._fill(deadline):
                    break
            except ConnectionClosed:
                break
        out, self.buf = self.buf[:nbytes], self.buf[nbytes:]
        return out

    def wait_closed(self, timeout: float = SOCKET_TIMEOUT) -> tuple[bool, bytes]:
        """Reads until the peer closes (EOF or reset). Returns (closed, bytes read meanwhile)."""
        deadline = time.monotonic() + timeout
        got = b""
        while True:
            try:
                if not self._fill(deadline):
                    got, self.buf = got + self.buf, b""
                    return False, got
            except ConnectionClosed:
                got, self.buf = got + self.buf, b""
                return True, got
            got, self.buf = got + self.buf, b""


# --------------------------------------------------------------------------- the switch

class Switch:
    """The centralita binary under test, on a free port, with a temp data dir."""

    _running: list["Switch"] = []

    def __init__(self, binary: str, extra_args: Iterable[str] = (), *, port: int | None = None,
                 listen: bool = True, log_level: str = "warn") -> None:
        self.binary = binary
        self.port = port or free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="centralita-test-"))
        self.data_dir = self.tmp / "data"
        self.stderr_path = self.tmp / "stderr.log"
        self.args = [binary]
        if listen:
            self.args += ["--listen", f"{HOST}:{self.port}"]
        self.args += ["--data-dir", str(self.data_dir), "--log-level", log_level, *extra_args]
        # The HTTP listener (API, /events, dashboard) on a free port too: its default
        # 127.0.0.1:8080 may be taken, and tests run side by side.
        self.http_port: int | None = None
        if "--http" not in self.args:
            self.http_port = free_port()
            self.args += ["--http", f"{HOST}:{self.http_port}"]
        # CENTRALITA_TEST_ARGS: flags every switch of a test gets (ctest runs some tests a
        # second time with "--script builtin", the C++ routing scripts/default.lua reproduces).
        self.args += shlex.split(os.environ.get("CENTRALITA_TEST_ARGS", ""))
        self.proc: subprocess.Popen | None = None
        self.exit_code: int | None = None

    # -- lifecycle
    def start(self, ready_timeout: float = READY_TIMEOUT) -> "Switch":
        print(f"starting: {' '.join(self.args)}", flush=True)
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr, cwd=self.tmp, start_new_session=True)
        Switch._running.append(self)
        self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Polls OPTIONS over UDP every 100 ms until a 200 comes back; bounded by timeout."""
        deadline = time.monotonic() + timeout
        with UdpClient() as c:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                req = bytes(request("OPTIONS", self.port, local_port=c.port))
                try:
                    data = c.exchange(req, self.port, timeout=0.1)
                except ConnectionRefusedError:   # ICMP port unreachable from an earlier probe
                    data = None
                msg = parse_message(data) if data else None
                if msg is not None and msg.status == 200:
                    return
        # Not up: exited, or never answered.
        rc = self.proc.poll()
        tail = self.stderr_tail()
        if rc is not None and "io_uring" in tail:
            raise SkipTest(f"centralita cannot use io_uring here (exit {rc}):\n{tail}")
        self.stop(check=False)
        state = f"exited with {rc}" if rc is not None else f"no 200 to OPTIONS within {timeout:.0f} s"
        raise StartupError(f"{' '.join(self.args)}: {state}\n--- stderr tail ---\n{tail}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check: bool = True, sig: int = signal.SIGTERM) -> int | None:
        """Signals the process, waits up to 5 s, then SIGKILLs. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)   # its own session: it and its children
                self.proc.wait()
                print(f"switch pid {self.proc.pid} ignored {signal.Signals(sig).name} for "
                      f"{STOP_TIMEOUT:.0f} s: killed", flush=True)
                self.exit_code = -9
        if self.exit_code is None:
            self.exit_code = self.proc.returncode
        if self in Switch._running:
            Switch._running.remove(self)
        self._stderr.close()
        return self.exit_code

    def wait_for_log(self, pattern: str, timeout: float) -> bool:
        """Polls the switch's log (bounded) until a line matches pattern."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            try:
                if rx.search(self.stderr_path.read_text(errors="replace")):
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def stderr_tail(self, lines: int = 40) -> str:
        try:
            text = self.stderr_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    @classmethod
    def stop_all(cls) -> None:
        for s in list(cls._running):
            s.stop(check=False)

    # -- context manager: start, and on the way out stop and check the exit code
    def __enter__(self) -> "Switch":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def check_clean_exit(checks: Checks, switch: Switch, sig: int = signal.SIGTERM) -> None:
    """Stops the switch with sig and checks it exits 0 (printing its stderr tail if not)."""
    alive = switch.alive()
    rc = switch.stop(sig=sig)
    ok = checks.check(f"switch still running before {signal.Signals(sig).name}", alive,
                      f"exit code {rc}\n--- stderr tail ---\n{switch.stderr_tail()}")
    if alive:
        ok = checks.check(f"{signal.Signals(sig).name} -> exit code 0 within {STOP_TIMEOUT:.0f} s",
                          rc == 0, f"exit code {rc}\n--- stderr tail ---\n{switch.stderr_tail()}")
    if ok and checks.failed:   # earlier checks failed: the log may say why
        print("--- switch stderr tail ---\n" + switch.stderr_tail(), flush=True)
    switch.cleanup()


atexit.register(Switch.stop_all)
