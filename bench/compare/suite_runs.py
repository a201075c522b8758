"""Load-generator runs of the benchmark suite (bench/compare/suite.py): one fixed-rate run of
centralita-bench or of sipp against a target, and the knee search (centralita-bench --knee
when the binary has it, else the same steps driven from here).

For every run the target's CPU is read from /proc around it, the same way for both
generators: utime+stime (ticks) and per-thread schedstat (ns) summed over the target's
process tree, sampled before the generator starts and after it exits, divided by the
successful operations. The generator's own CPU comes from getrusage(RUSAGE_CHILDREN) around
the run (plus, for sipp's call scenario, the sipp UAS's /proc ticks: centralita-bench plays
both sides itself).
"""

from __future__ import annotations

import glob
import json
import math
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import suite_procs as sp
from sipp import active_seconds, sipp_binary, stat_rows

ob = sp.ob
TIMEOUT_MS = 2000         # an operation without its final answer after 2 s failed
FAIL_LIMIT = 0.001        # the knee: highest rate with under 0.1% failures
RATE_FLOOR = 0.9          # ... and at least 90% of the offered rate achieved (rate.hpp)
SIPP_LIMIT = 5000         # sipp -l: operations in flight
SIPP_RTT_FREQ = 100       # sipp -rtt_freq: response times written every 100 calls


@dataclass
class GenRun:
    """One fixed-rate run of one generator against one target."""
    generator: str                       # "centralita-bench" or "sipp"
    scenario: str
    target: str
    rate: float
    count: int
    attempted: int
    succeeded: int
    failed: int
    failures: dict
    achieved_rate: float
    p50_ms: float | None
    p99_ms: float | None
    latency_resolution_ms: float         # sipp writes whole milliseconds
    target_cpu_us: float | None          # per successful op, utime+stime of the tree
    target_cpu_us_sched: float | None    # the same from schedstat (ns resolution)
    target_cpu_us_reported: float | None  # centralita-bench's own --target-pid figure
    target_wakeups_per_op: float | None  # timeslices the target's threads ran, per successful op
    generator_cpu_us: float | None       # the generator's CPU per successful op
    wall_s: float
    exit_code: int | None
    command: str
    note: str = ""

    @property
    def fail_ratio(self) -> float:
        return 1.0 - self.succeeded / self.attempted if self.attempted else 1.0


@dataclass
class Knee:
    """A knee search: steps of rising fixed rate; the knee is the highest passing step."""
    method: str                          # "centralita-bench --knee" or "stepped by suite.py"
    start: float
    step: float
    planned_max: float                   # the plan's top rate
    max_rate: float                      # the top rate after the deadline cut
    step_s: float
    rate: float = 0.0                    # highest offered rate that passed (0: none)
    steps: list = field(default_factory=list)  # {offered, achieved, attempted, succeeded, failed, p99_ms, passed}
    reached_top: bool = False            # the last step passed at max_rate: the knee is higher
    cut_by_deadline: bool = False        # max_rate < planned_max because of the time budget
    note: str = ""


def children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))]


def per_op(delta: float, ok: int) -> float | None:
    return delta / ok if ok > 0 else None


def summary(runs: list[dict]) -> dict | None:
    """The repeats of one generator against one target: operation counts summed, every
    per-run figure (rates, latencies, CPU per operation) the median over the runs."""
    if not runs:
        return None
    out = {k: runs[0][k] for k in ("generator", "scenario", "target", "rate", "count",
                                   "latency_resolution_ms")}
    out["runs"] = len(runs)
    for k in ("attempted", "succeeded", "failed"):
        out[k] = sum(r[k] for r in runs)
    for k in ("achieved_rate", "p50_ms", "p99_ms", "target_cpu_us", "target_cpu_us_sched",
              "target_cpu_us_reported", "target_wakeups_per_op", "generator_cpu_us"):
        values = [r[k] for r in runs if r[k] is not None]
        out[k] = statistics.median(values) if values else None
    return out


# --------------------------------------------------------------------------- centralita-bench

