#!/usr/bin/env python3
"""The ng control protocol (RTPEngine's, `[media] ng_listen`) against the real switch, driven
by bench/peers/ng_client.py as Kamailio's rtpengine module would drive RTPEngine. The switch
gets a `--config` TOML with a small media port range picked from free ports at run time (so
the gauges and port checks are exact) and ng_listen on a free port.

  (1) ping -> {result: pong}.
  (2) offer (the caller's SDP: a Python UDP socket) -> the SDP for the callee, anchored on
      the switch (c=127.0.0.1, an m= port in the range, not the caller's); answer (the
      callee's SDP: another socket) -> the SDP for the caller (another port in the range);
      /metrics shows 2 port pairs, 2 sides, 1 session; query shows the call and its tags;
      RTP both ways: every packet arrives, byte-identical, from the relay's side facing the
      receiver.
  (3) delete -> ok; pairs, sides, sessions back to 0 and every port of the range bindable;
      a query of the deleted call is an error ("unknown call-id").
  (4) retransmissions (same cookie): an offer sent twice gets byte-identical replies and
      allocates one session (2 pairs, not 4); a delete sent twice gets "ok" twice.
  (5) errors: an unknown command, a missing key, an answer for an unknown call, a bad SDP
      (no call left behind), an undecodable body -> {result: error, error-reason} under the
      request's cookie; datagrams without a cookie and random bytes get no reply; the
      switch still answers ping afterwards and exits 0 on SIGTERM.

    test_media_ng.py --binary build/centralita --source-dir .
"""

from __future__ import annotations

import random
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "lib"))
sys.path.insert(0, str(HERE.parent.parent / "bench" / "peers"))

from centralita_test import HOST, Checks, Switch, check_clean_exit, main  # noqa: E402
from media_peers import MediaRange, free_udp_block, rtp_packet  # noqa: E402
from ng_client import NgClient, decode, encode, media_address  # noqa: E402

PACKETS = 20
WAIT = 3.0   # seconds: any single reply or packet over loopback


def sdp_for(port: int, session: int) -> str:
    """A one-stream PCMA SDP (RFC 8866) on 127.0.0.1:port."""
    return ("v=0\r\n"
            f"o=- {session} 1 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "c=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\n"
            f"m=audio {port} RTP/AVP 8\r\n"
            "a=rtpmap:8 PCMA/8000\r\n")


def udp_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.settimeout(WAIT)
    return s


def raw_exchange(sock: socket.socket, to: tuple[str, int], datagram: bytes,
                 timeout: float = WAIT) -> bytes | None:
    """Sends one datagram and returns the next one received (None after timeout)."""
    sock.sendto(datagram, to)
    sock.settimeout(timeout)
    try:
        return sock.recv(65536)
    except socket.timeout:
        return None


def reply_of(data: bytes | None, cookie: bytes) -> dict | None:
    """The decoded reply dictionary of a datagram when it carries `cookie`."""
    if data is None:
        return None
    got, sep, body = data.partition(b" ")
    if not sep or got != cookie:
        return None
    try:
        v = decode(body)
    except ValueError:
        return None
    return v if isinstance(v, dict) else None


class NgSwitch(MediaRange):
    """The switch with a [media] range of `pairs` port pairs and ng_listen on a free port."""

    def __init__(self, args, pairs: int = 8) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="centralita-ng-"))
        self.first = free_udp_block(2 * pairs)
        self.last = self.first + 2 * pairs - 1
        self.ng_port = free_udp_block(1, align=1, low=32000, high=33000)
        cfg = self.tmp / "media.toml"
        cfg.write_text(f"[media]\nport_min = {self.first}\nport_max = {self.last}\n"
                       f"ng_listen = \"{HOST}:{self.ng_port}\"\n")
        self.sw = Switch(args.binary, ["--config", str(cfg)], log_level="info").start()


