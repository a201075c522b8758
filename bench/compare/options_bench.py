#!/usr/bin/env python3
"""Stateless OPTIONS benchmark: centralita against Kamailio 5.6, in one run.

For every rate in --rates, sipp (UDP, one socket, no retransmissions) sends --count
OPTIONS to each target; runs are interleaved (centralita, kamailio, centralita, ...)
and repeated --repeats times. For each run it records sipp's successful/failed calls,
the achieved rate, and the target's CPU time per OPTIONS reply:

    CPU-µs/reply = Δ(utime + stime) over the run, in clock ticks, × 10^6 / CLK_TCK
                   ÷ successful calls

read from /proc/<pid>/stat of the target's main process and every descendant process
(Kamailio forks its children; /proc/<pid>/stat already sums a process's threads). A
finer cross-check sums the per-thread run time in /proc/<pid>/task/*/schedstat (ns).
Medians over the repeats are reported as a Markdown table (and --json FILE).

    bench/compare/options_bench.py --centralita build/centralita
    bench/compare/options_bench.py --only kamailio --rates 2000,5000 --count 20000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(ROOT / "test" / "integration" / "lib"))

from centralita_test import HOST, free_port, udp_options_ok  # noqa: E402
from sipp import run_sipp, sipp_binary  # noqa: E402

# One scenario file serves the tests and the benchmark.
SCENARIO = ROOT / "test" / "integration" / "scenarios" / "options_uac.xml"
KAMAILIO_CFG = ROOT / "bench" / "peers" / "kamailio-options.cfg"
KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
CLK_TCK = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
SIPP_BUFFER = 4 * 1024 * 1024   # sipp's socket buffers (net.core.rmem_max here is 4 MiB)


# --------------------------------------------------------------------------- /proc

def proc_stat(pid: int) -> tuple[int, int] | None:
    """(ppid, utime+stime in ticks) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()   # comm may contain spaces and ')'
    return int(fields[1]), int(fields[11]) + int(fields[12])


