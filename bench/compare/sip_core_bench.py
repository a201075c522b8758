#!/usr/bin/env python3
"""SIP core benchmark: REGISTER and proxied calls, centralita against Kamailio 5.6, in one run.

Three measurements (issue 3, point 8), each on fresh targets started for it:

  register  REGISTER of unique users over UDP, without auth and with MD5 digest auth
            (REGISTER -> 401 -> REGISTER with credentials -> 200), at fixed rates
            (--reg-rates, --reg-count per run, interleaved A, B, A, B, --repeats times,
            medians), then a knee search (--reg-knee rates, --knee-seconds of traffic
            per step, stopped for a target once failures exceed 0.1%).
  calls     proxied calls INVITE/100/180/200/ACK/BYE/200 from a sipp UAC through the
            target to a sipp UAS registered as the contact of bob, zero hold time,
            at fixed rates (--call-rates, --call-count) and a knee search (--call-knee).
  memory    PSS of the target (sum of Pss in /proc/<pid>/smaps_rollup over its process
            tree) before and after registering --mem-bindings unique users (no auth,
            Expires 3600): bytes per binding = dPSS / successful registrations.

CPU per registration / per call = d(utime+stime) of the target's process tree (ticks,
/proc/<pid>/stat) and d(per-thread schedstat ns), divided by successful calls, sampled
when sipp starts and after it exits: the same method as options_bench.py, whose helpers
(targets, /proc sampling) this script imports. sipp runs with -nr (no retransmissions):
a lost message fails the call instead of adding traffic.

    bench/compare/sip_core_bench.py --centralita build/centralita
    bench/compare/sip_core_bench.py --phases calls --call-rates 200 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "test" / "integration" / "lib"))

import options_bench as ob  # noqa: E402  (targets, /proc sampling, formatting)
from centralita_test import HOST, free_port  # noqa: E402
from sip_core import SippUas, register_udp, status_of  # noqa: E402
from sipp import run_sipp, sipp_binary  # noqa: E402

SCENARIOS = ROOT / "bench" / "scenarios"
KAMAILIO_CFG = ROOT / "bench" / "peers" / "kamailio-registrar.cfg"
KAMAILIO_AUTH_USERS = 100000       # AUTH_USERS in kamailio-registrar.cfg: users b1..bN, password pN
SIPP_BUFFER = ob.SIPP_BUFFER
FAIL_LIMIT = 0.001                 # knee: highest rate with under 0.1% failures


# --------------------------------------------------------------------------- targets

class Centralita(ob.Target):
    name = "centralita"

    def __init__(self, binary: str, workers: int, users: Path | None, algorithms: list[str]) -> None:
        super().__init__()
        cfg = self.tmp / "bench.toml"
        algos = ", ".join(f'"{a}"' for a in algorithms)
        cfg.write_text(f'[auth]\nalgorithms = [{algos}]\n[http]\nlisten = "{HOST}:{free_port()}"\n')
        self.args = [binary, "--config", str(cfg), "--listen", f"udp:{HOST}:{self.port}", "--http", "off",
                     "--workers", str(workers), "--log-level", "warn",
                     "--data-dir", str(self.tmp / "data")]
        if users is not None:
            self.args += ["--users", str(users)]


class Kamailio(ob.Target):
    name = "kamailio"

    def __init__(self, binary: str, children: int, auth: bool, shm_mb: int) -> None:
        super().__init__()
        self.args = [binary, "-f", str(KAMAILIO_CFG), "-DD", "-E", "-L", ob.KAMAILIO_MODULES,
                     "-Y", str(self.tmp), "-l", f"udp:{HOST}:{self.port}", "-n", str(children),
                     "-m", str(shm_mb), "-M", "16"]
        if auth:
            self.args[3:3] = ["-A", "WITH_AUTH"]


def pss_bytes(root: int) -> tuple[int, int]:
    """(sum of Pss, sum of Rss) in bytes over root's process tree (smaps_rollup)."""
    pss = rss = 0
    for pid in ob.process_tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return pss, rss


# --------------------------------------------------------------------------- runs