def count_rtp(sender: socket.socket, to: tuple[str, int], receiver: socket.socket,
              base: int) -> tuple[int, set, bool]:
    """Sends PACKETS RTP packets; how many arrived, from where, and all byte-identical."""
    sent = [rtp_packet(base + i, 160 * i, 0x1000 + base, bytes([0xD5]) * 160) for i in range(PACKETS)]
    got, sources, identical = 0, set(), True
    for p in sent:
        sender.sendto(p, to)
        try:
            data, src = receiver.recvfrom(2048)
        except socket.timeout:
            continue
        got += 1
        sources.add(src)
        identical &= data == p
    return got, sources, identical


def run(checks: Checks, args) -> None:
    ns = NgSwitch(args)
    try:
        checks.check("the log says 'ng control on'", ns.sw.wait_for_log(r"ng control on", 5.0),
                     ns.log())
        ng = NgClient(HOST, ns.ng_port, timeout=WAIT, attempts=1)

        # (1) ping
        pong = ng.request("ping", check=False)
        checks.check(f"ping -> pong (got {pong})", pong.get("result") == "pong")

        # (2) offer / answer / RTP
        caller, callee = udp_socket(), udp_socket()
        caller_port, callee_port = caller.getsockname()[1], callee.getsockname()[1]
        call_id, from_tag, to_tag = "ng-call-1@test", "tag-a", "tag-b"
        offer = ng.request("offer", check=False, call_id=call_id, from_tag=from_tag,
                           sdp=sdp_for(caller_port, 1), flags=["trust-address"],
                           replace=["origin", "session-connection"], ICE="remove")
        ok = checks.check(f"offer -> ok (got {offer.get('result')}: {offer.get('error-reason')})",
                          offer.get("result") == "ok" and "sdp" in offer, ns.log())
        if not ok:
            return
        to_callee = media_address(offer["sdp"])
        checks.check(f"the callee is offered 127.0.0.1 and a port in {ns.first}-{ns.last} "
                     f"(got {to_callee})", to_callee[0] == HOST and ns.in_range(to_callee[1])
                     and to_callee[1] != caller_port, offer["sdp"])
        answer = ng.request("answer", check=False, call_id=call_id, from_tag=from_tag,
                            to_tag=to_tag, sdp=sdp_for(callee_port, 2))
        ok = checks.check(f"answer -> ok (got {answer.get('result')}: "
                          f"{answer.get('error-reason')})",
                          answer.get("result") == "ok" and "sdp" in answer, ns.log())
        if not ok:
            return
        to_caller = media_address(answer["sdp"])
        checks.check(f"the caller is answered 127.0.0.1 and another port in the range "
                     f"(got {to_caller})", to_caller[0] == HOST and ns.in_range(to_caller[1])
                     and to_caller[1] != to_callee[1], answer["sdp"])
        got = ns.wait_gauges((2, 2, 1))
        checks.check(f"during the call: 2 pairs, 2 sides, 1 session (got {got})",
                     got == (2.0, 2.0, 1.0))
        q = ng.request("query", check=False, call_id=call_id)
        tags = q.get("tags", {})
        checks.check(f"query -> ok with created and both tags (got {q})",
                     q.get("result") == "ok" and isinstance(q.get("created"), int)
                     and abs(q["created"] - time.time()) < 60
                     and tags.get(from_tag, {}).get("in dialogue with") == to_tag)

        n, sources, same = count_rtp(caller, to_caller, callee, 0)
        checks.check(f"caller -> callee: {n}/{PACKETS} RTP packets arrive, byte-identical, from "
                     f"the callee-facing port {to_callee[1]} (sources {sources})",
                     n == PACKETS and same and sources == {(HOST, to_callee[1])})
        n, sources, same = count_rtp(callee, to_callee, caller, 1000)
        checks.check(f"callee -> caller: {n}/{PACKETS} RTP packets arrive, byte-identical, from "
                     f"the caller-facing port {to_caller[1]} (sources {sources})",
                     n == PACKETS and same and sources == {(HOST, to_caller[1])})

        # (3) delete
        d = ng.request("delete", check=False, call_id=call_id, from_tag=from_tag)
        checks.check(f"delete -> ok (got {d})", d.get("result") == "ok")
        got = ns.wait_gauges((0, 0, 0))
        checks.check(f"after delete: pairs in use, sides, sessions back to 0 (got {got})",
                     got == (0.0, 0.0, 0.0), ns.log())
        busy = ns.wait_ports_free()
        checks.check(f"after delete: every port of {ns.first}-{ns.last} binds again",
                     not busy, f"still bound: {busy}")
        gone = ng.request("query", check=False, call_id=call_id)
        checks.check(f"query of the deleted call -> error 'unknown call-id' (got {gone})",
                     gone.get("result") == "error"
                     and gone.get("error-reason") == "unknown call-id")

        # (4) retransmissions
        raw = udp_socket()
        to = (HOST, ns.ng_port)
        body = encode({"command": "offer", "call-id": "ng-call-2@test", "from-tag": "f2",
                       "sdp": sdp_for(caller_port, 3)})
        first = raw_exchange(raw, to, b"rtx_1 " + body)
        second = raw_exchange(raw, to, b"rtx_1 " + body)
        r1 = reply_of(first, b"rtx_1")
        checks.check("a retransmitted offer (same cookie) gets a byte-identical reply",
                     r1 is not None and r1.get("result") == "ok" and first == second,
                     f"first {first!r:.300}\nsecond {second!r:.300}")
        got = ns.wait_gauges((2, 2, 1), timeout=1.0)
        checks.check(f"... and one session, not two (got {got})", got == (2.0, 2.0, 1.0))
        del_body = encode({"command": "delete", "call-id": "ng-call-2@test"})
        d1 = reply_of(raw_exchange(raw, to, b"rtx_2 " + del_body), b"rtx_2")
        d2 = reply_of(raw_exchange(raw, to, b"rtx_2 " + del_body), b"rtx_2")
        checks.check(f"a retransmitted delete gets 'ok' twice (got {d1}, {d2})",
                     d1 == {"result": "ok"} and d2 == {"result": "ok"})
        got = ns.wait_gauges((0, 0, 0))
        checks.check(f"after that delete: back to 0 (got {got})", got == (0.0, 0.0, 0.0))

        # (5) errors and garbage
        def error_of(**kw) -> str | None:
            r = ng.request(check=False, **kw)
            return r.get("error-reason") if r.get("result") == "error" else None

        why = error_of(command="teleport")
        checks.check(f"unknown command -> error (got {why!r})", why == "unknown command 'teleport'")
        why = error_of(command="offer", call_id="x", from_tag="f")
        checks.check(f"offer without sdp -> error (got {why!r})", why == "missing key 'sdp'")
        why = error_of(command="answer", call_id="nope", from_tag="f", to_tag="t", sdp="v=0")
        checks.check(f"answer for an unknown call -> error (got {why!r})", why == "unknown call-id")
        why = error_of(command="offer", call_id="bad-sdp", from_tag="f", sdp="this is not SDP")
        checks.check(f"offer with a bad SDP -> error (got {why!r})", bool(why))
        listed = ng.request("list", check=False)
        checks.check(f"... and no call is left behind (list: {listed})",
                     listed.get("result") == "ok" and listed.get("calls") == [])
        g = reply_of(raw_exchange(raw, to, b"g_1 d7:command"), b"g_1")
        checks.check(f"an undecodable body -> error under its cookie (got {g})",
                     g is not None and g.get("result") == "error"
                     and "at byte" in g.get("error-reason", ""))
        g = reply_of(raw_exchange(raw, to, b"g_2 i42e"), b"g_2")
        checks.check(f"a body that is not a dictionary -> error (got {g})",
                     g is not None and g.get("result") == "error")
        rnd = random.Random(20261122)
        for i in range(200):
            junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 400)))
            raw.sendto(junk.replace(b" ", b"_"), to)   # no space: no cookie, no reply
        raw.settimeout(0.5)
        try:
            stray = raw.recv(65536)
        except socket.timeout:
            stray = None
        checks.check("datagrams without a cookie get no reply", stray is None, repr(stray))
        pong = ng.request("ping", check=False)
        checks.check("after the garbage the listener still answers ping",
                     pong.get("result") == "pong")
        for s in (caller, callee, raw):
            s.close()
        ng.close()
    finally:
        check_clean_exit(checks, ns.sw)
        shutil.rmtree(ns.tmp, ignore_errors=True)


if __name__ == "__main__":
    main(run)
