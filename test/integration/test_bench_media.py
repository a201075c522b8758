#!/usr/bin/env python3
"""The media benchmark's pieces: the ng client (bench/peers/ng_client.py), the RTP load
tool (centralita-rtp-load, bench/rtp/) and rtpengine driven over ng (bench/peers/
rtpengine_peer.py, the driver code of bench/compare/media_bench.py).

  (a) bencode: known encodings, round trips both ways, malformed input refused
  (b) the ng client against a scripted UDP peer: replies matched by cookie (a stale
      reply is skipped), a silent first attempt retransmitted with the same cookie,
      result=error raised, no answer at all bounded by timeout x attempts
  (c) the load tool's accounting through a relay written here that forwards packets and
      deliberately drops, duplicates, reorders and injects a known set: every count in
      the report must be exactly the one the relay caused
  (d) the load tool's usage errors: exit 2 naming the flag; a wrong stdin: exit 1; a
      sender frozen for 150 ms (--stall) catches up without losing or doubling a packet
  (e) rtpengine, started on free ports: ping -> pong; 5 calls for 2 s set up with ng
      offer/answer and relayed by it: 1000 packets sent, 1000 received, loss 0, per
      direction 500; query shows the packets; delete, then query -> error; the process
      is gone at the end
  (f) rtpengine transcoding Opus <-> PCMA for 2 calls (when `rtpengine --codecs` says it
      can): the SDP offered to the callee is PCMA, the caller's is Opus, and packets flow
      both ways with no hole in the sequence numbers

Exit 77 (skip) only when rtpengine is not installed, after (a)-(d) have passed.

    test_bench_media.py --binary build/centralita --source-dir .
"""

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import HOST, Checks, SkipTest, main  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "peers"))
sys.path.insert(0, str(ROOT / "bench" / "compare"))

import media_bench as mb  # noqa: E402
import rtpengine_peer  # noqa: E402
from ng_client import BencodeError, NgClient, NgError, decode, encode  # noqa: E402

CALLS = 5
SECONDS = 2
PACKETS = SECONDS * 50          # per stream
# How long the load tool waits for stragglers after its last send. A run without loss
# ends as soon as everything has arrived; a run with planned losses always waits this
# long, so it is generous enough for a machine busy with parallel builds.
DRAIN_MS = 2500


def detail(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)[-4000:]


# --------------------------------------------------------------------------- (a) bencode

def check_bencode(checks: Checks) -> None:
    known = [
        (0, b"i0e"), (-42, b"i-42e"), (2**40, b"i1099511627776e"), ("", b"0:"),
        ("spam", b"4:spam"), (b"\x00\xff", b"2:\x00\xff"), ([], b"le"), ({}, b"de"),
        (["a", 1, ["b"]], b"l1:ai1el1:bee"),
        # BEP 3: keys sorted as raw bytes ("B" < "a" < "b"), whatever order they come in.
        ({"b": 1, "a": "x", "B": []}, b"d1:Ble1:a1:x1:bi1ee"),
        ({"command": "ping"}, b"d7:command4:pinge"),
    ]
    bad = [(v, e, encode(v)) for v, e in known if encode(v) != e]
    checks.check("(a) bencode: known encodings (ints, strings, bytes, lists, sorted dicts)",
                 not bad, repr(bad))
    values = [v if not isinstance(v, bytes) else v.decode("utf-8", "surrogateescape")
              for v, _ in known]
    values.append({"sdp": "v=0\r\nm=audio 4000 RTP/AVP 8\r\n", "flags": ["trust-address"],
                   "codec": {"transcode": ["PCMA"], "mask": ["opus"]}, "n": -1,
                   "bin": b"\x80\xc8\xff".decode("utf-8", "surrogateescape")})
    wrong = [v for v in values if decode(encode(v)) != v]
    checks.check("(a) bencode: decode(encode(v)) == v", not wrong, repr(wrong))
    # rtpengine writes dictionary keys unsorted: decoding accepts that, and the bytes
    # of a canonical message survive decode + encode exactly.
    canonical = [e for _, e in known]
    non_canonical = [b for b in canonical if encode(decode(b)) != b]
    unsorted = b"d3:sdp4:v=0\n6:result2:oke"   # "sdp" before "result", as rtpengine sends it
    checks.check("(a) bencode: encode(decode(b)) == b for canonical input; rtpengine's "
                 "unsorted keys decode (and re-encode sorted)",
                 not non_canonical and decode(unsorted) == {"result": "ok", "sdp": "v=0\n"}
                 and encode(decode(unsorted)) == b"d6:result2:ok3:sdp4:v=0\ne",
                 repr(non_canonical))
    malformed = [b"", b"i01e", b"i-0e", b"ie", b"i12", b"3:ab", b"03:abc", b"l", b"d1:a",
                 b"d1:ai1e1:ai2ee", b"di1ei2ee", b"i1ei2e", b"x", b"l" * 100 + b"e" * 100]
    accepted = []
    for m in malformed:
        try:
            decode(m)
            accepted.append(m)
        except BencodeError:
            pass
    checks.check("(a) bencode: malformed input raises BencodeError (leading zeros, -0, "
                 "truncated, repeated key, non-string key, trailing bytes, deep nesting)",
                 not accepted, repr(accepted))


