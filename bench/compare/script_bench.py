#!/usr/bin/env python3
"""Routing-script benchmark (issue 4, point 6): what Lua routing costs and how far
suspended routings scale. Three phases, each on fresh targets started for it:

  routing   default.lua against the built-in C++ routing it reproduces, in the same run:
            proxied calls (INVITE/100/180/200/ACK/BYE/200, zero hold time, sipp UAC through
            the switch to a sipp UAS registered as bob) and REGISTER without auth, at fixed
            rates (--call-rates/--reg-rates, --count per run), interleaved A, B, A, B,
            --repeats times, medians. Kamailio 5.6 runs the same flows as the peer reference
            (--no-kamailio to leave it out). CPU per flow from /proc (utime+stime ticks and
            schedstat ns of the target's process tree) sampled around each sipp run.
  waits     the switch runs bench/scripts/wait-bench.lua. --waits INVITEs (one per user
            w1..wN, none registered, plain UDP from this script, no retransmissions) each
            suspend in events.wait("REGISTER", {aor = ...}). Measured: PSS before and after
            (bytes per suspended routing), and the switch's other traffic with and without the
            waits, same process: OPTIONS to the switch at --options-rate and REGISTER of new
            users at --reg-load-rate (each of those REGISTERs is matched against every wait's
            filter by the bus), achieved rate, failures and CPU per request.
  latency   with the waits in place and a REGISTER background load (--reg-load-rate, sipp),
            --latency-samples of the waiting users register from a UDP socket that is also
            their Contact: the time from sending the REGISTER to receiving the relayed INVITE
            on that socket (so it includes two loopback hops and the REGISTER's own
            processing), p50/p90/p99/max.

Results go to stdout as markdown (for docs/benchmarks.md) and to --json.

    bench/compare/script_bench.py --centralita build/centralita
    bench/compare/script_bench.py --phases waits,latency --waits 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "test" / "integration" / "lib"))

import options_bench as ob  # noqa: E402
import sip_core_bench as scb  # noqa: E402
from centralita_test import HOST, free_port  # noqa: E402
from sip_core import SippUas, register_udp, status_of  # noqa: E402
from sipp import run_sipp  # noqa: E402

SCENARIOS = ROOT / "bench" / "scenarios"
OPTIONS_SCENARIO = ROOT / "test" / "integration" / "scenarios" / "options_uac.xml"
WAIT_SCRIPT = ROOT / "bench" / "scripts" / "wait-bench.lua"


class CentralitaScripted(ob.Target):
    """centralita with a given --script ("builtin": the C++ routing)."""

    def __init__(self, binary: str, workers: int, script: str, name: str) -> None:
        self.name = name
        super().__init__()
        cfg = self.tmp / "bench.toml"
        cfg.write_text(f'[http]\nlisten = "{HOST}:{free_port()}"\n[events]\nheartbeat_interval = 0\n')
        self.args = [binary, "--config", str(cfg), "--listen", f"udp:{HOST}:{self.port}", "--http", "off",
                     "--workers", str(workers), "--log-level", "info",
                     "--data-dir", str(self.tmp / "data"), "--script", script]


def default_script() -> str:
    return str(ROOT / "scripts" / "default.lua")


# --------------------------------------------------------------------------- routing

def phase_routing(args, out: dict, md: list[str]) -> None:
    binary = str(Path(args.centralita).resolve())
    targets: list[ob.Target] = [CentralitaScripted(binary, args.workers, default_script(), "default.lua"),
                                CentralitaScripted(binary, args.workers, "builtin", "built-in")]
    if not args.no_kamailio:
        targets.append(scb.Kamailio(args.kamailio, args.kamailio_children, False, 256))
    uases: list[SippUas] = []
    try:
        for t in targets:
            t.start()
        total = 500 + args.count * len(args.call_rates) * args.repeats
        for t in targets:
            uas = SippUas(str(SCENARIOS / "call_uas.xml"), calls=total, timeout_s=1200,
                          extra=["-nr", "-buff_size", str(ob.SIPP_BUFFER), "-max_recv_loops", "10000",
                                 "-max_sched_loops", "10000"])
            i = uas.cmd.index("-trace_msg")
            del uas.cmd[i:i + 3]
            uas.start()
            uases.append(uas)
            sent, answer = register_udp(t.port, "bob", uas.contact, expires=3600)
            if status_of(answer) != 200:
                raise RuntimeError(f"{t.name}: REGISTER of bob failed: {answer!r}")
            scb.sipp_run("call-warm", t, "call_uac.xml", 100, 500, 0, args.limit, [], service="bob")
            scb.sipp_run("reg-warm", t, "register_noauth.xml", 500, 1000, 0, args.limit,
                         ["-key", "expires", "600"])
        names = [t.name for t in targets]
        calls = scb.fixed_rates("call", targets, "call_uac.xml", args.call_rates, args.count,
                                args.repeats, args.limit, [], service="bob")
        regs = scb.fixed_rates("reg", targets, "register_noauth.xml", args.reg_rates, args.count,
                               args.repeats, args.limit, ["-key", "expires", "600"])
    finally:
        for u in uases:
            u.stop()
            u.cleanup()
        for t in targets:
            print(f"# {t.name} stopped, exit {t.stop()}", file=sys.stderr, flush=True)
    md += ["#### default.lua against the built-in routing (and Kamailio)", "",
           "Proxied calls:", "", scb.fixed_table(calls, names, "call"), "",
           "REGISTER without auth:", "", scb.fixed_table(regs, names, "REGISTER"), ""]
    ratio_rows = ["| flow | rate | default.lua CPU-µs | built-in CPU-µs | default.lua / built-in |",
                  "|---|---:|---:|---:|---:|"]
    for label, runs, rates in (("call", calls, args.call_rates), ("REGISTER", regs, args.reg_rates)):
        for rate in rates:
            a = scb.median([r.cpu_us_sched for r in runs if r.target == "default.lua" and r.rate == rate and r.cpu_us_sched])
            b = scb.median([r.cpu_us_sched for r in runs if r.target == "built-in" and r.rate == rate and r.cpu_us_sched])
            ratio_rows.append(f"| {label} | {rate}/s | {ob.fmt(a)} | {ob.fmt(b)} | "
                              f"{(a / b if a and b else float('nan')):.2f} |")
    md += ["CPU per flow (schedstat, medians):", "", *ratio_rows, ""]
    out["routing"] = {"calls": [asdict(r) for r in calls], "register": [asdict(r) for r in regs]}


# --------------------------------------------------------------------------- waits

def invite_bytes(port: int, user: str, local_port: int) -> bytes:
    cid = uuid.uuid4().hex
    return (f"INVITE sip:{user}@{HOST}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {HOST}:{local_port};branch=z9hG4bK{cid[:16]};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:caller@{HOST}>;tag={cid[16:24]}\r\n"
            f"To: <sip:{user}@{HOST}>\r\n"
            f"Call-ID: {cid}@bench\r\n"
            f"CSeq: 1 INVITE\r\n"
            f"Contact: <sip:caller@{HOST}:{local_port}>\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


class Counter:
    """Counts (and classifies) the datagrams a socket receives, in a thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.trying = 0
        self.finals = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if data.startswith(b"SIP/2.0 100"):
                self.trying += 1
            elif data.startswith(b"SIP/2.0 "):
                self.finals += 1


