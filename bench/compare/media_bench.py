#!/usr/bin/env python3
"""The media benchmark (issue 8): a relay's CPU per relayed RTP stream and its loss knee,
driven over the ng control protocol, with centralita-rtp-load (bench/rtp/) as the RTP
generator and receiver.

For each N in --calls (default 100,500,1000), on one relay:

  1. centralita-rtp-load binds 2N UDP sockets (caller and callee side of each call);
  2. per call, ng offer (the caller's SDP) and answer (the callee's SDP); the relay's
     SDP replies say where each side must send (their c= and m= lines);
  3. --seconds of traffic: every socket sends 20 ms packets at 50 packets/s (G.711 PCMA,
     160-octet payloads of a tone) and receives what the relay forwards;
  4. the relay's CPU = utime+stime of its process (/proc/<pid>/stat, all threads) over
     the steady window: from --ramp seconds after the traffic starts to 0.5 s before it
     ends;
  5. ng delete per call; the load tool's report gives loss (by sequence number per
     stream), duplicates, reordering, RFC 3550 jitter and its own CPU.

A stream is one direction of one call (2N streams, 50 packets/s each):
  CPU-µs per stream-second = relay CPU-µs in the window / (2N × window seconds)
  CPU-µs per packet        = relay CPU-µs in the window / (2N × 50 × window seconds)

--knee raises N (×--knee-factor from --knee-start, then --knee-bisect halvings) until
more than 0.1% of the packets are lost. --transcode runs --transcode-calls with Opus on
the caller side and PCMA on the callee side (ng offer flag codec: {mask: [opus],
transcode: [PCMA]}); a relay that cannot transcode is reported as such, not as a failure.

Relays: --peer rtpengine (Debian's rtpengine-daemon, userspace forwarding, started here on
free ports by bench/peers/rtpengine_peer.py), --peer centralita (build/centralita with
`[media] ng_listen`, started the same way by bench/peers/centralita_peer.py) or --peer
external --ng HOST:PORT --pid PID (any relay speaking ng that is already running). A relay
is a small class: an ng address, a pid to read CPU from, start/stop, the offer's extra keys.
bench/compare/media_compare.py runs two relays in one session, interleaved.

Markdown goes to stdout (for docs/benchmarks.md), progress to stderr, raw numbers to
--json FILE. Everything is bounded: ng requests (timeout × attempts), the load tool
(--seconds + margins, killed otherwise), the relay (SIGTERM, then SIGKILL).

    bench/compare/media_bench.py --rtp-load build/centralita-rtp-load
    bench/compare/media_bench.py --calls 100 --seconds 5 --knee --transcode
    bench/compare/media_bench.py --peer centralita --calls 100,500 --knee
    bench/compare/media_bench.py --peer external --ng 127.0.0.1:2223 --pid 1234 --calls 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(ROOT / "bench" / "peers"))

from ng_client import NgClient, NgError, media_address, media_payload_types, rtpmap  # noqa: E402
sys.path.insert(0, str(HERE))
import rtpengine_peer  # noqa: E402
from media_relays import (CLK_TCK, HOST, CentralitaRelay, ExternalRelay,  # noqa: E402,F401
                          Relay, RtpEngineRelay, cpu_ticks, machine_busy_ticks, schedstat_ns)
PACKETS_PER_SECOND = 50          # 20 ms packets (RFC 3551 §4.5)
LOSS_LIMIT_PCT = 0.1             # the knee: the highest N with at most this much loss
KNEE_DELAY_MS = 50               # ... and, reported alongside, with p99 delay at most this
OTHER_BUSY_PCT = 25              # a lossy knee step with more CPU than this elsewhere is redone
OPUS_PT = 96
TAIL_MARGIN = 0.5                # the window ends this long before the traffic does
LINE_TIMEOUT = 30.0              # the load tool prints its sockets within this


# --------------------------------------------------------------------------- SDP

def sdp_for(port: int, codec: str, session_id: int) -> str:
    """A one-stream audio SDP (RFC 8866) offering one codec on 127.0.0.1:port."""
    if codec == "opus":
        fmt, attrs = str(OPUS_PT), [f"a=rtpmap:{OPUS_PT} opus/48000/2"]   # RFC 7587 §7
    else:
        fmt, attrs = "8", ["a=rtpmap:8 PCMA/8000"]                         # RFC 3551 §6
    lines = ["v=0", f"o=- {session_id} 1 IN IP4 {HOST}", "s=-", f"c=IN IP4 {HOST}", "t=0 0",
             f"m=audio {port} RTP/AVP {fmt}", *attrs, "a=ptime:20", "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"


def parse_addr(text: str) -> int:
    return int(text.rpartition(":")[2])


def codec_of(sdp: str) -> str:
    """The first codec of the first m= line, by rtpmap or static payload type."""
    pts = media_payload_types(sdp)
    if not pts:
        return "?"
    enc = rtpmap(sdp).get(pts[0], {"8": "PCMA/8000", "0": "PCMU/8000"}.get(pts[0], "?"))
    return enc.split("/")[0].lower()


# --------------------------------------------------------------------------- one run

class SetupError(RuntimeError):
    """The relay refused or garbled the calls' set-up (the message says how)."""