# --------------------------------------------------------------------------- (b) ng client

class ScriptedNgPeer:
    """Answers ng requests by a script: for each request, a list of what to send back
    ('stale': a reply with another cookie, 'ok'/'error': the real reply, 'drop': nothing
    for this datagram)."""

    def __init__(self, script: list[list[str]]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.script = script
        self.received: list[bytes] = []
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self) -> None:
        while not self.stop:
            try:
                data, peer = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            self.received.append(data)
            cookie = data.split(b" ", 1)[0]
            actions = self.script.pop(0) if self.script else ["drop"]
            for a in actions:
                if a == "stale":
                    self.sock.sendto(b"old_1 " + encode({"result": "ok", "stale": 1}), peer)
                elif a == "ok":
                    self.sock.sendto(cookie + b" " + encode({"result": "pong"}), peer)
                elif a == "error":
                    self.sock.sendto(cookie + b" " + encode({"result": "error",
                                                             "error-reason": "Unknown call-id"}), peer)

    def close(self) -> None:
        self.stop = True
        self.thread.join(5)
        self.sock.close()


def check_ng_client(checks: Checks) -> None:
    peer = ScriptedNgPeer([["stale", "ok"], ["drop"], ["ok"], ["error"]])
    try:
        with NgClient(HOST, peer.port, timeout=0.3, attempts=3) as c:
            r1 = c.ping()
            checks.check("(b) ng: a stale reply (other cookie) is skipped, the matching one "
                         "returned", r1 == {"result": "pong"}, repr(r1))
            r2 = c.ping()
            cookies = [d.split(b" ", 1)[0] for d in peer.received[1:3]]
            checks.check("(b) ng: no reply -> retransmitted with the same cookie, then answered",
                         r2 == {"result": "pong"} and len(cookies) == 2 and cookies[0] == cookies[1]
                         and c.retransmissions == 1, f"{r2!r} {cookies!r}")
            body = decode(peer.received[0].split(b" ", 1)[1])
            checks.check("(b) ng: the request is a bencoded dict with command", body == {"command": "ping"},
                         repr(body))
            try:
                c.query("nope")
                err = None
            except NgError as e:
                err = e
            checks.check("(b) ng: result=error raises NgError with the error-reason",
                         err is not None and "Unknown call-id" in str(err) and err.reply is not None,
                         repr(err))
            t0 = time.monotonic()
            try:
                c.ping()
                timed_out = False
            except NgError as e:
                timed_out = e.timed_out and "no reply" in str(e)
            took = time.monotonic() - t0
            checks.check(f"(b) ng: silence -> NgError after 3 attempts x 0.3 s ({took:.2f} s)",
                         timed_out and 0.85 <= took <= 3.0)
    finally:
        peer.close()


# --------------------------------------------------------------------------- (c) accounting

RTCP_SR = bytes([0x80, 200, 0, 6]) + bytes(24)   # RFC 3550 §6.4.1: a sender report


