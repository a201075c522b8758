#!/usr/bin/env python3
"""centralita-bench events (bench/loadgen/events_*) against the real switch's /events.

  (a) 20 subscribers of ?event=REGISTER and --drive register: 500 REGISTERs at 250/s once
      every subscriber has its hello: exit 0, all 20 connected, the driver's 500 succeed,
      delivered = 500 x 20 (500 each), gaps 0, no dropped notice, no close by the switch,
      a delivery latency for every event; the JSON has the documented keys
  (b) a switch with [http] ws_queue = 16 and --slow 2 (two subscribers stop reading after
      their first event): both get "dropped" and close 1008, the report counts them
      (dropped notices 2, closes_by_code {"1008": 2}, gaps in those two), the other
      subscribers get all 500 events with no gaps
  (c) --http-token on the switch: a wrong --token -> every subscriber fails with cause
      "401", exit 1; the right one connects them all
  (d) nothing listening: every subscriber fails with cause "refused", exit 1; bad usage
      (--slow above --subscribers) exits 2 naming the flag

    test_bench_events.py --binary build/centralita --source-dir .
"""

import json
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import HOST, Checks, Switch, check_clean_exit, free_port, main  # noqa: E402

RUN_TIMEOUT = 40.0     # no single bench run of this test takes longer (each is bounded by --duration)
TOKEN = "events-bench-token"


def run_bench(bench: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [str(bench), "events", *args]
    print("running: " + " ".join(cmd), flush=True)
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, -9, e.stdout or "", (e.stderr or "") + "\n(killed: timeout)")


def report_of(r: subprocess.CompletedProcess) -> dict:
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {}


def brief(rep: dict) -> str:
    """The report without its bulky parts, for failure details."""
    return json.dumps({k: v for k, v in rep.items() if k not in ("timeline", "per_subscriber")}, indent=1)


def detail(r: subprocess.CompletedProcess) -> str:
    return f"exit {r.returncode}\n--- stdout ---\n{r.stdout[-4000:]}\n--- stderr ---\n{r.stderr[-3000:]}"


def start_switch(binary: str, config: str = "", extra: list[str] | None = None) -> Switch:
    sw = Switch(binary, extra or [])
    if config:
        (sw.tmp / "centralita.toml").write_text(config)
        sw.args += ["--config", str(sw.tmp / "centralita.toml")]
    return sw.start()


def driven(sw: Switch, *extra: str) -> list[str]:
    return ["--drive", "register", "--sip", f"sip:{HOST}:{sw.port}", "--rate", "250",
            "--drive-count", "500", "--json", "-", *extra, f"http://{HOST}:{sw.http_port}"]


def check_fan_out(checks: Checks, bench: Path, binary: str) -> None:
    sw = start_switch(binary)
    try:
        r = run_bench(bench, "--subscribers", "20", *driven(sw, "--users", "fan[1-500]"))
        rep = report_of(r)
        drv = rep.get("driver") or {}
        checks.check(f"(a) exit 0, 20 of 20 connected, the driver's 500 REGISTERs succeed "
                     f"(connected {rep.get('connected')}, driver {drv.get('succeeded')} "
                     f"{drv.get('failures_by_cause')})",
                     r.returncode == 0 and rep.get("subscribers") == 20 and rep.get("connected") == 20
                     and drv.get("succeeded") == 500 and rep.get("expected_per_subscriber") == 500,
                     detail(r))
        per = rep.get("delivered_per_subscriber") or {}
        checks.check(f"(a) delivered = 500 x 20 = 10000, 500 each, gaps 0 (delivered {rep.get('delivered')}, "
                     f"{per}, gaps {rep.get('gaps')})",
                     rep.get("delivered") == 10000 and per.get("min") == 500 and per.get("max") == 500
                     and rep.get("gaps") == 0, brief(rep))
        checks.check("(a) nothing dropped, missed, duplicated or closed by the switch",
                     rep.get("dropped") == {"notices": 0, "events": 0}
                     and rep.get("missed") == {"notices": 0, "events": 0}
                     and rep.get("duplicates") == 0 and rep.get("out_of_order") == 0
                     and rep.get("closes_by_code") == {}, brief(rep))
        lat = rep.get("latency_ms") or {}
        keys = ["scenario", "target", "subscribers", "connected", "delivered", "gaps", "dropped",
                "closes_by_code", "latency_ms", "latencies_ms", "attempted", "succeeded", "failed",
                "failures_by_cause", "elapsed_s", "events_per_s", "timeline", "per_subscriber"]
        checks.check(f"(a) the JSON has the documented keys; a delivery latency per event "
                     f"(count {lat.get('count')}, p50 {lat.get('p50')} ms, p99 {lat.get('p99')} ms)",
                     all(k in rep for k in keys) and rep.get("scenario") == "events"
                     and lat.get("count") == 10000 and "delivery" in (rep.get("latencies_ms") or {})
                     and 0 <= lat.get("p50", -1) <= lat.get("p99", -1) <= lat.get("max", -1),
                     brief(rep))
        checks.check("(a) the summary table goes to stderr when stdout carries the JSON",
                     "delivered" in r.stderr and "gaps" in r.stderr, detail(r))
        check_clean_exit(checks, sw)
    finally:
        sw.stop(check=False)


