#!/usr/bin/env python3
"""Push wake-up benchmark (issue 5, point 5): many calls to sleeping phones at once, each
woken by a push through the test push gateway, with scripts/push.lua as shipped.

Per mode, on a fresh switch (2 workers, --script scripts/push.lua) and a fresh gateway
(test/integration/push_gateway, HTTP/2 over TLS, checking requests as APNs/FCM/a webhook
would):

  1. --flows phones p1..pN register with RFC 8599 push parameters (pn-provider apns for most,
     fcm and webhook for a share, --mix), from a Contact at port 9 where nothing listens: they
     sleep.
  2. N INVITEs (plain UDP from this script, caller c<i> calls p<i>, --rate per second) each
     make push.lua push the phone, subscribe to its REGISTER and wait for branches.
  3. As a push reaches the gateway (its stdout line), the phone is scheduled to wake after a
     uniform random --wake-min..--wake-max seconds: it registers again (same Call-ID, pn-prid)
     from one of --phone-sockets UDP sockets, with a Contact of its own user part there, takes
     the relayed INVITE, answers 200 and takes the ACK. The caller ACKs the 200.

Modes:
  stream  wakes as in 3: at --rate 1000/s about rate × (push time + 1.75 s) calls wait at once.
  hold    the phones hold their wake until every INVITE is waiting (all pushes seen) and the
          memory is measured; then they wake on the same schedule (push time relative to the
          first push, plus the random delay), shifted to that moment. This is the mode in which
          all N calls wait at once: memory per waiting call = ΔPSS (and Δheap_in_use, Δlua_bytes
          of the switch's SIGUSR1 status line) / N.

Measured: flows, pushes delivered, phones woken (REGISTER 200), INVITEs at the phone, calls
answered (the caller's 200), failures by cause; wake-up latency = the relayed INVITE's arrival
at the phone's socket minus the first send of its REGISTER (two loopback hops plus the
REGISTER's saving, the event, the Lua handler, the branch and the relay); the switch's CPU per
flow from /proc (utime+stime ticks and schedstat ns, the INVITEs to the last final), the
gateway's and this driver's CPU as context, the driver's lag (REGISTER sent after its due
time), UDP RcvbufErrors (system-wide). Retransmissions follow RFC 3261 timers (INVITE: A/B,
REGISTER: E/F, the phone's 2xx: §13.3.1.4) so a lost datagram costs time, not the flow.

Markdown to stdout, --json FILE for everything. Python standard library only; one thread
drives every socket (selectors), the gateway's stdout is read by PushGateway's thread.

    bench/compare/push_bench.py --flows 10000
    bench/compare/push_bench.py --flows 500 --modes stream --json /tmp/push.json
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import math
import os
import platform
import random
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "test" / "integration" / "lib"))

import options_bench as ob  # noqa: E402
import sip_core_bench as scb  # noqa: E402
from centralita_test import HOST, SkipTest, free_port  # noqa: E402
from push_gateway import PushGateway  # noqa: E402
from script_bench import switch_status  # noqa: E402

PUSH_SCRIPT = ROOT / "scripts" / "push.lua"
T1, T2 = 0.5, 4.0                 # RFC 3261 §17.1.1.1
TIMEOUT_64T1 = 64 * T1            # Timer B / F, and the 2xx retransmission bound (§13.3.1.4)
SOCK_BUF = 4 * 1024 * 1024        # net.core.rmem_max here is 4 MiB
SLEEP_PORT = 9                    # the sleeping phones' Contact: discard, nothing listens
COMPACT = {b"i": b"call-id", b"v": b"via", b"f": b"from", b"t": b"to", b"m": b"contact"}


# --------------------------------------------------------------------------- targets

class PushSwitch(ob.Target):
    """centralita with a config file (push providers at the gateway) and push.lua."""

    name = "centralita"

    def __init__(self, binary: str, workers: int, config: str, script: str) -> None:
        super().__init__()
        cfg = self.tmp / "push-bench.toml"
        cfg.write_text(config)
        self.args = [binary, "--config", str(cfg), "--listen", f"udp:{HOST}:{self.port}",
                     "--workers", str(workers), "--log-level", "info",
                     "--data-dir", str(self.tmp / "data"), "--script", script]


def switch_config(gw: PushGateway, wait: int) -> str:
    """The providers of test/integration/test_push.py's config_text, at the gateway."""
    return f"""
[http]
listen = "{HOST}:{free_port()}"

[events]
heartbeat_interval = 0

[push]
wait = {wait}
retries = 2
retry_backoff_ms = 200

[push.apns]
type = "apns"
url = "{gw.tls_url}"
ca_file = "{gw.ca_file}"
key_file = "{gw.apns_key_path}"
key_id = "{gw.apns_key_id}"
team_id = "{gw.team_id}"
timeout = 5

[push.fcm]
type = "fcm"
url = "{gw.tls_url}"
ca_file = "{gw.ca_file}"
service_account_file = "{gw.service_account_path}"
timeout = 5

[push.webhook]
type = "webhook"
url = "{gw.http_url}/push"
timeout = 5
"""


# --------------------------------------------------------------------------- SIP text

