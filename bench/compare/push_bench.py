#!/usr/bin/env python3
"""Push wake-up benchmark (issue 5, point 5): many calls to sleeping phones at once, each
woken by a push through the test push gateway, with scripts/push.lua as shipped.

Per mode, on a fresh switch (2 workers, --script scripts/push.lua) and a fresh gateway
(test/integration/push_gateway, HTTP/2 over TLS, checking requests as APNs/FCM/a webhook
would):

  1. --flows phones p1..pN register with RFC 8599 push parameters (pn-provider apns for most,
     fcm and webhook for a share, --mix), with a Contact at port 9 where nothing listens: they
     sleep.
  2. N INVITEs (plain UDP from this script, caller c<i> calls p<i>, --rate per second) each
     make push.lua push the phone, subscribe to its REGISTER and wait for branches.
  3. As a push reaches the gateway (its stdout line), the phone is scheduled to wake after a
     uniform random --wake-min..--wake-max seconds: it registers again (same Call-ID, next
     CSeq, same pn-prid) from one of --phone-sockets UDP sockets, with a Contact of its own
     user part there, takes the relayed INVITE, answers 200 and takes the ACK. The caller ACKs
     the 200.

Modes:
  stream  wakes as in 3: at --rate 1000/s about rate × (push time + 1.75 s) calls wait at once.
  hold    the phones hold their wake until every INVITE is waiting (all pushes seen, or none
          for --push-quiet s) and the memory is measured; then they wake on the same schedule
          (push time relative to the first push, plus the random delay), shifted to that
          moment. In this mode all N calls wait at once: memory per waiting call = ΔPSS (and
          Δheap_in_use, Δlua_bytes of the switch's SIGUSR1 status line) / calls waiting.

Measured: flows, pushes delivered, phones woken (REGISTER 200), INVITEs at the phone, calls
answered (the caller's 200), failures by cause; wake-up latency = the relayed INVITE's arrival
at the phone's socket (kernel receive timestamp, SO_TIMESTAMPNS) minus the first send of its
REGISTER (two loopback hops plus the REGISTER's saving, the event, the Lua handler, the branch
and the relay); where the push time goes (the gateway's request log and the switch's own
"sent (n attempt(s), m ms)" lines); the switch's CPU per flow from /proc (utime+stime ticks and
schedstat ns, first INVITE to last final), the gateway's and this driver's CPU and what other
processes used the machine meanwhile (/proc/stat) as context; the driver's lag (a REGISTER sent
after its due time); malloc_trim stalls the switch logged; UDP RcvbufErrors (system-wide).
Retransmissions follow RFC 3261 timers (INVITE: A/B, REGISTER: E/F, the phone's 2xx:
§13.3.1.4), so a lost or late datagram costs time, not the flow.

Markdown to stdout, --json FILE for everything (per-flow times included). Python standard
library only; one thread drives every socket (selectors), PushGateway's thread reads the
gateway's stdout.

    bench/compare/push_bench.py --flows 10000
    bench/compare/push_bench.py --flows 500 --modes stream --json /tmp/push.json
"""

from __future__ import annotations

import argparse
import datetime
import heapq
import itertools
import json
import math
import os
import platform
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import struct
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
import push_gateway  # noqa: E402
import sip_core_bench as scb  # noqa: E402
from centralita_test import HOST, SkipTest, free_port  # noqa: E402
from push_gateway import PushGateway  # noqa: E402
from script_bench import switch_status  # noqa: E402

PUSH_SCRIPT = ROOT / "scripts" / "push.lua"
T1, T2 = 0.5, 4.0                 # RFC 3261 §17.1.1.1
TIMEOUT_64T1 = 64 * T1            # Timer B / F, and the 2xx retransmission bound (§13.3.1.4)
SOCK_BUF = 4 * 1024 * 1024        # net.core.rmem_max here is 4 MiB
SLEEP_PORT = 9                    # the sleeping phones' Contact: discard, nothing listens
SO_TIMESTAMPNS = 35               # <asm-generic/socket.h>; Python 3.11 does not name it
COMPACT = {b"i": b"call-id", b"v": b"via", b"f": b"from", b"t": b"to", b"m": b"contact"}
# The gateway's request log of 10,000 records takes longer than the 5 s of a control call.
push_gateway.CONTROL_TIMEOUT = 60.0


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


