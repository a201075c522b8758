#!/usr/bin/env python3
"""centralita-bench --knee and --html (bench/loadgen/knee_run.*, html_report.*) for real.

  (a) against the switch: options --knee --knee-start 200 --knee-step 200 --knee-max 1000
      --step-duration 1 --json - --html F --target-pid <switch>: exit 0, a knee > 0, the
      JSON is the normal report of the step that set the knee plus "knee" with a step per
      rate (200, 400, ...), each step with its counts, p99 and target CPU per operation; a
      line per step on stderr; the HTML parses with balanced tags, has the three charts
      (knee, rate, latency), an achieved-rate point per step, the knee marked, and the
      headline numbers of the JSON
  (b) Ctrl-C during the second step: exit 0, the search ends, the step is "interrupted",
      the knee is the first step's rate
  (c) a target that answers nothing (a bound UDP socket) with --timeout-ms 500: exit 1
      ("no answer"), knee 0, the first step failed by "timeout" and no second step
  (d) --html on a single run: the rate and latency charts and the headline numbers
  (e) usage errors: --knee with --rate / --count / --duration, knee flags without --knee,
      bad values, each exit 2 naming the flag; --help lists --knee and --html

    test_bench_knee.py --binary build/centralita --source-dir .
"""

import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import HOST, Checks, Switch, check_clean_exit, main  # noqa: E402

RUN_TIMEOUT = 30.0     # no single bench run of this test takes longer
VOID = {"meta", "link", "br", "img", "input", "hr", "col", "wbr"}


def run_bench(bench: Path, *args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    cmd = [str(bench), *args]
    print("running: " + " ".join(cmd), flush=True)
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, -9, e.stdout or "", (e.stderr or "") + "\n(killed: timeout)")


def report_of(text: str) -> dict:
    try:
        return json.loads(text)
    except ValueError:
        return {}


def detail(r: subprocess.CompletedProcess) -> str:
    return f"exit {r.returncode}\n--- stdout ---\n{r.stdout[-3000:]}\n--- stderr ---\n{r.stderr[-3000:]}"