@dataclass
class Run:
    phase: str
    target: str
    rate: int
    repeat: int
    calls: int
    successful: int
    failed: int
    failed_detail: dict
    sipp_exit: int | None
    achieved_rate: float
    cpu_us: float | None            # per successful call (stat)
    cpu_us_sched: float | None      # per successful call (schedstat)
    wakeups_per_flow: float | None  # timeslices run by the target per successful flow (schedstat)
    sipp_cpu_us_per_call: float | None
    sipp_cpu_percent: float         # of one core, over the sipp run's wall time
    udp_rcvbuf_errors: int
    extra: dict = field(default_factory=dict)

    @property
    def fail_ratio(self) -> float:
        return 1.0 - self.successful / self.calls if self.calls else 1.0


_run_no = [0]
_per_thread = [False]                 # --per-thread: CPU and wake-ups of every target thread
_jsonl: list[str | None] = [None]     # --jsonl FILE: every run appended as soon as it ends


def sipp_run(phase: str, target: ob.Target, scenario: str, rate: int, count: int, repeat: int,
             limit: int, extra: list[str], service: str | None = None) -> Run:
    before: dict[str, ob.CpuSample] = {}
    threads_before: dict[str, tuple[int, int]] = {}
    sipp_cpu0 = ob.children_cpu_s()
    drops0 = ob.udp_rcvbuf_errors()
    budget = int(count / rate * 2) + 15
    _run_no[0] += 1
    if isinstance(extra, dict):          # per target (auth: each target its own user slices)
        extra = extra[target.name]
    if callable(extra):
        extra = extra(count)
    args = ["-buff_size", str(SIPP_BUFFER), "-key", "run", f"r{os.getpid()}n{_run_no[0]}", *extra]
    if service:
        args += ["-s", service]
    r = run_sipp(SCENARIOS / scenario, target.port, transport="u1", calls=count, rate=rate,
                 limit=limit, global_timeout_s=budget, recv_timeout_ms=2000, no_retrans=True,
                 extra=args, on_start=lambda _p: (before.setdefault("cpu", ob.sample_cpu(target.proc.pid)),
                                                  threads_before.update(ob.thread_schedstats(target.proc.pid))))
    after = ob.sample_cpu(target.proc.pid)
    if _per_thread[0] and r.successful:
        for name, (ns, sl) in sorted(ob.thread_schedstats(target.proc.pid).items()):
            ns0, sl0 = threads_before.get(name, (0, 0))
            print(f"#     {target.name} thread {name:24s} {(ns - ns0) / 1e3 / r.successful:8.1f} µs/flow "
                  f"{(sl - sl0) / r.successful:6.2f} wake-ups/flow", file=sys.stderr)
    sipp_cpu = ob.children_cpu_s() - sipp_cpu0
    b = before["cpu"]
    ok = r.successful
    elapsed = r.active_s if r.active_s > 0 else r.elapsed_s
    run = Run(phase=phase, target=target.name, rate=rate, repeat=repeat, calls=count, successful=ok,
              failed=r.failed, failed_detail=r.failed_detail, sipp_exit=r.exit_code,
              achieved_rate=ok / elapsed if elapsed > 0 else 0.0,
              cpu_us=(after.ticks - b.ticks) * 1e6 / ob.CLK_TCK / ok if ok else None,
              cpu_us_sched=(after.sched_ns - b.sched_ns) / 1e3 / ok if ok and after.sched_ns else None,
              wakeups_per_flow=(after.slices - b.slices) / ok if ok and after.slices else None,
              sipp_cpu_us_per_call=sipp_cpu * 1e6 / max(r.created, 1),
              sipp_cpu_percent=100.0 * sipp_cpu / r.elapsed_s if r.elapsed_s > 0 else 0.0,
              udp_rcvbuf_errors=ob.udp_rcvbuf_errors() - drops0)
    if _jsonl[0]:
        with open(_jsonl[0], "a") as f:
            f.write(json.dumps(asdict(run)) + "\n")
    print(f"# {phase:14s} {target.name:10s} rate {rate:6d} #{repeat}: {ok}/{count} ok, {r.failed} failed, "
          f"{run.achieved_rate:7.0f}/s, {ob.fmt(run.cpu_us)} µs (stat), {ob.fmt(run.cpu_us_sched)} µs "
          f"(schedstat), {ob.fmt(run.wakeups_per_flow)} wake-ups/flow, sipp {ob.fmt(run.sipp_cpu_us_per_call)} µs/call {run.sipp_cpu_percent:.0f}% core, "
          f"RcvbufErrors +{run.udp_rcvbuf_errors}", file=sys.stderr, flush=True)
    if r.failed or r.exit_code not in (0, 1) or ok < count:
        print(f"#   sipp: {shlex.join(r.command)}\n#   " + r.output_tail[-3000:].replace("\n", "\n#   "),
              file=sys.stderr, flush=True)
    return run