def process_tree(root: int) -> list[int]:
    """root and all its descendants (one pass over /proc, bounded by the process count)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = proc_stat(int(entry))
            if st:
                children.setdefault(st[0], []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def schedstat(pid: int) -> tuple[int, int]:
    """Over the threads of pid: (on-CPU nanoseconds, timeslices run), from
    /proc/<pid>/task/*/schedstat; (0, 0) if schedstat is unavailable. Every
    wake-up of a sleeping thread starts a timeslice, so the second number
    counts wake-ups (plus preemptions)."""
    ns = slices = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                fields = f.read().split()
            ns += int(fields[0])
            slices += int(fields[2])
        except (OSError, ValueError, IndexError):
            pass
    return ns, slices


def thread_schedstats(root: int) -> dict[str, tuple[int, int]]:
    """Per thread name (comm, with its tid) over the process tree of root:
    (on-CPU ns, timeslices). For finding which thread wakes up and why."""
    out: dict[str, tuple[int, int]] = {}
    for pid in process_tree(root):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    name = f.read().strip()
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    fields = f.read().split()
                out[f"{name}/{tid}"] = (int(fields[0]), int(fields[2]))
            except (OSError, ValueError, IndexError):
                pass
    return out


def schedstat_ns(pid: int) -> int:
    """Sum of on-CPU nanoseconds over the threads of pid (0 if schedstat is unavailable)."""
    return schedstat(pid)[0]


@dataclass
class CpuSample:
    ticks: int
    sched_ns: int
    pids: int
    slices: int = 0  # timeslices (≈ wake-ups) over every thread


def sample_cpu(root: int) -> CpuSample:
    pids = process_tree(root)
    ticks = sum((proc_stat(p) or (0, 0))[1] for p in pids)
    stats = [schedstat(p) for p in pids]
    return CpuSample(ticks, sum(s[0] for s in stats), len(pids), sum(s[1] for s in stats))


def udp_rcvbuf_errors() -> int:
    """System-wide UDP RcvbufErrors (datagrams dropped because a receive buffer was full)."""
    try:
        lines = [l.split() for l in open("/proc/net/snmp") if l.startswith("Udp:")]
        return int(lines[1][lines[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return 0


def children_cpu_s() -> float:
    """CPU seconds of waited-for children (sipp runs) so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# --------------------------------------------------------------------------- targets

class Target:
    name = "?"

    def __init__(self) -> None:
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        self.log = self.tmp / "stderr.log"
        self.proc: subprocess.Popen | None = None
        self.args: list[str] = []

    def start(self) -> None:
        print(f"# starting {self.name}: {shlex.join(self.args)}", file=sys.stderr, flush=True)
        self._log = open(self.log, "wb")
        # Own session: if the main process ignores SIGTERM, its whole group can be killed.
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, cwd=self.tmp, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            if udp_options_ok(self.port, timeout=0.1)[0]:
                return
        raise RuntimeError(f"{self.name} did not answer OPTIONS within {READY_TIMEOUT:.0f} s "
                           f"(exit {self.proc.poll()}):\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        else:
            # The main process is gone; make sure no child of its group is left behind.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()
        rc = self.proc.returncode
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.proc = None
        return rc


class Centralita(Target):
    name = "centralita"

    def __init__(self, binary: str, workers: int) -> None:
        super().__init__()
        self.args = [binary, "--listen", f"udp:{HOST}:{self.port}", "--http", "off", "--workers", str(workers),
                     "--log-level", "warn", "--data-dir", str(self.tmp / "data")]


class Kamailio(Target):
    name = "kamailio"

    def __init__(self, binary: str, children: int) -> None:
        super().__init__()
        self.args = [binary, "-f", str(KAMAILIO_CFG), "-DD", "-E", "-L", KAMAILIO_MODULES,
                     "-Y", str(self.tmp), "-l", f"udp:{HOST}:{self.port}", "-n", str(children),
                     "-m", "64", "-M", "8"]


# --------------------------------------------------------------------------- runs

@dataclass
class Run:
    target: str
    rate: int
    repeat: int
    calls: int
    successful: int
    failed: int
    failed_detail: dict
    sipp_exit: int | None
    achieved_rate: float
    cpu_us_per_reply: float | None
    cpu_us_per_reply_schedstat: float | None
    sipp_cpu_us_per_call: float | None
    target_processes: int
    udp_rcvbuf_errors: int


def one_run(target: Target, rate: int, count: int, repeat: int, limit: int) -> Run:
    before: dict[str, CpuSample] = {}
    sipp_cpu0 = children_cpu_s()
    drops0 = udp_rcvbuf_errors()
    budget = int(count / rate * 3) + 20
    r = run_sipp(SCENARIO, target.port, transport="u1", calls=count, rate=rate, limit=limit,
                 global_timeout_s=budget, recv_timeout_ms=1000, no_retrans=True,
                 extra=["-buff_size", str(SIPP_BUFFER)], on_start=lambda _proc: before.setdefault("cpu", sample_cpu(target.proc.pid)))
    after = sample_cpu(target.proc.pid)
    sipp_cpu = children_cpu_s() - sipp_cpu0
    b = before["cpu"]
    ok = r.successful
    elapsed = r.active_s if r.active_s > 0 else r.elapsed_s
    run = Run(target=target.name, rate=rate, repeat=repeat, calls=count, successful=ok, failed=r.failed,
              failed_detail=r.failed_detail, sipp_exit=r.exit_code,
              achieved_rate=ok / elapsed if elapsed > 0 else 0.0,
              cpu_us_per_reply=(after.ticks - b.ticks) * 1e6 / CLK_TCK / ok if ok else None,
              cpu_us_per_reply_schedstat=((after.sched_ns - b.sched_ns) / 1e3 / ok
                                          if ok and after.sched_ns else None),
              sipp_cpu_us_per_call=sipp_cpu * 1e6 / max(r.created, 1),
              target_processes=after.pids, udp_rcvbuf_errors=udp_rcvbuf_errors() - drops0)
    print(f"# {target.name:10s} rate {rate:6d} #{repeat}: {ok} ok, {r.failed} failed, "
          f"{run.achieved_rate:8.0f}/s, {fmt(run.cpu_us_per_reply)} µs/reply (stat), "
          f"{fmt(run.cpu_us_per_reply_schedstat)} µs/reply (schedstat), sipp {fmt(run.sipp_cpu_us_per_call)} "
          f"µs/call, UDP RcvbufErrors +{run.udp_rcvbuf_errors}", file=sys.stderr, flush=True)
    if r.failed or r.exit_code not in (0, 1):
        print(f"#   sipp: {shlex.join(r.command)}\n#   " + r.output_tail.replace("\n", "\n#   "),
              file=sys.stderr, flush=True)
    return run


def fmt(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# --------------------------------------------------------------------------- report

def idle_cpu_percent(target: Target, seconds: float) -> float:
    """CPU the target burns with no traffic, in % of one core (schedstat, else stat)."""
    a = sample_cpu(target.proc.pid)
    t0 = time.monotonic()
    time.sleep(seconds)          # a measurement window, not synchronisation
    b = sample_cpu(target.proc.pid)
    wall = time.monotonic() - t0
    used = (b.sched_ns - a.sched_ns) / 1e9 if b.sched_ns else (b.ticks - a.ticks) / CLK_TCK
    return 100.0 * used / wall


def report(runs: list[Run], rates: list[int], names: list[str], command: str,
           idle: dict[str, float]) -> str:
    lines = [f"Command: `{command}`", "",
             f"Machine: {os.cpu_count()} CPUs, Linux {platform.release()}, CLK_TCK {CLK_TCK}; "
             f"medians of {max(r.repeat for r in runs)} runs per cell.", "",
             "Idle (no traffic): " + ", ".join(f"{n} {idle[n]:.2f}% of one core" for n in names), "",
             "| target | offered rate (/s) | calls | successful | failed | achieved (/s) "
             "| CPU µs/reply (stat) | CPU µs/reply (schedstat) | sipp CPU µs/call |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    med: dict[tuple[str, int], float | None] = {}
    for rate in rates:
        for name in names:
            rs = [r for r in runs if r.target == name and r.rate == rate]
            if not rs:
                continue
            m = median([r.cpu_us_per_reply for r in rs])
            med[(name, rate)] = median([r.cpu_us_per_reply_schedstat for r in rs]) or m
            lines.append(f"| {name} | {rate} | {rs[0].calls} | {median([r.successful for r in rs]):.0f} "
                         f"| {sum(r.failed for r in rs)} (all runs) | {fmt(median([r.achieved_rate for r in rs]), 0)} "
                         f"| {fmt(m)} | {fmt(median([r.cpu_us_per_reply_schedstat for r in rs]))} "
                         f"| {fmt(median([r.sipp_cpu_us_per_call for r in rs]))} |")
    if "centralita" in names and "kamailio" in names:
        lines += ["", "| offered rate (/s) | centralita / kamailio CPU per reply (schedstat medians) |",
                  "|---:|---:|"]
        for rate in rates:
            a, b = med.get(("centralita", rate)), med.get(("kamailio", rate))
            lines.append(f"| {rate} | {fmt(a / b if a and b else None, 2)} |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--centralita", default=str(ROOT / "build" / "centralita"), help="centralita binary")
    p.add_argument("--kamailio", default=shutil.which("kamailio") or "/usr/sbin/kamailio",
                   help="kamailio binary")
    p.add_argument("--only", choices=["centralita", "kamailio"], help="benchmark one target only")
    p.add_argument("--rates", default="2000,5000,10000", help="comma-separated offered rates (calls/s)")
    p.add_argument("--count", type=int, default=30000, help="OPTIONS per run")
    p.add_argument("--repeats", type=int, default=3, help="runs per target and rate")
    p.add_argument("--workers", type=int, default=2, help="centralita --workers")
    p.add_argument("--kamailio-children", type=int, default=2, help="kamailio -n (UDP receivers)")
    p.add_argument("--limit", type=int, default=5000, help="sipp -l (max calls in flight)")
    p.add_argument("--warmup", type=int, default=2000, help="OPTIONS sent to each target before measuring")
    p.add_argument("--idle-seconds", type=float, default=3.0, help="window for the idle CPU measurement")
    p.add_argument("--json", metavar="FILE", help="also write every run as JSON")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    if sipp_binary() is None:
        print("sipp not found (Debian package sip-tester)", file=sys.stderr)
        return 2
    rates = [int(x) for x in args.rates.split(",") if x.strip()]
    command = shlex.join([sys.executable, *sys.argv])
    targets: list[Target] = []
    try:
        if args.only != "kamailio":
            targets.append(Centralita(str(Path(args.centralita).resolve()), args.workers))
        if args.only != "centralita":
            targets.append(Kamailio(args.kamailio, args.kamailio_children))
        for t in targets:
            t.start()
        for t in targets:
            if args.warmup:
                run_sipp(SCENARIO, t.port, calls=args.warmup, rate=min(rates), limit=args.limit,
                         global_timeout_s=30, recv_timeout_ms=2000, no_retrans=True)
        idle: dict[str, float] = {}
        for t in targets:
            idle[t.name] = idle_cpu_percent(t, args.idle_seconds)
            print(f"# {t.name} idle: {idle[t.name]:.2f}% of one core over {args.idle_seconds:.0f} s",
                  file=sys.stderr, flush=True)
        runs: list[Run] = []
        for rate in rates:
            for repeat in range(1, args.repeats + 1):
                for t in targets:           # interleaved: A, B, A, B, ...
                    if not t.alive():
                        raise RuntimeError(f"{t.name} died:\n{t.tail()}")
                    runs.append(one_run(t, rate, args.count, repeat, args.limit))
        names = [t.name for t in targets]
        print(report(runs, rates, names, command, idle))
        if args.json:
            Path(args.json).write_text(json.dumps({"command": command, "clk_tck": CLK_TCK, "idle_percent": idle,
                                                   "runs": [asdict(r) for r in runs]}, indent=2))
        return 0
    finally:
        for t in targets:
            rc = t.stop()
            print(f"# {t.name} stopped, exit code {rc}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