def switch_config(gw: PushGateway, wait: int, retries: int, backoff_ms: int) -> str:
    """The providers of test/integration/test_push.py's config_text, at the gateway; retries as
    the shipped defaults unless told otherwise."""
    return f"""
[http]
listen = "{HOST}:{free_port()}"

[events]
heartbeat_interval = 0

[push]
wait = {wait}
retries = {retries}
retry_backoff_ms = {backoff_ms}

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
    """One phone p<i> and the call to it from c<i>. t_* are wall-clock seconds (time.time(),
    or the kernel's receive timestamp for what arrived); timers use time.monotonic()."""

    __slots__ = ("i", "user", "provider", "prid", "param", "cid", "branch", "ftag", "reg_cid",
                 "csock", "psock", "reg_status", "reg_tx", "t_reg", "t_invite", "inv_tx", "t_trying",
                 "t_final", "final", "final_ack", "t_push", "pushes", "delay", "wake_due",
                 "t_wake", "wreg_tx", "wreg_status", "t_wreg_ok", "t_inv_rx", "ok200",
                 "ok_tx", "t_ack_rx", "inv_rx_count", "t_gateway")

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
        self.t_reg = self.t_invite = self.t_trying = self.t_final = self.t_push = None
        self.wake_due = self.t_wake = self.t_wreg_ok = self.t_inv_rx = self.t_ack_rx = None
        self.t_gateway = None
        self.final_ack = self.ok200 = None
        self.pushes = 0
        self.delay = 0.0


def providers_of(n: int, mix: dict[str, float]) -> list[str]:
    """Deterministic interleaving of the providers in proportion to mix."""
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
        self.ports = {s: s.getsockname()[1] for s in self.csocks + self.psocks}
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
        self.last_push_mono = time.monotonic()
        self.held: list[Flow] = []          # hold mode: pushed, waiting for the release
        self.released = False
        self.first_push: float | None = None
        self.counts = Counter()              # retransmissions, strays, send errors...
        self.lag: list[float] = []           # REGISTER sent minus its due time (s)
        self.rx = self.tx = 0

    # -- sockets
    def _socket(self, caller: bool) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCK_BUF)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCK_BUF)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
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
        port = self.ports[f.csock]
        return (f"INVITE sip:{f.user}@{HOST}:{self.sw.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{port};branch={f.branch};rport\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:c{f.i}@{HOST}>;tag={f.ftag}\r\n"
                f"To: <sip:{f.user}@{HOST}>\r\nCall-ID: {f.cid}\r\nCSeq: 1 INVITE\r\n"
                f"Contact: <sip:c{f.i}@{HOST}:{port}>\r\nContent-Length: 0\r\n\r\n").encode()

    def send_register(self, f: Flow) -> None:
        data = self.register_bytes(f, self.ports[f.csock], 1, SLEEP_PORT)
        if f.t_reg is None:
            f.t_reg = time.time()
        f.reg_tx += 1
        self.send(f.csock, data)
        # RFC 3261 §17.1.2.2: Timer E from T1, doubling up to T2, until Timer F (64*T1).
        self.at(time.monotonic() + min(T1 * 2 ** (f.reg_tx - 1), T2), "reg", f, f.reg_tx)

    def send_invite(self, f: Flow) -> None:
        data = self.invite_bytes(f)
        if f.t_invite is None:
            f.t_invite = time.time()
        f.inv_tx += 1
        self.send(f.csock, data)
        # RFC 3261 §17.1.1.2: Timer A doubles each time, until Timer B (64*T1).
        self.at(time.monotonic() + T1 * 2 ** (f.inv_tx - 1), "inv", f, f.inv_tx)

    def wake(self, f: Flow) -> None:
        port = self.ports[f.psock]
        data = self.register_bytes(f, port, 2, port)
        if f.t_wake is None:
            self.lag.append(time.monotonic() - f.wake_due)
            f.t_wake = time.time()
        f.wreg_tx += 1
        self.send(f.psock, data)
        self.at(time.monotonic() + min(T1 * 2 ** (f.wreg_tx - 1), T2), "wreg", f, f.wreg_tx)

    # -- timers
    def fire(self, kind: str, f: Flow, n: int) -> None:
        now = time.time()
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
                self.at(time.monotonic() + min(T1 * 2 ** (n + 1), T2), "ok", f, n + 1)

    # -- datagrams in (t: the kernel's receive time)
    def on_caller(self, data: bytes, t: float) -> None:
        first, hdrs = parse(data)
        if not first.startswith(b"SIP/2.0 "):
            self.counts["request at a caller socket"] += 1
            return
        status = int(first[8:11])
        f = self.by_cid.get(header(hdrs, b"call-id").decode(errors="replace"))
        if f is None:
            self.counts["stray response"] += 1
            return
        method = cseq_of(hdrs)[1]
        if method == b"REGISTER":
            if status >= 200 and f.reg_status is None:
                f.reg_status = status
            return
        if method != b"INVITE":
            return
        if status < 200:
            if f.t_trying is None:
                f.t_trying = t
            return
        if f.final is None:
            f.final, f.t_final = status, t
            f.final_ack = self.ack_bytes(f, status, hdrs)
        else:
            self.counts["final retransmitted to the caller"] += 1
        self.send(f.csock, f.final_ack)

    def ack_bytes(self, f: Flow, status: int, hdrs) -> bytes:
        to = header(hdrs, b"to").decode()
        port = self.ports[f.csock]
        if status >= 300:
            # RFC 3261 §17.1.1.3: the ACK of a non-2xx is part of the INVITE transaction.
            return (f"ACK sip:{f.user}@{HOST}:{self.sw.port} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP {HOST}:{port};branch={f.branch};rport\r\nMax-Forwards: 70\r\n"
                    f"From: <sip:c{f.i}@{HOST}>;tag={f.ftag}\r\nTo: {to}\r\nCall-ID: {f.cid}\r\n"
                    f"CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n").encode()
        # RFC 3261 §13.2.2.4, §12.1.2: the 2xx ACK goes to the Contact along the reversed
        # Record-Route set (through the switch, where it is sent).
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

    def on_phone(self, sock: socket.socket, data: bytes, addr, t: float) -> None:
        first, hdrs = parse(data)
        f = self.by_cid.get(header(hdrs, b"call-id").decode(errors="replace"))
        if first.startswith(b"SIP/2.0 "):
            if f is not None and cseq_of(hdrs)[1] == b"REGISTER":
                status = int(first[8:11])
                if status >= 200 and f.wreg_status is None:
                    f.wreg_status, f.t_wreg_ok = status, t
            else:
                self.counts["stray response at a phone"] += 1
            return
        method = first.split(b" ", 1)[0]
        if f is None:
            self.counts[f"stray {method.decode(errors='replace')} at a phone"] += 1
            if method != b"ACK":
                self.send(sock, response(hdrs, 481, "Call/Transaction Does Not Exist", "x"), addr)
            return
        if method == b"INVITE":
            f.inv_rx_count += 1
            if f.t_inv_rx is None:
                f.t_inv_rx = t
                if not first.split(b" ")[1].startswith(f"sip:{f.user}@".encode()):
                    self.counts["INVITE at a phone for another user"] += 1
                ok = response(hdrs, 200, "OK", f"ph{f.i}",
                              f"Contact: <sip:{f.user}@{HOST}:{self.ports[sock]}>")
                f.ok200 = (ok, addr)
                self.at(time.monotonic() + T1, "ok", f, 0)
            if f.ok200 is not None:
                self.send(sock, f.ok200[0], addr)
        elif method == b"ACK":
            if f.t_ack_rx is None:
                f.t_ack_rx = t
        elif method == b"BYE":
            self.send(sock, response(hdrs, 200, "OK", None), addr)
        elif method == b"CANCEL":
            self.counts["CANCEL at a phone"] += 1
            self.send(sock, response(hdrs, 200, "OK", f"ph{f.i}"), addr)
        else:
            self.counts[f"{method.decode(errors='replace')} at a phone"] += 1
            self.send(sock, response(hdrs, 200, "OK", f"ph{f.i}"), addr)

    # -- pushes (the gateway's stdout, read by PushGateway's thread)
    def take_pushes(self) -> None:
        pushes = self.gw.pushes
        if self.pushes_seen >= len(pushes):
            return
        now, mono = time.time(), time.monotonic()
        self.last_push_mono = mono
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
            if self.mode == "hold" and not self.released:
                self.held.append(f)
            else:
                self.schedule_wake(f, mono + f.delay)

    def schedule_wake(self, f: Flow, due: float) -> None:
        f.wake_due = due
        self.at(due, "wake", f)

    def release(self) -> None:
        """hold mode: every held phone wakes on its stream schedule, shifted to now."""
        mono = time.monotonic()
        self.released = True
        for f in self.held:
            self.schedule_wake(f, mono + (f.t_push - self.first_push) + f.delay)
        self.held.clear()

    # -- the loop
    def run(self, until, pacer=None, limit: float = 1e9) -> bool:
        """Runs until until() is true (True), or limit seconds / the global deadline pass (False).
        pacer(now) sends what is due and says whether it has more to send."""
        end = min(time.monotonic() + limit, self.deadline)
        select, timers = self.sel.select, self.timers
        pacing = pacer is not None
        unpack = struct.unpack_from
        while True:
            now = time.monotonic()
            if pacing:
                pacing = pacer(now)
            self.take_pushes()
            n = 0
            while timers and timers[0][0] <= now and n < 500:
                _, _, kind, f, k = heapq.heappop(timers)
                self.fire(kind, f, k)
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
                        data, anc, _, addr = sock.recvmsg(65535, 64)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as e:
                        self.counts[f"recv error {e.errno}"] += 1
                        break
                    self.rx += 1
                    if anc:
                        sec, ns = unpack("qq", anc[0][2])
                        t = sec + ns * 1e-9
                    else:
                        t = time.time()
                    if key.data:
                        self.on_caller(data, t)
                    else:
                        self.on_phone(sock, data, addr, t)

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


