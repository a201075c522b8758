#!/usr/bin/env python3
"""The bundled benchmark suite (`make bench`, issue 7 point 4): centralita against
Kamailio 5.6 in one run, centralita-bench as the load generator and sipp as a cross-check.

For each scenario, on a fresh instance of each target:

  options   stateless OPTIONS -> 200
  register  REGISTER of unique users with MD5 digest auth (401, then 200); users b1..bN,
            password pN (centralita --users, Kamailio -A WITH_AUTH -A AUTH_USERS=N)
  call      INVITE/100/180/200/ACK/BYE/200 through the target to a UAS registered there,
            zero hold time (centralita-bench's built-in UAS; sipp's call_uas.xml for sipp)

  1. warm-up (not measured);
  2. a fixed-rate run below the knee with centralita-bench, then the same with sipp:
     the target's CPU per successful operation (utime+stime of its whole process tree from
     /proc, before the generator starts and after it exits), p99 latency, each generator's
     own CPU per operation;
  3. memory: PSS of the target's process tree;
  4. the knee: the highest rate with under 0.1% failures (centralita-bench --knee, or the
     same steps run one by one from here when the binary has no --knee yet).

Targets: build/centralita --workers 2 (default routing, --http off, fresh data dir) and
Kamailio with children=2 (bench/peers/kamailio-options.cfg, kamailio-registrar.cfg).
The two binaries are copied at start, so that one build is measured even if the tree is
rebuilt during the run. A global deadline (--budget) shortens the knee searches instead of
overrunning; every process is stopped at the end, also on Ctrl-C, SIGTERM or an error.

    bench/compare/suite.py                         # writes the section in docs/benchmarks.md
    bench/compare/suite.py --no-write --json /tmp/suite.json
    bench/compare/suite.py --smoke --json /tmp/s.json   # ~30 s, tiny counts, no docs written
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))

import suite_procs as sp  # noqa: E402
import suite_report as sr  # noqa: E402
import suite_runs as su  # noqa: E402
from sipp import sipp_binary  # noqa: E402

ROOT = sp.ROOT
SCENARIOS = ["options", "register", "call"]
TARGETS = ["centralita", "kamailio"]
SIPP_SCENARIOS = {"options": ROOT / "test" / "integration" / "scenarios" / "options_uac.xml",
                  "register": ROOT / "bench" / "scenarios" / "register_auth.xml",
                  "call": ROOT / "bench" / "scenarios" / "call_uac.xml"}
STEP_OVERHEAD_S = 0.8   # per knee step beyond its length: start-up, the last answers, timeouts
MIN_KNEE_STEPS = 3      # steps kept in reserve for each knee search still to come
SNAPSHOT_TRIES = 6      # copies of a binary caught mid-link before giving up ...
SNAPSHOT_RETRY_S = 5.0  # ... this far apart


@dataclass
class Plan:
    rate: float          # the fixed rate (below both targets' knee)
    count: int           # operations per fixed-rate run
    repeats: int         # fixed-rate runs per generator, interleaved (bench, sipp, bench, ...)
    warm: int            # warm-up operations, not measured ...
    warm_rate: float     # ... at this rate
    knee_start: float
    knee_step: float
    knee_max: float
    step_s: float


# Warm-up sizes: in its first ~10 s of proxied calls Kamailio spends up to twice as much CPU
# per call as later (measured on this machine); what the suite reports is the steady state.
PLANS = {
    "options": Plan(5000, 20000, 3, 5000, 5000, 5000, 5000, 80000, 2.5),
    "register": Plan(1000, 4000, 3, 1000, 1000, 2000, 2000, 16000, 2.0),
    "call": Plan(200, 1000, 3, 2500, 250, 250, 250, 3000, 2.5),
}
SMOKE_PLANS = {
    "options": Plan(3000, 3000, 1, 0, 1, 1000, 1000, 2000, 0.5),
    "register": Plan(500, 500, 1, 0, 1, 200, 200, 400, 0.5),
    "call": Plan(100, 100, 1, 0, 1, 50, 50, 100, 0.5),
}


class Budget:
    """The global deadline. Fixed-rate runs always run (they are short and bounded); a knee
    search may use the time left after reserving the fixed-rate parts still to come and a
    few steps for each later search. Searches usually stop well below their plan's top,
    so cuts happen only on a slow machine."""

    def __init__(self, seconds: float, plans: dict[str, Plan], pairs: list[tuple[str, str]]) -> None:
        self.t0 = time.monotonic()
        self.deadline = self.t0 + seconds
        self.plans = plans
        self.left = list(pairs)        # (scenario, target) pairs whose fixed part has not run

    def fixed_estimate(self, scen: str) -> float:
        p = self.plans[scen]
        # start and stop the target; each run: its traffic plus start-up and the last answers
        return 2.0 + p.warm / p.warm_rate + p.repeats * 2 * (p.count / p.rate + 1.0)

    def done(self, pair: tuple[str, str]) -> None:
        if pair in self.left:
            self.left.remove(pair)

    def knee_allowance(self, later_knees: list[str]) -> float:
        reserve = sum(self.fixed_estimate(s) for s, _ in self.left)
        for s in later_knees:
            p = self.plans[s]
            steps = min(MIN_KNEE_STEPS, int((p.knee_max - p.knee_start) // p.knee_step) + 1)
            reserve += steps * (p.step_s + STEP_OVERHEAD_S + 1.0)
        return self.deadline - time.monotonic() - reserve

    def over(self, grace: float = 0.0) -> bool:
        return time.monotonic() > self.deadline + grace

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


# --------------------------------------------------------------------------- one cell

def extras(scen: str, pool: sp.UserPool | None, uas_port: int):
    """(centralita-bench args, sipp args) for `count` operations of a scenario."""
    def bench(count: int) -> list[str]:
        if scen == "register":
            return ["--users-csv", str(pool.bench_csv(count)), "--expires", "600"]
        if scen == "call":
            # One UAS port per target: every run re-registers the same Contact (a refresh),
            # so no stale binding makes the target fork calls to a UAS that is gone. 10 ms
            # between 180 and 200, as bench/scenarios/call_uas.xml does for sipp: sent back
            # to back they can overtake each other in Kamailio's two receiver processes.
            return ["--callee", "bob", "--uas", f"{sp.HOST}:{uas_port}", "--hold", "0",
                    "--ring", "0.01"]
        return []

    def sipp(count: int) -> list[str]:
        if scen == "register":
            return ["-inf", str(pool.sipp_inf(count)), "-key", "expires", "600"]
        if scen == "call":
            return ["-s", "carol"]
        return []
    return bench, sipp


def run_cell(args, scen: str, tname: str, plan: Plan, caps: su.BenchCaps, budget: Budget,
             later_knees: list[str], tmp: Path, users_file: Path | None) -> dict:
    target = sp.make_target(tname, scen, args, users_file)
    cell: dict = {"scenario": scen, "target": tname, "label": target.label, "bench": None, "sipp": None,
                  "bench_runs": [], "sipp_runs": [], "knee": None, "memory": None, "notes": [],
                  "command": shlex.join(target.args)}
    bench_ok = caps.call or scen != "call"
    if not bench_ok:
        cell["notes"].append("centralita-bench has no `call` scenario yet (not in its --help): "
                             "the centralita-bench column and the knee are skipped for calls.")
    pool = sp.UserPool(tmp, args.users, f"{scen}-{tname}") if scen == "register" else None
    uas: sp.CallUas | None = None
    try:
        target.start()
        bench_extra, sipp_extra = extras(scen, pool, sp.free_port())
        sipp_file = su.rtd_scenario(SIPP_SCENARIOS[scen], tmp)
        if scen == "call":
            uas = sp.CallUas(target, "carol", calls=plan.warm + plan.repeats * plan.count + 1000,
                             timeout_s=int(args.budget) + 120).start()
        if plan.warm:
            if bench_ok:
                su.bench_fixed(caps, scen, target, plan.warm_rate, plan.warm, bench_extra(plan.warm), tmp)
            else:
                su.sipp_fixed(scen, sipp_file, target, plan.warm_rate, plan.warm, sipp_extra(plan.warm),
                              tmp, uas)
        for _ in range(plan.repeats):       # interleaved, so that drift hits both generators
            if bench_ok:
                target.check_alive()
                cell["bench_runs"].append(asdict(su.bench_fixed(caps, scen, target, plan.rate, plan.count,
                                                                bench_extra(plan.count), tmp)))
            target.check_alive()
            cell["sipp_runs"].append(asdict(su.sipp_fixed(scen, sipp_file, target, plan.rate, plan.count,
                                                          sipp_extra(plan.count), tmp, uas)))
        cell["bench"] = su.summary(cell["bench_runs"])
        cell["sipp"] = su.summary(cell["sipp_runs"])
        target.check_alive()
        pss, rss, procs = sp.tree_memory(target.pid)
        cell["memory"] = {"pss_bytes": pss, "rss_bytes": rss, "processes": procs}
        print(f"# {scen:8s} {tname:10s} memory: PSS {pss / 2**20:.1f} MiB, RSS {rss / 2**20:.1f} MiB, "
              f"{procs} processes", file=sys.stderr, flush=True)
        budget.done((scen, tname))
        if bench_ok:
            cell["knee"] = asdict(knee(args, scen, target, plan, caps, budget, later_knees, tmp,
                                       bench_extra, pool))
            if target.alive():
                cell["memory"]["pss_after_knee_bytes"] = sp.tree_memory(target.pid)[0]
    finally:
        budget.done((scen, tname))
        if uas:
            uas.stop()
        rc = target.stop()
        print(f"# {tname} stopped, exit {rc}", file=sys.stderr, flush=True)
    return cell


def knee(args, scen: str, target: sp.Target, plan: Plan, caps: su.BenchCaps, budget: Budget,
         later_knees: list[str], tmp: Path, bench_extra, pool: sp.UserPool | None) -> su.Knee:
    allowance = budget.knee_allowance(later_knees)
    per_step = plan.step_s + STEP_OVERHEAD_S + (1.0 if caps.knee else 0.5)
    steps = int((plan.knee_max - plan.knee_start) // plan.knee_step) + 1
    fit = int(allowance // per_step)
    method = "centralita-bench --knee" if caps.knee else "stepped by suite.py"
    k = su.Knee(method=method, start=plan.knee_start, step=plan.knee_step, planned_max=plan.knee_max,
                max_rate=plan.knee_max, step_s=plan.step_s)
    if fit < 1:
        k.cut_by_deadline = True
        k.note = "no time left in the budget for a knee search"
        print(f"# {scen} {target.name}: {k.note}", file=sys.stderr, flush=True)
        return k
    if fit < steps:
        k.max_rate = plan.knee_start + plan.knee_step * (fit - 1)
        k.cut_by_deadline = True
        k.note = f"search cut to {fit} of {steps} steps by the time budget"
    target.check_alive()
    if caps.knee:
        # centralita-bench numbers the attempts of each step from 0, so every step starts over
        # at the first user of the list: enough users for the largest step.
        built_in = su.knee_builtin(caps, scen, target, k, bench_extra(int(k.max_rate * plan.step_s) + 100),
                                   tmp)
        if built_in.steps or not target.alive():
            return built_in
        # --knee gave nothing (the generator failed): the same steps one run at a time.
        k = su.Knee(method="stepped by suite.py", start=k.start, step=k.step, planned_max=k.planned_max,
                    max_rate=k.max_rate, step_s=k.step_s, cut_by_deadline=k.cut_by_deadline,
                    note=built_in.note)
    return su.knee_stepped(caps, scen, target, k, lambda r: bench_extra(int(r * plan.step_s) + 10),
                           tmp, budget.deadline)


# --------------------------------------------------------------------------- main

def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--centralita", default=str(ROOT / "build" / "centralita"), help="centralita binary")
    p.add_argument("--bench", help="centralita-bench binary (default: next to --centralita)")
    p.add_argument("--kamailio", default=shutil.which("kamailio") or "/usr/sbin/kamailio")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset of "
                   + ",".join(SCENARIOS))
    p.add_argument("--targets", default=",".join(TARGETS), help="comma-separated subset of " + ",".join(TARGETS))
    p.add_argument("--budget", type=float, help="seconds for the whole suite; the knee searches "
                   "are shortened to fit (default 480, with --smoke 120)")
    p.add_argument("--users", type=int, help="users b1..bN loaded by both targets for register "
                   "(default 100000, with --smoke 5000)")
    p.add_argument("--workers", type=int, default=2, help="centralita --workers")
    p.add_argument("--kamailio-children", type=int, default=2, help="kamailio -n")
    p.add_argument("--smoke", action="store_true", help="tiny counts and short steps (~30 s), for CI; "
                   "implies --no-write")
    p.add_argument("--json", metavar="FILE", help="write every raw number as JSON")
    p.add_argument("--no-write", action="store_true", help="print the section, leave docs/benchmarks.md alone")
    p.add_argument("--docs", default=str(ROOT / "docs" / "benchmarks.md"), help=argparse.SUPPRESS)
    a = p.parse_args()
    a.budget = a.budget or (120.0 if a.smoke else 480.0)
    a.users = a.users or (5000 if a.smoke else 100000)
    a.scenarios = [s for s in a.scenarios.split(",") if s]
    a.targets = [t for t in a.targets.split(",") if t]
    for s in a.scenarios:
        if s not in SCENARIOS:
            p.error(f"--scenarios: unknown scenario {s!r} (known: {', '.join(SCENARIOS)})")
    for t in a.targets:
        if t not in TARGETS:
            p.error(f"--targets: unknown target {t!r} (known: {', '.join(TARGETS)})")
    return a


def snapshot(src: Path, bin_dir: Path) -> Path:
    """A private copy of a binary, so that the whole run measures one build even when the
    tree is rebuilt meanwhile (a linker rewriting the file cannot be exec'd). A copy that
    does not run (caught mid-link) is taken again, a bounded number of times."""
    dst = bin_dir / src.name
    for _ in range(SNAPSHOT_TRIES):
        shutil.copy2(src, dst)
        try:
            r = subprocess.run([str(dst), "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=10)
            if r.returncode == 0 and r.stdout:
                return dst
        except (OSError, subprocess.TimeoutExpired):
            pass
        time.sleep(SNAPSHOT_RETRY_S)    # waiting for a build to finish writing the file
    raise RuntimeError(f"{src} does not run (--help), even after {SNAPSHOT_TRIES} copies")


def preflight(args, tmp: Path) -> su.BenchCaps | None:
    problems = []
    centralita = Path(args.centralita)
    bench = Path(args.bench) if args.bench else centralita.resolve().parent / "centralita-bench"
    if not centralita.exists():
        problems.append(f"no centralita binary at {centralita} (make build)")
    if not bench.exists():
        problems.append(f"no centralita-bench binary at {bench} (make build)")
    if "kamailio" in args.targets and not Path(args.kamailio).exists():
        problems.append(f"no kamailio at {args.kamailio} (Debian package kamailio)")
    if sipp_binary() is None:
        problems.append("no sipp (Debian package sip-tester)")
    if problems:
        print("suite.py: " + "; ".join(problems), file=sys.stderr)
        return None
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    args.centralita = str(snapshot(centralita.resolve(), bin_dir))
    bench = snapshot(bench.resolve(), bin_dir)
    caps = su.BenchCaps.probe(bench)
    print(f"# centralita-bench {bench}: --knee {'yes' if caps.knee else 'no (the suite steps the rate itself)'}, "
          f"call {'yes' if caps.call else 'no (skipped)'}", file=sys.stderr, flush=True)
    return caps


def main() -> int:
    args = parse_args()
    tmp = sp.new_tmp()
    try:
        caps = preflight(args, tmp)
    except RuntimeError as e:
        print(f"suite.py: {e}", file=sys.stderr)
        caps = None
    if caps is None:
        shutil.rmtree(tmp, ignore_errors=True)
        return 2
    sp.install_signal_handlers()
    plans = SMOKE_PLANS if args.smoke else PLANS
    pairs = [(s, t) for s in args.scenarios for t in args.targets]
    budget = Budget(args.budget, plans, pairs)
    command = shlex.join(["bench/compare/suite.py", *sys.argv[1:]])
    results: dict = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                     "command": command, "machine": sp.machine(), "versions": sp.versions(args),
                     "budget_s": args.budget, "users": args.users, "smoke": args.smoke,
                     "generator_caps": {"knee": caps.knee, "call": caps.call},
                     "plans": {s: asdict(plans[s]) for s in args.scenarios}, "scenarios": {}}
    status = 0
    try:
        users_file = (sp.write_centralita_users(tmp, args.users)
                      if "register" in args.scenarios and "centralita" in args.targets else None)
        for i, (scen, tname) in enumerate(pairs):
            if budget.over(grace=60):
                print(f"# {scen} {tname}: skipped, the budget is spent", file=sys.stderr, flush=True)
                results["scenarios"].setdefault(scen, {})[tname] = {
                    "scenario": scen, "target": tname, "label": tname, "notes": ["skipped: budget spent"]}
                continue
            print(f"# ---- {scen} / {tname} ({budget.elapsed():.0f} s into the suite)", file=sys.stderr, flush=True)
            later = [s for s, _ in pairs[i + 1:] if caps.call or s != "call"]
            cell = run_cell(args, scen, tname, plans[scen], caps, budget, later, tmp, users_file)
            results["scenarios"].setdefault(scen, {})[tname] = cell
    except KeyboardInterrupt as e:
        print(f"\n# interrupted ({str(e) or 'Ctrl-C'}): stopping every process", file=sys.stderr, flush=True)
        status = 130
    except Exception:
        status = 1
        raise
    finally:
        sp.stop_all()
        results["wall_s"] = budget.elapsed()
        shutil.rmtree(tmp, ignore_errors=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if status:
        return status
    text = sr.section(results)
    print(text)
    if not (args.no_write or args.smoke):
        sr.write_docs(Path(args.docs), text)
        print(f"# wrote the suite section of {args.docs}", file=sys.stderr)
    print(f"# suite done in {budget.elapsed():.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