def parse(data: bytes) -> tuple[bytes, list[tuple[bytes, bytes, bytes]]]:
    """First line and (lower-case long name, raw line, value) per header line; no body kept."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    out = []
    for line in head[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        out.append((COMPACT.get(name, name), line, value.strip()))
    return head[0], out


def header(hdrs, name: bytes) -> bytes:
    for n, _, v in hdrs:
        if n == name:
            return v
    return b""


def cseq_of(hdrs) -> tuple[int, bytes]:
    parts = header(hdrs, b"cseq").split()
    try:
        return int(parts[0]), parts[1]
    except (IndexError, ValueError):
        return 0, b""


def response(hdrs, status: int, reason: str, to_tag: str | None, extra: str = "") -> bytes:
    """A response to a request: its Via, Record-Route (2xx to INVITE), From, To, Call-ID, CSeq."""
    keep = (b"via", b"from", b"call-id", b"cseq") + ((b"record-route",) if extra else ())
    lines = [f"SIP/2.0 {status} {reason}".encode()]
    for n, raw, v in hdrs:
        if n in keep:
            lines.append(raw)
        elif n == b"to":
            lines.append(raw if to_tag is None or b";tag=" in v else raw + f";tag={to_tag}".encode())
    if extra:
        lines.append(extra.encode())
    lines.append(b"Content-Length: 0\r\n\r\n")
    return b"\r\n".join(lines)


# --------------------------------------------------------------------------- flows

class Flow:
    """One phone p<i> and the call to it from c<i>. Times are time.monotonic() seconds."""

    __slots__ = ("i", "user", "provider", "prid", "param", "cid", "branch", "ftag", "reg_cid",
                 "csock", "psock", "reg_status", "reg_tx", "t_invite", "inv_tx", "t_trying",
                 "t_final", "final", "final_ack", "t_push", "t_reg", "pushes", "delay", "t_wake_due",
                 "t_wake", "wreg_tx", "wreg_status", "t_wreg_ok", "t_inv_rx", "ok200",
                 "ok_tx", "t_ack_rx", "inv_rx_count")

    def __init__(self, i: int, provider: str, prid: str, param: str) -> None:
        self.i = i
        self.user = f"p{i}"
        self.provider, self.prid, self.param = provider, prid, param
        u = uuid.uuid4().hex
        self.cid = f"{u}@pb"
        self.branch = f"z9hG4bK{u[:16]}"
        self.ftag = u[16:26]
        self.reg_cid = f"r{u}@pb"
        self.csock = self.psock = None
        self.reg_status = self.final = self.wreg_status = None
        self.reg_tx = self.inv_tx = self.wreg_tx = self.ok_tx = self.inv_rx_count = 0
        self.t_invite = self.t_trying = self.t_final = self.t_push = self.t_reg = None
        self.t_wake_due = self.t_wake = self.t_wreg_ok = self.t_inv_rx = self.t_ack_rx = None
        self.final_ack = self.ok200 = None
        self.pushes = 0
        self.delay = 0.0


def providers_of(n: int, mix: dict[str, float]) -> list[str]:
    """Deterministic interleaving of the providers in proportion mix."""
    names = list(mix)
    total = sum(mix.values())
    out, acc = [], {k: 0.0 for k in names}
    for _ in range(n):
        for k in names:
            acc[k] += mix[k] / total
        k = max(names, key=lambda k: acc[k])
        acc[k] -= 1
        out.append(k)
    return out


class Driver:
    """Every socket of the callers and the phones on one selector, plus a timer heap."""

    def __init__(self, args, sw: PushSwitch, gw: PushGateway, mode: str, deadline: float) -> None:
        self.args, self.sw, self.gw, self.mode, self.deadline = args, sw, gw, mode, deadline
        self.dst = (HOST, sw.port)
        self.rng = random.Random(args.seed)
        self.sel = selectors.DefaultSelector()
        self.csocks = [self._socket(True) for _ in range(args.caller_sockets)]
        self.psocks = [self._socket(False) for _ in range(args.phone_sockets)]
        run = uuid.uuid4().hex[:8]
        params = {"apns": f"{gw.team_id}.{gw.topic}", "fcm": gw.project_id, "webhook": "selfhosted"}
        self.flows = [Flow(i + 1, p, f"{run}{i + 1:08x}", params[p])
                      for i, p in enumerate(providers_of(args.flows, args.mix))]
        self.by_cid: dict[str, Flow] = {}
        self.by_prid: dict[str, Flow] = {}
        for f in self.flows:
            f.csock = self.csocks[f.i % len(self.csocks)]
            f.psock = self.psocks[f.i % len(self.psocks)]
            self.by_cid[f.cid] = f
            self.by_cid[f.reg_cid] = f
            self.by_prid[f.prid] = f
        self.timers: list = []
        self.seq = itertools.count()
        self.pushes_seen = 0
        self.push_unknown = 0
        self.held: list[Flow] = []          # hold mode: pushed, waiting for the release
        self.released_at: float | None = None
        self.first_push: float | None = None
        self.counts = Counter()              # retransmissions, strays, send errors...
        self.lag: list[float] = []           # REGISTER sent minus its due time (s)
        self.rx = self.tx = 0

    # -- sockets
    def _socket(self, caller: bool) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCK_BUF)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCK_BUF)
        s.bind((HOST, 0))
        s.setblocking(False)
        self.sel.register(s, selectors.EVENT_READ, caller)
        return s

    def close(self) -> None:
        for s in self.csocks + self.psocks:
            self.sel.unregister(s)
            s.close()
        self.sel.close()

    def send(self, sock: socket.socket, data: bytes, addr=None) -> None:
        try:
            sock.sendto(data, addr or self.dst)
            self.tx += 1
        except OSError as e:
            self.counts[f"send error {e.errno}"] += 1

    def at(self, due: float, kind: str, f: Flow, n: int = 0) -> None:
        heapq.heappush(self.timers, (due, next(self.seq), kind, f, n))

    # -- requests out
    def register_bytes(self, f: Flow, port: int, cseq: int, contact_port: int) -> bytes:
        return (f"REGISTER sip:{HOST}:{self.sw.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:{f.user}@{HOST}>;tag=r{f.ftag}\r\n"
                f"To: <sip:{f.user}@{HOST}>\r\nCall-ID: {f.reg_cid}\r\nCSeq: {cseq} REGISTER\r\n"
                f"Contact: <sip:{f.user}@{HOST}:{contact_port};pn-provider={f.provider};"
                f"pn-prid={f.prid};pn-param={f.param}>\r\n"
                f"Expires: 3600\r\nContent-Length: 0\r\n\r\n").encode()

    def invite_bytes(self, f: Flow) -> bytes:
        port = f.csock.getsockname()[1]
        return (f"INVITE sip:{f.user}@{HOST}:{self.sw.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{port};branch={f.branch};rport\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:c{f.i}@{HOST}>;tag={f.ftag}\r\n"
                f"To: <sip:{f.user}@{HOST}>\r\nCall-ID: {f.cid}\r\nCSeq: 1 INVITE\r\n"
                f"Contact: <sip:c{f.i}@{HOST}:{port}>\r\nContent-Length: 0\r\n\r\n").encode()

    def send_register(self, f: Flow) -> None:
        if f.t_reg is None:
            f.t_reg = time.monotonic()
        f.reg_tx += 1
        self.send(f.csock, self.register_bytes(f, f.csock.getsockname()[1], 1, SLEEP_PORT))
        # RFC 3261 §17.1.2.2: Timer E from T1, doubling up to T2, until Timer F (64*T1).
        self.at(time.monotonic() + min(T1 * 2 ** (f.reg_tx - 1), T2), "reg", f, f.reg_tx)

    def send_invite(self, f: Flow) -> None:
        now = time.monotonic()
        if f.t_invite is None:
            f.t_invite = now
        f.inv_tx += 1
        self.send(f.csock, self.invite_bytes(f))
        # RFC 3261 §17.1.1.2: Timer A doubles each time, until Timer B (64*T1).
        self.at(now + T1 * 2 ** (f.inv_tx - 1), "inv", f, f.inv_tx)

    def wake(self, f: Flow) -> None:
        now = time.monotonic()
        if f.t_wake is None:
            f.t_wake = now
            self.lag.append(now - f.t_wake_due)
        f.wreg_tx += 1
        port = f.psock.getsockname()[1]
        self.send(f.psock, self.register_bytes(f, port, 2, port))
        self.at(now + min(T1 * 2 ** (f.wreg_tx - 1), T2), "wreg", f, f.wreg_tx)

    # -- timers
    def fire(self, kind: str, f: Flow, n: int, now: float) -> None:
        if kind == "wake":
            self.wake(f)
        elif kind == "reg":
            if f.reg_status is None and n == f.reg_tx and now - f.t_reg < TIMEOUT_64T1:
                self.counts["REGISTER (sleeping) retransmitted"] += 1
                self.send_register(f)
        elif kind == "inv":
            if f.t_trying is None and f.final is None and n == f.inv_tx and now - f.t_invite < TIMEOUT_64T1:
                self.counts["INVITE retransmitted"] += 1
                self.send_invite(f)
        elif kind == "wreg":
            if f.wreg_status is None and n == f.wreg_tx and now - f.t_wake < TIMEOUT_64T1:
                self.counts["REGISTER (woken) retransmitted"] += 1
                self.wake(f)
        elif kind == "ok":
            # RFC 3261 §13.3.1.4: the UAS resends its 2xx, T1 doubling up to T2, until the ACK.
            if f.t_ack_rx is None and f.ok200 is not None and now - f.t_inv_rx < TIMEOUT_64T1:
                self.counts["200 (phone) retransmitted"] += 1
                self.send(f.psock, f.ok200[0], f.ok200[1])
                self.at(now + min(T1 * 2 ** (n + 1), T2), "ok", f, n + 1)

    # -- datagrams in
    def on_caller(self, data: bytes) -> None:
        first, hdrs = parse(data)
        if not first.startswith(b"SIP/2.0 "):
            self.counts["request at a caller socket"] += 1
            return
        status = int(first[8:11])
        f = self.by_cid.get(header(hdrs, b"call-id").decode(errors="replace"))
        if f is None:
            self.counts["stray response"] += 1
            return
        num, method = cseq_of(hdrs)
        now = time.monotonic()
        if method == b"REGISTER":
            if status >= 200 and f.reg_status is None:
                f.reg_status = status
            return
        if method != b"INVITE":
            return
        if status < 200:
            if f.t_trying is None:
                f.t_trying = now
            return
        if f.final is None:
            f.final, f.t_final = status, now
            f.final_ack = self.ack_bytes(f, status, hdrs)
        else:
            self.counts["final retransmitted to the caller"] += 1
        self.send(f.csock, f.final_ack)

    def ack_bytes(self, f: Flow, status: int, hdrs) -> bytes:
        to = header(hdrs, b"to").decode()
        port = f.csock.getsockname()[1]
        if status >= 300:
            # RFC 3261 §17.1.1.3: the ACK of a non-2xx is part of the INVITE transaction.
            return (f"ACK sip:{f.user}@{HOST}:{self.sw.port} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP {HOST}:{port};branch={f.branch};rport\r\nMax-Forwards: 70\r\n"
                    f"From: <sip:c{f.i}@{HOST}>;tag={f.ftag}\r\nTo: {to}\r\nCall-ID: {f.cid}\r\n"
                    f"CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n").encode()
        # RFC 3261 §13.2.2.4 / §12.1.2: the 2xx ACK goes to the Contact along the reversed
        # Record-Route set (through the switch, which is where it is sent).
        contact = header(hdrs, b"contact").decode().strip()
        target = contact[1:contact.index(">")] if contact.startswith("<") else contact.split(";")[0]
        rr = []
        for n, _, v in hdrs:
            if n == b"record-route":
                rr += [x.strip() for x in v.decode().split(",")]
        route = f"Route: {', '.join(reversed(rr))}\r\n" if rr else ""
        return (f"ACK {target} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
                f"Max-Forwards: 70\r\n{route}From: <sip:c{f.i}@{HOST}>;tag={f.ftag}\r\nTo: {to}\r\n"
                f"Call-ID: {f.cid}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n").encode()

    def on_phone(self, sock: socket.socket, data: bytes, addr) -> None:
        first, hdrs = parse(data)
        f = self.by_cid.get(header(hdrs, b"call-id").decode(errors="replace"))
        now = time.monotonic()
        if first.startswith(b"SIP/2.0 "):
            if f is not None and cseq_of(hdrs)[1] == b"REGISTER":
                status = int(first[8:11])
                if status >= 200 and f.wreg_status is None:
                    f.wreg_status, f.t_wreg_ok = status, now
            else:
                self.counts["stray response at a phone"] += 1
            return
        method = first.split(b" ", 1)[0]
        if f is None:
            self.counts[f"stray {method.decode(errors='replace')} at a phone"] += 1
            if method not in (b"ACK",):
                self.send(sock, response(hdrs, 481, "Call/Transaction Does Not Exist", "x"), addr)
            return
        if method == b"INVITE":
            f.inv_rx_count += 1
            if f.t_inv_rx is None:
                f.t_inv_rx = now
                uri = first.split(b" ")[1]
                if not uri.startswith(f"sip:{f.user}@".encode()):
                    self.counts["INVITE at a phone for another user"] += 1
                port = sock.getsockname()[1]
                ok = response(hdrs, 200, "OK", f"ph{f.i}",
                              f"Contact: <sip:{f.user}@{HOST}:{port}>")
                f.ok200 = (ok, addr)
                self.at(now + T1, "ok", f, 0)
            if f.ok200 is not None:
                self.send(sock, f.ok200[0], addr)
        elif method == b"ACK":
            if f.t_ack_rx is None:
                f.t_ack_rx = now
        elif method == b"BYE":
            self.send(sock, response(hdrs, 200, "OK", None), addr)
        elif method == b"CANCEL":
            self.counts["CANCEL at a phone"] += 1
            self.send(sock, response(hdrs, 200, "OK", f"ph{f.i}"), addr)
        else:
            self.counts[f"{method.decode(errors='replace')} at a phone"] += 1
            self.send(sock, response(hdrs, 200, "OK", f"ph{f.i}"), addr)

    # -- pushes (the gateway's stdout, read by PushGateway's thread)
    def take_pushes(self, now: float) -> None:
        pushes = self.gw.pushes
        while self.pushes_seen < len(pushes):
            p = pushes[self.pushes_seen]
            self.pushes_seen += 1
            f = self.by_prid.get(p.get("token") or "")
            if f is None:
                self.push_unknown += 1
                continue
            f.pushes += 1
            if f.pushes > 1:
                continue
            f.t_push = now
            if self.first_push is None:
                self.first_push = now
            f.delay = self.rng.uniform(self.args.wake_min, self.args.wake_max)
            if self.mode == "hold" and self.released_at is None:
                self.held.append(f)
            else:
                self.schedule_wake(f, now + f.delay)

    def schedule_wake(self, f: Flow, due: float) -> None:
        f.t_wake_due = due
        self.at(due, "wake", f)

    def release(self) -> None:
        """hold mode: every held phone wakes on its stream schedule, shifted to now."""
        now = time.monotonic()
        self.released_at = now
        for f in self.held:
            self.schedule_wake(f, now + (f.t_push - self.first_push) + f.delay)
        self.held.clear()

    # -- the loop
    def run(self, until, pacer=None, limit: float = 1e9) -> bool:
        """Runs until until() is true (True), or limit seconds / the global deadline pass (False).
        pacer(now) sends what is due and says whether it has more to send."""
        end = min(time.monotonic() + limit, self.deadline)
        select, timers = self.sel.select, self.timers
        pacing = pacer is not None
        while True:
            now = time.monotonic()
            if pacing:
                pacing = pacer(now)
            self.take_pushes(now)
            n = 0
            while timers and timers[0][0] <= now and n < 500:
                _, _, kind, f, k = heapq.heappop(timers)
                self.fire(kind, f, k, now)
                n += 1
            if not pacing and until():
                return True
            if now >= end:
                return False
            wait = 0.004
            if timers:
                wait = max(0.0, min(wait, timers[0][0] - now))
            for key, _ in select(wait):
                sock = key.fileobj
                for _ in range(256):
                    try:
                        data, addr = sock.recvfrom(65535)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as e:
                        self.counts[f"recv error {e.errno}"] += 1
                        break
                    self.rx += 1
                    if key.data:
                        self.on_caller(data)
                    else:
                        self.on_phone(sock, data, addr)

    def paced(self, flows: list[Flow], rate: float, send) -> callable:
        t0 = time.monotonic()
        state = {"next": 0}

        def pacer(now: float) -> bool:
            due = min(len(flows), int((now - t0) * rate) + 1)
            i = state["next"]
            stop = min(due, i + 200)
            while i < stop:
                send(flows[i])
                i += 1
            state["next"] = i
            return i < len(flows)
        return pacer


# --------------------------------------------------------------------------- one mode

def pct(samples: list[float], p: float) -> float | None:
    if not samples:
        return None
    return samples[min(len(samples) - 1, int(p / 100 * len(samples)))]


def cpu_us(a: ob.CpuSample, b: ob.CpuSample, n: int) -> dict:
    return {"ticks_us_per_flow": (b.ticks - a.ticks) * 1e6 / ob.CLK_TCK / n if n else None,
            "sched_us_per_flow": (b.sched_ns - a.sched_ns) / 1e3 / n if n else None,
            "seconds": (b.sched_ns - a.sched_ns) / 1e9}


def self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def log(msg: str) -> None:
    print(f"# {msg}", file=sys.stderr, flush=True)


def run_mode(args, mode: str, deadline: float) -> dict:
    binary = str(Path(args.centralita).resolve())
    wait = max(args.wait, math.ceil(args.flows / args.rate + args.settle + args.wake_max + 30))
    gw = sw = drv = None
    res: dict = {"mode": mode, "flows": args.flows, "rate": args.rate, "push_wait": wait}
    try:
        gw = PushGateway(keep_files=bool(args.keep_logs))
        try:
            gw.start()
        except SkipTest as e:
            raise RuntimeError(f"the push gateway cannot run here: {e}") from e
        sw = PushSwitch(binary, args.workers, switch_config(gw, wait), args.script)
        sw.start()
        drv = Driver(args, sw, gw, mode, deadline)
        flows = drv.flows
        n = len(flows)

        # 1. the phones register and fall asleep
        t = time.monotonic()
        done = drv.run(lambda: all(f.reg_status is not None for f in flows),
                       drv.paced(flows, args.reg_rate, drv.send_register), n / args.reg_rate + 40)
        regs = Counter(f.reg_status for f in flows)
        log(f"{mode}: {regs.get(200, 0)} of {n} phones registered in {time.monotonic() - t:.1f} s "
            f"({dict(regs)}){'' if done else ' (gave up waiting)'}")
        res["registered"] = regs.get(200, 0)
        res["register_statuses"] = {str(k): v for k, v in regs.items()}

        # 2. settle (malloc_trim runs every 10 s), then the baseline
        drv.run(lambda: False, None, args.settle)
        pss0, _ = scb.pss_bytes(sw.proc.pid)
        st0 = switch_status(sw)
        rcv0 = ob.udp_rcvbuf_errors()
        c0, g0, s0, w0 = ob.sample_cpu(sw.proc.pid), ob.sample_cpu(gw.proc.pid), self_cpu(), time.monotonic()

        # 3. the INVITEs; pushes come back and (stream) phones wake meanwhile
        callees = [f for f in flows if f.reg_status == 200]
        t = time.monotonic()
        resolved = lambda: all(f.t_push is not None or f.final is not None for f in callees)  # noqa: E731
        drv.run(resolved, drv.paced(callees, args.rate, drv.send_invite),
                len(callees) / args.rate + args.push_timeout)
        t_pushed = time.monotonic()
        log(f"{mode}: {len(callees)} INVITEs sent in {max(f.t_invite or t for f in callees) - t:.1f} s; "
            f"{sum(f.t_push is not None for f in callees)} pushes at the gateway after "
            f"{t_pushed - t:.1f} s; {sum(f.t_trying is not None for f in callees)} got 100 Trying")
        c1 = ob.sample_cpu(sw.proc.pid)
        c_rel, s_rel, w_rel = c1, s0, w0

        if mode == "hold":
            drv.run(lambda: False, None, args.settle)
            waiting = sum(f.t_push is not None and f.final is None and f.t_wake is None for f in callees)
            pss1, _ = scb.pss_bytes(sw.proc.pid)
            st1 = switch_status(sw)
            mem = {"waiting": waiting, "pss_before": pss0, "pss_waiting": pss1,
                   "status_before": st0, "status_waiting": st1}
            if waiting:
                mem["pss_per_call"] = (pss1 - pss0) / waiting
                for k in ("heap_in_use", "lua_bytes"):
                    if k in st0 and k in st1:
                        mem[f"{k}_per_call"] = (st1[k] - st0[k]) / waiting
            res["memory"] = mem
            log(f"{mode}: {waiting} calls waiting: PSS {pss0 / 2**20:.1f} -> {pss1 / 2**20:.1f} MiB "
                f"({mem.get('pss_per_call', float('nan')):.0f} bytes per call), heap "
                f"{mem.get('heap_in_use_per_call', float('nan')):.0f} bytes per call; status {st1}")
            c_rel, s_rel, w_rel = ob.sample_cpu(sw.proc.pid), self_cpu(), time.monotonic()
            drv.release()

        # 4. until every call has its final answer
        t = time.monotonic()
        done = drv.run(lambda: all(f.final is not None for f in callees), None, wait + 60)
        drv.run(lambda: all(f.t_ack_rx is not None for f in callees if f.final == 200), None, 2.0)
        c2, g2, s2, w2 = ob.sample_cpu(sw.proc.pid), ob.sample_cpu(gw.proc.pid), self_cpu(), time.monotonic()
        rcv1 = ob.udp_rcvbuf_errors()
        st2 = switch_status(sw)
        log(f"{mode}: finals after {time.monotonic() - t:.1f} s"
            f"{'' if done else ' (gave up: deadline)'}: {dict(Counter(f.final for f in callees))}; status {st2}")
        res.update(summarise(drv, callees, n))
        res["status_end"] = st2
        res["udp_rcvbuf_errors"] = rcv1 - rcv0
        res["counts"] = dict(drv.counts)
        res["datagrams"] = {"received": drv.rx, "sent": drv.tx}
        res["push_unknown_tokens"] = drv.push_unknown
        res["cpu"] = {
            # from the first INVITE to the last final (hold: with the settling and the readings)
            "switch_total": cpu_us(c0, c2, len(callees)),
            # the INVITEs until the last push (stream: wake-ups already under way)
            "switch_invites_and_pushes": cpu_us(c0, c1, len(callees)),
            "gateway_total": cpu_us(g0, g2, len(callees)),
            "driver_s": s2 - s0,
            "driver_us_per_flow": (s2 - s0) * 1e6 / len(callees) if callees else None,
            "wall_s": w2 - w0,
            # this driver's share of one core (hold: from the release, when it is busiest)
            "driver_busy": (s2 - s_rel) / (w2 - w_rel) if w2 > w_rel else None,
        }
        if mode == "hold":
            res["cpu"]["switch_wakeups"] = cpu_us(c_rel, c2, len(callees))
        if sum(f.t_push is not None for f in callees) < len(callees):
            try:
                verdicts = Counter((r.get("provider"), r.get("verdict"), r.get("status"))
                                   for r in gw.requests())
                res["gateway_verdicts"] = {f"{p} {v} {s}": c for (p, v, s), c in verdicts.items()}
            except Exception as e:  # context only; the gateway may be gone
                res["gateway_verdicts"] = {"error": str(e)}
        res["switch_log_tail"] = [ln for ln in sw.tail(4000).splitlines()
                                  if " warn" in ln.lower() or " error" in ln.lower()][-20:]
        return res
    finally:
        if drv is not None:
            drv.close()
        if sw is not None:
            if sw.proc is not None and sw.proc.poll() is None:
                sw.proc.send_signal(signal.SIGTERM)
                try:
                    sw.proc.wait(20)
                except subprocess.TimeoutExpired:
                    pass
            if args.keep_logs:
                keep = Path(args.keep_logs)
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(sw.log, keep / f"centralita-{mode}.log")
            stop_line = [ln for ln in sw.tail(200).splitlines() if "shutting down (" in ln]
            if stop_line:
                res["stopped_with"] = stop_line[-1].split("shutting down (", 1)[1].rstrip(")")
            log(f"{mode}: centralita stopped, exit {sw.stop()}")
        if gw is not None:
            log(f"{mode}: push gateway stopped, exit {gw.stop()}")
            if args.keep_logs:   # the gateway kept its files for this
                shutil.copyfile(gw.stderr_path, Path(args.keep_logs) / f"gateway-{mode}.stderr")
                shutil.rmtree(gw.tmp, ignore_errors=True)


def summarise(drv: Driver, flows: list[Flow], attempted: int) -> dict:
    ms = lambda xs: sorted(x * 1e3 for x in xs)  # noqa: E731
    lat = ms(f.t_inv_rx - f.t_wake for f in flows if f.t_inv_rx is not None and f.t_wake is not None)
    reg_ok = ms(f.t_wreg_ok - f.t_wake for f in flows if f.t_wreg_ok is not None and f.t_wake is not None)
    push = ms(f.t_push - f.t_invite for f in flows if f.t_push is not None)
    answer = ms(f.t_final - f.t_invite for f in flows if f.final == 200)
    lag = ms(drv.lag)
    finals = Counter(f.final for f in flows)
    causes: Counter = Counter()
    for f in flows:
        if f.final == 200:
            continue
        stage = ("no push at the gateway" if f.t_push is None else
                 "pushed, not woken before the end" if f.t_wake is None else
                 "woken, REGISTER unanswered" if f.wreg_status is None else
                 f"woken, REGISTER {f.wreg_status}" if f.wreg_status != 200 else
                 "woken, no INVITE at the phone" if f.t_inv_rx is None else
                 "INVITE answered, no 200 at the caller")
        causes[f"{'no final' if f.final is None else f.final}: {stage}"] += 1
    # Calls in progress at once (INVITE sent, no final yet), from the driver's timestamps.
    edges = sorted([(f.t_invite, 1) for f in flows if f.t_invite is not None]
                   + [(f.t_final, -1) for f in flows if f.t_final is not None])
    cur = peak = 0
    for _, d in edges:
        cur += d
        peak = max(peak, cur)
    return {
        "attempted": attempted,
        "invites_sent": sum(f.t_invite is not None for f in flows),
        "trying": sum(f.t_trying is not None for f in flows),
        "pushes_delivered": sum(f.t_push is not None for f in flows),
        "pushes_duplicate": sum(max(0, f.pushes - 1) for f in flows),
        "pushes_by_provider": dict(Counter(f.provider for f in flows if f.t_push is not None)),
        "woken": sum(f.wreg_status == 200 for f in flows),
        "invites_at_phone": sum(f.t_inv_rx is not None for f in flows),
        "invites_at_phone_twice": sum(f.inv_rx_count > 1 for f in flows),
        "answered": finals.get(200, 0),
        "acks_at_phone": sum(f.t_ack_rx is not None for f in flows if f.final == 200),
        "finals": {str(k): v for k, v in finals.items()},
        "failures": dict(causes),
        "peak_in_progress": peak,
        "latency_ms": lat,
        "register_ok_ms": reg_ok,
        "push_ms": push,
        "push_ms_by_provider": {k: ms(f.t_push - f.t_invite for f in flows if f.provider == k and f.t_push is not None)
                                for k in sorted({f.provider for f in flows})},
        "answer_ms": answer,
        "driver_lag_ms": lag,
    }


# --------------------------------------------------------------------------- report

def f1(x, d: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{d}f}"


def table(results: list[dict], args) -> list[str]:
    modes = [r["mode"] for r in results]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("n/a")
        rows.append((label, cells))

    def dist(key: str, d: int = 2):
        return lambda r: (f"{f1(pct(r[key], 50), d)} / {f1(pct(r[key], 90), d)} / "
                          f"{f1(pct(r[key], 99), d)} / {f1(r[key][-1] if r[key] else None, d)} ms")

    row("flows attempted (phones registered)", lambda r: f"{r['attempted']:,} ({r['registered']:,})")
    row("INVITEs sent / 100 Trying", lambda r: f"{r['invites_sent']:,} / {r['trying']:,}")
    row("pushes delivered (gateway)", lambda r: f"{r['pushes_delivered']:,} "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(r['pushes_by_provider'].items()))})")
    row("phones woken (REGISTER 200)", lambda r: f"{r['woken']:,}")
    row("INVITEs at the woken phone", lambda r: f"{r['invites_at_phone']:,}")
    row("**calls answered (200 at the caller)**",
        lambda r: f"**{r['answered']:,} ({100 * r['answered'] / r['attempted']:.2f} %)**")
    row("failures by cause", lambda r: (", ".join(f"{k}: {v}" for k, v in sorted(r["failures"].items()))
                                        or "none"))
    row("calls in progress at once (peak)", lambda r: f"{r['peak_in_progress']:,}")
    row("**wake-up: REGISTER sent → INVITE at the phone** p50 / p90 / p99 / max", dist("latency_ms"))
    row("REGISTER sent → its 200 at the phone, p50 / p90 / p99 / max", dist("register_ok_ms"))
    row("INVITE sent → push at the gateway, p50 / p90 / p99 / max", dist("push_ms", 1))
    row("… by provider, p50 / p99", lambda r: ", ".join(
        f"{k} {f1(pct(v, 50), 0)} / {f1(pct(v, 99), 0)} ms" for k, v in r["push_ms_by_provider"].items()))
    row("INVITE sent → 200 at the caller, p50 / p90 / p99 / max", dist("answer_ms", 0))
    row("calls waiting at the memory snapshot",
        lambda r: f"{r['memory']['waiting']:,}" if "memory" in r else "—")
    row("**PSS per waiting call**", lambda r: f"**{r['memory']['pss_per_call']:,.0f} bytes**"
        if "memory" in r else "—")
    row("heap in use per waiting call (of which Lua)",
        lambda r: f"{r['memory']['heap_in_use_per_call']:,.0f} ({r['memory']['lua_bytes_per_call']:,.0f}) bytes"
        if "memory" in r else "—")
    row("**switch CPU-µs per flow** (schedstat; stat ticks), INVITE to last final",
        lambda r: f"**{f1(r['cpu']['switch_total']['sched_us_per_flow'], 0)}** "
                  f"({f1(r['cpu']['switch_total']['ticks_us_per_flow'], 0)})")
    row("… of which INVITEs and pushes / wake-ups (hold)",
        lambda r: f"{f1(r['cpu']['switch_invites_and_pushes']['sched_us_per_flow'], 0)} / "
                  f"{f1(r['cpu']['switch_wakeups']['sched_us_per_flow'], 0)}" if r["mode"] == "hold" else "—")
    row("push gateway (node) CPU-µs per flow, context", lambda r: f1(r["cpu"]["gateway_total"]["sched_us_per_flow"], 0))
    row("this driver's CPU-µs per flow (busy fraction of one core)",
        lambda r: f"{f1(r['cpu']['driver_us_per_flow'], 0)} "
                  f"({f1(100 * r['cpu']['driver_busy'], 0)} %)")
    row("driver lag: REGISTER sent after its due time, p50 / p99 / max",
        lambda r: f"{f1(pct(r['driver_lag_ms'], 50), 2)} / {f1(pct(r['driver_lag_ms'], 99), 2)} / "
                  f"{f1(r['driver_lag_ms'][-1] if r['driver_lag_ms'] else None, 2)} ms")
    row("retransmissions (driver side)", lambda r: ", ".join(
        f"{k}: {v}" for k, v in sorted(r["counts"].items()) if "retransmitted" in k) or "none")
    row("other driver counts", lambda r: ", ".join(
        f"{k}: {v}" for k, v in sorted(r["counts"].items()) if "retransmitted" not in k) or "none")
    row("UDP RcvbufErrors during the run (system-wide)", lambda r: f"{r['udp_rcvbuf_errors']:,}")

    out = [f"| | {' | '.join(modes)} |", f"|---|{'---:|' * len(modes)}"]
    out += [f"| {label} | {' | '.join(cells)} |" for label, cells in rows]
    return out


def markdown(results: list[dict], args) -> list[str]:
    md = [f"#### {args.flows:,} wake-up flows, INVITEs at {args.rate:,}/s, phones waking "
          f"{args.wake_min}–{args.wake_max} s after their push", "",
          f"Providers: {', '.join(f'{k} {v:g}' for k, v in args.mix.items())}; {args.workers} workers; "
          f"`[push] wait` {results[0]['push_wait'] if results else '?'} s; {args.phone_sockets} phone sockets, "
          f"{args.caller_sockets} caller sockets.", ""]
    md += table(results, args)
    md.append("")
    for r in results:
        if "memory" in r:
            st = r["memory"]["status_waiting"]
            keys = ("active_calls", "server_transactions", "hibernated_transactions", "live_runs",
                    "suspended", "event_subscriptions", "push_sent", "push_failed", "push_retried")
            md += [f"Gauges with {r['memory']['waiting']:,} calls waiting ({r['mode']}): `"
                   + " ".join(f"{k}={st[k]}" for k in keys if k in st) + "`", ""]
        if r.get("status_end"):
            st = r["status_end"]
            keys = ("active_calls", "server_transactions", "live_runs", "suspended", "event_subscriptions",
                    "push_sent", "push_failed", "push_retried", "push_woke", "script_errors")
            md += [f"Gauges at the end ({r['mode']}): `" + " ".join(f"{k}={st[k]}" for k in keys if k in st)
                   + "`", ""]
    return md


# --------------------------------------------------------------------------- main

def mix_arg(s: str) -> dict[str, float]:
    out = {}
    for part in s.split(","):
        k, _, v = part.partition("=")
        if k.strip() not in ("apns", "fcm", "webhook"):
            raise argparse.ArgumentTypeError(f"unknown provider {k!r} (apns, fcm, webhook)")
        out[k.strip()] = float(v or 1)
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--centralita", default=str(ROOT / "build" / "centralita"))
    p.add_argument("--script", default=str(PUSH_SCRIPT))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--modes", default="hold,stream", help="hold, stream or both (comma-separated)")
    p.add_argument("--flows", type=int, default=10000)
    p.add_argument("--rate", type=float, default=1000, help="INVITEs per second")
    p.add_argument("--reg-rate", type=float, default=2000, help="initial REGISTERs per second")
    p.add_argument("--mix", type=mix_arg, default=mix_arg("apns=0.8,fcm=0.1,webhook=0.1"))
    p.add_argument("--wake-min", type=float, default=0.5)
    p.add_argument("--wake-max", type=float, default=3.0)
    p.add_argument("--wait", type=int, default=60, help="[push] wait (raised if the run needs more)")
    p.add_argument("--settle", type=float, default=12.0,
                   help="seconds before each memory reading (malloc_trim runs every 10 s)")
    p.add_argument("--push-timeout", type=float, default=30.0,
                   help="seconds after the last INVITE to wait for the last push")
    p.add_argument("--phone-sockets", type=int, default=16)
    p.add_argument("--caller-sockets", type=int, default=8)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--deadline", type=float, default=1200.0, help="seconds for the whole run")
    p.add_argument("--json", default=None)
    p.add_argument("--keep-logs", default=None, metavar="DIR",
                   help="copy the switch's log and the gateway's stderr here")
    a = p.parse_args()
    a.modes = [m for m in a.modes.split(",") if m]
    if any(m not in ("hold", "stream") for m in a.modes) or not a.modes:
        p.error("--modes: hold, stream")
    return a


def main() -> int:
    args = parse_args()

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    deadline = time.monotonic() + args.deadline
    out: dict = {"machine": platform.node(), "cpus": os.cpu_count(), "args": vars(args),
                 "load_before": os.getloadavg(), "modes": []}
    try:
        for mode in args.modes:
            if time.monotonic() >= deadline:
                log(f"{mode}: skipped, the deadline has passed")
                break
            out["modes"].append(run_mode(args, mode, deadline))
    finally:
        PushGateway.stop_all()
        out["load_after"] = os.getloadavg()
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    print("\n".join(markdown(out["modes"], args)))
    print(f"\nLoad average before / after: {' '.join(f'{x:.2f}' for x in out['load_before'])} / "
          f"{' '.join(f'{x:.2f}' for x in out['load_after'])}")
    return 0 if all(r["answered"] == r["attempted"] for r in out["modes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
