"""Peers for the bridged-call media tests (test_media_bridge.py): Python 3.11, stdlib only.

* ``read_pcap_rtp(path)``: the UDP payloads (RTP packets) of a pcap file, read by hand.
* ``make_sdp`` / ``parse_sdp``: the little SDP the tests offer and check (first audio m= line).
* ``RtpPeer``: a UDP media socket with a receiver thread that keeps every packet and its source.
* ``SipPeer``: a UDP SIP socket with a receiver thread; ``Callee`` (a registered phone that
  answers, rings, refuses or hangs up, one record per call) and ``Caller`` (one call, plain
  sockets) build on it.
* ``EventStream``: the switch's WebSocket ``/events`` read by a thread, waits bounded.
* ``free_udp_block(n)``: n consecutive UDP ports free right now, outside the ephemeral range.

Every wait is a bounded condition wait or socket timeout: nothing sleeps to synchronise.
"""

from __future__ import annotations

import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from centralita_test import HOST, Message, new_branch, new_call_id, new_tag, parse_message, show, tag_of
from ws_client import RawWebSocket, ConnectionClosed, OP_PING, OP_PONG, OP_TEXT, metric

WAIT = 10.0   # the longest any single wait here lasts unless told


# --------------------------------------------------------------------------- pcap

def read_pcap_rtp(path: str | Path) -> list[bytes]:
    """The UDP payloads of every IPv4/UDP frame of a pcap file (Ethernet or Linux cooked
    link types), in order: what sipp's play_pcap_audio sends."""
    data = Path(path).read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a pcap file (magic {magic:#x})")
    link = struct.unpack(endian + "I", data[20:24])[0]
    link_header = {1: 14, 113: 16}.get(link)
    if link_header is None:
        raise ValueError(f"{path}: link type {link} not handled")
    out: list[bytes] = []
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = frame[link_header:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        udp_len = struct.unpack("!H", ip[ihl + 4:ihl + 6])[0]
        out.append(bytes(ip[ihl + 8:ihl + udp_len]))
    return out


def rtp_payload_type(packet: bytes) -> int:
    return packet[1] & 0x7F if len(packet) >= 2 else -1


# --------------------------------------------------------------------------- SDP

PCMA_TE = [(8, "PCMA/8000"), (101, "telephone-event/8000")]
PCMA_ONLY = [(8, "PCMA/8000")]


def make_sdp(port: int, codecs: list[tuple[int, str]] = PCMA_TE, *, user: str = "test",
             extra_media: str = "") -> bytes:
    """An SDP offer/answer for one audio stream on 127.0.0.1:port (plus extra m= lines)."""
    lines = ["v=0", f"o={user} {random.randint(1, 1 << 30)} 1 IN IP4 {HOST}", "s=-",
             f"c=IN IP4 {HOST}", "t=0 0",
             f"m=audio {port} RTP/AVP " + " ".join(str(pt) for pt, _ in codecs)]
    for pt, name in codecs:
        lines.append(f"a=rtpmap:{pt} {name}")
        if name.lower().startswith("telephone-event"):
            lines.append(f"a=fmtp:{pt} 0-16")
    lines.append("a=sendrecv")
    text = "\r\n".join(lines) + "\r\n"
    if extra_media:
        text += extra_media
    return text.encode()


@dataclass
class SdpAudio:
    """What the tests look at in an SDP: the session c=, and the m= lines in order."""
    connection: str | None
    media: list[dict]

    @property
    def audio(self) -> dict | None:
        return next((m for m in self.media if m["type"] == "audio"), None)

    def address(self, m: dict) -> str | None:
        return m.get("connection") or self.connection


def parse_sdp(body: bytes | str | None) -> SdpAudio | None:
    if not body:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    connection = None
    media: list[dict] = []
    for line in re.split(r"\r?\n", text):
        if line.startswith("m="):
            parts = line[2:].split()
            if len(parts) < 3:
                continue
            media.append({"type": parts[0], "port": int(parts[1]), "proto": parts[2],
                          "formats": parts[3:], "rtcp": None, "rtpmap": {}, "connection": None})
        elif line.startswith("c="):
            addr = line[2:].split()[-1] if line[2:].split() else None
            if media:
                media[-1]["connection"] = addr
            else:
                connection = addr
        elif line.startswith("a=rtcp:") and media:
            m = re.match(r"a=rtcp:(\d+)", line)
            if m:
                media[-1]["rtcp"] = int(m.group(1))
        elif line.startswith("a=rtpmap:") and media:
            m = re.match(r"a=rtpmap:(\d+)\s+(\S+)", line)
            if m:
                media[-1]["rtpmap"][int(m.group(1))] = m.group(2)
    return SdpAudio(connection, media)


# --------------------------------------------------------------------------- ports

def free_udp_block(count: int, *, low: int = 20000, high: int = 32000, align: int = 2,
                   attempts: int = 200) -> int:
    """The first port of count consecutive UDP ports on 127.0.0.1 that bind right now, below
    the kernel's ephemeral range (so sockets bound to port 0 meanwhile do not take them)."""
    for _ in range(attempts):
        base = random.randrange(low, high - count) // align * align
        socks = []
        try:
            for p in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((HOST, p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no block of {count} free UDP ports")


def unbindable_ports(first: int, last: int) -> list[int]:
    """The UDP ports in first..last that cannot be bound now (someone holds them)."""
    busy = []
    socks = []
    try:
        for p in range(first, last + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            try:
                s.bind((HOST, p))
            except OSError:
                busy.append(p)
    finally:
        for s in socks:
            s.close()
    return busy


# --------------------------------------------------------------------------- RTP

MEDIA_GAUGES = ("centralita_media_port_pairs_in_use", "centralita_media_sides_open",
                "centralita_media_sessions")


class MediaRange:
    """What a media test watches on a switch whose [media] range is first..last: the
    /metrics gauges (port pairs in use, sides open, sessions), the range's ports binding
    again, and the switch's log. A subclass sets first, last and sw (a started Switch)."""

    first: int
    last: int
    sw: object

    def gauges(self) -> tuple[float | None, ...]:
        return tuple(metric(self.sw.http_port, n) for n in MEDIA_GAUGES)

    def wait_gauges(self, want: tuple[int, int, int], timeout: float = 5.0) -> tuple:
        """Polls /metrics (bounded) until pairs, sides, sessions == want; the last values."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.gauges()
            if got == tuple(float(w) for w in want) or time.monotonic() >= deadline:
                return got
            time.sleep(0.05)   # between two looks of a bounded poll

    def wait_ports_free(self, timeout: float = 5.0) -> list[int]:
        """Polls (bounded) until every port of the range binds; the ports that did not."""
        deadline = time.monotonic() + timeout
        while True:
            busy = unbindable_ports(self.first, self.last)
            if not busy or time.monotonic() >= deadline:
                return busy
            time.sleep(0.05)

    def in_range(self, port: int | None) -> bool:
        return port is not None and self.first <= port <= self.last

    def log(self, lines: int = 40) -> str:
        return self.sw.stderr_tail(lines)


def rtp_packet(seq: int, ts: int, ssrc: int, payload: bytes, pt: int = 8, marker: bool = False) -> bytes:
    """RFC 3550 §5.1: V=2, no padding, extension or CSRC."""
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF,
                       ssrc) + payload


class RtpPeer:
    """A media socket on 127.0.0.1 (even port, RTCP socket on the next) whose thread keeps
    every RTP packet received with its source address."""

    def __init__(self) -> None:
        self.sock, self.rtcp = self._bind_pair()
        self.port = self.sock.getsockname()[1]
        self.received: list[tuple[tuple[str, int], bytes]] = []
        self.cv = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _bind_pair() -> tuple[socket.socket, socket.socket]:
        for _ in range(100):
            a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind((HOST, 0))
            port = a.getsockname()[1]
            if port % 2 == 0 and port < 65535:
                b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    b.bind((HOST, port + 1))
                    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                    return a, b
                except OSError:
                    b.close()
            a.close()
        raise RuntimeError("no free even/odd UDP port pair")

    def _run(self) -> None:
        self.sock.settimeout(0.2)
        while not self.closed:
            try:
                data, addr = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.cv:
                self.received.append((addr, data))
                self.cv.notify_all()

    def send(self, data: bytes, dest: tuple[str, int]) -> None:
        self.sock.sendto(data, dest)

    def count(self) -> int:
        with self.cv:
            return len(self.received)

    def wait_count(self, n: int, timeout: float) -> int:
        with self.cv:
            self.cv.wait_for(lambda: len(self.received) >= n, timeout)
            return len(self.received)

    def wait_quiet(self, quiet: float, timeout: float) -> int:
        """Waits until nothing has arrived for `quiet` seconds (bounded by timeout): a stream
        that ended. Returns the count."""
        deadline = time.monotonic() + timeout
        with self.cv:
            last = len(self.received)
            while time.monotonic() < deadline:
                self.cv.wait(min(quiet, max(0.0, deadline - time.monotonic())))
                if len(self.received) == last:
                    break
                last = len(self.received)
            return len(self.received)

    def sources(self) -> set[tuple[str, int]]:
        with self.cv:
            return {a for a, _ in self.received}

    def packets(self) -> list[bytes]:
        with self.cv:
            return [d for _, d in self.received]

    def close(self) -> None:
        self.closed = True
        self.sock.close()
        self.rtcp.close()
        self.thread.join(1)


# --------------------------------------------------------------------------- SIP peers

def build_response(req: Message, code: int, reason: str, *, to_tag: str | None = None,
                   contact: str | None = None, body: bytes = b"",
                   content_type: str = "application/sdp", extra: list[str] | None = None) -> bytes:
    """A response to req: Via (all), From, To (+tag), Call-ID, CSeq, Record-Route copied."""
    lines = [f"SIP/2.0 {code} {reason}"]
    for n, v in req.headers:
        ln = n.lower()
        if ln in ("via", "v", "from", "f", "call-id", "i", "cseq", "record-route"):
            lines.append(f"{n}: {v}")
        elif ln in ("to", "t"):
            if to_tag and tag_of(v) is None:
                v = f"{v};tag={to_tag}"
            lines.append(f"{n}: {v}")
    if contact:
        lines.append(f"Contact: {contact}")
    lines += extra or []
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def method_of(m: Message) -> str:
    return "" if m.is_response else m.start_line.split(" ")[0]


def cseq_method(m: Message) -> str:
    return (m.get("cseq") or " ").split()[-1]


def uri_of(header_value: str | None) -> str:
    """The URI of a name-addr header value (<...>) or the bare value."""
    v = header_value or ""
    m = re.search(r"<([^>]+)>", v)
    return m.group(1) if m else v.split(";")[0].strip()


def host_port_of(uri: str) -> tuple[str, int]:
    m = re.match(r"sips?:(?:[^@]+@)?([^:;>]+)(?::(\d+))?", uri)
    if not m:
        raise ValueError(f"not a SIP URI: {uri}")
    return m.group(1), int(m.group(2) or 5060)


class SipPeer:
    """A UDP SIP socket on 127.0.0.1 with a receiver thread. Every datagram in and out is
    logged (for failure details); handle(msg, addr) is called on the thread for each."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.log: list[tuple[str, float, bytes]] = []
        self.messages: list[tuple[Message, tuple[str, int]]] = []
        self.cv = threading.Condition()
        self.t0 = time.monotonic()
        self.closed = False
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self) -> None:
        self.sock.settimeout(0.2)
        while not self.closed:
            try:
                data, addr = self.sock.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            msg = parse_message(data)
            with self.cv:
                self.log.append(("received", time.monotonic() - self.t0, data))
                if msg is not None:
                    self.messages.append((msg, addr))
                self.cv.notify_all()
            if msg is not None:
                try:
                    self.handle(msg, addr)
                except Exception as e:  # recorded, shown by the test's failure detail
                    self.error = f"{type(e).__name__}: {e}"

    def handle(self, msg: Message, addr: tuple[str, int]) -> None:
        pass

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        with self.cv:
            self.log.append(("sent", time.monotonic() - self.t0, data))
        self.sock.sendto(data, addr)

    def wait_for(self, pred: Callable[[Message], bool], timeout: float = WAIT, start: int = 0
                 ) -> Message | None:
        """The first message received (from index start on) for which pred holds."""
        def find():
            return next((m for m, _ in self.messages[start:] if pred(m)), None)
        with self.cv:
            self.cv.wait_for(lambda: find() is not None, timeout)
            return find()

    def mark(self) -> int:
        with self.cv:
            return len(self.messages)

    def dump(self, limit: int = 1200) -> str:
        with self.cv:
            log = list(self.log)
        text = "\n".join(f"[{self.name} {d} at {t:.2f}s] {show(b, limit)}" for d, t, b in log)
        if self.error:
            text += f"\n[{self.name} error] {self.error}"
        return text

    def close(self) -> None:
        self.closed = True
        self.sock.close()
        self.thread.join(1)


@dataclass
class CalleeCall:
    """One INVITE the callee got, and what became of it."""
    invite: Message
    addr: tuple[str, int]
    to_tag: str
    rtp: RtpPeer | None = None
    answered: bool = False
    acked: bool = False
    ack: Message | None = None          # the ACK of its 2xx (late offer: it holds the answer)
    bye: Message | None = None          # the BYE the switch sent
    cancel: Message | None = None
    infos: list[Message] = field(default_factory=list)
    own_bye_status: int | None = None   # the answer to a BYE the callee sent
    cseq: int = 1
    in_dialog: list[Message] = field(default_factory=list)  # re-INVITEs and UPDATEs it got

    @property
    def call_id(self) -> str:
        return self.invite.get("call-id") or ""

    @property
    def ended(self) -> bool:
        return self.bye is not None or self.cancel is not None or self.own_bye_status is not None


class Callee(SipPeer):
    """A phone that registers as `user` and handles every INVITE by `mode`:

      "answer"  180, then 200 with its own SDP (an RtpPeer per call; PCMA + telephone-event)
      "ring"    180 only, until a CANCEL (then 200 for it and 487 for the INVITE)
      "busy"    486 Busy Here

    BYE and INFO get 200. ``calls`` holds one CalleeCall per Call-ID, in arrival order."""

    def __init__(self, mode: str = "answer", codecs: list[tuple[int, str]] = PCMA_TE,
                 answer_headers: list[str] | None = None) -> None:
        super().__init__("callee")
        self.answer_headers = answer_headers or []   # "Name: value" lines of every 200 it sends
        self.mode = mode
        self.codecs = codecs
        self.calls: dict[str, CalleeCall] = {}

    @property
    def contact(self) -> str:
        return f"<sip:bob@{HOST}:{self.port}>"

    def register(self, switch_port: int, user: str = "bob", timeout: float = 5.0) -> int | None:
        """One REGISTER for user with this peer's Contact, from this socket; the status."""
        cid = new_call_id()
        req = "\r\n".join([
            f"REGISTER sip:{HOST} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch={new_branch()};rport",
            "Max-Forwards: 70", f"From: <sip:{user}@{HOST}>;tag={new_tag()}", f"To: <sip:{user}@{HOST}>",
            f"Call-ID: {cid}", "CSeq: 1 REGISTER", f"Contact: {self.contact}", "Expires: 600",
            "Content-Length: 0"]) + "\r\n\r\n"
        mark = self.mark()
        self.send(req.encode(), (HOST, switch_port))
        ans = self.wait_for(lambda m: m.is_response and m.get("call-id") == cid
                            and (m.status or 0) >= 200, timeout, mark)
        return ans.status if ans else None

    def handle(self, msg: Message, addr: tuple[str, int]) -> None:
        method = method_of(msg)
        cid = msg.get("call-id") or ""
        if method in ("INVITE", "UPDATE") and tag_of(msg.get("to")) and cid in self.calls:
            self._answer_in_dialog(self.calls[cid], msg, addr)
        elif method == "INVITE":
            with self.cv:
                call = self.calls.get(cid)
                fresh = call is None
                if fresh:
                    call = CalleeCall(msg, addr, new_tag())
                    self.calls[cid] = call
            if not fresh:     # a retransmission: the last answer again
                self._answer_invite(call, retransmit=True)
                return
            self.send(build_response(msg, 100, "Trying"), addr)
            self._answer_invite(call)
        elif method == "ACK":
            call = self.calls.get(cid)
            if call and call.answered:
                call.acked = True
                call.ack = msg
        elif method == "BYE":
            call = self.calls.get(cid)
            if call:
                call.bye = msg
            self.send(build_response(msg, 200, "OK"), addr)
        elif method == "CANCEL":
            call = self.calls.get(cid)
            self.send(build_response(msg, 200, "OK", to_tag=call.to_tag if call else None), addr)
            if call and not call.answered:
                call.cancel = msg
                self.send(build_response(call.invite, 487, "Request Terminated", to_tag=call.to_tag),
                          call.addr)
        elif method == "INFO":
            call = self.calls.get(cid)
            if call:
                call.infos.append(msg)
            self.send(build_response(msg, 200, "OK"), addr)
        elif method:
            self.send(build_response(msg, 200, "OK"), addr)
        elif msg.status and cseq_method(msg) == "BYE":
            call = self.calls.get(cid)
            if call and msg.status >= 200:
                call.own_bye_status = msg.status
        with self.cv:
            self.cv.notify_all()

    def _answer_invite(self, call: CalleeCall, retransmit: bool = False) -> None:
        inv = call.invite
        if self.mode == "busy":
            self.send(build_response(inv, 486, "Busy Here", to_tag=call.to_tag), call.addr)
            return
        if not retransmit or not call.answered:
            self.send(build_response(inv, 180, "Ringing", to_tag=call.to_tag, contact=self.contact),
                      call.addr)
        if self.mode == "ring":
            return
        if call.rtp is None:
            call.rtp = RtpPeer()
        # RFC 3264 §6.1: the answer keeps only formats of the offer.
        offer = parse_sdp(inv.body)
        offered = set(offer.audio["formats"]) if offer and offer.audio else set()
        codecs = [c for c in self.codecs if str(c[0]) in offered] or self.codecs
        body = make_sdp(call.rtp.port, codecs, user="callee")
        call.answered = True
        self.send(build_response(inv, 200, "OK", to_tag=call.to_tag, contact=self.contact, body=body,
                                 extra=self.answer_headers), call.addr)

    def _answer_in_dialog(self, call: CalleeCall, msg: Message, addr: tuple[str, int]) -> None:
        """A re-INVITE or UPDATE in the call's dialog (a session refresh, RFC 4028 §7.4, or a
        re-offer): 200, with the call's SDP when the request offered one. A retransmission
        (same CSeq) is answered again without being counted twice."""
        with self.cv:
            if not any(m.get("cseq") == msg.get("cseq") for m in call.in_dialog):
                call.in_dialog.append(msg)
        body = b""
        if msg.body and call.rtp is not None:
            body = make_sdp(call.rtp.port, self.codecs, user="callee")
        self.send(build_response(msg, 200, "OK", contact=self.contact, body=body,
                                 extra=self.answer_headers), addr)

    def wait_call(self, n: int = 1, timeout: float = WAIT) -> list[CalleeCall]:
        """Waits until n INVITEs arrived; the calls in order."""
        with self.cv:
            self.cv.wait_for(lambda: len(self.calls) >= n, timeout)
            return list(self.calls.values())

    def wait_until(self, pred: Callable[[], bool], timeout: float = WAIT) -> bool:
        with self.cv:
            return self.cv.wait_for(pred, timeout)

    def hangup(self, call: CalleeCall) -> None:
        """The callee sends BYE in its dialog (to the INVITE's Contact, via its source)."""
        inv = call.invite
        call.cseq += 1
        routes = [v for v in inv.all("record-route")]
        lines = [f"BYE {uri_of(inv.get('contact'))} SIP/2.0",
                 f"Via: SIP/2.0/UDP {HOST}:{self.port};branch={new_branch()};rport",
                 "Max-Forwards: 70",
                 f"From: {inv.get('to')};tag={call.to_tag}",
                 f"To: {inv.get('from')}",
                 f"Call-ID: {call.call_id}", f"CSeq: {call.cseq} BYE"]
        lines += [f"Route: {r}" for r in routes]
        lines.append("Content-Length: 0")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode(), call.addr)

    def close(self) -> None:
        super().close()
        for c in self.calls.values():
            if c.rtp:
                c.rtp.close()


class Caller(SipPeer):
    """One call from alice to user@switch over plain sockets, with its own RtpPeer.
    Answers the switch's BYE (and any other request) with 200 by itself."""

    def __init__(self, switch_port: int, user: str = "bob",
                 codecs: list[tuple[int, str]] = PCMA_TE, sdp: bool = True,
                 invite_headers: list[str] | None = None) -> None:
        super().__init__("caller")
        self.invite_headers = invite_headers or []   # "Name: value" lines of the INVITE only
        self.switch = (HOST, switch_port)
        self.user = user
        self.codecs = codecs
        self.rtp = RtpPeer()
        self.with_sdp = sdp
        self.call_id = new_call_id()
        self.from_tag = new_tag()
        self.to_tag: str | None = None
        self.branch = new_branch()
        self.cseq = 1
        self.invite_bytes = b""
        self.ok: Message | None = None          # the 2xx to the INVITE
        self.bye: Message | None = None         # the switch's BYE
        self.remote_target: str | None = None
        self.start()

    def handle(self, msg: Message, addr: tuple[str, int]) -> None:
        method = method_of(msg)
        if method == "BYE":
            self.bye = msg
            self.send(build_response(msg, 200, "OK"), addr)
        elif method and method != "ACK":
            self.send(build_response(msg, 200, "OK"), addr)
        elif msg.is_response and cseq_method(msg) == "INVITE" and (msg.status or 0) >= 200:
            if msg.status < 300:
                self.ok = msg
                self.to_tag = tag_of(msg.get("to"))
                self.remote_target = uri_of(msg.get("contact"))
                self._ack(msg)
            else:   # RFC 3261 §17.1.1.3: the ACK of a failure is hop-by-hop, same branch
                self.to_tag = tag_of(msg.get("to"))
                self._send_request("ACK", cseq=1, branch=self.branch, to_tag=self.to_tag,
                                   ruri=f"sip:{self.user}@{HOST}:{self.switch[1]}")

    def _headers(self, method: str, cseq: int, branch: str, to_tag: str | None) -> list[str]:
        return [f"Via: SIP/2.0/UDP {HOST}:{self.port};branch={branch};rport", "Max-Forwards: 70",
                f"From: <sip:alice@{HOST}>;tag={self.from_tag}",
                f"To: <sip:{self.user}@{HOST}>" + (f";tag={to_tag}" if to_tag else ""),
                f"Call-ID: {self.call_id}", f"CSeq: {cseq} {method}",
                f"Contact: <sip:alice@{HOST}:{self.port}>"]

    def _send_request(self, method: str, *, cseq: int, branch: str | None = None,
                      to_tag: str | None = None, ruri: str | None = None, body: bytes = b"",
                      content_type: str = "application/sdp") -> bytes:
        lines = [f"{method} {ruri or self.remote_target} SIP/2.0",
                 *self._headers(method, cseq, branch or new_branch(), to_tag)]
        if method == "INVITE" and not to_tag:
            lines += self.invite_headers
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        self.send(data, self.switch)
        return data

    def _ack(self, ok: Message) -> None:
        # Late offer (RFC 3264 §5, RFC 3261 §13.2.1): the 2xx held the offer, the ACK the answer.
        body = b""
        if not self.with_sdp:
            offer = parse_sdp(ok.body)
            offered = set(offer.audio["formats"]) if offer and offer.audio else set()
            body = make_sdp(self.rtp.port, [c for c in self.codecs if str(c[0]) in offered]
                            or self.codecs, user="caller")
        self._send_request("ACK", cseq=1, to_tag=self.to_tag, body=body)

    @property
    def offer(self) -> bytes:
        return make_sdp(self.rtp.port, self.codecs, user="caller") if self.with_sdp else b""

    def invite(self) -> None:
        self.invite_bytes = self._send_request(
            "INVITE", cseq=1, branch=self.branch, ruri=f"sip:{self.user}@{HOST}:{self.switch[1]}",
            body=self.offer)

    def wait_status(self, pred: Callable[[int], bool], method: str = "INVITE",
                    timeout: float = WAIT) -> Message | None:
        return self.wait_for(lambda m: m.is_response and cseq_method(m) == method
                             and pred(m.status or 0), timeout)

    def wait_final(self, timeout: float = WAIT) -> Message | None:
        return self.wait_status(lambda s: s >= 200, "INVITE", timeout)

    def cancel(self) -> None:
        self._send_request("CANCEL", cseq=1, branch=self.branch,
                           ruri=f"sip:{self.user}@{HOST}:{self.switch[1]}")

    def request(self, method: str, body: bytes = b"", content_type: str = "application/sdp",
                timeout: float = WAIT) -> Message | None:
        """A request inside the dialog; its final answer (None after timeout)."""
        self.cseq += 1
        cseq = self.cseq
        mark = self.mark()
        self._send_request(method, cseq=cseq, to_tag=self.to_tag, body=body, content_type=content_type)
        return self.wait_for(lambda m: m.is_response and (m.status or 0) >= 200
                             and (m.get("cseq") or "") .split()[:1] == [str(cseq)], timeout, mark)

    def hangup(self, timeout: float = WAIT) -> int | None:
        ans = self.request("BYE", timeout=timeout)
        return ans.status if ans else None

    def wait_bye(self, timeout: float = WAIT) -> Message | None:
        return self.wait_for(lambda m: method_of(m) == "BYE", timeout)

    def close(self) -> None:
        super().close()
        self.rtp.close()


# --------------------------------------------------------------------------- events

class EventStream:
    """The switch's /events WebSocket (docs/api.md), read by a thread into ``events``
    (the attributes plus "name" and "seq")."""

    def __init__(self, http_port: int, kinds: list[str]) -> None:
        query = "&".join(f"event={k}" for k in kinds)
        self.ws = RawWebSocket(http_port, f"/events?{query}")
        self.events: list[dict] = []
        self.cv = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        if self.ws.accepted:
            self.thread.start()

    @property
    def accepted(self) -> bool:
        return self.ws.accepted

    def _run(self) -> None:
        while not self.closed:
            try:
                f = self.ws.recv_frame(0.2)
            except (ConnectionClosed, OSError):
                return
            if f is not None and f.opcode == OP_PING:   # the switch closes a silent client
                self.ws.send_frame(OP_PONG, f.payload)   # after ws_ping_interval (RFC 6455 §5.5.3)
            if f is None or f.opcode != OP_TEXT:
                continue
            obj = f.json() or {}
            if obj.get("type") != "event":
                continue
            ev = dict(obj.get("attributes") or {})
            ev["name"] = obj.get("name")
            ev["seq"] = obj.get("seq")
            with self.cv:
                self.events.append(ev)
                self.cv.notify_all()

    def wait(self, pred: Callable[[dict], bool], timeout: float = WAIT) -> dict | None:
        def find():
            return next((e for e in self.events if pred(e)), None)
        with self.cv:
            self.cv.wait_for(lambda: find() is not None, timeout)
            return find()

    def of_call(self, call_id: str, name: str | None = None) -> list[dict]:
        with self.cv:
            return [e for e in self.events if e.get("call_id") == call_id
                    and (name is None or e.get("name") == name)]

    def dump(self, call_id: str | None = None) -> str:
        with self.cv:
            evs = [e for e in self.events if call_id is None or e.get("call_id") == call_id]
        return "\n".join(str(e) for e in evs[-30:])

    def close(self) -> None:
        self.closed = True
        self.thread.join(1)
        self.ws.close()