class DroppingRelay:
    """A UDP relay for the load tool's calls: per call, socket A faces the caller and B
    the callee; what arrives at A goes out of B to the callee, and the reverse. The n-th
    packet (0-based, per call and direction) is dropped, doubled, held back or
    accompanied by junk according to PLAN, so the exact counts of the report are known."""

    # (call, direction, n) -> action; direction "ce" = caller -> callee, "ec" = reverse.
    PLAN = {**{(k, "ce", 10): "drop" for k in range(CALLS)},
            **{(k, "ce", 20): "drop" for k in range(CALLS)},
            (0, "ec", 0): "drop",          # the stream's very first packet: an edge loss
            (1, "ec", 30): "double",
            (2, "ce", 40): "hold",         # sent after packet 41: reordered
            (3, "ce", 5): "junk"}          # plus one non-RTP datagram and one RTCP packet
    LOST_CE = 2 * CALLS
    LOST_EC = 1

    def __init__(self, sockets: list[dict]) -> None:
        self.calls = []
        for c in sockets:
            a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind((HOST, 0))
            b.bind((HOST, 0))
            caller = (HOST, int(c["caller"].rpartition(":")[2]))
            callee = (HOST, int(c["callee"].rpartition(":")[2]))
            self.calls.append((a, b, caller, callee))
        self.by_fd = {}
        for k, (a, b, caller, callee) in enumerate(self.calls):
            self.by_fd[a.fileno()] = (k, "ce", a, b, callee)
            self.by_fd[b.fileno()] = (k, "ec", b, a, caller)
        self.counts: dict[tuple[int, str], int] = {}
        self.held: dict[tuple[int, str], bytes] = {}
        self.forwarded = 0
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def targets(self) -> list[dict]:
        return [{"caller_to": f"{HOST}:{a.getsockname()[1]}",
                 "callee_to": f"{HOST}:{b.getsockname()[1]}"} for a, b, _, _ in self.calls]

    def loop(self) -> None:
        socks = [s for a, b, _, _ in self.calls for s in (a, b)]
        while not self.stop:
            ready, _, _ = select.select(socks, [], [], 0.1)
            for s in ready:
                data = s.recv(2048)
                k, direction, _, out, to = self.by_fd[s.fileno()]
                n = self.counts.get((k, direction), 0)
                self.counts[(k, direction)] = n + 1
                action = self.PLAN.get((k, direction, n))
                if action == "drop":
                    continue
                if action == "hold":
                    self.held[(k, direction)] = data
                    continue
                out.sendto(data, to)
                self.forwarded += 1
                if action == "double":
                    out.sendto(data, to)
                if action == "junk":
                    out.sendto(b"not rtp at all", to)
                    out.sendto(RTCP_SR, to)
                if (k, direction) in self.held and n == 41:
                    out.sendto(self.held.pop((k, direction)), to)

    def __enter__(self) -> "DroppingRelay":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop = True
        self.thread.join(5)
        for a, b, _, _ in self.calls:
            a.close()
            b.close()


def check_accounting(checks: Checks, tool_bin: str) -> None:
    tool = mb.LoadTool(tool_bin, CALLS, SECONDS, "pcma", "pcma", drain_ms=DRAIN_MS)
    try:
        sockets = tool.line(10)["calls"]
        with DroppingRelay(sockets) as relay:
            tool.send({"calls": relay.targets()})
            tool.line(10)
            rep = tool.line(SECONDS + 15)
        rc = tool.proc.wait(10)
    finally:
        tool.close()
    sent = CALLS * 2 * PACKETS
    lost = DroppingRelay.LOST_CE + DroppingRelay.LOST_EC
    want = {"sent": sent, "lost": lost, "lost_in_gaps": lost - 1, "duplicates": 1, "late": 1,
            "received": sent - lost + 1, "unique": sent - lost, "foreign": 1, "rtcp": 1,
            "out_of_range": 0, "send_errors": 0, "streams_silent": 0}
    got = {k: rep.get(k) for k in want}
    checks.check(f"(c) through a relay that drops {lost}, doubles 1, reorders 1 and injects 2: "
                 f"the report says exactly that", got == want and rc == 0,
                 f"want {want}\ngot  {got}\n{detail(rep)}")
    ce, ec = rep.get("caller_to_callee", {}), rep.get("callee_to_caller", {})
    checks.check("(c) per direction: caller->callee lost 10 of 500 (all in gaps), late 1; "
                 "callee->caller lost 1 (an edge, not a gap), 1 duplicate",
                 ce.get("sent") == sent // 2 and ce.get("lost") == DroppingRelay.LOST_CE
                 and ce.get("lost_in_gaps") == DroppingRelay.LOST_CE and ce.get("late") == 1
                 and ec.get("sent") == sent // 2 and ec.get("lost") == DroppingRelay.LOST_EC
                 and ec.get("lost_in_gaps") == 0 and ec.get("duplicates") == 1, detail(rep))
    d = rep.get("delay_ms", {})
    checks.check(f"(c) one-way delay measured for every new packet ({d.get('packets')} of "
                 f"{sent - lost}), p50 <= p99 <= max ({d})",
                 d.get("packets") == sent - lost
                 and 0 < d.get("p50", 0) <= d.get("p99", 0) and d.get("max", 0) > 0, detail(rep))
    loss = rep.get("loss_pct")
    checks.check(f"(c) loss_pct = {lost}/{sent} ({loss})",
                 isinstance(loss, float) and abs(loss - 100 * lost / sent) < 1e-9)
    checks.check(f"(c) the tool reports its own CPU per packet > 0 ({rep.get('cpu_us_per_packet')}) "
                 f"and a jitter figure ({rep.get('max_jitter_ms')} ms)",
                 (rep.get("cpu_us_per_packet") or 0) > 0 and rep.get("max_jitter_ms") is not None)


