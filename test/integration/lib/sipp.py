"""Running sipp (Debian sip-tester 3.6) from Python and reading its final statistics.

Shared by test/integration/test_sipp_options.py and bench/compare/options_bench.py.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from centralita_test import HOST, free_port


@dataclass
class SippResult:
    exit_code: int | None          # sipp: 0 all calls ok, 1 some failed, 99 none processed, <0 fatal
    created: int
    successful: int
    failed: int
    failed_detail: dict[str, int]
    elapsed_s: float               # wall time of the sipp run, as measured here
    call_rate: float               # sipp's cumulative CallRate(C)
    stat_elapsed_s: float          # first call to last statistics row, from sipp's own clock
    active_s: float                # statistics periods in which calls succeeded (see active_seconds)
    output_tail: str
    command: list[str]
    timed_out: bool = False

    @property
    def achieved_rate(self) -> float:
        """Successful calls per second of wall time."""
        return self.successful / self.elapsed_s if self.elapsed_s > 0 else 0.0


def sipp_binary() -> str | None:
    return shutil.which("sipp")


def run_sipp(scenario: Path, target_port: int, *, transport: str = "u1", calls: int = 10000,
             rate: int = 1000, rate_period_ms: int = 1000, limit: int = 200,
             global_timeout_s: int = 60, recv_timeout_ms: int = 5000, no_retrans: bool = False,
             extra: list[str] | None = None, wall_timeout_s: float | None = None,
             on_start=None) -> SippResult:
    """Runs sipp as a UAC against 127.0.0.1:target_port and returns its final statistics.

    Bounded three ways: -m calls, -timeout (sipp's own global timeout), and a wall-clock
    timeout on the process (global timeout + 15 s) after which it is killed.
    on_start(proc) is called right after the process starts (the bench samples CPU then).
    """
    sipp = sipp_binary()
    if sipp is None:
        raise FileNotFoundError("sipp")
    work = Path(tempfile.mkdtemp(prefix="centralita-sipp-"))
    stat_file = work / "stats.csv"
    cmd = [sipp, "-sf", str(scenario), "-t", transport, "-i", HOST, "-p", str(free_port()),
           "-r", str(rate), "-rp", str(rate_period_ms), "-m", str(calls), "-l", str(limit),
           "-recv_timeout", str(recv_timeout_ms), "-timeout", f"{global_timeout_s}s",
           "-timeout_error", "-nostdin", "-trace_stat", "-stf", str(stat_file), "-fd", "1",
           "-trace_err", "-error_file", str(work / "errors.log"),
           "-max_recv_loops", "10000", "-max_sched_loops", "10000"]
    if no_retrans:
        cmd.append("-nr")
    cmd += list(extra or [])
    cmd.append(f"{HOST}:{target_port}")
    wall = wall_timeout_s or (global_timeout_s + 15)
    out_path = work / "stdout.log"
    start = time.monotonic()
    timed_out = False
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=work)
        try:
            if on_start:
                on_start(proc)
            try:
                proc.wait(wall)
            except subprocess.TimeoutExpired:
                timed_out = True
                proc.kill()
                proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    elapsed = time.monotonic() - start
    tail = "\n".join(out_path.read_text("utf-8", "replace").splitlines()[-30:])
    errors = work / "errors.log"
    if errors.exists() and errors.stat().st_size:
        text = errors.read_text("utf-8", "replace")
        # sipp 3.6 writes the events without newlines between them: split before each date.
        text = re.sub(r"(?<=\S)(\d{4}-\d\d-\d\d\t)", r"\n\1", text)
        lines = text.splitlines()
        tail += "\n--- sipp errors.log (first 10 of %d lines) ---\n" % len(lines) + "\n".join(lines[:10])
    rows = stat_rows(stat_file)
    row = rows[-1] if rows else {}
    shutil.rmtree(work, ignore_errors=True)

    def num(key: str) -> int:
        try:
            return int(float(row.get(key, "0") or 0))
        except ValueError:
            return 0

    failed_detail = {k.removesuffix("(C)"): num(k) for k in row
                     if k.startswith("Failed") and k.endswith("(C)") and num(k)}
    try:
        call_rate = float(row.get("CallRate(C)", "0") or 0)
    except ValueError:
        call_rate = 0.0
    return SippResult(exit_code=proc.returncode, created=num("TotalCallCreated"),
                      stat_elapsed_s=epoch(row.get("CurrentTime")) - epoch(row.get("StartTime")),
                      active_s=active_seconds(rows),
                      successful=num("SuccessfulCall(C)"), failed=num("FailedCall(C)"),
                      failed_detail=failed_detail, elapsed_s=elapsed, call_rate=call_rate,
                      output_tail=tail, command=cmd, timed_out=timed_out)


def epoch(stamp: str | None) -> float:
    """sipp writes times as 'YYYY-MM-DD<TAB>HH:MM:SS.us<TAB>epoch.us': take the epoch."""
    try:
        return float((stamp or "").split()[-1])
    except (IndexError, ValueError):
        return 0.0


def stat_rows(path: Path) -> list[dict[str, str]]:
    """The rows of sipp's -trace_stat CSV (';'-separated, header in the first row)."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.reader(f, delimiter=";"))
    if len(rows) < 2:
        return []
    return [{h: v for h, v in zip(rows[0], r) if h} for r in rows[1:]]


def active_seconds(rows: list[dict[str, str]]) -> float:
    """Sum of the statistics periods (-fd) in which at least one call succeeded: the time
    spent answering, without the tail where sipp only waits for lost answers to time out."""
    total = 0.0
    for r in rows:
        try:
            ok = int(float(r.get("SuccessfulCall(P)", "0") or 0))
        except ValueError:
            ok = 0
        if ok > 0:
            total += max(0.0, epoch(r.get("CurrentTime")) - epoch(r.get("LastResetTime")))
    return total