def check_slow(checks: Checks, bench: Path, binary: str) -> None:
    sw = start_switch(binary, "[http]\nws_queue = 16\n")
    try:
        r = run_bench(bench, "--subscribers", "6", "--slow", "2", *driven(sw, "--users", "slow[1-500]"))
        rep = report_of(r)
        subs = rep.get("per_subscriber") or []
        slow = [s for s in subs if s.get("slow")]
        fast = [s for s in subs if not s.get("slow")]
        checks.check(f"(b) exit 0, 6 connected, the driver's 500 succeed (connected {rep.get('connected')})",
                     r.returncode == 0 and rep.get("connected") == 6
                     and (rep.get("driver") or {}).get("succeeded") == 500, detail(r))
        checks.check(f"(b) both slow subscribers get \"dropped\" and close 1008 (dropped {rep.get('dropped')}, "
                     f"closes {rep.get('closes_by_code')}, slow: "
                     f"{[(s.get('delivered'), s.get('dropped'), s.get('close_code'), s.get('gaps')) for s in slow]})",
                     len(slow) == 2 and all(s.get("close_code") == 1008 and s.get("dropped", 0) > 0
                                            and s.get("gaps", 0) > 0 for s in slow)
                     and (rep.get("dropped") or {}).get("notices") == 2
                     and rep.get("closes_by_code") == {"1008": 2}, brief(rep))
        checks.check(f"(b) the report counts their gaps: gaps = theirs, in 2 subscribers "
                     f"({rep.get('gaps')}, {rep.get('gaps_detail')})",
                     rep.get("gaps") == sum(s.get("gaps", 0) for s in slow) > 0
                     and (rep.get("gaps_detail") or {}).get("subscribers_with_gaps") == 2, brief(rep))
        checks.check(f"(b) the 4 others get all 500 events, no gaps "
                     f"({[(s.get('delivered'), s.get('gaps')) for s in fast]})",
                     len(fast) == 4 and all(s.get("delivered") == 500 and s.get("gaps") == 0
                                            and s.get("close_code") is None for s in fast), brief(rep))
        check_clean_exit(checks, sw)
    finally:
        sw.stop(check=False)


def check_token(checks: Checks, bench: Path, binary: str) -> None:
    sw = start_switch(binary, extra=["--http-token", TOKEN])
    try:
        url = f"http://{HOST}:{sw.http_port}"
        r = run_bench(bench, "--subscribers", "5", "--token", "wrong", "--duration", "5", "--json", "-", url)
        rep = report_of(r)
        checks.check(f"(c) wrong token: 5 failures by cause 401, exit 1 (exit {r.returncode}, "
                     f"{rep.get('connect_failures')})",
                     r.returncode == 1 and rep.get("connected") == 0
                     and rep.get("connect_failures") == {"401": 5}
                     and rep.get("failures_by_cause") == {"401": 5}
                     and "no subscriber could connect" in r.stderr, detail(r))
        r = run_bench(bench, "--subscribers", "5", "--token", TOKEN, "--duration", "1", "--json", "-", url)
        rep = report_of(r)
        checks.check(f"(c) the right token: 5 of 5 connected, exit 0 ({rep.get('connected')})",
                     r.returncode == 0 and rep.get("connected") == 5, detail(r))
        check_clean_exit(checks, sw)
    finally:
        sw.stop(check=False)


def check_refused_and_usage(checks: Checks, bench: Path) -> None:
    port = free_port()
    r = run_bench(bench, "--subscribers", "3", "--duration", "5", "--json", "-", f"http://{HOST}:{port}")
    rep = report_of(r)
    checks.check(f"(d) nothing listening: 3 failures by cause \"refused\", exit 1 "
                 f"(exit {r.returncode}, {rep.get('connect_failures')})",
                 r.returncode == 1 and rep.get("connect_failures") == {"refused": 3}
                 and "refused" in r.stderr, detail(r))
    r = run_bench(bench, "--subscribers", "2", "--slow", "3", f"http://{HOST}:{port}")
    checks.check("(d) --slow above --subscribers: exit 2 naming --slow",
                 r.returncode == 2 and "--slow" in r.stderr, detail(r))


def run(checks: Checks, args) -> None:
    bench = Path(args.binary).resolve().parent / "centralita-bench"
    if not checks.check(f"{bench} exists (the centralita-bench target is built)", bench.exists()):
        return
    check_fan_out(checks, bench, args.binary)
    check_slow(checks, bench, args.binary)
    check_token(checks, bench, args.binary)
    check_refused_and_usage(checks, bench)


if __name__ == "__main__":
    main(run)