def fixed_rates(phase: str, targets: list[ob.Target], scenario: str, rates: list[int], count: int,
                repeats: int, limit: int, extra: list[str], service: str | None = None) -> list[Run]:
    runs = []
    for rate in rates:
        for repeat in range(1, repeats + 1):
            for t in targets:                       # interleaved: A, B, A, B, ...
                check_alive(t)
                runs.append(sipp_run(phase, t, scenario, rate, count, repeat, limit, extra, service))
    return runs


def knee(phase: str, targets: list[ob.Target], scenario: str, rates: list[int], seconds: float,
         max_count: int, limit: int, extra: list[str], service: str | None = None) -> list[Run]:
    """Steps the rate up; a target leaves the search after its first step over FAIL_LIMIT."""
    runs, active = [], list(targets)
    for rate in rates:
        for t in list(active):
            check_alive(t)
            count = max(1000, min(max_count, int(rate * seconds)))
            run = sipp_run(phase + "-knee", t, scenario, rate, count, 1, limit, extra, service)
            runs.append(run)
            if run.fail_ratio > FAIL_LIMIT or run.achieved_rate < 0.9 * rate:
                active.remove(t)
        if not active:
            break
    return runs


def check_alive(t: ob.Target) -> None:
    if not t.alive():
        raise RuntimeError(f"{t.name} died:\n{t.tail()}")


# --------------------------------------------------------------------------- report

def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fixed_table(runs: list[Run], names: list[str], unit: str) -> str:
    rates = sorted({r.rate for r in runs})
    lines = [f"| target | offered rate (/s) | {unit}s per run | successful (median) | failed (all runs) "
             f"| achieved (/s) | CPU µs/{unit} (stat) | CPU µs/{unit} (schedstat) | sipp CPU µs/{unit} |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ratio_lines = [f"| offered rate (/s) | centralita / kamailio CPU per {unit} (schedstat medians) |",
                   "|---:|---:|"]
    for rate in rates:
        med = {}
        for name in names:
            rs = [r for r in runs if r.target == name and r.rate == rate]
            if not rs:
                continue
            med[name] = median([r.cpu_us_sched for r in rs]) or median([r.cpu_us for r in rs])
            lines.append(f"| {name} | {rate} | {rs[0].calls} | {median([r.successful for r in rs]):.0f} "
                         f"| {sum(r.failed + (r.calls - r.successful - r.failed) for r in rs)} "
                         f"| {ob.fmt(median([r.achieved_rate for r in rs]), 0)} "
                         f"| {ob.fmt(median([r.cpu_us for r in rs]))} | {ob.fmt(median([r.cpu_us_sched for r in rs]))} "
                         f"| {ob.fmt(median([r.sipp_cpu_us_per_call for r in rs]))} |")
        a, b = med.get("centralita"), med.get("kamailio")
        ratio_lines.append(f"| {rate} | {ob.fmt(a / b if a and b else None, 2)} |")
    out = "\n".join(lines)
    if "centralita" in names and "kamailio" in names:
        out += "\n\n" + "\n".join(ratio_lines)
    return out