@dataclass
class BenchCaps:
    """What this centralita-bench binary can do (read from its --help)."""
    path: Path
    knee: bool
    call: bool

    @staticmethod
    def probe(path: Path) -> "BenchCaps":
        try:
            r = subprocess.run([str(path), "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=10)
            text = r.stdout
        except (OSError, subprocess.TimeoutExpired):
            text = ""
        # "  call   ..." listed among the scenarios, and the --uas flag of its contract.
        call = re.search(r"^\s+call\s+\S", text, re.M) is not None and "--uas" in text
        return BenchCaps(path, "--knee" in text, call)


def bench_cmd(caps: BenchCaps, scenario: str, target: sp.Target, load: list[str],
              extra: list[str]) -> list[str]:
    return [str(caps.path), scenario, *load, "--no-retransmit", "--timeout-ms", str(TIMEOUT_MS),
            "--json", "-", "--no-progress", *extra, f"sip:{sp.HOST}:{target.port}"]


def run_measured(cmd: list[str], target: sp.Target, timeout_s: float, log: Path
                 ) -> tuple[subprocess.CompletedProcess | None, dict, float, float, ob.CpuSample, ob.CpuSample]:
    """Runs a generator to its end (killed after timeout_s), sampling the target's CPU
    before it starts and after it exits. Returns (process, JSON on stdout or {}, wall s,
    generator CPU s, target sample before, after)."""
    print(f"#   {shlex.join(cmd)}", file=sys.stderr, flush=True)
    before = sp.cpu_sample(target.pid)
    gen0 = children_cpu_s()
    t0 = time.monotonic()
    try:
        with open(log, "w") as err:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                               text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        r = None    # run() killed it
    wall = time.monotonic() - t0
    after = sp.cpu_sample(target.pid)
    gen = children_cpu_s() - gen0
    try:
        rep = json.loads(r.stdout) if r is not None else {}
    except ValueError:
        rep = {}
    return r, rep, wall, gen, before, after


def log_tail(log: Path, n: int = 25) -> str:
    try:
        return "\n".join(log.read_text("utf-8", "replace").splitlines()[-n:])
    except OSError:
        return ""


def bench_fixed(caps: BenchCaps, scenario: str, target: sp.Target, rate: float, count: int,
                extra: list[str], tmp: Path) -> GenRun:
    """centralita-bench at a fixed rate from one socket (like sipp -t u1)."""
    cmd = bench_cmd(caps, scenario, target,
                    ["--rate", f"{rate:g}", "--count", str(count), "--sockets", "1",
                     "--target-pid", str(target.pid)], extra)
    log = tmp / f"bench-{scenario}-{target.name}.log"
    r, rep, wall, gen, b, a = run_measured(cmd, target, count / rate + 30, log)
    ok = int(rep.get("succeeded", 0))
    lat = rep.get("latency_ms") or {}
    run = GenRun(generator="centralita-bench", scenario=scenario, target=target.name, rate=rate,
                 count=count, attempted=int(rep.get("attempted", 0)), succeeded=ok,
                 failed=int(rep.get("failed", 0)), failures=rep.get("failures_by_cause") or {},
                 achieved_rate=float(rep.get("rate_achieved", 0.0)),
                 p50_ms=lat.get("p50") if lat.get("count") else None,
                 p99_ms=lat.get("p99") if lat.get("count") else None, latency_resolution_ms=0.001,
                 target_cpu_us=per_op((a.ticks - b.ticks) * 1e6 / ob.CLK_TCK, ok),
                 target_cpu_us_sched=per_op((a.sched_ns - b.sched_ns) / 1e3, ok) if a.sched_ns else None,
                 target_cpu_us_reported=rep.get("target_cpu_us_per_op"),
                 target_wakeups_per_op=per_op(a.slices - b.slices, ok) if a.slices else None,
                 generator_cpu_us=per_op(gen * 1e6, ok), wall_s=wall,
                 exit_code=r.returncode if r is not None else None, command=shlex.join(cmd))
    report_run(run, log)
    return run


def report_run(run: GenRun, log: Path | None = None, tail: str = "") -> None:
    print(f"# {run.scenario:8s} {run.target:10s} {run.generator:16s} {run.rate:7g}/s: "
          f"{run.succeeded}/{run.attempted} ok, {run.achieved_rate:8.1f}/s, p99 {ob.fmt(run.p99_ms, 3)} ms, "
          f"target {ob.fmt(run.target_cpu_us)} µs/op (stat) {ob.fmt(run.target_cpu_us_sched)} (schedstat) "
          f"{ob.fmt(run.target_cpu_us_reported)} (reported), {ob.fmt(run.target_wakeups_per_op, 3)} wake-ups/op, "
          f"generator {ob.fmt(run.generator_cpu_us)} µs/op",
          file=sys.stderr, flush=True)
    if run.exit_code != 0 or run.failed or run.succeeded < run.count:
        text = tail or (log_tail(log) if log else "")
        print("#   " + text.replace("\n", "\n#   "), file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- sipp

def rtd_scenario(src: Path, tmp: Path) -> Path:
    """A copy of a sipp scenario that measures a response time: scenarios with an rtd
    marker keep it (call_uac.xml: INVITE to 200); otherwise the last <recv response="200">
    ends RTD 1, which sipp starts with the call (OPTIONS to 200, first REGISTER to 200)."""
    dst = tmp / f"{src.stem}_rtd.xml"
    if dst.exists():
        return dst
    text = src.read_text()
    if "rtd=" not in text:
        i = text.rfind('<recv response="200"')
        if i < 0:
            raise RuntimeError(f"{src}: no <recv response=\"200\"> to time")
        j = i + len('<recv response="200"')
        text = text[:j] + ' rtd="true"' + text[j:]
    dst.write_text(text)
    return dst


def sipp_fixed(scenario: str, scenario_file: Path, target: sp.Target, rate: float, count: int,
               extra: list[str], tmp: Path, uas: sp.CallUas | None = None) -> GenRun:
    """sipp as the UAC at a fixed rate (-t u1: one socket, -nr: no retransmissions), with
    every response time traced (-trace_rtt) for the p99."""
    work = tmp / f"sipp-{scenario}-{target.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    budget = int(count / rate * 2) + 15
    cmd = [sipp_binary() or "sipp", "-sf", str(scenario_file), "-t", "u1", "-i", sp.HOST,
           "-p", str(sp.free_port()), "-r", str(int(rate)), "-rp", "1000", "-m", str(count),
           "-l", str(SIPP_LIMIT), "-recv_timeout", str(TIMEOUT_MS), "-timeout", f"{budget}s",
           "-timeout_error", "-nostdin", "-nr", "-buff_size", str(sp.SIPP_BUFFER),
           "-max_recv_loops", "10000", "-max_sched_loops", "10000",
           "-trace_stat", "-stf", str(work / "stats.csv"), "-fd", "1",
           "-trace_err", "-error_file", str(work / "errors.log"),
           "-trace_rtt", "-rtt_freq", str(SIPP_RTT_FREQ), *extra, f"{sp.HOST}:{target.port}"]
    print(f"#   {shlex.join(cmd)}", file=sys.stderr, flush=True)
    uas0 = uas.cpu_ticks() if uas else 0
    before = sp.cpu_sample(target.pid)
    gen0 = children_cpu_s()
    t0 = time.monotonic()
    with open(work / "stdout.log", "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=work)
        try:
            proc.wait(budget + 15)
        except subprocess.TimeoutExpired:
            proc.kill()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    wall = time.monotonic() - t0
    after = sp.cpu_sample(target.pid)
    gen = children_cpu_s() - gen0
    if uas:
        gen += (uas.cpu_ticks() - uas0) / ob.CLK_TCK
    rows = stat_rows(work / "stats.csv")
    row = rows[-1] if rows else {}

    def num(key: str) -> int:
        try:
            return int(float(row.get(key, "0") or 0))
        except ValueError:
            return 0

    ok, failed, created = num("SuccessfulCall(C)"), num("FailedCall(C)"), num("TotalCallCreated")
    rtts: list[float] = []
    for path in glob.glob(str(work / "*_rtt.csv")):
        for line in open(path, errors="replace"):
            parts = line.strip().split(";")
            if len(parts) >= 3 and parts[2] == "1":
                try:
                    rtts.append(float(parts[1]))
                except ValueError:
                    pass
    active = active_seconds(rows)
    tail = "\n".join((work / "stdout.log").read_text("utf-8", "replace").splitlines()[-20:])
    errors = work / "errors.log"
    if errors.exists() and errors.stat().st_size:
        tail += "\n--- errors.log ---\n" + errors.read_text("utf-8", "replace")[:1500]
    run = GenRun(generator="sipp", scenario=scenario, target=target.name, rate=rate, count=count,
                 attempted=max(created, ok + failed), succeeded=ok, failed=failed,
                 failures={k.removesuffix("(C)"): num(k) for k in row
                           if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)" and num(k)},
                 achieved_rate=ok / active if active > 0 else (ok / wall if wall > 0 else 0.0),
                 p50_ms=percentile(rtts, 50), p99_ms=percentile(rtts, 99), latency_resolution_ms=1.0,
                 target_cpu_us=per_op((after.ticks - before.ticks) * 1e6 / ob.CLK_TCK, ok),
                 target_cpu_us_sched=(per_op((after.sched_ns - before.sched_ns) / 1e3, ok)
                                      if after.sched_ns else None),
                 target_cpu_us_reported=None,
                 target_wakeups_per_op=per_op(after.slices - before.slices, ok) if after.slices else None,
                 generator_cpu_us=per_op(gen * 1e6, ok), wall_s=wall,
                 exit_code=proc.returncode, command=shlex.join(cmd),
                 note=f"{len(rtts)} response times traced")
    report_run(run, tail=tail)
    shutil.rmtree(work, ignore_errors=True)
    return run


# --------------------------------------------------------------------------- knee

def knee_builtin(caps: BenchCaps, scenario: str, target: sp.Target, knee: Knee, extra: list[str],
                 tmp: Path) -> Knee:
    """centralita-bench SCEN --knee ...: one process runs every step."""
    cmd = bench_cmd(caps, scenario, target,
                    ["--knee", "--knee-start", f"{knee.start:g}", "--knee-step", f"{knee.step:g}",
                     "--knee-max", f"{knee.max_rate:g}", "--step-duration", f"{knee.step_s:g}",
                     "--max-failures", f"{FAIL_LIMIT * 100:g}", "--target-pid", str(target.pid)], extra)
    steps = int((knee.max_rate - knee.start) // knee.step) + 1
    log = tmp / f"knee-{scenario}-{target.name}.log"
    r, rep, wall, _gen, _b, _a = run_measured(cmd, target, steps * (knee.step_s + TIMEOUT_MS / 1e3 + 3) + 20,
                                              log)
    k = rep.get("knee")
    if r is None or not isinstance(k, dict):
        add_note(knee, f"centralita-bench --knee gave no result (exit {r.returncode if r else 'killed'}): "
                       + log_tail(log, 5).replace("\n", " / "))
        print(f"# {knee.note}", file=sys.stderr, flush=True)
        return knee
    knee.rate = float(k.get("rate") or 0)
    for s in k.get("steps") or []:
        knee.steps.append({key: s.get(key) for key in
                           ("offered", "achieved", "attempted", "succeeded", "failed", "p99_ms", "passed",
                            "target_cpu_us_per_op")})
    finish_knee(knee, scenario, target)
    return knee


def knee_stepped(caps: BenchCaps, scenario: str, target: sp.Target, knee: Knee,
                 extra_for: Callable[[float], list[str]], tmp: Path, deadline: float) -> Knee:
    """The same search with one centralita-bench run per step (--rate R --duration S),
    judged as rate.hpp's knee_search judges a step; for binaries without --knee."""
    rate = knee.start
    while rate <= knee.max_rate + 1e-9:
        if time.monotonic() + knee.step_s + 5 > deadline:
            knee.cut_by_deadline = True
            add_note(knee, "steps cut by the time budget")
            break
        target.check_alive()
        # --count of one step's attempts, the same load as --duration S at this rate.
        cmd = bench_cmd(caps, scenario, target, ["--rate", f"{rate:g}", "--count", str(int(rate * knee.step_s)),
                                                 "--target-pid", str(target.pid)], extra_for(rate))
        log = tmp / f"knee-{scenario}-{target.name}.log"
        r, rep, _wall, _gen, _b, _a = run_measured(cmd, target, knee.step_s + TIMEOUT_MS / 1e3 + 20, log)
        attempted, failed = int(rep.get("attempted", 0)), int(rep.get("failed", 0))
        achieved = float(rep.get("rate_achieved", 0.0))
        passed = (r is not None and attempted > 0 and failed / attempted <= FAIL_LIMIT
                  and achieved >= RATE_FLOOR * rate)
        knee.steps.append({"offered": rate, "achieved": achieved, "attempted": attempted,
                           "succeeded": int(rep.get("succeeded", 0)), "failed": failed,
                           "p99_ms": (rep.get("latency_ms") or {}).get("p99"), "passed": passed,
                           "target_cpu_us_per_op": rep.get("target_cpu_us_per_op")})
        print(f"#   knee step {rate:g}/s: {achieved:.0f}/s achieved, {failed}/{attempted} failed: "
              f"{'pass' if passed else 'fail'}", file=sys.stderr, flush=True)
        if not passed:
            if r is None or not rep:
                add_note(knee, f"a step gave no result (centralita-bench exit "
                               f"{r.returncode if r is not None else 'killed'}): "
                               + log_tail(log, 5).replace("\n", " / "))
            break
        knee.rate = rate
        rate += knee.step
    finish_knee(knee, scenario, target)
    return knee


def add_note(knee: Knee, text: str) -> None:
    knee.note = f"{knee.note}; {text}" if knee.note else text


def finish_knee(knee: Knee, scenario: str, target: sp.Target) -> None:
    last = knee.steps[-1] if knee.steps else None
    knee.reached_top = bool(last and last.get("passed") and float(last["offered"]) + knee.step > knee.max_rate)
    print(f"# {scenario:8s} {target.name:10s} knee ({knee.method}): {knee.rate:g}/s"
          f"{' (top of the search)' if knee.reached_top else ''}"
          f"{' (cut by the time budget)' if knee.cut_by_deadline else ''}", file=sys.stderr, flush=True)
