#!/usr/bin/env python3
"""Bridged calls (B2BUA, sip.bridge with media = "relay") against the real switch, with
scripts/examples/dtmf-hangup.lua as shipped (every call to a registered user is bridged
and its media relayed; a key other than 2 hangs the call up). Each switch gets a
`--config` TOML in a temp dir with a small media port range picked from free ports at run
time, so port counts are exact. The callee is a Python phone (lib/media_peers.py) that
registers as bob and answers with its own SDP and UDP media socket.

  (1) relay: a sipp caller (scenarios/media_uac_pcap.xml) plays g711a.pcap: the INVITE
      the callee got and the 200 the caller got are anchored on the switch (c=127.0.0.1,
      m= ports in the range, different per side and not the parties', a=rtcp = port+1);
      the callee receives every RTP packet of the pcap, byte-identical, all from side B's
      port; while the call is up the gauges show 2 port pairs, 2 sides, 1 session.
      Then a Python caller: RTP both ways, each direction arrives complete from the
      relay's side facing the receiver.
  (2) RFC 4733 (the issue's point 5): sipp plays g711a.pcap then dtmf_2833_1.pcap: the
      switch BYEs both parties, the log shows `DTMF 1 (rfc4733): hanging up`, CALL_END's
      reason is "DTMF 1". With dtmf_2833_2.pcap: `DTMF 2 (rfc4733): the call goes on` and
      the call lasts until the caller's own BYE. (Both calls run at the same time.)
  (3) in-band: make_dtmf_pcap writes G.711 A-law with a key's tones; a sipp caller that
      offers PCMA only plays it: digit 1 -> DTMF source "inband" and the hangup; digit 2
      -> no hangup; centralita_media_dtmf_total{source="inband"} grows.
  (4) every ending frees its ports (gauges back to 0, every port of the range bindable by
      the test): caller BYE, callee BYE, CANCEL while ringing, 486, a script hangup (INFO
      digit 5), 3 calls up at once (exactly 2 pairs and 2 sides per call), a burst of 20
      sipp calls, and RTP inactivity (a switch with inactivity_timeout = 2: MEDIA_TIMEOUT
      on /events and BYE to both).
  (5) events on /events: CALL_START, CALL_ANSWER, CALL_END of a bridged call carry
      mode=bridge, leg_a = the caller's Call-ID, leg_b = the Call-ID of the INVITE the
      callee got; DTMF events carry leg "a" and their source.

    test_media_bridge.py --binary build/centralita --source-dir .

The in-band case needs make_dtmf_pcap (test/integration/tools/): ctest passes its path in
CENTRALITA_DTMF_PCAP_TOOL; by hand it is looked for next to the binary's build tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (HOST, Checks, Message, Switch, check_clean_exit, main,  # noqa: E402
                             parse_message, tag_of)
from media_peers import (Callee, CalleeCall, Caller, EventStream, MediaRange,  # noqa: E402
                         free_udp_block, parse_sdp, read_pcap_rtp, rtp_packet)
from sip_core import SCENARIOS, split_trace  # noqa: E402
import sipp as sipp_lib  # noqa: E402
from ws_client import metric  # noqa: E402

PCAPS = Path("/usr/share/sip-tester")
G711A = PCAPS / "g711a.pcap"
G711A_PLAY_MS = 7600      # g711a.pcap: 236 packets 30 ms apart (7.08 s), and a margin
EVENTS = ["CALL_START", "CALL_ANSWER", "CALL_END", "DTMF", "MEDIA_TIMEOUT"]


# --------------------------------------------------------------------------- the switch

class MediaSwitch(MediaRange):
    """The switch with dtmf-hangup.lua, a [media] config of `pairs` port pairs from free
    ports, its log at info, and an /events stream."""

    def __init__(self, args, pairs: int, inactivity_s: int = 60, extra_media: str = "") -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="centralita-media-"))
        # The switch's media range and the peers' ports (sipp's -p/-mp) come from disjoint
        # bands, so a peer never holds a port of the range the checks expect free.
        self.first = free_udp_block(2 * pairs, low=20000, high=26000)
        self.last = self.first + 2 * pairs - 1
        self.pairs = pairs
        cfg = self.tmp / "media.toml"
        cfg.write_text(f"[media]\nport_min = {self.first}\nport_max = {self.last}\n"
                       f"inactivity_timeout = {inactivity_s}\n{extra_media}")
        script = Path(args.source_dir) / "scripts" / "examples" / "dtmf-hangup.lua"
        self.sw = Switch(args.binary, ["--script", str(script), "--config", str(cfg)],
                         log_level="info").start()
        self.port = self.sw.port
        self.events = EventStream(self.sw.http_port, EVENTS)

    def metric(self, name: str, labels: str = "") -> float | None:
        return metric(self.sw.http_port, name, labels)

    def stop(self, checks: Checks | None) -> None:
        self.events.close()
        if checks is not None:
            check_clean_exit(checks, self.sw)
        else:
            self.sw.stop(check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


def check_freed(checks: Checks, label: str, ms: MediaSwitch) -> None:
    """Every ending's port check: gauges back to 0 and the whole range bindable again."""
    got = ms.wait_gauges((0, 0, 0))
    checks.check(f"{label}: pairs in use, sides open, sessions back to 0 (got {got})",
                 got == (0.0, 0.0, 0.0), ms.log())
    busy = ms.wait_ports_free()
    holders = ""
    if busy:
        try:
            out = subprocess.run(["ss", "-uanp"], capture_output=True, text=True, timeout=5).stdout
            holders = "\n".join(l for l in out.splitlines() if any(f":{p} " in l for p in busy))
        except (OSError, subprocess.SubprocessError) as e:
            holders = repr(e)
    checks.check(f"{label}: all {ms.last - ms.first + 1} ports of the range "
                 f"{ms.first}-{ms.last} can be bound again", not busy,
                 f"still bound: {busy}\nwho holds them (ss -uanp):\n{holders}")