# --------------------------------------------------------------------------- (d) usage

def check_usage(checks: Checks, tool_bin: str) -> None:
    r = subprocess.run([tool_bin, "--seconds", "2"], capture_output=True, text=True, timeout=10)
    checks.check("(d) no --calls: exit 2 naming --calls", r.returncode == 2 and "--calls" in r.stderr,
                 r.stderr)
    r = subprocess.run([tool_bin, "--calls", "1", "--codec", "g729"], capture_output=True, text=True,
                       timeout=10)
    checks.check("(d) --codec g729: exit 2 naming --codec", r.returncode == 2 and "--codec" in r.stderr,
                 r.stderr)
    r = subprocess.run([tool_bin, "--calls", "2", "--seconds", "1"], input='{"calls":[]}\n',
                       capture_output=True, text=True, timeout=10)
    checks.check("(d) stdin with 0 of 2 calls: exit 1 saying so",
                 r.returncode == 1 and "0 calls given, 2 expected" in r.stderr, r.stderr)
    r = subprocess.run([tool_bin, "--help"], capture_output=True, text=True, timeout=10)
    checks.check("(d) --help: exit 0, documents stdin and stdout",
                 r.returncode == 0 and "caller_to" in r.stdout and "--seconds" in r.stdout)


def check_catch_up(checks: Checks, tool_bin: str) -> None:
    """Sockets wired to each other directly; the sender freezes 150 ms halfway through and
    then sends the missed packets at once (7 per stream): each must go out once, with
    its own header, none lost or doubled."""
    calls = 50
    tool = mb.LoadTool(tool_bin, calls, SECONDS, "pcma", "pcma", drain_ms=DRAIN_MS,
                       extra=["--stall", "150"])
    try:
        sockets = tool.line(10)["calls"]
        tool.send({"calls": [{"caller_to": c["callee"], "callee_to": c["caller"]} for c in sockets]})
        tool.line(10)
        rep = tool.line(SECONDS + 15)
    finally:
        tool.close()
    sent = calls * 2 * PACKETS
    checks.check(f"(d) a sender frozen for 150 ms catches up: {sent} sent, all received once "
                 f"(lost {rep.get('lost')}, duplicates {rep.get('duplicates')}), the lag is "
                 f"reported ({rep.get('send_lag_max_ms')} ms)",
                 rep.get("sent") == sent and rep.get("unique") == sent and rep.get("lost") == 0
                 and rep.get("duplicates") == 0 and (rep.get("send_lag_max_ms") or 0) >= 150
                 and (rep.get("sends_late") or 0) > 0, detail(rep))


# --------------------------------------------------------------------------- (e) rtpengine