# --------------------------------------------------------------------------- measurements

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


def machine_ticks() -> tuple[int, int]:
    """(busy, idle) clock ticks of the whole machine, from /proc/stat's cpu line."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is inside user)
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], v[3] + v[4]


class Sample:
    """CPU of the switch, the gateway, this driver and the machine at one moment."""

    def __init__(self, sw: PushSwitch, gw: PushGateway) -> None:
        self.wall = time.monotonic()
        self.sw = ob.sample_cpu(sw.proc.pid)
        self.gw = ob.sample_cpu(gw.proc.pid)
        self.me = self_cpu()
        self.busy, self.idle = machine_ticks()
        self.threads = ob.thread_schedstats(sw.proc.pid)


def thread_use(a: Sample, b: Sample) -> list[tuple[str, float]]:
    """The switch's threads by CPU between a and b: (name/tid, share of one core), busiest first."""
    wall = b.wall - a.wall
    out = [(k, (v[0] - a.threads.get(k, (0, 0))[0]) / 1e9 / wall) for k, v in b.threads.items()]
    return sorted(((k, u) for k, u in out if u >= 0.01), key=lambda x: -x[1])


def others(a: Sample, b: Sample) -> dict:
    """What the rest of the machine did between a and b, in cores (average)."""
    wall = b.wall - a.wall
    if wall <= 0:
        return {}
    ours = (b.sw.ticks - a.sw.ticks + b.gw.ticks - a.gw.ticks) / ob.CLK_TCK + (b.me - a.me)
    busy = (b.busy - a.busy) / ob.CLK_TCK
    return {"wall_s": wall, "busy_cores": busy / wall, "ours_cores": ours / wall,
            "others_cores": max(0.0, busy - ours) / wall,
            "idle_cores": (b.idle - a.idle) / ob.CLK_TCK / wall}