def inject_waits(t: ob.Target, n: int, rate: int) -> tuple[int, int, float]:
    """Sends n INVITEs for w1..wn at about rate/s; returns (100 Trying received, finals, seconds)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    c = Counter(s)
    t0 = time.monotonic()
    batch = max(1, rate // 100)
    for i in range(1, n + 1):
        s.sendto(invite_bytes(t.port, f"w{i}", port), (HOST, t.port))
        if i % batch == 0:
            ahead = t0 + i / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and c.trying + c.finals < n:
        time.sleep(0.1)
    elapsed = time.monotonic() - t0
    c.stop = True
    c.t.join(1)
    s.close()
    return c.trying, c.finals, elapsed


def load_runs(t: ob.Target, args, label: str) -> list[scb.Run]:
    runs = []
    for rep in range(1, args.repeats + 1):
        runs.append(options_run(t, args.options_rate, args.options_count, f"options-{label}", rep))
        runs.append(scb.sipp_run(f"reg-{label}", t, "register_noauth.xml", args.reg_load_rate,
                                 args.reg_load_count, rep, args.limit, ["-key", "expires", "600"]))
    return runs


def options_run(t: ob.Target, rate: int, count: int, phase: str, rep: int) -> scb.Run:
    # sip_core_bench's sipp_run takes scenarios from bench/scenarios; OPTIONS lives with the
    # integration scenarios: same measurement, scenario path given directly.
    saved = scb.SCENARIOS
    scb.SCENARIOS = OPTIONS_SCENARIO.parent
    try:
        return scb.sipp_run(phase, t, OPTIONS_SCENARIO.name, rate, count, rep, 200, [])
    finally:
        scb.SCENARIOS = saved


def switch_status(t: ob.Target, timeout: float = 5.0) -> dict[str, int]:
    """The switch's gauges: SIGUSR1 makes it log one "status:" line."""
    before = t.tail(100000).count("status: ")
    t.proc.send_signal(10)  # SIGUSR1
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [ln for ln in t.tail(100000).splitlines() if "status: " in ln]
        if len(lines) > before:
            return {k: int(v) for k, v in (kv.split("=") for kv in lines[-1].split("status: ")[1].split())}
        time.sleep(0.05)
    return {}