def check_rtpengine(checks: Checks, tool_bin: str) -> None:
    relay = mb.RtpEngineRelay(threads=2, max_calls=CALLS)
    relay.start()
    pid = relay.pid
    try:
        ng = NgClient(relay.ng_host, relay.ng_port)
        checks.check("(e) rtpengine answers ping with pong", ng.ping().get("result") == "pong")
        tool = mb.LoadTool(tool_bin, CALLS, SECONDS, "pcma", "pcma", drain_ms=DRAIN_MS)
        created: list[tuple[str, str]] = []
        try:
            sockets = tool.line(10)["calls"]
            targets, _ = mb.set_up_calls(ng, relay, sockets, False, f"t{os.getpid()}", created)
            ports = {t["caller_to"] for t in targets} | {t["callee_to"] for t in targets}
            in_range = all(relay.engine.port_min <= int(p.rpartition(":")[2]) <= relay.engine.port_max
                           for p in ports)
            checks.check(f"(e) {CALLS} offers/answers: 2 distinct relay ports per call, in "
                         f"rtpengine's range", len(ports) == 2 * CALLS and in_range, detail(targets))
            tool.send({"calls": targets})
            tool.line(10)
            rep = tool.line(SECONDS + 20)
            q = ng.query(created[0][0])
            rtp_packets = q.get("totals", {}).get("RTP", {}).get("packets")
        finally:
            tool.close()
        sent = CALLS * 2 * PACKETS
        checks.check(f"(e) relayed by rtpengine: sent {rep.get('sent')} = {sent}, received "
                     f"{rep.get('received')} = {sent}, lost 0, no duplicates, no stream silent",
                     rep.get("sent") == sent and rep.get("received") == sent and rep.get("lost") == 0
                     and rep.get("duplicates") == 0 and rep.get("streams_silent") == 0
                     and rep.get("foreign") == 0, detail(rep))
        ce, ec = rep.get("caller_to_callee", {}), rep.get("callee_to_caller", {})
        checks.check("(e) per direction: 500 sent and 500 received each way",
                     ce.get("sent") == ce.get("received") == sent // 2
                     and ec.get("sent") == ec.get("received") == sent // 2, detail(rep))
        checks.check(f"(e) rtpengine keeps SSRC and sequence numbers when relaying "
                     f"(streams rewritten: {rep.get('streams_ssrc_rewritten')})",
                     rep.get("streams_ssrc_rewritten") == 0)
        # rtpengine counts each packet where it arrives: 2 x PACKETS for the call.
        checks.check(f"(e) ng query: rtpengine counted the call's RTP packets ({rtp_packets}, "
                     f"want {2 * PACKETS})", rtp_packets == 2 * PACKETS, detail(q))
        errors = mb.delete_calls(ng, created)
        gone = ng.request("query", check=False, call_id=created[0][0])
        checks.check("(e) ng delete of every call succeeds; a deleted call's query is an error",
                     errors == 0 and gone.get("result") == "error", detail(gone))
        ng.close()
    finally:
        relay.stop()
    checks.check("(e) rtpengine is stopped (its pid is gone)", mb.cpu_ticks(pid) is None)


def check_transcoding(checks: Checks, tool_bin: str) -> None:
    ok, why = rtpengine_peer.can_transcode("opus", "PCMA")
    if not ok:
        print(f"NOTE: (f) skipped: rtpengine cannot transcode Opus<->PCMA here: {why}", flush=True)
        return
    calls = 2
    relay = mb.RtpEngineRelay(threads=2, max_calls=calls)
    relay.start()
    try:
        ng = NgClient(relay.ng_host, relay.ng_port)
        tool = mb.LoadTool(tool_bin, calls, SECONDS, "opus", "pcma", drain_ms=DRAIN_MS)
        created: list[tuple[str, str]] = []
        try:
            sockets = tool.line(10)["calls"]
            try:
                targets, _ = mb.set_up_calls(ng, relay, sockets, True, f"x{os.getpid()}", created)
                setup_error = ""
            except mb.SetupError as e:
                setup_error = str(e)
            checks.check("(f) transcoding offer/answer: the callee is offered PCMA, the caller "
                         "answered Opus", not setup_error, setup_error)
            if setup_error:
                return
            tool.send({"calls": targets})
            tool.line(10)
            rep = tool.line(SECONDS + 20)
        finally:
            tool.close()
            mb.delete_calls(ng, created)
            ng.close()
        sent = calls * 2 * PACKETS
        streams = 2 * calls
        # A transcoder may hold back or swallow a frame at a stream's start or end (codec
        # delay): at most one per stream, and never a hole in the middle.
        checks.check(f"(f) transcoded both ways: received {rep.get('received')} of {sent} "
                     f"(at most one missing per stream, none in gaps), new SSRCs",
                     sent - streams <= (rep.get("received") or 0) <= sent
                     and rep.get("lost_in_gaps") == 0 and rep.get("streams_silent") == 0
                     and rep.get("streams_ssrc_rewritten") == streams, detail(rep))
    finally:
        relay.stop()


def run(checks: Checks, args) -> None:
    tool_bin = str(Path(args.binary).resolve().parent / "centralita-rtp-load")
    check_bencode(checks)
    check_ng_client(checks)
    if not checks.check(f"{tool_bin} exists (the centralita-rtp-load target is built)",
                        os.access(tool_bin, os.X_OK)):
        return
    check_usage(checks, tool_bin)
    check_catch_up(checks, tool_bin)
    check_accounting(checks, tool_bin)
    if rtpengine_peer.rtpengine_binary() is None:
        if checks.failed:
            return
        raise SkipTest("rtpengine is not installed (Debian package rtpengine-daemon, "
                       ".ci/install-deps); checks (a)-(d) passed")
    check_rtpengine(checks, tool_bin)
    check_transcoding(checks, tool_bin)


if __name__ == "__main__":
    main(run)