def log(msg: str) -> None:
    print(f"# {msg}", file=sys.stderr, flush=True)


def switch_log_facts(path: Path, since: str) -> dict:
    """From the switch's log, lines at or after the wall-clock time `since` ("%Y-%m-%d
    %H:%M:%S"): malloc_trim stalls, the push service's delivery times and attempts, retry and
    failure reasons."""
    trims, sent_ms, attempts, retry, failed = [], [], Counter(), Counter(), Counter()
    rx_sent = re.compile(r": sent \((\d+) attempt\(s\), (\d+) ms\)")
    try:
        with open(path, errors="replace") as fh:
            for line in fh:
                if line[:19] < since:
                    continue
                if "malloc_trim took" in line:
                    trims.append(int(line.rsplit("took", 1)[1].split()[0]))
                elif ": sent (" in line:
                    m = rx_sent.search(line)
                    if m:
                        attempts[m.group(1)] += 1
                        sent_ms.append(int(m.group(2)))
                elif "; retry in " in line:
                    retry[line.rsplit(": ", 1)[1].split(";")[0].strip()] += 1
                elif " failed: " in line and "[app]" in line:
                    failed[re.sub(r"\d+", "N", line.split(" failed: ", 1)[1].strip())] += 1
    except OSError:
        pass
    return {"malloc_trim_ms": trims, "push_sent_ms": sorted(sent_ms),
            "push_attempts": dict(attempts), "push_retry_reasons": dict(retry),
            "push_failure_reasons": dict(failed)}


def gateway_arrivals(gw: PushGateway, drv: Driver) -> dict:
    """When each accepted push reached the gateway (its request log, wall clock)."""
    try:
        reqs = gw.requests()
    except Exception as e:  # context only
        return {"error": str(e)}
    verdicts = Counter()
    for r in reqs:
        verdicts[f"{r.get('provider')} {r.get('verdict')} {r.get('status')}"] += 1
        f = drv.by_prid.get(r.get("token") or "")
        if f is None or r.get("verdict") != "accepted" or f.t_gateway is not None:
            continue
        try:
            f.t_gateway = datetime.datetime.fromisoformat(r["at"].replace("Z", "+00:00")).timestamp()
        except (KeyError, ValueError):
            pass
    return {"requests": len(reqs), "verdicts": dict(verdicts)}