def phase_waits(args, out: dict, md: list[str], keep: list) -> ob.Target:
    binary = str(Path(args.centralita).resolve())
    t = CentralitaScripted(binary, args.workers, args.wait_script, "centralita")
    t.start()
    time.sleep(1.0)
    before_runs = load_runs(t, args, "no-waits")
    time.sleep(12.0)          # malloc_trim runs every 10 s: settle before the baseline
    p0, _ = scb.pss_bytes(t.proc.pid)
    s0 = switch_status(t)
    trying, finals, secs = inject_waits(t, args.waits, args.inject_rate)
    print(f"# waits: {args.waits} INVITEs sent in {secs:.1f} s: {trying} x 100 Trying, {finals} finals",
          file=sys.stderr, flush=True)
    time.sleep(12.0)
    p1, _ = scb.pss_bytes(t.proc.pid)
    s1 = switch_status(t)
    per_wait = (p1 - p0) / trying if trying else float("nan")
    heap_per_wait = ((s1.get("heap_in_use", 0) - s0.get("heap_in_use", 0)) / trying
                     if trying and s0 and s1 else float("nan"))
    lua_per_wait = ((s1.get("lua_bytes", 0) - s0.get("lua_bytes", 0)) / trying
                    if trying and s0 and s1 else float("nan"))
    print(f"# waits: heap in use +{heap_per_wait:.0f} bytes per wait, of which Lua {lua_per_wait:.0f}; "
          f"status {s1}", file=sys.stderr, flush=True)
    print(f"# waits: PSS {p0 / 2**20:.1f} -> {p1 / 2**20:.1f} MiB: {per_wait:.0f} bytes per suspended routing",
          file=sys.stderr, flush=True)
    after_runs = load_runs(t, args, "waits")
    scb.check_alive(t)
    rows = ["| | requests | OK | failed | achieved /s | CPU-µs per request (schedstat) | wake-ups per request |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for label, runs in (("without waits", before_runs), (f"with {trying:,} waits", after_runs)):
        for kind in ("options", "reg"):
            rs = [r for r in runs if r.phase.startswith(kind)]
            rate = scb.median([r.achieved_rate for r in rs])
            rows.append(f"| {'OPTIONS' if kind == 'options' else 'REGISTER'} {label} | "
                        f"{sum(r.calls for r in rs)} | {sum(r.successful for r in rs)} | "
                        f"{sum(r.failed for r in rs)} | {ob.fmt(rate, 0)} | "
                        f"{ob.fmt(scb.median([r.cpu_us_sched for r in rs]))} | "
                        f"{ob.fmt(scb.median([r.wakeups_per_flow for r in rs]), 2)} |")
    md += [f"#### {args.waits:,} suspended routings (events.wait on REGISTER aor=w<i>)", "",
           f"INVITEs sent at {args.inject_rate}/s: {trying} got 100 Trying, {finals} a final response "
           f"(there should be none); PSS {p0 / 2**20:.1f} MiB before, {p1 / 2**20:.1f} MiB with the "
           f"waits: **{per_wait:,.0f} bytes of PSS per suspended routing**; the heap in use (glibc's "
           f"count of live allocations, which PSS exceeds by what fragmentation keeps) grew "
           f"**{heap_per_wait:,.0f} bytes per suspended routing**, of which the Lua state "
           f"(coroutine, request object, filter table) {lua_per_wait:,.0f}; the rest is the script "
           f"run's bookkeeping, the request kept as bytes, the bus subscription, the call table "
           f"entry and the hibernated INVITE transaction.", "",
           f"Other traffic in the same process, {args.repeats} run(s) each: OPTIONS at "
           f"{args.options_rate}/s, REGISTER of new users at {args.reg_load_rate}/s (medians of the "
           f"achieved rates and CPU):", "", *rows, ""]
    out["waits"] = {"sent": args.waits, "trying": trying, "finals": finals, "pss_before": p0,
                    "pss_after": p1, "bytes_per_wait": per_wait, "heap_per_wait": heap_per_wait,
                    "lua_per_wait": lua_per_wait, "status_before": s0, "status_after": s1,
                    "runs": [asdict(r) for r in before_runs + after_runs]}
    keep.append(t)
    return t


# --------------------------------------------------------------------------- latency

def phase_latency(args, t: ob.Target, out: dict, md: list[str]) -> None:
    """Waiting users w1..wK register; time until their INVITE arrives at the contact."""
    stop = threading.Event()
    load: dict = {}

    def background() -> None:
        count = int(args.reg_load_rate * (args.latency_samples * args.latency_gap + 10))
        load["run"] = scb.sipp_run("reg-load", t, "register_noauth.xml", args.reg_load_rate, count, 1,
                                   args.limit, ["-key", "expires", "600"])

    bg = threading.Thread(target=background, daemon=True)
    bg.start()
    time.sleep(2.0)
    samples: list[float] = []
    misses = 0
    for i in range(1, args.latency_samples + 1):
        user = f"w{i}"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((HOST, 0))
        port = s.getsockname()[1]
        s.settimeout(5)
        reg = (f"REGISTER sip:{HOST}:{t.port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {HOST}:{port};branch=z9hG4bK{uuid.uuid4().hex[:16]};rport\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:{user}@{HOST}>;tag=l{i}\r\nTo: <sip:{user}@{HOST}>\r\n"
               f"Call-ID: {uuid.uuid4().hex}@lat\r\nCSeq: 1 REGISTER\r\n"
               f"Contact: <sip:{user}@{HOST}:{port}>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n").encode()
        t0 = time.perf_counter()
        s.sendto(reg, (HOST, t.port))
        got = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                break
            if data.startswith(b"INVITE "):
                got = time.perf_counter() - t0
                # End the relayed transaction: 486 back to the switch (its ACK is absorbed).
                head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
                keep = [h for h in head[1:] if h.split(b":", 1)[0].strip().lower()
                        in (b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq")]
                keep = [h + b";tag=b" if h.lower().startswith((b"to:", b"t:")) else h for h in keep]
                s.sendto(b"SIP/2.0 486 Busy Here\r\n" + b"\r\n".join(keep)
                         + b"\r\nContent-Length: 0\r\n\r\n", addr)
                break
        s.close()
        if got is None:
            misses += 1
        else:
            samples.append(got * 1e3)
        time.sleep(args.latency_gap)
    bg.join(args.latency_samples * args.latency_gap + 60)
    samples.sort()

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(p / 100 * len(samples)))] if samples else float("nan")

    run = load.get("run")
    md += [f"#### Wake-up latency (REGISTER sent → relayed INVITE received, loopback)", "",
           f"{len(samples)} samples ({misses} without an INVITE within 5 s), with the waits above in "
           f"place and a REGISTER load of {args.reg_load_rate}/s "
           f"({run.successful if run else '?'} of {run.calls if run else '?'} OK, "
           f"{ob.fmt(run.achieved_rate if run else None, 0)}/s achieved):", "",
           "| p50 | p90 | p99 | max |", "|---:|---:|---:|---:|",
           f"| {pct(50):.2f} ms | {pct(90):.2f} ms | {pct(99):.2f} ms | {samples[-1] if samples else float('nan'):.2f} ms |", ""]
    out["latency"] = {"samples_ms": samples, "misses": misses,
                      "load": asdict(run) if run else None}


# --------------------------------------------------------------------------- main

def ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--centralita", default=str(ROOT / "build" / "centralita"))
    p.add_argument("--kamailio", default=shutil_which("kamailio") or "/usr/sbin/kamailio")
    p.add_argument("--no-kamailio", action="store_true")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--kamailio-children", type=int, default=2)
    p.add_argument("--phases", default="routing,waits,latency")
    p.add_argument("--call-rates", type=ints, default=[200, 500])
    p.add_argument("--reg-rates", type=ints, default=[1000])
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--limit", type=int, default=2000)
    p.add_argument("--waits", type=int, default=100000)
    p.add_argument("--inject-rate", type=int, default=4000)
    p.add_argument("--options-rate", type=int, default=5000)
    p.add_argument("--options-count", type=int, default=25000)
    p.add_argument("--reg-load-rate", type=int, default=1000)
    p.add_argument("--reg-load-count", type=int, default=5000)
    p.add_argument("--latency-samples", type=int, default=300)
    p.add_argument("--latency-gap", type=float, default=0.02)
    p.add_argument("--wait-script", default=str(WAIT_SCRIPT),
                   help="the routing script of the waits phase (default bench/scripts/wait-bench.lua)")
    p.add_argument("--json", default=None)
    return p.parse_args()


def shutil_which(name: str) -> str | None:
    import shutil
    return shutil.which(name)


def main() -> int:
    args = parse_args()
    phases = args.phases.split(",")
    out: dict = {"machine": platform.node(), "cpus": os.cpu_count(), "args": vars(args)}
    md: list[str] = []
    keep: list[ob.Target] = []
    try:
        if "routing" in phases:
            phase_routing(args, out, md)
        if "waits" in phases or "latency" in phases:
            t = phase_waits(args, out, md, keep)
            if "latency" in phases:
                phase_latency(args, t, out, md)
    finally:
        for t in keep:
            if t.proc is not None and t.proc.poll() is None:
                t.proc.send_signal(15)
                try:
                    t.proc.wait(20)
                except subprocess.TimeoutExpired:
                    pass
            status = [ln for ln in t.tail(200).splitlines() if "shutting down (" in ln]
            if status:
                print(f"# {t.name} at the end: {status[-1]}", file=sys.stderr, flush=True)
                md += [f"Gauges when it stopped: `{status[-1].split('shutting down (')[1].rstrip(')')}`", ""]
            print(f"# {t.name} stopped, exit {t.stop()}", file=sys.stderr, flush=True)
    print("\n".join(md))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
