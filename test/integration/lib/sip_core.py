"""Helpers for the SIP core integration tests (test_sip_core_*.py): REGISTER, digest
authentication (RFC 7616), sipp UAS processes in the background, sipp UAC runs with a
message trace, and a small scripted Python UAS for flows sipp cannot express well.

Python 3.11, stdlib only. Every wait is bounded.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from centralita_test import (HOST, Message, TcpConn, UdpClient, free_port, new_branch, new_call_id,
                             new_tag, parse_message, show)
import sipp as sipp_lib

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


# --------------------------------------------------------------------------- REGISTER

def register_request(switch_port: int, user: str, *, contacts: list[str] | None = None,
                     expires: int | None = 600, local_port: int = 5999, transport: str = "UDP",
                     call_id: str | None = None, cseq: int = 1, from_tag: str | None = None,
                     authorization: str | None = None, domain: str = HOST,
                     extra: list[tuple[str, str]] | None = None) -> bytes:
    """REGISTER sip:DOMAIN for user@DOMAIN. contacts: Contact header values ("<sip:...>" or
    "*"); None or [] sends no Contact (a query). expires None: no Expires header."""
    lines = [
        f"REGISTER sip:{domain} SIP/2.0",
        f"Via: SIP/2.0/{transport} {HOST}:{local_port};branch={new_branch()};rport",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{domain}>;tag={from_tag or new_tag()}",
        f"To: <sip:{user}@{domain}>",
        f"Call-ID: {call_id or new_call_id()}",
        f"CSeq: {cseq} REGISTER",
    ]
    for c in contacts or []:
        lines.append(f"Contact: {c}")
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if authorization:
        lines.append(f"Authorization: {authorization}")
    for n, v in extra or []:
        lines.append(f"{n}: {v}")
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def register_udp(switch_port: int, user: str, contact: str, expires: int = 600
                 ) -> tuple[bytes, bytes | None]:
    """One unauthenticated REGISTER over UDP; returns (sent, answer)."""
    with UdpClient() as c:
        req = register_request(switch_port, user, contacts=[contact], expires=expires,
                               local_port=c.port)
        return req, c.exchange_final(req, switch_port)


def status_of(data: bytes | None) -> int | None:
    msg = parse_message(data) if data else None
    return msg.status if msg else None


def contact_uris(msg: Message) -> list[str]:
    """The URIs of every Contact in a message (comma-separated values split)."""
    out = []
    for v in msg.all("contact"):
        out += re.findall(r"<([^>]+)>", v)
    return out


# --------------------------------------------------------------------------- digest (RFC 7616)

HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256,
          "MD5-SESS": hashlib.md5, "SHA-256-SESS": hashlib.sha256}


def parse_challenge(value: str) -> dict[str, str]:
    """'Digest realm="x", nonce="y", qop="auth", algorithm=SHA-256' -> dict (keys lower-case)."""
    value = re.sub(r"^\s*Digest\s+", "", value, flags=re.I)
    out = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^\s,]+)', value):
        out[m.group(1).lower()] = m.group(3) if m.group(3) is not None else m.group(2)
    return out


def digest_response(algorithm: str, user: str, realm: str, password: str, method: str, uri: str,
                    nonce: str, nc: str, cnonce: str, qop: str = "auth") -> str:
    h = HASHES[algorithm.upper()]

    def H(s: str) -> str:
        return h(s.encode()).hexdigest()

    ha1 = H(f"{user}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = H(f"{ha1}:{nonce}:{cnonce}")
    ha2 = H(f"{method}:{uri}")
    return H(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def authorization(challenge: dict[str, str], user: str, password: str, method: str, uri: str,
                  nc: int = 1, cnonce: str | None = None, username: str | None = None) -> str:
    """Credentials (the value of Authorization / Proxy-Authorization) for a parsed challenge."""
    algorithm = challenge.get("algorithm", "MD5")
    realm, nonce = challenge["realm"], challenge["nonce"]
    cnonce = cnonce or uuid.uuid4().hex[:16]
    ncs = f"{nc:08x}"
    resp = digest_response(algorithm, user, realm, password, method, uri, nonce, ncs, cnonce)
    parts = [f'username="{username or user}"', f'realm="{realm}"', f'nonce="{nonce}"',
             f'uri="{uri}"', f'response="{resp}"', f"algorithm={algorithm}",
             f'cnonce="{cnonce}"', "qop=auth", f"nc={ncs}"]
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(parts)


# --------------------------------------------------------------------------- sipp processes

def port_bound(port: int, transport: str = "udp") -> bool:
    """Whether something is bound to 127.0.0.1:port (udp) or listening on it (tcp)."""
    if transport == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.2)
        try:
            s.connect((HOST, port))
            return True
        except OSError:
            return False
        finally:
            s.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((HOST, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def read_messages(path: Path) -> str:
    try:
        return path.read_text("utf-8", "replace")
    except OSError:
        return ""


def split_trace(text: str) -> list[tuple[str, str]]:
    """sipp -trace_msg log -> [(direction 'sent'|'received', message text)]."""
    out = []
    for block in re.split(r"\n-{20,}[^\n]*\n", "\n" + text):
        m = re.match(r"\s*(?:UDP|TCP|TLS|SCTP)\s+message\s+(sent|received)[^\n]*\n\n?(.*)", block, re.S)
        if m:
            out.append((m.group(1), m.group(2).strip("\n")))
    return out


class SippUas:
    """A sipp UAS in the background on its own free port. Bounded: -m calls and -timeout."""

    def __init__(self, scenario: str, *, transport: str = "u1", calls: int = 1, timeout_s: int = 60,
                 extra: list[str] | None = None, port: int | None = None) -> None:
        self.scenario = SCENARIOS / scenario
        self.transport = transport
        self.port = port or free_port()
        self.calls = calls
        self.timeout_s = timeout_s
        self.work = Path(tempfile.mkdtemp(prefix="centralita-uas-"))
        self.msg_file = self.work / "messages.log"
        self.stat_file = self.work / "stats.csv"
        self.cmd = [sipp_lib.sipp_binary() or "sipp", "-sf", str(self.scenario), "-t", transport,
                    "-i", HOST, "-p", str(self.port), "-m", str(calls), "-nostdin",
                    "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_stat", "-stf",
                    str(self.stat_file), "-fd", "1", "-trace_msg", "-message_file", str(self.msg_file),
                    "-trace_err", "-error_file", str(self.work / "errors.log"), *(extra or [])]
        self.proc: subprocess.Popen | None = None
        self.exit_code: int | None = None

    @property
    def contact(self) -> str:
        t = ";transport=tcp" if self.transport.startswith("t") else ""
        return f"<sip:uas@{HOST}:{self.port}{t}>"

    def start(self) -> "SippUas":
        self.out = open(self.work / "stdout.log", "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, cwd=self.work)
        _running.append(self)
        deadline = time.monotonic() + 5
        kind = "tcp" if self.transport.startswith("t") else "udp"
        while time.monotonic() < deadline and self.proc.poll() is None:
            if port_bound(self.port, kind):
                return self
            time.sleep(0.05)
        return self

    def wait(self, timeout: float) -> int | None:
        """Waits (bounded) for sipp to exit; kills it after timeout. Returns the exit code."""
        if self.proc is None:
            return None
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
        return self.exit_code

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)   # sipp: stop gracefully and dump stats
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.exit_code = -1 if self.exit_code is None else self.exit_code
        if self.proc is not None and self.exit_code is None:
            self.exit_code = self.proc.returncode
        if self in _running:
            _running.remove(self)
        try:
            self.out.close()
        except Exception:
            pass

    def stats(self) -> dict[str, str]:
        rows = sipp_lib.stat_rows(self.stat_file)
        return rows[-1] if rows else {}

    def successful(self) -> int:
        try:
            return int(float(self.stats().get("SuccessfulCall(C)", "0") or 0))
        except ValueError:
            return 0

    def messages(self) -> str:
        return read_messages(self.msg_file)

    def detail(self, limit: int = 6000) -> str:
        out = read_messages(self.work / "stdout.log")
        errs = read_messages(self.work / "errors.log")
        msgs = self.messages()
        text = (f"UAS command: {' '.join(self.cmd)}\nUAS exit code {self.exit_code}, "
                f"successful {self.successful()}\n--- UAS output tail ---\n"
                + "\n".join(out.splitlines()[-15:]))
        if errs:
            text += "\n--- UAS errors ---\n" + errs[:2000]
        text += f"\n--- UAS messages (first {limit} chars) ---\n" + msgs[:limit]
        return text

    def cleanup(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


_running: list[SippUas] = []


def stop_all_uas() -> None:
    for u in list(_running):
        u.stop()


@dataclass
class UacRun:
    result: sipp_lib.SippResult
    messages: str

    @property
    def ok(self) -> bool:
        return self.result.exit_code == 0 and self.result.failed == 0

    def detail(self, limit: int = 6000) -> str:
        r = self.result
        return (f"UAC command: {' '.join(r.command)}\nUAC exit code {r.exit_code}, created {r.created}, "
                f"successful {r.successful}, failed {r.failed} {r.failed_detail or ''}, "
                f"{r.elapsed_s:.1f} s{' (killed: wall-clock timeout)' if r.timed_out else ''}\n"
                f"--- UAC output tail ---\n{r.output_tail}\n{self.failed_call_traces()}"
                f"--- UAC messages (first {limit} chars) ---\n{self.messages[:limit]}")

    def failed_call_traces(self, limit: int = 12000) -> str:
        """The trace of every call sipp's errors name (Call-Id: X, ...), in order: the calls
        that failed are rarely among the first messages of a long run."""
        ids = list(dict.fromkeys(re.findall(r"Call-Id: (\S+?),", self.result.output_tail)))
        if not ids or not self.messages:
            return ""
        out = []
        for call_id in ids:
            pattern = re.compile(rf"^(?:Call-ID|i)\s*:\s*{re.escape(call_id)}\s*$", re.I | re.M)
            blocks = [b.strip("\n") for b in re.split(r"\n(?=-{20,} )", "\n" + self.messages)
                      if pattern.search(b)]
            out.append(f"--- trace of failed call {call_id} ({len(blocks)} messages) ---\n"
                       + "\n\n".join(blocks))
        return "\n".join(out)[:limit] + "\n"


def run_uac(scenario: str, switch_port: int, *, service: str = "bob", transport: str = "u1",
            calls: int = 1, rate: int = 10, timeout_s: int = 60, recv_timeout_ms: int = 10000,
            extra: list[str] | None = None) -> UacRun:
    """Runs a sipp UAC scenario (test/integration/scenarios/NAME) against the switch, with a
    message trace kept for failure details."""
    work = Path(tempfile.mkdtemp(prefix="centralita-uac-"))
    msg_file = work / "messages.log"
    try:
        r = sipp_lib.run_sipp(SCENARIOS / scenario, switch_port, transport=transport, calls=calls,
                              rate=rate, limit=50, global_timeout_s=timeout_s,
                              recv_timeout_ms=recv_timeout_ms,
                              extra=["-s", service, "-trace_msg", "-message_file", str(msg_file),
                                     *(extra or [])])
        return UacRun(r, read_messages(msg_file))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- scripted Python UAS

def response_to(req: Message, code: int, reason: str, *, to_tag: str | None = None,
                extra: list[tuple[str, str]] | None = None, contact: str | None = None,
                record_route: bool = True) -> bytes:
    """A response to req copying Via (all), From, To (+tag), Call-ID, CSeq, Record-Route."""
    lines = [f"SIP/2.0 {code} {reason}"]
    for n, v in req.headers:
        ln = n.lower()
        if ln in ("via", "v", "from", "f", "call-id", "i", "cseq") or (record_route and ln == "record-route"):
            lines.append(f"{n}: {v}")
        elif ln in ("to", "t"):
            if to_tag and ";tag=" not in v.replace(" ", ""):
                v = f"{v};tag={to_tag}"
            lines.append(f"{n}: {v}")
    if contact:
        lines.append(f"Contact: {contact}")
    for n, v in extra or []:
        lines.append(f"{n}: {v}")
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class PyUas:
    """A UDP UAS on its own port, driven by a script function run in a thread.

    script(uas) uses uas.recv_request(method, timeout) and uas.reply(...). Every datagram
    in and out is logged in uas.log (direction, time, bytes) for failure details."""

    def __init__(self, script: Callable[["PyUas"], None]) -> None:
        self.client = UdpClient()
        self.port = self.client.port
        self.script = script
        self.log: list[tuple[str, float, bytes]] = []
        self.events: list[str] = []
        self.error: str | None = None
        self.peer: tuple[str, int] | None = None
        self.to_tag = new_tag()
        self.pending: list[tuple[bytes, tuple[str, int]]] = []
        self.t0 = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def contact(self) -> str:
        return f"<sip:uas@{HOST}:{self.port}>"

    def start(self) -> "PyUas":
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            self.script(self)
        except Exception as e:  # recorded, reported by the test
            self.error = f"{type(e).__name__}: {e}"

    def join(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def close(self) -> None:
        self.client.close()

    def recv_request(self, method: str, timeout: float = 5.0) -> Message | None:
        """The next request with that method within timeout. Other messages stay queued for a
        later recv_request."""
        for i, (data, addr) in enumerate(self.pending):
            msg = parse_message(data)
            if msg is not None and not msg.is_response and msg.start_line.split(" ")[0] == method:
                del self.pending[i]
                self.peer = addr
                self.events.append(f"{time.monotonic() - self.t0:.2f}s got {method} (queued)")
                return msg
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.client.sock.settimeout(max(0.01, left))
            try:
                data, addr = self.client.sock.recvfrom(70000)
            except (socket.timeout, OSError):
                return None
            self.log.append(("received", time.monotonic() - self.t0, data))
            msg = parse_message(data)
            if msg is not None and not msg.is_response and msg.start_line.split(" ")[0] == method:
                self.peer = addr
                self.events.append(f"{time.monotonic() - self.t0:.2f}s got {method}")
                return msg
            self.pending.append((data, addr))

    def drain(self, seconds: float) -> list[Message]:
        """Every message that arrives within seconds (the queued ones first)."""
        out = [m for m in (parse_message(d) for d, _ in self.pending) if m is not None]
        self.pending = []
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            self.client.sock.settimeout(max(0.01, left))
            try:
                data, addr = self.client.sock.recvfrom(70000)
            except (socket.timeout, OSError):
                return out
            self.log.append(("received", time.monotonic() - self.t0, data))
            m = parse_message(data)
            if m is not None:
                out.append(m)

    def reply(self, req: Message, code: int, reason: str, **kw) -> bytes:
        kw.setdefault("to_tag", self.to_tag)
        kw.setdefault("contact", self.contact if req.start_line.startswith("INVITE") else None)
        data = response_to(req, code, reason, **kw)
        self.send(data)
        self.events.append(f"{time.monotonic() - self.t0:.2f}s sent {code}")
        return data

    def send(self, data: bytes) -> None:
        assert self.peer is not None
        self.log.append(("sent", time.monotonic() - self.t0, data))
        self.client.sock.sendto(data, self.peer)

    def dump(self, limit: int = 1500) -> str:
        return "\n".join(f"[UAS {d} at {t:.2f}s] {show(b, limit)}" for d, t, b in self.log)


def uac_log_dump(log: list[tuple[str, float, bytes]], who: str = "UAC", limit: int = 1500) -> str:
    return "\n".join(f"[{who} {d} at {t:.2f}s] {show(b, limit)}" for d, t, b in log)


class LoggedUdp:
    """A UdpClient that logs every datagram in and out (for failure details)."""

    def __init__(self) -> None:
        self.c = UdpClient()
        self.port = self.c.port
        self.log: list[tuple[str, float, bytes]] = []
        self.t0 = time.monotonic()

    def send(self, data: bytes, port: int) -> None:
        self.log.append(("sent", time.monotonic() - self.t0, data))
        self.c.send(data, port)

    def recv(self, timeout: float, call_id: str | None = None) -> bytes | None:
        data = self.c.recv(timeout, call_id)
        if data is not None:
            self.log.append(("received", time.monotonic() - self.t0, data))
        return data

    def collect(self, seconds: float, call_id: str | None = None,
                until: Callable[[list[Message]], bool] | None = None) -> list[Message]:
        """Every message received within seconds (stops early once until(msgs) is true)."""
        out: list[Message] = []
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            data = self.recv(left, call_id)
            if data is None:
                return out
            m = parse_message(data)
            if m is not None:
                out.append(m)
                if until and until(out):
                    return out

    def dump(self, who: str = "UAC") -> str:
        return uac_log_dump(self.log, who)

    def close(self) -> None:
        self.c.close()


def invite_request(switch_port: int, user: str, local_port: int, *, from_user: str = "alice",
                   call_id: str | None = None, branch: str | None = None, from_tag: str | None = None,
                   cseq: int = 1, extra: list[tuple[str, str]] | None = None,
                   method: str = "INVITE", to_tag: str | None = None, ruri: str | None = None,
                   routes: list[str] | None = None) -> bytes:
    """An INVITE (or CANCEL/ACK/BYE with the same identifiers) from from_user@127.0.0.1 to
    user@127.0.0.1 through the switch."""
    lines = [
        f"{method} {ruri or f'sip:{user}@{HOST}:{switch_port}'} SIP/2.0",
        f"Via: SIP/2.0/UDP {HOST}:{local_port};branch={branch or new_branch()};rport",
        "Max-Forwards: 70",
    ]
    for r in routes or []:
        lines.append(f"Route: {r}")
    lines += [
        f"From: <sip:{from_user}@{HOST}>;tag={from_tag or new_tag()}",
        f"To: <sip:{user}@{HOST}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id or new_call_id()}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:{from_user}@{HOST}:{local_port}>",
    ]
    for n, v in extra or []:
        lines.append(f"{n}: {v}")
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