# --------------------------------------------------------------------------- one mode

def run_mode(args, mode: str, deadline: float) -> dict:
    binary = str(Path(args.centralita).resolve())
    wait = max(args.wait, math.ceil(args.flows / args.rate + args.push_quiet + args.settle
                                    + args.wake_max + 30))
    gw = sw = drv = None
    res: dict = {"mode": mode, "flows": args.flows, "rate": args.rate, "push_wait": wait}
    try:
        gw = PushGateway(keep_files=bool(args.keep_logs))
        try:
            gw.start()
        except SkipTest as e:
            raise RuntimeError(f"the push gateway cannot run here: {e}") from e
        sw = PushSwitch(binary, args.workers, switch_config(gw, wait, args.push_retries, args.push_backoff_ms),
                        args.script)
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
        since = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        a0 = Sample(sw, gw)

        # 3. the INVITEs; pushes come back and (stream) phones wake meanwhile. Done when every
        #    call has its push or a final answer, or no push came for --push-quiet seconds.
        callees = [f for f in flows if f.reg_status == 200]
        t = time.monotonic()
        last_invite = t + len(callees) / args.rate

        def pushed() -> bool:
            mono = time.monotonic()
            return (all(f.t_push is not None or f.final is not None for f in callees)
                    or (mono > last_invite + args.push_quiet and mono - drv.last_push_mono > args.push_quiet))
        drv.run(pushed, drv.paced(callees, args.rate, drv.send_invite),
                len(callees) / args.rate + args.push_timeout)
        a1 = Sample(sw, gw)
        sent_s = max(f.t_invite or 0 for f in callees) - min(f.t_invite or 1e18 for f in callees)
        log(f"{mode}: {len(callees)} INVITEs sent in {sent_s:.1f} s; "
            f"{sum(f.t_push is not None for f in callees)} pushes at the gateway after "
            f"{time.monotonic() - t:.1f} s; {sum(f.t_trying is not None for f in callees)} got 100 Trying")
        a_rel = a0   # stream: the phones wake from the first push on

        if mode == "hold":
            drv.run(lambda: False, None, args.settle)
            waiting = [f for f in callees if f.t_invite is not None and f.final is None and f.t_wake is None]
            pss1, _ = scb.pss_bytes(sw.proc.pid)
            st1 = switch_status(sw)
            mem = {"waiting": len(waiting), "waiting_pushed": sum(f.t_push is not None for f in waiting),
                   "pss_before": pss0, "pss_waiting": pss1, "status_before": st0, "status_waiting": st1}
            if waiting:
                mem["pss_per_call"] = (pss1 - pss0) / len(waiting)
                for k in ("heap_in_use", "lua_bytes", "actors", "event_subscriptions"):
                    if k in st0 and k in st1:
                        mem[f"{k}_per_call"] = (st1[k] - st0[k]) / len(waiting)
            res["memory"] = mem
            log(f"{mode}: {len(waiting)} calls waiting ({mem['waiting_pushed']} pushed): PSS "
                f"{pss0 / 2**20:.1f} -> {pss1 / 2**20:.1f} MiB "
                f"({mem.get('pss_per_call', float('nan')):.0f} bytes per call), heap "
                f"{mem.get('heap_in_use_per_call', float('nan')):.0f} bytes per call; status {st1}")
            a_rel = Sample(sw, gw)
            drv.release()

        # 4. until every call has its final answer (and the phones their ACKs)
        t = time.monotonic()
        done = drv.run(lambda: all(f.final is not None for f in callees), None, wait + 60)
        drv.run(lambda: all(f.t_ack_rx is not None for f in callees if f.final == 200), None, 2.0)
        a2 = Sample(sw, gw)
        rcv1 = ob.udp_rcvbuf_errors()
        st2 = switch_status(sw)
        log(f"{mode}: finals after {time.monotonic() - t:.1f} s"
            f"{'' if done else ' (gave up: deadline)'}: {dict(Counter(f.final for f in callees))}; status {st2}")
        res["gateway"] = gateway_arrivals(gw, drv)
        res.update(summarise(drv, callees, n))
        res["status_end"] = st2
        res["udp_rcvbuf_errors"] = rcv1 - rcv0
        res["counts"] = dict(drv.counts)
        res["datagrams"] = {"received": drv.rx, "sent": drv.tx}
        res["push_unknown_tokens"] = drv.push_unknown
        m = len(callees)
        res["cpu"] = {
            # from the first INVITE to the last final (hold: with the settling and the readings)
            "switch_total": cpu_us(a0.sw, a2.sw, m),
            # the INVITEs until the last push (stream: wake-ups already under way)
            "switch_invites_and_pushes": cpu_us(a0.sw, a1.sw, m),
            "switch_wakeups": cpu_us(a_rel.sw, a2.sw, m),
            "gateway_total": cpu_us(a0.gw, a2.gw, m),
            "driver_s": a2.me - a0.me,
            "driver_us_per_flow": (a2.me - a0.me) * 1e6 / m if m else None,
            # this driver's share of one core (hold: from the release, when it is busiest)
            "driver_busy": (a2.me - a_rel.me) / (a2.wall - a_rel.wall) if a2.wall > a_rel.wall else None,
            "machine": others(a0, a2),
            "machine_wakeups": others(a_rel, a2),
            "switch_threads_wakeups": thread_use(a_rel, a2),
            "switch_threads_invites": thread_use(a0, a1),
        }
        res["switch_log"] = switch_log_facts(sw.log, since)
        res["samples_fields"] = ["i", "provider", "invite", "trying", "gateway", "push", "wake",
                                 "register_ok", "invite_at_phone", "final_at", "final"]
        t0 = min((f.t_invite for f in callees if f.t_invite), default=0.0)
        rel = lambda x: None if x is None else round(x - t0, 4)  # noqa: E731
        res["samples"] = [[f.i, f.provider, rel(f.t_invite), rel(f.t_trying), rel(f.t_gateway),
                           rel(f.t_push), rel(f.t_wake), rel(f.t_wreg_ok), rel(f.t_inv_rx),
                           rel(f.t_final), f.final] for f in callees]
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
                Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(gw.stderr_path, Path(args.keep_logs) / f"gateway-{mode}.stderr")
                shutil.rmtree(gw.tmp, ignore_errors=True)


