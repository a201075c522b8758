#!/usr/bin/env python3
"""The benchmark suite (`make bench`, bench/compare/suite.py) still runs: its --smoke mode
(tiny counts, ~30 s, docs left alone) against centralita and Kamailio, with centralita-bench
and sipp, and its JSON has every scenario x target with positive numbers:

  (a) suite.py --smoke --json FILE exits 0 within its bound
  (b) for options, register and call on centralita and on Kamailio: the sipp run carried
      (at least 99% of) its operations, with target CPU-µs/op > 0, generator CPU-µs/op > 0 and a p99
  (c) the same for the centralita-bench run (p99 > 0), unless the binary has no `call`
      scenario yet, which the cell must then say
  (d) a knee (highest rate under 0.1% failures) > 0 and memory (PSS) > 0 per cell
  (e) --target-pid sums Kamailio's process tree: centralita-bench's own CPU figure for
      Kamailio is of the order of the suite's (the main Kamailio process alone does ~nothing)

Skips (77) when kamailio or sipp is not installed.

    test_bench_suite.py --binary build/centralita --source-dir .
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import Checks, SkipTest, main  # noqa: E402
from sipp import sipp_binary  # noqa: E402

SUITE_TIMEOUT = 240.0    # the smoke run's own budget is 120 s (it takes ~25 s)
SCENARIOS = ["options", "register", "call"]
TARGETS = ["centralita", "kamailio"]


def positive(x) -> bool:
    return isinstance(x, (int, float)) and x > 0


def check_run(checks: Checks, where: str, run: dict | None, count: int, want_p99_positive: bool) -> None:
    if not checks.check(f"{where}: the run is in the JSON", isinstance(run, dict)):
        return
    count *= run.get("runs", 1)
    # At least 99%: with no retransmissions a datagram lost on a busy CI machine fails one.
    checks.check(f"{where}: {run['succeeded']} of {count} succeeded (attempted {run['attempted']}, "
                 f"failed {run['failed']})", run["succeeded"] >= 0.99 * count)
    checks.check(f"{where}: target CPU-µs/op > 0 ({run['target_cpu_us']})", positive(run["target_cpu_us"]))
    checks.check(f"{where}: generator CPU-µs/op > 0 ({run['generator_cpu_us']})",
                 positive(run["generator_cpu_us"]))
    p99 = run["p99_ms"]
    ok = positive(p99) if want_p99_positive else isinstance(p99, (int, float)) and p99 >= 0
    checks.check(f"{where}: p99 measured ({p99} ms)", ok)


def run(checks: Checks, args) -> None:
    kamailio = shutil.which("kamailio") or ("/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None)
    if kamailio is None:
        raise SkipTest("kamailio is not installed (Debian package kamailio)")
    if sipp_binary() is None:
        raise SkipTest("sipp is not installed (Debian package sip-tester)")
    bench = Path(args.binary).resolve().parent / "centralita-bench"
    if not checks.check(f"{bench} exists (the centralita-bench target is built)", bench.exists()):
        return
    suite = Path(args.source_dir) / "bench" / "compare" / "suite.py"
    out_dir = Path(tempfile.mkdtemp(prefix="test-bench-suite-"))
    try:
        out = out_dir / "suite.json"
        cmd = [sys.executable, str(suite), "--smoke", "--centralita", str(args.binary), "--bench", str(bench),
               "--kamailio", kamailio, "--json", str(out)]
        print("running: " + " ".join(cmd), flush=True)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            stdout, stderr = proc.communicate(timeout=SUITE_TIMEOUT)
        except subprocess.TimeoutExpired:
            # SIGTERM first: the suite then stops its targets (own sessions) in its finally.
            proc.terminate()
            try:
                stdout, stderr = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
            stderr += "\n(stopped: timeout)"
        rc = proc.returncode
        detail = f"exit {rc}\n--- stdout ---\n{stdout[-2000:]}\n--- stderr ---\n{stderr[-4000:]}"
        checks.check(f"(a) suite.py --smoke exits 0 (exit {rc})", rc == 0, detail)
        checks.check("(a) it prints the Markdown section", "## Benchmark suite (`make bench`)" in stdout
                     and "<!-- suite:end -->" in stdout, detail)
        try:
            results = json.loads(out.read_text())
        except (OSError, ValueError) as e:
            checks.check(f"(a) the JSON file is readable ({e})", False, detail)
            return
        caps = results.get("generator_caps", {})
        for scen in SCENARIOS:
            plan = results["plans"][scen]
            for target in TARGETS:
                cell = results["scenarios"].get(scen, {}).get(target)
                where = f"{scen}/{target}"
                if not checks.check(f"{where}: in the JSON", isinstance(cell, dict)):
                    continue
                check_run(checks, f"(b) {where} sipp", cell.get("sipp"), plan["count"], False)
                if scen == "call" and not caps.get("call"):
                    checks.check(f"(c) {where}: centralita-bench has no call scenario: the cell says so",
                                 cell.get("bench") is None and any("call" in n for n in cell.get("notes", [])))
                    continue
                check_run(checks, f"(c) {where} centralita-bench", cell.get("bench"), plan["count"], True)
                knee = cell.get("knee") or {}
                checks.check(f"(d) {where}: knee > 0 ({knee.get('rate')}/s, {knee.get('method')})",
                             positive(knee.get("rate")), json.dumps(knee, indent=1)[:2000])
                mem = cell.get("memory") or {}
                checks.check(f"(d) {where}: memory PSS > 0 ({mem.get('pss_bytes')} bytes, "
                             f"{mem.get('processes')} processes)", positive(mem.get("pss_bytes")))
                if target == "kamailio":
                    b = cell.get("bench") or {}
                    own, reported = b.get("target_cpu_us"), b.get("target_cpu_us_reported")
                    checks.check(f"(e) {where}: --target-pid counts Kamailio's tree ({mem.get('processes')} "
                                 f"processes): reported {reported} µs/op vs the suite's {own}",
                                 (mem.get("processes") or 0) > 1 and positive(reported) and positive(own)
                                 and reported >= 0.3 * own)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main(run)