@dataclass
class RunResult:
    calls: int
    mode: str                        # "relay" or "transcode"
    seconds: int
    window_s: float = 0.0
    relay_cpu_s: float = 0.0
    relay_cpu_sched_s: float = 0.0
    relay_cpu_pct: float = 0.0
    cpu_us_per_stream_s: float = 0.0
    cpu_us_per_packet: float = 0.0
    loss_pct: float = 0.0
    lost: int = 0
    sent: int = 0
    received: int = 0
    max_jitter_ms: float = 0.0
    mean_jitter_ms: float = 0.0
    delay_p50_ms: float = 0.0
    delay_p99_ms: float = 0.0
    load_cpu_us_per_packet: float = 0.0
    load_cpu_pct: float = 0.0
    other_cpu_pct: float = 0.0       # the rest of the machine's busy time in the window
    late_send_pct: float = 0.0       # packets the load tool sent over 2 ms after schedule
    send_lag_max_ms: float = 0.0
    setup_ms_per_call: float = 0.0
    delete_errors: int = 0
    note: str = ""
    report: dict = field(default_factory=dict)


class LoadTool:
    """centralita-rtp-load as a child: line-by-line JSON on stdout, bounded reads."""

    def __init__(self, binary: str, calls: int, seconds: int, caller_codec: str,
                 callee_codec: str, drain_ms: int, extra: list[str] | None = None) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-rtp-load-"))
        self.err = open(self.tmp / "stderr.log", "wb")
        self.args = [binary, "--calls", str(calls), "--seconds", str(seconds),
                     "--caller-codec", caller_codec, "--callee-codec", callee_codec,
                     "--opus-pt", str(OPUS_PT), "--drain-ms", str(drain_ms),
                     "--setup-timeout", str(max(60, calls // 20)), *(extra or [])]
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, start_new_session=True)
        self._buf = b""

    def line(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"centralita-rtp-load printed nothing within {timeout:.0f} s"
                                   f"\n{self.stderr()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
                if not chunk:
                    raise RuntimeError(f"centralita-rtp-load ended (exit {self.proc.wait()})"
                                       f"\n{self.stderr()}")
                self._buf += chunk
        text, _, self._buf = self._buf.partition(b"\n")
        return json.loads(text)

    def send(self, obj: dict) -> None:
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.stdin.flush()

    def stderr(self) -> str:
        try:
            return (self.tmp / "stderr.log").read_text("utf-8", "replace")[-3000:]
        except OSError:
            return ""

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.err):
            try:
                f.close()
            except (OSError, BrokenPipeError):
                pass
        for p in self.tmp.iterdir():
            p.unlink()
        self.tmp.rmdir()


def set_up_calls(ng: NgClient, relay: Relay, sockets: list[dict], transcode: bool,
                 run_id: str, created: list[tuple[str, str]]) -> tuple[list[dict], float]:
    """ng offer + answer per call: where each side sends, and the mean set-up time per
    call in ms. Each call the relay created goes into `created` (call-id, from-tag) at
    once, so that a set-up failing half-way still has its calls deleted."""
    caller_codec, callee_codec = ("opus", "pcma") if transcode else ("pcma", "pcma")
    targets: list[dict] = []
    started = time.monotonic()
    try:
        for k, s in enumerate(sockets):
            call_id, from_tag, to_tag = f"{run_id}-{k}", f"a{k}", f"b{k}"
            offer = ng.offer(call_id, from_tag, sdp_for(parse_addr(s["caller"]), caller_codec, k),
                             **relay.offer_args(transcode))
            created.append((call_id, from_tag))
            # The offer as the relay passes it on: where the callee sends, and in what.
            offered = offer.get("sdp", "")
            if codec_of(offered) != callee_codec:
                raise SetupError(f"the relay offered {codec_of(offered)} to the callee, not "
                                 f"{callee_codec}:\n{offered}")
            callee_to = media_address(offered)
            answer = ng.answer(call_id, from_tag, to_tag,
                               sdp_for(parse_addr(s["callee"]), callee_codec, 100000 + k))
            answered = answer.get("sdp", "")
            if codec_of(answered) != caller_codec:
                raise SetupError(f"the relay answered {codec_of(answered)} to the caller, not "
                                 f"{caller_codec}:\n{answered}")
            caller_to = media_address(answered)
            targets.append({"caller_to": f"{caller_to[0]}:{caller_to[1]}",
                            "callee_to": f"{callee_to[0]}:{callee_to[1]}"})
    except (NgError, ValueError) as e:
        raise SetupError(f"call #{len(targets)}: {e}") from e
    return targets, (time.monotonic() - started) * 1000 / max(1, len(sockets))


def delete_calls(ng: NgClient, created: list[tuple[str, str]]) -> int:
    """ng delete per call; the number that failed. A relay that stops answering is not
    asked about the remaining calls (each would cost timeout × attempts)."""
    errors = 0
    for i, (call_id, from_tag) in enumerate(created):
        try:
            ng.delete(call_id, from_tag)
        except NgError as e:
            if e.timed_out:              # no answer at all: the relay is gone or stuck
                return errors + len(created) - i
            errors += 1
    return errors


def sleep_until(t: float) -> None:
    while (left := t - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))


def run_once(args, relay: Relay, calls: int, transcode: bool, run_id: str) -> RunResult:
    seconds = args.seconds
    res = RunResult(calls=calls, mode="transcode" if transcode else "relay", seconds=seconds)
    caller_codec, callee_codec = ("opus", "pcma") if transcode else ("pcma", "pcma")
    tool = LoadTool(args.rtp_load, calls, seconds, caller_codec, callee_codec, args.drain_ms)
    created: list[tuple[str, str]] = []
    ng = NgClient(relay.ng_host, relay.ng_port, timeout=args.ng_timeout, attempts=3)
    try:
        sockets = tool.line(LINE_TIMEOUT)["calls"]
        targets, res.setup_ms_per_call = set_up_calls(ng, relay, sockets, transcode, run_id,
                                                      created)
        tool.send({"calls": targets})
        tool.line(LINE_TIMEOUT)                       # {"started": ...}
        t_start = time.monotonic()
        ramp = min(args.ramp, seconds / 3)
        w_start = t_start + ramp
        w_end = t_start + seconds - min(TAIL_MARGIN, seconds / 4)
        sleep_until(w_start)
        c0, s0, m0 = cpu_ticks(relay.pid), schedstat_ns(relay.pid), time.monotonic()
        t0, b0 = cpu_ticks(tool.proc.pid), machine_busy_ticks()
        sleep_until(w_end)
        c1, s1, m1 = cpu_ticks(relay.pid), schedstat_ns(relay.pid), time.monotonic()
        t1, b1 = cpu_ticks(tool.proc.pid), machine_busy_ticks()
        if c0 is None or c1 is None:
            raise RuntimeError(f"the relay (pid {relay.pid}) died during the run:\n{relay.tail()}")
        rep = tool.line(seconds + args.drain_ms / 1000 + LINE_TIMEOUT)
        res.report = rep
        res.window_s = m1 - m0
        res.relay_cpu_s = (c1 - c0) / CLK_TCK
        res.relay_cpu_sched_s = (s1 - s0) / 1e9
        streams = 2 * calls
        res.relay_cpu_pct = 100 * res.relay_cpu_s / res.window_s
        res.cpu_us_per_stream_s = res.relay_cpu_s * 1e6 / (streams * res.window_s)
        res.cpu_us_per_packet = res.cpu_us_per_stream_s / PACKETS_PER_SECOND
        res.loss_pct = rep["loss_pct"]
        res.lost, res.sent, res.received = rep["lost"], rep["sent"], rep["received"]
        res.max_jitter_ms, res.mean_jitter_ms = rep["max_jitter_ms"], rep["mean_jitter_ms"]
        res.delay_p50_ms, res.delay_p99_ms = rep["delay_ms"]["p50"], rep["delay_ms"]["p99"]
        res.load_cpu_us_per_packet = rep["cpu_us_per_packet"]
        tool_ticks = (t1 - t0) if t0 is not None and t1 is not None else 0
        res.load_cpu_pct = 100 * tool_ticks / CLK_TCK / res.window_s
        res.other_cpu_pct = max(0.0, 100 * ((b1 - b0) - (c1 - c0) - tool_ticks) / CLK_TCK
                                / res.window_s)
        res.send_lag_max_ms = rep["send_lag_max_ms"]
        notes = []
        if rep.get("streams_silent"):
            notes.append(f"{rep['streams_silent']} streams received nothing")
        res.note = "; ".join(notes)
        res.late_send_pct = 100 * rep.get("sends_late", 0) / max(1, rep.get("sent", 0))
    finally:
        res.delete_errors = delete_calls(ng, created)
        ng.close()
        tool.close()
    return res


# --------------------------------------------------------------------------- modes

def progress(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def describe(r: RunResult) -> str:
    return (f"{r.mode} {r.calls} calls: relay {r.relay_cpu_pct:.1f}% CPU, "
            f"{r.cpu_us_per_stream_s:.1f} µs/stream-s, {r.cpu_us_per_packet:.2f} µs/packet, "
            f"loss {r.loss_pct:.3f}% ({r.lost}/{r.sent}), delay p50/p99 {delay(r)} ms, "
            f"load tool {r.load_cpu_pct:.0f}% CPU, other {r.other_cpu_pct:.0f}% CPU"
            + (f"; {r.note}" if r.note else ""))


def wait_quiet(limit_s: float, busy_pct: float = 15.0) -> None:
    """On a shared machine: wait (at most limit_s) for a second in which all CPUs
    together were busy less than busy_pct% (the relay idles between runs)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        b0, w0 = machine_busy_ticks(), time.monotonic()
        time.sleep(1.0)
        busy = 100 * (machine_busy_ticks() - b0) / CLK_TCK / (time.monotonic() - w0)
        if busy < busy_pct:
            return
    progress(f"the machine did not become quiet within {limit_s:.0f} s; measuring anyway")


def run_checked(args, relay: Relay, calls: int, transcode: bool, tag: str) -> RunResult:
    if not relay.alive():
        raise RuntimeError(f"{relay.name} is not running:\n{relay.tail()}")
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    progress(f"{'transcode' if transcode else 'relay'}: {calls} calls for {args.seconds} s")
    r = run_once(args, relay, calls, transcode, f"mb{os.getpid()}-{tag}-{calls}")
    progress(describe(r))
    return r


def knee_step(args, relay: Relay, n: int, steps: list[RunResult]) -> RunResult:
    """One step of the knee search. A lossy step during which other processes kept more
    than OTHER_BUSY_PCT of a core busy is run again (at most --knee-retries times, after
    waiting for a quiet machine when --wait-quiet is given): on a shared machine a
    neighbour's build should not set the knee."""
    for attempt in range(args.knee_retries + 1):
        r = run_checked(args, relay, n, False, "knee")
        steps.append(r)
        if r.loss_pct <= LOSS_LIMIT_PCT or r.other_cpu_pct <= OTHER_BUSY_PCT:
            return r
        if attempt < args.knee_retries:
            progress(f"{n} calls lost packets while other processes used "
                     f"{r.other_cpu_pct:.0f}% CPU: running it again")
            r.note = (r.note + "; " if r.note else "") + "run again: other processes were busy"
    return r


def knee(args, relay: Relay) -> tuple[int | None, list[RunResult], str]:
    """Raise N by --knee-factor until loss > 0.1% (or --knee-max), then bisect. A step the
    relay cannot set up (ports or sockets exhausted) ends the search there: the knee is
    then the last good step, and the third value says why the search stopped."""
    steps: list[RunResult] = []
    good, bad = None, None

    def lossy(n: int) -> bool:
        return knee_step(args, relay, n, steps).loss_pct > LOSS_LIMIT_PCT

    n = args.knee_start
    try:
        while n <= args.knee_max:
            if lossy(n):
                bad = n
                break
            good = n
            n = int(n * args.knee_factor)
        if bad is not None:
            lo = good or 0
            for _ in range(args.knee_bisect):
                n = (lo + bad) // 2
                if n <= lo or bad - lo < max(10, lo // 20):
                    break
                if lossy(n):
                    bad = n
                else:
                    lo = good = n
    except SetupError as e:
        progress(f"{n} calls could not be set up: {e}")
        return good, steps, f"{n} calls could not be set up ({e})"
    return good, steps, ""


# --------------------------------------------------------------------------- report

def delay(r: RunResult) -> str:
    if not r.report.get("delay_ms", {}).get("packets"):
        return "–"   # the relay renumbered the packets (a transcoder): no schedule to compare
    return f"{r.delay_p50_ms:.1f} / {r.delay_p99_ms:.1f}"


def table(rows: list[RunResult]) -> list[str]:
    out = ["| calls | streams | relay CPU % | CPU-µs per stream-second | CPU-µs per packet "
           "| loss % | delay p50 / p99 ms | max jitter ms | load tool CPU % "
           "| load tool CPU-µs per packet | other CPU % |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r.calls} | {2 * r.calls} | {r.relay_cpu_pct:.1f} | "
                   f"{r.cpu_us_per_stream_s:.1f} | {r.cpu_us_per_packet:.2f} | "
                   f"{r.loss_pct:.3f} | {delay(r)} | {r.max_jitter_ms:.2f} | "
                   f"{r.load_cpu_pct:.0f} | {r.load_cpu_us_per_packet:.2f} | "
                   f"{r.other_cpu_pct:.0f} |")
    notes = [f"{r.calls} calls ({r.mode}): {r.note}." for r in rows if r.note]
    behind = [f"{r.calls} calls {r.late_send_pct:.0f}% (max {r.send_lag_max_ms:.0f} ms)"
              for r in rows if r.late_send_pct > 1]
    if behind:
        notes.append("The load tool sent packets over 2 ms after their slot (share, max lag): "
                     + "; ".join(behind) + ".")
    if notes:
        out += ["", *notes]
    return out


def machine() -> str:
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}"


def markdown(args, relay: Relay, fixed: list[RunResult], knee_n: int | None,
             knee_steps: list[RunResult], knee_stop: str,
             transcode: list[RunResult] | str | None) -> str:
    md = [f"### Media relay: {relay.label}", "",
          f"{relay.version()}; {machine()}; RTP from centralita-rtp-load on the same machine "
          f"(127.0.0.1), 20 ms packets, {args.seconds} s per run, CPU from /proc over the "
          f"steady window (from {args.ramp:g} s after the start to {TAIL_MARGIN:g} s before "
          f"the end). A stream is one direction of one call: 50 packets/s.", "",
          f"Loss: packets not delivered {args.drain_ms} ms after the last send. Delay: from "
          f"the packet's scheduled send time to the kernel's receive stamp. Load tool "
          f"CPU-µs per packet: its CPU over packets sent + received. Other CPU %: the rest "
          f"of the machine's busy time in the window (other processes, softirq work charged "
          f"to neither); in core-% like the relay's.", "",
          f"    {shlex.join(sys.argv)}", ""]
    if fixed:
        md += ["#### Relayed streams (G.711 PCMA both sides)", "", *table(fixed), ""]
    if args.knee:
        md += ["#### Loss knee (highest N with ≤ 0.1% loss)", "", *table(knee_steps), ""]
        if knee_n is None:
            md.append(f"No N from {args.knee_start} up kept loss at or below 0.1%.")
        else:
            capped = all(r.loss_pct <= LOSS_LIMIT_PCT for r in knee_steps)
            why = (f" — the search stopped because {knee_stop}, not at a loss" if knee_stop
                   else f" — the search stopped at --knee-max {args.knee_max}, not at a loss"
                   if capped else "")
            md.append(f"Knee: **{knee_n} calls** ({2 * knee_n} streams, "
                      f"{2 * knee_n * PACKETS_PER_SECOND:,} packets/s relayed){why}")
            healthy = [r.calls for r in knee_steps
                       if r.loss_pct <= LOSS_LIMIT_PCT and r.delay_p99_ms <= KNEE_DELAY_MS]
            if healthy and max(healthy) < knee_n:
                md.append(f"With p99 delay ≤ {KNEE_DELAY_MS} ms as well: {max(healthy)} calls "
                          f"(the higher steps held their packets in queues).")
            at_knee = [r for r in knee_steps if r.calls == knee_n][-1]
            total = at_knee.relay_cpu_pct + at_knee.load_cpu_pct + at_knee.other_cpu_pct
            if total > 90 * (os.cpu_count() or 1):
                md.append(f"At the knee the machine was saturated: relay "
                          f"{at_knee.relay_cpu_pct:.0f}% + load tool {at_knee.load_cpu_pct:.0f}% "
                          f"+ other {at_knee.other_cpu_pct:.0f}% of {os.cpu_count()} CPUs; the "
                          f"relay on a machine of its own would go further.")
            if any(r.load_cpu_pct > 85 for r in knee_steps):
                md.append("Note: the load tool itself used more than 85% of a core in some "
                          "steps; there the knee is the pair's, not only the relay's.")
        md.append("")
    if transcode is not None:
        md += ["#### Transcoded streams (Opus caller side ⇄ PCMA callee side)", ""]
        if isinstance(transcode, str):
            md.append(f"Not measured: {transcode}")
        else:
            md += table(transcode)
            md.append("")
            md.append("Each call is two transcoded streams (Opus→PCMA and PCMA→Opus): the "
                      "per-stream figure is the average of the two directions.")
            edges = [r for r in transcode if r.lost and not r.report.get("lost_in_gaps")]
            if edges:
                md.append("Losses there are all at a stream's start or end (none between "
                          "the first and last packet delivered): the codec's delay, "
                          f"{', '.join(f'{r.lost} in {r.calls} calls' for r in edges)}.")
        md.append("")
    return "\n".join(md)


# --------------------------------------------------------------------------- main

def parse_calls(text: str) -> list[int]:
    try:
        calls = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    if any(c < 1 for c in calls):
        raise argparse.ArgumentTypeError("call counts must be positive")
    return calls


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peer", choices=["rtpengine", "centralita", "external"],
                   default="rtpengine")
    p.add_argument("--centralita", default=str(ROOT / "build" / "centralita"),
                   help="centralita binary (--peer centralita)")
    p.add_argument("--workers", type=int, help="centralita --workers (default: its own)")
    p.add_argument("--inband-dtmf", choices=["auto", "always", "never"], default="auto",
                   help="centralita's [media] inband_dtmf (default auto, the switch's own)")
    p.add_argument("--ng", help="external relay's ng address HOST:PORT")
    p.add_argument("--pid", type=int, help="external relay's pid (CPU is read from /proc/PID/stat)")
    p.add_argument("--label", help="external relay's name in the report")
    p.add_argument("--rtp-load", default=str(ROOT / "build" / "centralita-rtp-load"),
                   help="centralita-rtp-load binary")
    p.add_argument("--calls", type=parse_calls, default=[100, 500, 1000],
                   help="comma-separated call counts of the fixed runs (default 100,500,1000; "
                        "empty: none)")
    p.add_argument("--seconds", type=int, default=10, help="traffic per run (default 10)")
    p.add_argument("--ramp", type=float, default=1.5, help="seconds excluded after the start")
    p.add_argument("--drain-ms", type=int, default=500, help="load tool's wait for stragglers")
    p.add_argument("--threads", type=int, help="rtpengine --num-threads (default: CPUs)")
    p.add_argument("--ng-timeout", type=float, default=2.0, help="seconds per ng attempt")
    p.add_argument("--knee", action="store_true", help="search the loss knee")
    p.add_argument("--knee-start", type=int, default=250)
    p.add_argument("--knee-factor", type=float, default=1.5)
    p.add_argument("--knee-max", type=int, default=5000,
                   help="stop there (lowered to what the open-files limit and rtpengine's "
                        "port range allow)")
    p.add_argument("--knee-bisect", type=int, default=3, help="halvings between good and bad")
    p.add_argument("--knee-retries", type=int, default=2,
                   help="times a lossy step is run again when other processes were busy")
    p.add_argument("--transcode", action="store_true", help="also measure Opus<->PCMA transcoding")
    p.add_argument("--transcode-calls", type=parse_calls, default=[50, 100])
    p.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                   help="before each run, wait up to S seconds for a second in which the "
                        "machine is under 15%% busy (shared machines)")
    p.add_argument("--json", metavar="FILE", help="write every raw number as JSON")
    a = p.parse_args(argv)
    if a.peer == "external" and (not a.ng or not a.pid):
        p.error("--peer external needs --ng HOST:PORT and --pid PID")
    if a.seconds < 2 or a.seconds > 600:
        p.error("--seconds must be 2..600")
    if a.knee_factor <= 1.0:
        p.error("--knee-factor must be above 1")
    if not os.access(a.rtp_load, os.X_OK):
        p.error(f"{a.rtp_load} is not an executable (build the centralita-rtp-load target)")
    return a