def summarise(drv: Driver, flows: list[Flow], attempted: int) -> dict:
    ms = lambda xs: sorted(x * 1e3 for x in xs)  # noqa: E731
    lat = ms(f.t_inv_rx - f.t_wake for f in flows if f.t_inv_rx is not None and f.t_wake is not None)
    reg_ok = ms(f.t_wreg_ok - f.t_wake for f in flows if f.t_wreg_ok is not None and f.t_wake is not None)
    push = ms(f.t_push - f.t_invite for f in flows if f.t_push is not None)
    to_gw = ms(f.t_gateway - f.t_invite for f in flows if f.t_gateway is not None)
    answer = ms(f.t_final - f.t_invite for f in flows if f.final == 200)
    finals = Counter(f.final for f in flows)
    last_invite = max((f.t_invite for f in flows if f.t_invite is not None), default=0.0)
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
        "latency_during_invites_ms": ms(f.t_inv_rx - f.t_wake for f in flows
                                        if f.t_inv_rx is not None and f.t_wake is not None
                                        and f.t_wake < last_invite),
        "latency_after_invites_ms": ms(f.t_inv_rx - f.t_wake for f in flows
                                       if f.t_inv_rx is not None and f.t_wake is not None
                                       and f.t_wake >= last_invite),
        "register_ok_ms": reg_ok,
        "push_ms": push,
        "invite_to_gateway_ms": to_gw,
        "push_ms_by_provider": {k: ms(f.t_push - f.t_invite for f in flows
                                      if f.provider == k and f.t_push is not None)
                                for k in sorted({f.provider for f in flows})},
        "answer_ms": answer,
        "driver_lag_ms": ms(drv.lag),
    }


# --------------------------------------------------------------------------- report

def f1(x, d: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{d}f}"


def dist4(xs: list[float], d: int = 2) -> str:
    return (f"{f1(pct(xs, 50), d)} / {f1(pct(xs, 90), d)} / {f1(pct(xs, 99), d)} / "
            f"{f1(xs[-1] if xs else None, d)} ms")