def knee_table(runs: list[Run], names: list[str], unit: str) -> str:
    lines = [f"| target | offered rate (/s) | {unit}s | successful | failed % | achieved (/s) "
             f"| CPU µs/{unit} (schedstat) | sipp CPU % of a core | UDP RcvbufErrors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        for r in [r for r in runs if r.target == name]:
            lines.append(f"| {name} | {r.rate} | {r.calls} | {r.successful} | {100 * r.fail_ratio:.2f} "
                         f"| {r.achieved_rate:.0f} | {ob.fmt(r.cpu_us_sched)} | {r.sipp_cpu_percent:.0f} "
                         f"| {r.udp_rcvbuf_errors} |")
    best = []
    for name in names:
        good = [r.rate for r in runs if r.target == name and r.fail_ratio <= FAIL_LIMIT
                and r.achieved_rate >= 0.9 * r.rate]
        best.append(f"{name} {max(good) if good else 'none'}/s")
    return "\n".join(lines) + "\n\nHighest offered rate with under 0.1% failures: " + ", ".join(best)


# --------------------------------------------------------------------------- phases

def write_users(tmp: Path, n: int) -> Path:
    """users b1..bN, password pN: centralita's --users file (Kamailio fills its htable alike)."""
    users = tmp / "users.txt"
    users.write_text("".join(f"b{i}@{HOST} p{i}\n" for i in range(1, n + 1)))
    return users


class UserSlices:
    """Every auth run gets its own injection file with the next `count` users of b1..bN, so
    that each REGISTER is a new binding of a user not registered before (wrapping around
    after N, by which point earlier bindings are refreshed instead)."""

    def __init__(self, tmp: Path, n: int) -> None:
        self.tmp, self.n, self.next, self.files = tmp, n, 1, 0

    def __call__(self, count: int) -> list[str]:
        self.files += 1
        path = self.tmp / f"users-{self.files}.csv"
        lines = []
        for _ in range(count):
            i = self.next
            self.next = self.next % self.n + 1
            lines.append(f"b{i};[authentication username=b{i} password=p{i}]\n")
        path.write_text("SEQUENTIAL\n" + "".join(lines))
        return ["-key", "expires", "600", "-inf", str(path)]


def start_targets(args, *, auth: bool, users: Path | None, shm_mb: int = 256) -> list[ob.Target]:
    targets: list[ob.Target] = []
    if args.only != "kamailio":
        targets.append(Centralita(str(Path(args.centralita).resolve()), args.workers,
                                  users if auth else None, args.algorithms.split(",")))
    if args.only != "centralita":
        targets.append(Kamailio(args.kamailio, args.kamailio_children, auth, shm_mb))
    return targets


def phase_register(args, tmp: Path, out: dict, md: list[str]) -> None:
    users = write_users(tmp, KAMAILIO_AUTH_USERS)
    for auth in [m == "auth" for m in args.reg_modes.split(",")]:
        mode = "auth" if auth else "noauth"
        scenario = "register_auth.xml" if auth else "register_noauth.xml"
        targets = start_targets(args, auth=auth, users=users)
        slices = {t.name: UserSlices(tmp, KAMAILIO_AUTH_USERS) for t in targets}
        extra = slices if auth else ["-key", "expires", "600"]
        try:
            for t in targets:
                t.start()
            for t in targets:                      # warm-up
                sipp_run(f"reg-{mode}-warm", t, scenario, 500, 1000, 0, args.limit, extra)
            names = [t.name for t in targets]
            runs = fixed_rates(f"reg-{mode}", targets, scenario, args.reg_rates, args.reg_count,
                               args.repeats, args.limit, extra)
            kr = knee(f"reg-{mode}", targets, scenario, args.reg_knee, args.knee_seconds,
                      KAMAILIO_AUTH_USERS if auth else 40000, args.limit, extra)
        finally:
            for t in targets:
                print(f"# {t.name} stopped, exit {t.stop()}", file=sys.stderr, flush=True)
        title = "with MD5 digest auth (REGISTER, 401, REGISTER, 200)" if auth else "without auth"
        md += [f"#### REGISTER {title}", "", fixed_table(runs, names, "registration"), "",
               f"Knee search ({args.knee_seconds:g} s of traffic per step):", "",
               knee_table(kr, names, "registration"), ""]
        out[f"register_{mode}"] = [asdict(r) for r in runs + kr]


def phase_calls(args, tmp: Path, out: dict, md: list[str]) -> None:
    targets = start_targets(args, auth=False, users=None)
    uases: list[SippUas] = []
    try:
        for t in targets:
            t.start()
        total = 500 + args.call_count * len(args.call_rates) * args.repeats + \
            sum(max(1000, min(40000, int(r * args.knee_seconds))) for r in args.call_knee)
        for t in targets:
            uas = SippUas(str(SCENARIOS / "call_uas.xml"), calls=total, timeout_s=1200,
                          extra=["-nr", "-buff_size", str(SIPP_BUFFER), "-max_recv_loops", "10000",
                                 "-max_sched_loops", "10000"])
            # No message trace under load: drop SippUas's -trace_msg and its file.
            i = uas.cmd.index("-trace_msg")
            del uas.cmd[i:i + 3]
            uas.start()
            uases.append(uas)
            sent, answer = register_udp(t.port, "bob", uas.contact, expires=3600)
            if status_of(answer) != 200:
                raise RuntimeError(f"{t.name}: REGISTER of bob -> {uas.contact} failed:\n"
                                   f"sent:\n{sent.decode()}\nanswer:\n{(answer or b'(none)').decode('utf-8', 'replace')}")
            sipp_run("call-warm", t, "call_uac.xml", 100, 500, 0, args.limit, [], service="bob")
        names = [t.name for t in targets]
        runs = fixed_rates("call", targets, "call_uac.xml", args.call_rates, args.call_count,
                           args.repeats, args.limit, [], service="bob")
        kr = knee("call", targets, "call_uac.xml", args.call_knee, args.knee_seconds, 40000,
                  args.limit, [], service="bob")
    finally:
        for u in uases:
            u.stop()
            u.cleanup()
        for t in targets:
            print(f"# {t.name} stopped, exit {t.stop()}", file=sys.stderr, flush=True)
    md += ["#### Proxied calls (INVITE/100/180/200/ACK/BYE/200, zero hold time)", "",
           fixed_table(runs, names, "call"), "",
           f"Knee search ({args.knee_seconds:g} s of traffic per step):", "",
           knee_table(kr, names, "call"), ""]
    out["calls"] = [asdict(r) for r in runs + kr]


def phase_memory(args, tmp: Path, out: dict, md: list[str]) -> None:
    targets = start_targets(args, auth=False, users=None, shm_mb=args.kamailio_shm)
    rows = []
    try:
        for t in targets:
            t.start()
        for t in targets:
            sipp_run("mem-warm", t, "register_noauth.xml", 500, 500, 0, args.limit,
                     ["-key", "expires", "3600"])
            time.sleep(2.0)                      # let centralita's write-behind store flush
            p0, r0 = pss_bytes(t.proc.pid)
            run = sipp_run("memory", t, "register_noauth.xml", args.mem_rate, args.mem_bindings, 1,
                           args.limit, ["-key", "expires", "3600"])
            time.sleep(3.0)                      # store flush (1 s interval) and settle
            p1, r1 = pss_bytes(t.proc.pid)
            # Completed non-INVITE server transactions live on for Timer J (64*T1 = 32 s over
            # UDP) with their request and response; read again once they are gone.
            time.sleep(args.mem_settle)
            p2, r2 = pss_bytes(t.proc.pid)
            n = run.successful
            rows.append({"target": t.name, "bindings": n, "pss_before": p0, "pss_after": p1,
                         "rss_before": r0, "rss_after": r1, "pss_settled": p2, "rss_settled": r2,
                         "bytes_per_binding": (p1 - p0) / n if n else None,
                         "bytes_per_binding_settled": (p2 - p0) / n if n else None,
                         "processes": len(ob.process_tree(t.proc.pid))})
            print(f"# memory {t.name}: {n} bindings, PSS {p0} -> {p1} (+3 s) -> {p2} "
                  f"(+{args.mem_settle:g} s) bytes, {rows[-1]['bytes_per_binding']} / "
                  f"{rows[-1]['bytes_per_binding_settled']} B/binding", file=sys.stderr, flush=True)
    finally:
        for t in targets:
            print(f"# {t.name} stopped, exit {t.stop()}", file=sys.stderr, flush=True)
    lines = ["#### Memory with registered contacts (PSS, all processes of the target)", "",
             f"| target | processes | bindings registered | PSS before (MiB) | PSS +3 s (MiB) "
             f"| PSS +{args.mem_settle:g} s (MiB) | RSS before → +{args.mem_settle:g} s (MiB) "
             f"| ΔPSS per binding, +3 s (bytes) | ΔPSS per binding, +{args.mem_settle:g} s (bytes) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['target']} | {r['processes']} | {r['bindings']} | {r['pss_before'] / 2**20:.1f} "
                     f"| {r['pss_after'] / 2**20:.1f} | {r['pss_settled'] / 2**20:.1f} "
                     f"| {r['rss_before'] / 2**20:.1f} → {r['rss_settled'] / 2**20:.1f} "
                     f"| {ob.fmt(r['bytes_per_binding'], 0)} | {ob.fmt(r['bytes_per_binding_settled'], 0)} |")
    md += lines + [""]
    out["memory"] = rows


def ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x.strip()]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--centralita", default=str(ROOT / "build" / "centralita"))
    p.add_argument("--kamailio", default=shutil.which("kamailio") or "/usr/sbin/kamailio")
    p.add_argument("--only", choices=["centralita", "kamailio"])
    p.add_argument("--phases", default="register,calls,memory")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--reg-modes", default="noauth,auth", help="REGISTER runs without and/or with auth")
    p.add_argument("--reg-rates", type=ints, default=ints("500,1000"))
    p.add_argument("--reg-count", type=int, default=5000, help="REGISTER flows per fixed-rate run")
    p.add_argument("--reg-knee", type=ints, default=ints("1000,2000,4000,8000"))
    p.add_argument("--call-rates", type=ints, default=ints("200,500"))
    p.add_argument("--call-count", type=int, default=3000, help="calls per fixed-rate run")
    p.add_argument("--call-knee", type=ints, default=ints("250,500,1000,2000"))
    p.add_argument("--knee-seconds", type=float, default=4.0, help="traffic per knee step")
    p.add_argument("--mem-bindings", type=int, default=100000)
    p.add_argument("--mem-rate", type=int, default=4000)
    p.add_argument("--mem-settle", type=float, default=40.0,
                   help="seconds after the +3 s reading for the second PSS reading (Timer J is 32 s)")
    p.add_argument("--kamailio-shm", type=int, default=512, help="kamailio -m (MiB) for the memory phase")
    p.add_argument("--algorithms", default="MD5",
                   help="centralita auth.algorithms (sipp 3.6 answers MD5 challenges only)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--kamailio-children", type=int, default=2)
    p.add_argument("--limit", type=int, default=5000, help="sipp -l (calls in flight)")
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--jsonl", metavar="FILE", help="append every run to FILE as it ends (survives a kill)")
    p.add_argument("--per-thread", action="store_true",
                   help="print CPU and wake-ups per flow of every target thread after each run")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    _jsonl[0] = args.jsonl
    _per_thread[0] = args.per_thread
    if sipp_binary() is None:
        print("sipp not found (Debian package sip-tester)", file=sys.stderr)
        return 2
    command = shlex.join(["python3", *sys.argv])
    tmp = Path(tempfile.mkdtemp(prefix="sip-core-bench-"))
    out: dict = {"command": command}
    md = [f"Command: `{command}`", "",
          f"Machine: {os.cpu_count()} CPUs, Linux {platform.release()}, CLK_TCK {ob.CLK_TCK}; "
          f"medians of {args.repeats} runs per cell.", ""]
    try:
        phases = args.phases.split(",")
        if "register" in phases:
            phase_register(args, tmp, out, md)
        if "calls" in phases:
            phase_calls(args, tmp, out, md)
        if "memory" in phases:
            phase_memory(args, tmp, out, md)
    finally:
        print("\n".join(md))
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2))
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