def calls_limit() -> int:
    """The most calls this machine lets one run have: rtpengine holds 4 sockets a call
    and the load tool 2, both raise their open-files limit to the hard limit; the RTP
    port range below the kernel's ephemeral ports (10000-32000) holds 4 ports a call."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    by_fds = (hard - 256) // 4 if hard != resource.RLIM_INFINITY else 1 << 30
    return min(by_fds, (32000 - 10000 - 512) // 4)


def make_relay(a: argparse.Namespace) -> Relay:
    if a.peer == "external":
        return ExternalRelay(a.ng, a.pid, a.label)
    max_calls = max([*a.calls, *(a.transcode_calls if a.transcode else []),
                     a.knee_max if a.knee else 0, 1])
    if a.peer == "centralita":
        return CentralitaRelay(a.centralita, a.workers, max_calls, a.inband_dtmf)
    return RtpEngineRelay(a.threads, max_calls)


def main() -> int:
    a = parse_args()
    if a.peer == "rtpengine" and rtpengine_peer.rtpengine_binary() is None:
        print("rtpengine is not installed (Debian package rtpengine-daemon; .ci/install-deps)",
              file=sys.stderr)
        return 77
    limit = calls_limit()
    if a.knee and a.knee_max > limit:
        progress(f"--knee-max {a.knee_max} lowered to {limit} (open-files limit, port range)")
        a.knee_max = limit
    too_many = [n for n in [*a.calls, *(a.transcode_calls if a.transcode else [])] if n > limit]
    if too_many:
        print(f"calls {too_many} exceed what this machine allows ({limit}: open-files limit, "
              f"port range)", file=sys.stderr)
        return 2
    relay = make_relay(a)
    fixed: list[RunResult] = []
    knee_n, knee_steps, knee_stop = None, [], ""
    transcode: list[RunResult] | str | None = None
    relay.start()
    try:
        for n in a.calls:
            fixed.append(run_checked(a, relay, n, False, "fixed"))
        if a.knee:
            knee_n, knee_steps, knee_stop = knee(a, relay)
        if a.transcode:
            ok, why = relay.transcode_support()
            if not ok:
                transcode = f"{relay.name} cannot transcode Opus<->PCMA here ({why})"
            else:
                transcode = []
                try:
                    for n in a.transcode_calls:
                        transcode.append(run_checked(a, relay, n, True, "tc"))
                except SetupError as e:
                    transcode = f"{relay.name} did not set up a transcoded call: {e}"
            if isinstance(transcode, str):
                progress(transcode)
    finally:
        relay.stop()
    print(markdown(a, relay, fixed, knee_n, knee_steps, knee_stop, transcode))
    if a.json:
        data = {"relay": relay.name, "version": relay.version(), "machine": machine(),
                "command": sys.argv, "fixed": [asdict(r) for r in fixed],
                "knee": knee_n, "knee_stop": knee_stop,
                "knee_steps": [asdict(r) for r in knee_steps],
                "transcode": transcode if isinstance(transcode, str)
                else [asdict(r) for r in transcode or []]}
        Path(a.json).write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