def table(results: list[dict]) -> list[str]:
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError, IndexError):
                cells.append("n/a")
        rows.append((label, cells))

    hold_only = lambda fn: lambda r: fn(r) if "memory" in r else "—"  # noqa: E731
    row("flows attempted (phones registered)", lambda r: f"{r['attempted']:,} ({r['registered']:,})")
    row("INVITEs sent / 100 Trying", lambda r: f"{r['invites_sent']:,} / {r['trying']:,}")
    row("pushes delivered (gateway)", lambda r: f"{r['pushes_delivered']:,} "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(r['pushes_by_provider'].items()))})")
    row("phones woken (REGISTER 200)", lambda r: f"{r['woken']:,}")
    row("INVITEs at the woken phone", lambda r: f"{r['invites_at_phone']:,}")
    row("**calls answered (200 at the caller)**",
        lambda r: f"**{r['answered']:,} ({100 * r['answered'] / r['attempted']:.2f} %)**")
    row("failures by cause", lambda r: (", ".join(f"{k}: {v:,}" for k, v in sorted(r["failures"].items()))
                                        or "none"))
    row("… the switch's reasons for the failed pushes", lambda r: ", ".join(
        f"{k}: {v:,}" for k, v in r["switch_log"]["push_failure_reasons"].items()) or "none")
    row("calls in progress at once (peak)", lambda r: f"{r['peak_in_progress']:,}")
    row("**wake-up: REGISTER sent → INVITE at the phone**, p50 / p90 / p99 / max",
        lambda r: dist4(r["latency_ms"]))
    row("… woken while INVITEs were still being sent: n, p50 / p99",
        lambda r: f"{len(r['latency_during_invites_ms']):,}, {f1(pct(r['latency_during_invites_ms'], 50), 2)} / "
                  f"{f1(pct(r['latency_during_invites_ms'], 99), 2)} ms" if r["latency_during_invites_ms"] else "0")
    row("… woken after the last INVITE: n, p50 / p99",
        lambda r: f"{len(r['latency_after_invites_ms']):,}, {f1(pct(r['latency_after_invites_ms'], 50), 2)} / "
                  f"{f1(pct(r['latency_after_invites_ms'], 99), 2)} ms" if r["latency_after_invites_ms"] else "0")
    row("REGISTER sent → its 200 at the phone", lambda r: dist4(r["register_ok_ms"]))
    row("INVITE sent → push request at the gateway (its log, ms resolution)",
        lambda r: dist4(r["invite_to_gateway_ms"], 0))
    row("INVITE sent → push line read here", lambda r: dist4(r["push_ms"], 0))
    row("… by provider, p50 / p99", lambda r: ", ".join(
        f"{k} {f1(pct(v, 50), 0)} / {f1(pct(v, 99), 0)} ms" for k, v in r["push_ms_by_provider"].items()))
    row("push service: first attempt → delivered (its log), p50 / p99; attempts",
        lambda r: f"{f1(pct(r['switch_log']['push_sent_ms'], 50), 0)} / "
                  f"{f1(pct(r['switch_log']['push_sent_ms'], 99), 0)} ms; "
                  + ", ".join(f"{k}: {v:,}" for k, v in sorted(r["switch_log"]["push_attempts"].items())))
    row("push retries by reason", lambda r: ", ".join(
        f"{k}: {v:,}" for k, v in r["switch_log"]["push_retry_reasons"].items()) or "none")
    row("INVITE sent → 200 at the caller", lambda r: dist4(r["answer_ms"], 0))
    row("calls waiting at the memory snapshot (of which pushed)",
        hold_only(lambda r: f"{r['memory']['waiting']:,} ({r['memory']['waiting_pushed']:,})"))
    row("**PSS per waiting call**", hold_only(lambda r: f"**{r['memory']['pss_per_call']:,.0f} bytes**"))
    row("heap in use per waiting call (of which Lua)",
        hold_only(lambda r: f"{r['memory']['heap_in_use_per_call']:,.0f} "
                            f"({r['memory']['lua_bytes_per_call']:,.0f}) bytes"))
    row("actors / bus subscriptions per waiting call",
        hold_only(lambda r: f"{r['memory']['actors_per_call']:.2f} / "
                            f"{r['memory']['event_subscriptions_per_call']:.2f}"))
    row("**switch CPU-µs per flow**, schedstat (stat ticks), first INVITE to last final",
        lambda r: f"**{f1(r['cpu']['switch_total']['sched_us_per_flow'], 0)}** "
                  f"({f1(r['cpu']['switch_total']['ticks_us_per_flow'], 0)})")
    row("… INVITEs and pushes / wake-ups after the release",
        hold_only(lambda r: f"{f1(r['cpu']['switch_invites_and_pushes']['sched_us_per_flow'], 0)} / "
                            f"{f1(r['cpu']['switch_wakeups']['sched_us_per_flow'], 0)}"))
    row("push gateway (node) CPU-µs per flow, context",
        lambda r: f1(r["cpu"]["gateway_total"]["sched_us_per_flow"], 0))
    row("this driver's CPU-µs per flow (share of one core while phones wake)",
        lambda r: f"{f1(r['cpu']['driver_us_per_flow'], 0)} ({f1(100 * r['cpu']['driver_busy'], 0)} %)")
    row("driver lag: REGISTER sent after its due time, p50 / p99 / max",
        lambda r: f"{f1(pct(r['driver_lag_ms'], 50), 2)} / {f1(pct(r['driver_lag_ms'], 99), 2)} / "
                  f"{f1(r['driver_lag_ms'][-1] if r['driver_lag_ms'] else None, 2)} ms")
    row("machine while phones wake: switch+gateway+driver / other processes / idle (cores)",
        lambda r: f"{r['cpu']['machine_wakeups']['ours_cores']:.2f} / "
                  f"{r['cpu']['machine_wakeups']['others_cores']:.2f} / "
                  f"{r['cpu']['machine_wakeups']['idle_cores']:.2f}")
    row("the switch's busiest threads while phones wake (share of one core)", lambda r: ", ".join(
        f"{k} {100 * u:.0f} %" for k, u in r["cpu"]["switch_threads_wakeups"][:4]))
    row("… while the INVITEs are sent, until the last push", lambda r: ", ".join(
        f"{k} {100 * u:.0f} %" for k, u in r["cpu"]["switch_threads_invites"][:4]))
    row("malloc_trim runs over 20 ms during the run (longest)",
        lambda r: f"{len(r['switch_log']['malloc_trim_ms'])} "
                  f"({max(r['switch_log']['malloc_trim_ms'], default=0)} ms)")
    row("retransmissions (driver side)", lambda r: ", ".join(
        f"{k}: {v:,}" for k, v in sorted(r["counts"].items()) if "retransmitted" in k) or "none")
    row("other driver counts", lambda r: ", ".join(
        f"{k}: {v:,}" for k, v in sorted(r["counts"].items()) if "retransmitted" not in k) or "none")
    row("UDP RcvbufErrors during the run (system-wide)", lambda r: f"{r['udp_rcvbuf_errors']:,}")

    out = [f"| | {' | '.join(r['mode'] for r in results)} |", f"|---|{'---:|' * len(results)}"]
    out += [f"| {label} | {' | '.join(cells)} |" for label, cells in rows]
    return out