# --------------------------------------------------------------------------- sipp

@dataclass
class SippRun:
    exit_code: int | None
    successful: int
    failed: int
    output: str
    trace: list[tuple[str, Message]]   # (sent|received, message) in order
    command: list[str]

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.failed == 0

    def first(self, direction: str, pred) -> Message | None:
        return next((m for d, m in self.trace if d == direction and pred(m)), None)

    def detail(self, limit: int = 5000) -> str:
        msgs = "\n\n".join(f"--- {d} ---\n{m.raw.decode('utf-8', 'replace')}" for d, m in self.trace)
        return (f"command: {' '.join(self.command)}\nexit {self.exit_code}, successful "
                f"{self.successful}, failed {self.failed}\n{self.output[-2500:]}\n"
                f"--- trace (first {limit} chars) ---\n{msgs[:limit]}")


def run_sipp(scenario: str, switch_port: int, *, pcaps: dict[str, Path], duration_ms: int,
             calls: int = 1, rate: int = 10, timeout_s: int = 40) -> SippRun:
    """A sipp UAC run from a temp dir whose pcap/ holds the given files (name -> path),
    bounded by sipp's -timeout and a wall-clock limit."""
    work = Path(tempfile.mkdtemp(prefix="centralita-media-sipp-"))
    try:
        (work / "pcap").mkdir()
        for name, path in pcaps.items():
            (work / "pcap" / name).symlink_to(path)
        stat, msgs = work / "stats.csv", work / "messages.log"
        media_port = free_udp_block(8, low=26000, high=32000, align=4)
        cmd = [sipp_lib.sipp_binary() or "sipp", "-sf", str(SCENARIOS / scenario), "-s", "bob",
               "-i", HOST, "-p", str(free_udp_block(1, low=26000, high=32000)), "-mi", HOST, "-mp", str(media_port),
               "-m", str(calls), "-r", str(rate), "-l", str(calls), "-d", str(duration_ms),
               "-recv_timeout", "15000", "-timeout", f"{timeout_s}s", "-timeout_error",
               "-nostdin", "-trace_stat", "-stf", str(stat), "-fd", "1", "-trace_msg",
               "-message_file", str(msgs), "-trace_err", "-error_file", str(work / "errors.log"),
               f"{HOST}:{switch_port}"]
        with open(work / "out.log", "wb") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=work)
            try:
                proc.wait(timeout_s + 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        rows = sipp_lib.stat_rows(stat)
        row = rows[-1] if rows else {}

        def num(key: str) -> int:
            try:
                return int(float(row.get(key, "0") or 0))
            except ValueError:
                return 0
        output = (work / "out.log").read_text("utf-8", "replace")
        if (work / "errors.log").exists():
            output += "\n--- errors.log ---\n" + (work / "errors.log").read_text("utf-8", "replace")[:2000]
        trace = []
        text = msgs.read_text("utf-8", "replace") if msgs.exists() else ""
        for direction, body in split_trace(text):
            raw = body.replace("\r\n", "\n").replace("\n", "\r\n")
            head, sep, rest = raw.partition("\r\n\r\n")
            m = parse_message((head + "\r\n\r\n" + rest).encode())
            if m is not None:
                trace.append((direction, m))
        return SippRun(proc.returncode, num("SuccessfulCall(C)"), num("FailedCall(C)"), output,
                       trace, cmd)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class Background:
    """fn() in a thread; join bounded."""

    def __init__(self, fn) -> None:
        self.result = None
        self.error: BaseException | None = None

        def body() -> None:
            try:
                self.result = fn()
            except BaseException as e:  # reported by the check that reads it
                self.error = e
        self.thread = threading.Thread(target=body, daemon=True)
        self.thread.start()

    def join(self, timeout: float):
        self.thread.join(timeout)
        return self.result


def is_request(method: str):
    return lambda m: not m.is_response and m.start_line.startswith(method + " ")


def is_response(method: str, status: int):
    return lambda m: m.is_response and m.status == status and (m.get("cseq") or "").endswith(method)


def sdp_anchor(sdp_body: bytes | None) -> tuple[str | None, int | None, int | None]:
    """(c= address, m= port, a=rtcp port) of the first audio stream."""
    sd = parse_sdp(sdp_body)
    a = sd.audio if sd else None
    return (sd.address(a), a["port"], a["rtcp"]) if a else (None, None, None)


def in_leg_b_dialog(call: CalleeCall, m: Message | None) -> bool:
    """Whether a request the switch sent the callee belongs to leg B's dialog: the Call-ID
    and From tag of the INVITE the callee got, the callee's own To tag."""
    return (m is not None and m.get("call-id") == call.call_id
            and tag_of(m.get("from")) == tag_of(call.invite.get("from"))
            and tag_of(m.get("to")) == call.to_tag)


# --------------------------------------------------------------------------- (5) events

def call_end(ms: MediaSwitch, call_id: str, timeout: float = 5.0) -> dict | None:
    """The CALL_END event of the call whose caller's Call-ID is call_id (bounded wait)."""
    return ms.events.wait(lambda e: e["name"] == "CALL_END" and e.get("call_id") == call_id, timeout)


def check_call_events(checks: Checks, label: str, ms: MediaSwitch, caller_cid: str, callee_cid: str,
                      *, end_reason: str | None = None) -> dict | None:
    """CALL_START/ANSWER/END of a bridged call: mode, leg_a, leg_b. Returns CALL_END."""
    end = call_end(ms, caller_cid)
    # CALL_START comes before the routing chose: mode and leg_b empty (docs/events.md).
    evs = ms.events.of_call(caller_cid, "CALL_START")
    ev = evs[0] if evs else None
    checks.check(f"{label}: CALL_START carries leg_a = the caller's Call-ID, mode and leg_b empty "
                 f"(got {len(evs)}: { {k: ev.get(k) for k in ('mode', 'leg_a', 'leg_b')} if ev else None})",
                 len(evs) == 1 and ev.get("mode") == "" and ev.get("leg_a") == caller_cid
                 and ev.get("leg_b") == "", ms.events.dump(caller_cid))
    for name in ("CALL_ANSWER", "CALL_END"):
        evs = ms.events.of_call(caller_cid, name)
        ev = evs[0] if evs else None
        checks.check(f"{label}: {name} carries mode=bridge, leg_a = the caller's Call-ID, "
                     f"leg_b = the callee's INVITE's Call-ID (got {len(evs)}: "
                     f"{ {k: ev.get(k) for k in ('mode', 'leg_a', 'leg_b')} if ev else None})",
                     len(evs) == 1 and ev.get("mode") == "bridge" and ev.get("leg_a") == caller_cid
                     and ev.get("leg_b") == callee_cid and callee_cid != caller_cid,
                     f"callee's Call-ID {callee_cid}\n" + ms.events.dump(caller_cid))
    if end_reason is not None:
        checks.check(f"{label}: CALL_END's reason is {end_reason!r} (got "
                     f"{end.get('reason') if end else None!r})",
                     end is not None and end.get("reason") == end_reason, ms.events.dump(caller_cid))
    return end


# --------------------------------------------------------------------------- (1) relay

def relay_with_sipp(checks: Checks, ms: MediaSwitch, callee: Callee) -> None:
    label = "(1) relay, sipp plays g711a.pcap"
    pcap = read_pcap_rtp(G711A)
    before = len(callee.calls)
    run = Background(lambda: run_sipp("media_uac_pcap.xml", ms.port, pcaps={"audio.pcap": G711A},
                                      duration_ms=G711A_PLAY_MS))
    calls = callee.wait_call(before + 1, 15)
    call = calls[-1] if len(calls) > before else None
    if not checks.check(f"{label}: the callee gets the INVITE", call is not None, ms.log()):
        run.join(40)
        return
    callee.wait_until(lambda: call.acked, 10)
    # While the call is up: 2 pairs, 2 sides, 1 session.
    got = ms.wait_gauges((2, 2, 1))
    checks.check(f"{label}: while the call is up, pairs in use 2, sides open 2, sessions 1 "
                 f"(got {got})", got == (2.0, 2.0, 1.0), ms.log())
    # The callee talks back (to the address the switch gave it): it reaches sipp's side.
    addr, b_port, b_rtcp = sdp_anchor(call.invite.body)
    back = 40
    if b_port:
        for i in range(back):
            call.rtp.send(rtp_packet(i, i * 160, 0xCA11EE, bytes([0xD5]) * 160), (HOST, b_port))
    res = run.join(50)
    sent_before = ms.metric("centralita_media_packets_forwarded_total")
    checks.check(f"{label}: the sipp call completes (INVITE, 200, ACK, audio, BYE, 200)",
                 res is not None and res.ok and res.successful == 1,
                 (res.detail() if res else repr(run.error)) + "\n" + ms.log())
    if res is None:
        return
    invite = res.first("sent", is_request("INVITE"))
    ok200 = res.first("received", is_response("INVITE", 200))
    _, caller_port, _ = sdp_anchor(invite.body if invite else None)
    a_addr, a_port, a_rtcp = sdp_anchor(ok200.body if ok200 else None)
    checks.check(f"{label}: the INVITE the callee got is anchored on the switch: c={addr}, "
                 f"m= port {b_port} in {ms.first}-{ms.last} (the caller offered {caller_port}), "
                 f"a=rtcp {b_rtcp}",
                 addr == HOST and ms.in_range(b_port) and b_port != caller_port
                 and b_rtcp == (b_port or 0) + 1,
                 call.invite.raw.decode("utf-8", "replace"))
    checks.check(f"{label}: the 200 the caller got is anchored on side A: c={a_addr}, m= port "
                 f"{a_port} in the range, not side B's {b_port}, a=rtcp {a_rtcp}",
                 a_addr == HOST and ms.in_range(a_port) and a_port != b_port
                 and a_rtcp == (a_port or 0) + 1,
                 ok200.raw.decode("utf-8", "replace") if ok200 else res.detail())
    n = call.rtp.wait_count(len(pcap), 5)
    n = call.rtp.wait_quiet(0.3, 2)
    got = call.rtp.packets()
    sources = call.rtp.sources()
    checks.check(f"{label}: the callee received every RTP packet of g711a.pcap "
                 f"({n} of {len(pcap)})", n == len(pcap), ms.log())
    checks.check(f"{label}: all of them from the relay's side B ({HOST}:{b_port}; got {sources})",
                 sources == {(HOST, b_port)})
    same = sum(1 for a, b in zip(got, pcap) if a == b)
    checks.check(f"{label}: byte-identical to the pcap's RTP packets, in order ({same} of "
                 f"{len(pcap)} equal)", same == len(pcap) == len(got),
                 f"first received {got[:1]!r}\nfirst in pcap {pcap[:1]!r}")
    checks.check(f"{label}: the callee's {back} packets back were forwarded to the caller "
                 f"(centralita_media_packets_forwarded_total {sent_before} >= "
                 f"{len(pcap) + back})", (sent_before or 0) >= len(pcap) + back, ms.log())
    checks.check(f"{label}: the switch's BYE reaches the callee in leg B's dialog (Call-ID and "
                 f"From tag of its INVITE, its To tag)",
                 callee.wait_until(lambda: call.bye is not None, 5) and in_leg_b_dialog(call, call.bye),
                 callee.dump())
    caller_cid = invite.get("call-id") if invite else ""
    check_call_events(checks, "(5) events of the sipp relay call", ms, caller_cid, call.call_id,
                      end_reason="caller hung up")
    check_freed(checks, label, ms)


def relay_python_caller(checks: Checks, ms: MediaSwitch, callee: Callee, late_offer: bool = False) -> None:
    label = ("(1) relay, late offer (no SDP in the INVITE; the 200 offers, the ACK answers)"
             if late_offer else "(1) relay, Python caller, RTP both ways")
    caller = Caller(ms.port, sdp=not late_offer)
    try:
        before = len(callee.calls)
        caller.invite()
        final = caller.wait_final()
        checks.check(f"{label}: the call is answered (200 with SDP)",
                     final is not None and final.status == 200 and bool(final.body),
                     caller.dump() + "\n" + ms.log())
        calls = callee.wait_call(before + 1, 2)
        if final is None or final.status != 200 or len(calls) <= before:
            return
        call = calls[-1]
        a_addr, a_port, a_rtcp = sdp_anchor(final.body)
        if late_offer:
            checks.check(f"{label}: the callee's INVITE has no SDP either",
                         not call.invite.body, call.invite.raw.decode("utf-8", "replace"))
            acked = callee.wait_until(lambda: call.ack is not None, 5)
            b_addr, b_port, b_rtcp = sdp_anchor(call.ack.body if call.ack else None)
            checks.check(f"{label}: the callee's ACK carries the answer anchored on side B: "
                         f"c={b_addr}, m= port {b_port} in the range, a=rtcp {b_rtcp}",
                         acked and b_addr == HOST and ms.in_range(b_port) and b_rtcp == (b_port or 0) + 1,
                         callee.dump() + "\n" + ms.log())
        else:
            b_addr, b_port, b_rtcp = sdp_anchor(call.invite.body)
        checks.check(f"{label}: the caller's 200 is anchored on side A: c={a_addr}, m= port "
                     f"{a_port} in the range, not side B's {b_port}, a=rtcp {a_rtcp}",
                     a_addr == HOST and ms.in_range(a_port) and a_port != b_port
                     and a_rtcp == (a_port or 0) + 1, final.raw.decode("utf-8", "replace"))
        if not (a_port and b_port):
            return
        n = 50
        fwd = [rtp_packet(i, i * 160, 0xA11CE, bytes([i]) * 160) for i in range(n)]
        rev = [rtp_packet(i, i * 160, 0xB0B, bytes([255 - i]) * 160) for i in range(n)]
        for i in range(n):
            caller.rtp.send(fwd[i], (HOST, a_port))
            call.rtp.send(rev[i], (HOST, b_port))
        call.rtp.wait_count(n, 5)
        caller.rtp.wait_count(n, 5)
        to_callee, to_caller = call.rtp.packets(), caller.rtp.packets()
        checks.check(f"{label}: caller -> callee: {len(to_callee)} of {n} arrive, from side B "
                     f"({call.rtp.sources()} == {HOST}:{b_port}), byte-identical",
                     sorted(to_callee) == sorted(fwd) and call.rtp.sources() == {(HOST, b_port)})
        checks.check(f"{label}: callee -> caller: {len(to_caller)} of {n} arrive, from side A "
                     f"({caller.rtp.sources()} == {HOST}:{a_port}), byte-identical",
                     sorted(to_caller) == sorted(rev) and caller.rtp.sources() == {(HOST, a_port)})
        status = caller.hangup()
        checks.check(f"{label}: the caller's BYE gets 200 ({status}) and reaches the callee in "
                     f"leg B's dialog",
                     status == 200 and callee.wait_until(lambda: call.bye is not None, 5)
                     and in_leg_b_dialog(call, call.bye), caller.dump() + "\n" + callee.dump())
        if not late_offer:
            check_call_events(checks, "(5) events of the Python relay call", ms, caller.call_id,
                              call.call_id, end_reason="caller hung up")
        check_freed(checks, label, ms)
    finally:
        caller.close()


# --------------------------------------------------------------------------- (2) RFC 4733

def rfc4733(checks: Checks, ms: MediaSwitch, callee: Callee) -> None:
    before = len(callee.calls)
    dtmf_before = ms.metric("centralita_media_dtmf_total", 'source="rfc4733"') or 0
    runs = {d: Background(lambda d=d: run_sipp(
                "media_uac_dtmf.xml", ms.port, duration_ms=G711A_PLAY_MS,
                pcaps={"audio.pcap": G711A, "dtmf.pcap": PCAPS / f"dtmf_2833_{d}.pcap"}))
            for d in ("1", "2")}
    results = {d: r.join(60) for d, r in runs.items()}
    calls = [c for c in list(callee.calls.values())[before:]]
    for digit, res in results.items():
        label = f"(2) RFC 4733 digit {digit}"
        if not checks.check(f"{label}: the sipp call ran to its end",
                            res is not None and res.ok and res.successful == 1,
                            (res.detail() if res else repr(runs[digit].error)) + "\n" + ms.log()):
            continue
        invite = res.first("sent", is_request("INVITE"))
        caller_cid = invite.get("call-id") if invite else ""
        bye_in = res.first("received", is_request("BYE"))
        bye_out = res.first("sent", is_request("BYE"))
        end = call_end(ms, caller_cid)
        # The callee's call: the one whose CALL_END names it as leg B.
        leg_b = end.get("leg_b") if end else None
        call = next((c for c in calls if c.call_id == leg_b), None)
        if digit == "1":
            checks.check(f"{label}: the switch sends BYE to the caller, who answers 200 "
                         f"(and sends no BYE of its own)",
                         bye_in is not None and bye_out is None, res.detail())
            checks.check(f"{label}: the switch sends BYE to the callee too (in leg B's dialog)",
                         call is not None and callee.wait_until(lambda: call.bye is not None, 5)
                         and in_leg_b_dialog(call, call.bye),
                         f"leg_b {leg_b}\n" + callee.dump())
            checks.check(f"{label}: the log shows `DTMF 1 (rfc4733): hanging up`",
                         ms.sw.wait_for_log(r"DTMF 1 \(rfc4733\): hanging up", 5), ms.log())
            checks.check(f"{label}: CALL_END's reason is \"DTMF 1\" (got "
                         f"{end.get('reason') if end else None!r})",
                         end is not None and end.get("reason") == "DTMF 1", ms.events.dump(caller_cid))
        else:
            checks.check(f"{label}: no BYE from the switch; the caller's own BYE gets 200",
                         bye_in is None and bye_out is not None
                         and res.first("received", is_response("BYE", 200)) is not None, res.detail())
            checks.check(f"{label}: the log shows `DTMF 2 (rfc4733): the call goes on`",
                         ms.sw.wait_for_log(r"DTMF 2 \(rfc4733\): the call goes on", 5), ms.log())
            checks.check(f"{label}: the call lasted until the caller's BYE (CALL_END reason "
                         f"{end.get('reason') if end else None!r})",
                         end is not None and end.get("reason") == "caller hung up"
                         and call is not None and callee.wait_until(lambda: call.bye is not None, 5),
                         ms.events.dump(caller_cid) + "\n" + callee.dump())
        dtmf = ms.events.of_call(caller_cid, "DTMF")
        checks.check(f"(5) events, digit {digit} by RFC 4733: one DTMF event, leg \"a\", source "
                     f"\"rfc4733\" (got {dtmf})",
                     len(dtmf) == 1 and dtmf[0].get("digit") == digit and dtmf[0].get("leg") == "a"
                     and dtmf[0].get("source") == "rfc4733", ms.events.dump(caller_cid))
    after = ms.metric("centralita_media_dtmf_total", 'source="rfc4733"') or 0
    checks.check(f"(2) centralita_media_dtmf_total{{source=\"rfc4733\"}} grew by 2 "
                 f"({dtmf_before} -> {after})", after - dtmf_before == 2)
    check_freed(checks, "(2) RFC 4733", ms)


# --------------------------------------------------------------------------- (3) in-band

def pcap_tool(args) -> Path | None:
    env = os.environ.get("CENTRALITA_DTMF_PCAP_TOOL")
    if env:
        return Path(env)
    guess = Path(args.binary).resolve().parent / "test" / "integration" / "make_dtmf_pcap"
    return guess if guess.exists() else None


def inband(checks: Checks, args, ms: MediaSwitch, callee: Callee) -> None:
    tool = pcap_tool(args)
    if not checks.check(f"(3) make_dtmf_pcap is built ({tool})", tool is not None and tool.exists(),
                        "build the make_dtmf_pcap target, or set CENTRALITA_DTMF_PCAP_TOOL"):
        return
    work = Path(tempfile.mkdtemp(prefix="centralita-dtmf-pcap-"))
    try:
        for digit in ("1", "2"):
            label = f"(3) in-band digit {digit}"
            out = work / f"dtmf_{digit}.pcap"
            gen = subprocess.run([str(tool), "--codec", "pcma", "--lead-ms", "400", "--on-ms", "100",
                                  "--off-ms", "100", "--tail-ms", "400", "--level", "-10",
                                  str(out), digit], capture_output=True, text=True, timeout=20)
            pkts = read_pcap_rtp(out) if gen.returncode == 0 and out.exists() else []
            if not checks.check(f"{label}: make_dtmf_pcap writes {len(pkts)} PCMA packets of 160 "
                                f"bytes (20 lead, 10 tone and gap, 20 tail)",
                                len(pkts) == 50 and all(len(p) == 172 and p[1] & 0x7F == 8 for p in pkts),
                                gen.stdout + gen.stderr):
                continue
            inband_before = ms.metric("centralita_media_dtmf_total", 'source="inband"') or 0
            before = len(callee.calls)
            res = run_sipp("media_uac_inband.xml", ms.port, pcaps={"audio.pcap": out},
                           duration_ms=1400)
            if not checks.check(f"{label}: the sipp call (PCMA only) ran to its end",
                                res.ok and res.successful == 1, res.detail() + "\n" + ms.log()):
                continue
            invite = res.first("sent", is_request("INVITE"))
            caller_cid = invite.get("call-id") if invite else ""
            calls = list(callee.calls.values())[before:]
            call = calls[0] if calls else None
            offered = parse_sdp(call.invite.body) if call else None
            checks.check(f"{label}: the callee is offered PCMA only (no telephone-event)",
                         offered is not None and offered.audio is not None
                         and offered.audio["formats"] == ["8"],
                         call.invite.raw.decode() if call else callee.dump())
            bye_in = res.first("received", is_request("BYE"))
            dtmf = ms.events.wait(lambda e: e["name"] == "DTMF" and e.get("call_id") == caller_cid,
                                  3 if digit == "1" else 0.5)
            inband_after = ms.metric("centralita_media_dtmf_total", 'source="inband"') or 0
            all_dtmf = ms.events.of_call(caller_cid, "DTMF")
            checks.check(f"{label}: one DTMF event, digit {digit}, source \"inband\", leg \"a\" "
                         f"(got {all_dtmf})",
                         dtmf is not None and len(all_dtmf) == 1 and dtmf.get("digit") == digit
                         and dtmf.get("source") == "inband" and dtmf.get("leg") == "a",
                         ms.events.dump(caller_cid) + "\n" + ms.log())
            checks.check(f"{label}: centralita_media_dtmf_total{{source=\"inband\"}} grew "
                         f"({inband_before} -> {inband_after})", inband_after == inband_before + 1)
            if digit == "1":
                checks.check(f"{label}: the switch hangs up: BYE to the caller and to the callee",
                             bye_in is not None and call is not None
                             and callee.wait_until(lambda: call.bye is not None, 5),
                             res.detail() + "\n" + callee.dump())
                checks.check(f"{label}: the log shows `DTMF 1 (inband): hanging up`",
                             ms.sw.wait_for_log(r"DTMF 1 \(inband\): hanging up", 5), ms.log())
            else:
                checks.check(f"{label}: no hangup: the caller's own BYE ends the call",
                             bye_in is None and res.first("sent", is_request("BYE")) is not None,
                             res.detail())
                checks.check(f"{label}: the log shows `DTMF 2 (inband): the call goes on`",
                             ms.sw.wait_for_log(r"DTMF 2 \(inband\): the call goes on", 5), ms.log())
        check_freed(checks, "(3) in-band", ms)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- (4) endings

def answered_call(checks: Checks, label: str, ms: MediaSwitch, callee: Callee
                  ) -> tuple[Caller, CalleeCall | None]:
    caller = Caller(ms.port)
    before = len(callee.calls)
    caller.invite()
    final = caller.wait_final()
    calls = callee.wait_call(before + 1, 2)
    call = calls[-1] if len(calls) > before else None
    ok = checks.check(f"{label}: the call is answered ({final.status if final else None})",
                      final is not None and final.status == 200 and call is not None,
                      caller.dump() + "\n" + callee.dump() + "\n" + ms.log())
    return caller, (call if ok else None)


def endings(checks: Checks, ms: MediaSwitch, callee: Callee) -> None:
    # caller BYE
    label = "(4) caller BYE"
    caller, call = answered_call(checks, label, ms, callee)
    try:
        if call:
            got = ms.wait_gauges((2, 2, 1))
            checks.check(f"{label}: while up, exactly 2 pairs, 2 sides, 1 session (got {got})",
                         got == (2.0, 2.0, 1.0))
            status = caller.hangup()
            checks.check(f"{label}: 200 to the caller's BYE ({status}), BYE to the callee",
                         status == 200 and callee.wait_until(lambda: call.bye is not None, 5),
                         caller.dump() + "\n" + callee.dump())
            check_freed(checks, label, ms)
    finally:
        caller.close()

    # callee BYE
    label = "(4) callee BYE"
    caller, call = answered_call(checks, label, ms, callee)
    try:
        if call:
            callee.hangup(call)
            checks.check(f"{label}: 200 to the callee's BYE, BYE to the caller",
                         callee.wait_until(lambda: call.own_bye_status == 200, 5)
                         and caller.wait_bye(5) is not None, caller.dump() + "\n" + callee.dump())
            end = call_end(ms, caller.call_id)
            checks.check(f"{label}: CALL_END reason \"callee hung up\" "
                         f"(got {end.get('reason') if end else None!r})",
                         end is not None and end.get("reason") == "callee hung up",
                         ms.events.dump(caller.call_id))
            check_freed(checks, label, ms)
    finally:
        caller.close()

    # CANCEL while the callee rings
    label = "(4) CANCEL before the answer"
    callee.mode = "ring"
    caller = Caller(ms.port)
    try:
        before = len(callee.calls)
        caller.invite()
        ringing = caller.wait_status(lambda s: s == 180)
        calls = callee.wait_call(before + 1, 2)
        call = calls[-1] if len(calls) > before else None
        if checks.check(f"{label}: the callee rings (180 to the caller)",
                        ringing is not None and call is not None, caller.dump() + "\n" + ms.log()):
            got = ms.wait_gauges((2, 2, 1))
            checks.check(f"{label}: while ringing, 2 pairs, 2 sides, 1 session (got {got})",
                         got == (2.0, 2.0, 1.0))
            caller.cancel()
            final = caller.wait_final()
            c200 = caller.wait_status(lambda s: s == 200, "CANCEL", 5)
            checks.check(f"{label}: 200 for the CANCEL, 487 for the INVITE (got "
                         f"{final.status if final else None})",
                         c200 is not None and final is not None and final.status == 487, caller.dump())
            checks.check(f"{label}: the callee gets a CANCEL",
                         callee.wait_until(lambda: call.cancel is not None, 5), callee.dump())
            end = call_end(ms, caller.call_id)
            checks.check(f"{label}: CALL_END code 487 (got {end.get('code') if end else None})",
                         end is not None and end.get("code") == "487", ms.events.dump(caller.call_id))
            check_freed(checks, label, ms)
    finally:
        callee.mode = "answer"
        caller.close()

    # 486 from the callee
    label = "(4) callee rejects with 486"
    callee.mode = "busy"
    caller = Caller(ms.port)
    try:
        caller.invite()
        final = caller.wait_final()
        checks.check(f"{label}: the caller gets 486 (got {final.status if final else None})",
                     final is not None and final.status == 486, caller.dump() + "\n" + ms.log())
        end = call_end(ms, caller.call_id)
        checks.check(f"{label}: CALL_END code 486 (got {end.get('code') if end else None})",
                     end is not None and end.get("code") == "486", ms.events.dump(caller.call_id))
        check_freed(checks, label, ms)
    finally:
        callee.mode = "answer"
        caller.close()

    # the script hangs up (an INFO with digit 5: dtmf-hangup.lua calls sip.hangup)
    label = "(4) script hangup (sip.hangup on INFO digit 5)"
    caller, call = answered_call(checks, label, ms, callee)
    try:
        if call:
            info = caller.request("INFO", b"Signal=5\r\nDuration=160\r\n", "application/dtmf-relay")
            checks.check(f"{label}: the INFO is answered ({info.status if info else None}) and "
                         f"reaches the callee in leg B's dialog",
                         info is not None and info.status in (200, 487)
                         and any(i.get("call-id") == call.call_id for i in call.infos),
                         caller.dump() + "\n" + callee.dump())
            checks.check(f"{label}: BYE to the caller and to the callee",
                         caller.wait_bye(5) is not None
                         and callee.wait_until(lambda: call.bye is not None, 5),
                         caller.dump() + "\n" + callee.dump() + "\n" + ms.log())
            ms.events.wait(lambda e: e["name"] == "DTMF" and e.get("call_id") == caller.call_id, 5)
            dtmf = ms.events.of_call(caller.call_id, "DTMF")
            checks.check(f"(5) events, INFO digit 5: one DTMF event, leg \"a\", source \"info\" "
                         f"(got {dtmf})",
                         len(dtmf) == 1 and dtmf[0].get("digit") == "5" and dtmf[0].get("leg") == "a"
                         and dtmf[0].get("source") == "info", ms.events.dump(caller.call_id))
            end = call_end(ms, caller.call_id)
            checks.check(f"{label}: CALL_END reason \"DTMF 5\" (got {end.get('reason') if end else None!r})",
                         end is not None and end.get("reason") == "DTMF 5", ms.events.dump(caller.call_id))
            check_freed(checks, label, ms)
    finally:
        caller.close()

    # 3 calls at once: exactly 2 pairs per call
    label = "(4) 3 calls up at once"
    held = []
    try:
        for i in range(3):
            held.append(answered_call(checks, f"{label}, call {i + 1}", ms, callee))
        got = ms.wait_gauges((6, 6, 3))
        checks.check(f"{label}: 6 pairs, 6 sides, 3 sessions (got {got})", got == (6.0, 6.0, 3.0))
        for caller, _ in held:
            caller.hangup()
        check_freed(checks, label, ms)
    finally:
        for caller, _ in held:
            caller.close()

    # a burst of 20 sipp calls
    label = "(4) burst of 20 sipp calls"
    before = len(callee.calls)
    total_before = ms.metric("centralita_media_sessions_total") or 0
    res = run_sipp("media_uac_call.xml", ms.port, pcaps={}, duration_ms=500, calls=20, rate=20)
    checks.check(f"{label}: all 20 calls complete ({res.successful} successful, {res.failed} failed)",
                 res.ok and res.successful == 20, res.detail(3000) + "\n" + ms.log())
    calls = list(callee.calls.values())[before:]
    checks.check(f"{label}: the callee got 20 INVITEs and 20 BYEs ({len(calls)}, "
                 f"{sum(1 for c in calls if c.bye)})",
                 len(calls) == 20 and callee.wait_until(lambda: all(c.bye for c in calls), 5))
    total_after = ms.metric("centralita_media_sessions_total") or 0
    checks.check(f"{label}: 20 media sessions started ({total_before} -> {total_after})",
                 total_after - total_before == 20)
    check_freed(checks, label, ms)


def inactivity(checks: Checks, args) -> None:
    label = "(4) RTP inactivity"
    ms = MediaSwitch(args, pairs=10, inactivity_s=2)
    callee = Callee().start()
    try:
        checks.check(f"{label}: the callee registers", callee.register(ms.port) == 200)
        caller, call = answered_call(checks, label, ms, callee)
        try:
            if call:
                t0 = time.monotonic()
                ev = ms.events.wait(lambda e: e["name"] == "MEDIA_TIMEOUT", 8)
                elapsed = time.monotonic() - t0
                checks.check(f"{label}: MEDIA_TIMEOUT on /events after {elapsed:.1f} s "
                             f"(call_id, leg, timeout_s 2; got {ev})",
                             ev is not None and ev.get("call_id") == caller.call_id
                             and ev.get("leg") in ("a", "b") and ev.get("timeout_s") == "2"
                             and 1.5 <= elapsed <= 6, ms.events.dump() + "\n" + ms.log())
                checks.check(f"{label}: BYE to the caller and to the callee",
                             caller.wait_bye(5) is not None
                             and callee.wait_until(lambda: call.bye is not None, 5),
                             caller.dump() + "\n" + callee.dump())
                end = ms.events.wait(lambda e: e["name"] == "CALL_END", 5)
                checks.check(f"{label}: one MEDIA_TIMEOUT event; CALL_END reason \"media timeout\" "
                             f"(got {end.get('reason') if end else None!r})",
                             len([e for e in ms.events.events if e["name"] == "MEDIA_TIMEOUT"]) == 1
                             and end is not None and end.get("reason") == "media timeout",
                             ms.events.dump())
                timeouts = ms.metric("centralita_media_timeouts_total")
                checks.check(f"{label}: centralita_media_timeouts_total is 1 (got {timeouts})",
                             timeouts == 1.0)
                check_freed(checks, label, ms)
        finally:
            caller.close()
    finally:
        callee.close()
        ms.stop(checks)


# --------------------------------------------------------------------------- run

def run(checks: Checks, args) -> None:
    if sipp_lib.sipp_binary() is None:
        checks.check("sipp is installed", False, "sip-tester missing: .ci/install-deps installs it")
        return
    if not G711A.exists():
        checks.check(f"{G711A} exists (sip-tester's pcaps)", False)
        return
    t0 = time.monotonic()
    ms = MediaSwitch(args, pairs=24)
    callee = Callee().start()
    try:
        checks.check("the /events stream is accepted", ms.events.accepted)
        checks.check("the callee registers as bob (200)", callee.register(ms.port) == 200,
                     callee.dump())
        relay_with_sipp(checks, ms, callee)
        relay_python_caller(checks, ms, callee)
        relay_python_caller(checks, ms, callee, late_offer=True)
        rfc4733(checks, ms, callee)
        inband(checks, args, ms, callee)
        endings(checks, ms, callee)
    finally:
        callee.close()
        ms.stop(checks)
    inactivity(checks, args)
    print(f"elapsed {time.monotonic() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main(run)
