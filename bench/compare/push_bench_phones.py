#!/usr/bin/env python3
"""The simulated phones and callers of push_bench.py: SIP text, one Flow per call, and the
Driver that owns their UDP sockets on one selector with a timer heap.

A caller c<i> sends its INVITE to p<i> from one of the caller sockets; the phone p<i> first
registers asleep (Contact at port 9, RFC 8599 push parameters), then, once its push has been
read from the gateway's stdout and its random delay has passed, registers again from one of the
phone sockets, takes the relayed INVITE, answers 200 and takes the ACK. Retransmissions follow
RFC 3261 timers (INVITE: A/B, REGISTER: E/F, the phone's 2xx: §13.3.1.4). Arrival times are the
kernel's receive timestamps (SO_TIMESTAMPNS). Python standard library only; imported by
push_bench.py, which runs the phases and writes the report.
"""

from __future__ import annotations

import heapq
import itertools
import random
import selectors
import socket
import struct
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
from centralita_test import HOST  # noqa: E402
from push_gateway import PushGateway  # noqa: E402

T1, T2 = 0.5, 4.0                 # RFC 3261 §17.1.1.1
TIMEOUT_64T1 = 64 * T1            # Timer B / F, and the 2xx retransmission bound (§13.3.1.4)
SOCK_BUF = 4 * 1024 * 1024        # net.core.rmem_max here is 4 MiB
SLEEP_PORT = 9                    # the sleeping phones' Contact: discard, nothing listens
SO_TIMESTAMPNS = 35               # <asm-generic/socket.h>; Python 3.11 does not name it
COMPACT = {b"i": b"call-id", b"v": b"via", b"f": b"from", b"t": b"to", b"m": b"contact"}


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
                 "t_ack_rx", "inv_rx_count", "t_gateway")

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
        self.reg_tx = self.inv_tx = self.wreg_tx = self.inv_rx_count = 0
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

    def __init__(self, args, sw: ob.Target, gw: PushGateway, mode: str, deadline: float) -> None:
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
        # Counters for the loop's end conditions (cheaper than scanning every flow each turn).
        self.n_reg = self.n_final = self.n_200 = self.n_ack = self.n_resolved = 0

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
                self.n_reg += 1
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
            self.n_final += 1
            self.n_200 += status == 200
            if f.t_push is None:
                self.n_resolved += 1
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
                self.n_ack += 1
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
            if f.final is None:
                self.n_resolved += 1
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