def markdown(results: list[dict], args) -> list[str]:
    md = [f"#### {args.flows:,} wake-up flows, INVITEs at {args.rate:g}/s, phones waking "
          f"{args.wake_min:g}–{args.wake_max:g} s after their push", "",
          f"Providers: {', '.join(f'{k} {v:g}' for k, v in args.mix.items())}; {args.workers} workers; "
          f"`[push] wait` {results[0]['push_wait'] if results else '?'} s; {args.phone_sockets} phone "
          f"sockets, {args.caller_sockets} caller sockets.", ""]
    if not results:
        return md + ["No mode completed.", ""]
    md += table(results)
    md.append("")
    for r in results:
        if "memory" in r:
            st = r["memory"]["status_waiting"]
            keys = ("actors", "active_calls", "server_transactions", "hibernated_transactions", "live_runs",
                    "suspended", "event_subscriptions", "push_sent", "push_failed", "push_retried")
            md += [f"Gauges with {r['memory']['waiting']:,} calls waiting ({r['mode']}): `"
                   + " ".join(f"{k}={st[k]}" for k in keys if k in st) + "`", ""]
        if r.get("status_end"):
            st = r["status_end"]
            keys = ("actors", "active_calls", "server_transactions", "live_runs", "suspended",
                    "event_subscriptions", "push_sent", "push_failed", "push_retried", "push_woke",
                    "script_errors")
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
    p.add_argument("--push-quiet", type=float, default=5.0,
                   help="after the last INVITE, stop waiting for pushes once none came for this long")
    p.add_argument("--push-timeout", type=float, default=60.0,
                   help="seconds after the last INVITE to wait for the last push at most")
    p.add_argument("--push-retries", type=int, default=3, help="[push] retries (the shipped default)")
    p.add_argument("--push-backoff-ms", type=int, default=500, help="[push] retry_backoff_ms (the default)")
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
            Path(args.json).write_text(json.dumps(out, default=str))
    print("\n".join(markdown(out["modes"], args)))
    print(f"Load average before / after: {' '.join(f'{x:.2f}' for x in out['load_before'])} / "
          f"{' '.join(f'{x:.2f}' for x in out['load_after'])}")
    return 0 if all(r["answered"] == r["attempted"] for r in out["modes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