class Report(HTMLParser):
    """What the checks need from the HTML report: tag balance, the <svg> count, polyline
    points by class, the data-value of every headline card, the knee mark's label."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.mismatched: list[str] = []
        self.svgs = 0
        self.scripts = 0
        self.points: dict[str, int] = {}      # "section/class" -> points of that polyline
        self.cards: dict[str, float] = {}     # "card-p99" -> data-value
        self.knee_labels: list[str] = []
        self.title = ""
        self._section = ""
        self._card = ""
        self._knee_depth = -1

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag == "script":
            self.scripts += 1
        if tag == "section":
            self._section = a.get("id", "")
        if tag == "div" and (a.get("id") or "").startswith("card-"):
            self._card = a["id"]
        if tag == "div" and a.get("class") == "value" and self._card and "data-value" in a:
            self.cards[self._card] = float(a["data-value"])
        if tag == "g" and a.get("class") == "knee-mark":
            self._knee_depth = len(self.stack)
        self.handle_points(tag, a)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_points(tag, dict(attrs))

    def handle_points(self, tag, a):
        if tag == "polyline":
            cls = (a.get("class") or "").replace("series ", "")
            self.points[f"{self._section}/{cls}"] = len((a.get("points") or "").split())

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.mismatched.append(f"</{tag}> closes <{self.stack[-1] if self.stack else '-'}>")
            return
        self.stack.pop()
        if tag == "g" and len(self.stack) == self._knee_depth:
            self._knee_depth = -1

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "title" and "svg" not in self.stack:
            self.title += data
        if self._knee_depth >= 0 and self.stack and self.stack[-1] == "text":
            self.knee_labels.append(data)


def parse_html(path: Path) -> tuple[Report | None, str]:
    try:
        text = path.read_text("utf-8")
    except OSError as e:
        return None, str(e)
    p = Report()
    p.feed(text)
    p.close()
    return p, text


def close(a: float | None, b: float | None, tolerance: float = 0.002) -> bool:
    return a is not None and b is not None and abs(a - b) <= tolerance * max(1.0, abs(b))


def check_knee(checks: Checks, bench: Path, switch: Switch, tmp: Path) -> None:
    html = tmp / "knee.html"
    r = run_bench(bench, "options", "--knee", "--knee-start", "200", "--knee-step", "200",
                  "--knee-max", "1000", "--step-duration", "1", "--json", "-", "--html", str(html),
                  "--target-pid", str(switch.proc.pid), f"sip:{HOST}:{switch.port}")
    rep = report_of(r.stdout)
    knee = rep.get("knee", {})
    steps = knee.get("steps", [])
    checks.check(f"(a) --knee: exit 0, knee > 0 ({knee.get('rate')}/s, {len(steps)} steps)",
                 r.returncode == 0 and (knee.get("rate") or 0) > 0, detail(r))
    offered = [s.get("offered") for s in steps]
    checks.check(f"(a) the steps rise by 200/s from 200/s ({offered})",
                 len(steps) >= 1 and offered == [200.0 * (i + 1) for i in range(len(steps))], detail(r))
    keys = ["offered", "achieved", "attempted", "succeeded", "failed", "failures_by_cause", "p99_ms",
            "passed", "target_cpu_us_per_op"]
    passed = [s for s in steps if s.get("passed")]
    checks.check("(a) every step has its keys; the knee is the highest step that passed",
                 all(all(k in s for k in keys) for s in steps) and passed
                 and knee.get("rate") == max(s["offered"] for s in passed)
                 and all(s["attempted"] > 0 and s["succeeded"] > 0 for s in passed)
                 and all(s["target_cpu_us_per_op"] > 0 for s in passed),
                 json.dumps(knee, indent=1)[:3000])
    checks.check("(a) the knee object carries the bounds",
                 knee.get("max_failure_ratio") == 0.001 and knee.get("max_p99_ms") == 0
                 and knee.get("step_duration_s") == 1, json.dumps(knee)[:1000])
    report_keys = ["scenario", "attempted", "succeeded", "failed", "failures_by_cause", "rate_offered",
                   "rate_achieved", "latency_ms", "timeline", "target_cpu_us_per_op"]
    checks.check("(a) the JSON is the knee step's normal report (same keys) plus 'knee'",
                 all(k in rep for k in report_keys) and rep.get("rate_offered") == knee.get("rate")
                 and any(s["offered"] == knee.get("rate") and s["attempted"] == rep.get("attempted")
                         for s in steps),
                 json.dumps({k: v for k, v in rep.items() if k not in ("timeline", "knee")})[:2000])
    checks.check("(a) a line per step on stderr, then the step table",
                 "step 1: 200/s offered" in r.stderr and ": pass" in r.stderr
                 and r.stderr.count("\nstep ") + r.stderr.startswith("step ") >= len(steps)
                 and "offered/s" in r.stderr and "knee " in r.stderr, detail(r))

    page, text = parse_html(html)
    if not checks.check(f"(a) --html wrote {html}", page is not None, text):
        return
    checks.check(f"(a) the HTML parses with balanced tags, no script ({page.mismatched[:3]}, "
                 f"open {page.stack[:3]})",
                 not page.mismatched and not page.stack and page.scripts == 0
                 and text.startswith("<!DOCTYPE html>"))
    checks.check(f"(a) three charts: knee, rate, latency ({page.svgs} svg; {page.points})",
                 page.svgs == 3 and page.points.get("knee/s-achieved") == len(steps)
                 and (page.points.get("rate/s-succeeded") or 0) >= len(steps)
                 and (page.points.get("latency/s-p99") or 0) >= len(steps))
    label = f"knee {int(knee.get('rate') or 0):,}/s"
    checks.check(f"(a) the knee is marked ('{label}' in {page.knee_labels})",
                 label in page.knee_labels and page.cards.get("card-knee") == knee.get("rate"))
    lat = rep.get("latency_ms", {})
    checks.check("(a) the headline numbers are the JSON's",
                 page.cards.get("card-attempted") == rep.get("attempted")
                 and page.cards.get("card-succeeded") == rep.get("succeeded")
                 and page.cards.get("card-failed") == rep.get("failed")
                 and close(page.cards.get("card-rate-achieved"), rep.get("rate_achieved"))
                 and close(page.cards.get("card-p99"), lat.get("p99"))
                 and close(page.cards.get("card-p50"), lat.get("p50"))
                 and close(page.cards.get("card-target-cpu"), rep.get("target_cpu_us_per_op"))
                 and "card-self-cpu" in page.cards and "options" in page.title,
                 f"cards {page.cards}\nJSON {json.dumps({k: v for k, v in rep.items() if k not in ('timeline', 'knee')})}")


def check_interrupt(checks: Checks, bench: Path, switch: Switch, tmp: Path) -> None:
    out = tmp / "interrupted.json"
    cmd = [str(bench), "options", "--knee", "--knee-start", "200", "--knee-step", "200",
           "--step-duration", "2", "--json", str(out), f"sip:{HOST}:{switch.port}"]
    print("running: " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    first_step = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("step 1:"):
                first_step.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        seen = first_step.wait(15)
        if seen:
            # Step 1 is over once its line is out. The bench blocks SIGINT and polls for it
            # while a step runs, so the signal stops step 2 whenever in it it lands.
            proc.send_signal(signal.SIGINT)
        rc = proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    reader.join(5)
    stderr = "".join(lines)
    rep = report_of(out.read_text()) if out.exists() else {}
    knee = rep.get("knee", {})
    steps = knee.get("steps", [])
    checks.check(f"(b) Ctrl-C in step 2: exit 0, interrupted, knee 200 "
                 f"(exit {rc}, knee {knee.get('rate')}, {[s.get('verdict') for s in steps]})",
                 seen and rc == 0 and knee.get("interrupted") is True and knee.get("rate") == 200
                 and len(steps) == 2 and steps[1].get("verdict") == "interrupted"
                 and steps[1].get("passed") is False and "stopping the search" in stderr,
                 f"--- stderr ---\n{stderr[-3000:]}")


def check_silent_target(checks: Checks, bench: Path) -> None:
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind((HOST, 0))   # bound, so no ICMP "port unreachable": requests just vanish
    try:
        r = run_bench(bench, "options", "--knee", "--knee-start", "200", "--step-duration", "1",
                      "--timeout-ms", "500", "--json", "-", f"sip:{HOST}:{sink.getsockname()[1]}")
    finally:
        sink.close()
    rep = report_of(r.stdout)
    knee = rep.get("knee", {})
    steps = knee.get("steps", [])
    first = steps[0] if steps else {}
    checks.check(f"(c) silent target: exit 1 'no answer', knee 0, one step failed by timeout "
                 f"(exit {r.returncode}, knee {knee.get('rate')}, {first.get('failures_by_cause')})",
                 r.returncode == 1 and "no answer" in r.stderr and knee.get("rate") == 0
                 and len(steps) == 1 and first.get("passed") is False
                 and first.get("attempted", 0) > 0
                 and first.get("failures_by_cause") == {"timeout": first.get("attempted")}
                 and "timeout" in r.stderr, detail(r))


def check_single_run_html(checks: Checks, bench: Path, switch: Switch, tmp: Path) -> None:
    html = tmp / "single.html"
    r = run_bench(bench, "options", "--rate", "500", "--count", "1000", "--json", "-", "--html",
                  str(html), f"sip:{HOST}:{switch.port}")
    rep = report_of(r.stdout)
    page, text = parse_html(html)
    ok = r.returncode == 0 and page is not None
    checks.check("(d) --html on a single run: balanced, two charts, the headline numbers",
                 ok and not page.mismatched and not page.stack and page.svgs == 2
                 and (page.points.get("rate/s-attempted") or 0) >= 1
                 and page.cards.get("card-attempted") == 1000 == rep.get("attempted")
                 and close(page.cards.get("card-p99"), rep.get("latency_ms", {}).get("p99"))
                 and "card-knee" not in page.cards,
                 detail(r) + (f"\ncards {page.cards} points {page.points}" if page else text))


def check_usage(checks: Checks, bench: Path) -> None:
    target = f"sip:{HOST}:5060"
    cases = [
        (["--knee", "--rate", "500"], "--knee conflicts with --rate"),
        (["--knee", "--count", "10", "--duration", "5"], "--knee conflicts with --count, --duration"),
        (["--knee", "--ramp", "10:100:5"], "--ramp"),
        (["--knee-start", "200"], "--knee-start: only with --knee"),
        (["--knee", "--knee-factor", "0.5"], "--knee-factor"),
        (["--knee", "--step-duration", "0"], "--step-duration"),
        (["--knee", "--max-failures", "250"], "--max-failures"),
    ]
    for args, needle in cases:
        r = run_bench(bench, "options", *args, target)
        checks.check(f"(e) {' '.join(args)}: exit 2, '{needle}'",
                     r.returncode == 2 and needle in r.stderr, detail(r))
    r = run_bench(bench, "--help")
    checks.check("(e) --help lists --knee, its flags and --html",
                 r.returncode == 0 and all(f in r.stdout for f in
                                           ("--knee ", "--knee-step", "--max-p99", "--html FILE")),
                 detail(r))


def run(checks: Checks, args) -> None:
    bench = Path(args.binary).resolve().parent / "centralita-bench"
    if not checks.check(f"{bench} exists (the centralita-bench target is built)", bench.exists()):
        return
    check_usage(checks, bench)
    with tempfile.TemporaryDirectory(prefix="bench-knee-") as d:
        tmp = Path(d)
        switch = Switch(args.binary).start()
        try:
            check_knee(checks, bench, switch, tmp)
            check_interrupt(checks, bench, switch, tmp)
            check_single_run_html(checks, bench, switch, tmp)
        finally:
            if switch.alive():
                check_clean_exit(checks, switch)
            else:
                switch.stop(check=False)
            switch.cleanup()
    check_silent_target(checks, bench)


if __name__ == "__main__":
    main(run)
