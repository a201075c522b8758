#!/usr/bin/env python3
"""The measurements of push_bench.py, apart from the SIP traffic: CPU from /proc (the switch's
and the gateway's utime+stime ticks and schedstat ns, the switch's threads, this driver's
rusage, the machine's /proc/stat), percentiles, and the parsing of what the switch and the
gateway logged (malloc_trim stalls, push delivery times, attempts, retry and failure reasons;
the gateway's request log). PSS and the switch's SIGUSR1 status line come from
sip_core_bench.pss_bytes and script_bench.switch_status, which push_bench.py calls directly.
Python standard library only.
"""

from __future__ import annotations

import datetime
import re
import resource
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "test" / "integration" / "lib"))

import options_bench as ob  # noqa: E402
from push_bench_phones import Driver  # noqa: E402
from push_gateway import PushGateway  # noqa: E402


# --------------------------------------------------------------------------- measurements

def pct(samples: list[float], p: float) -> float | None:
    if not samples:
        return None
    return samples[min(len(samples) - 1, int(p / 100 * len(samples)))]


def cpu_us(a: ob.CpuSample, b: ob.CpuSample, n: int) -> dict:
    return {"ticks_us_per_flow": (b.ticks - a.ticks) * 1e6 / ob.CLK_TCK / n if n else None,
            "sched_us_per_flow": (b.sched_ns - a.sched_ns) / 1e3 / n if n else None,
            "seconds": (b.sched_ns - a.sched_ns) / 1e9}


def self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def machine_ticks() -> tuple[int, int]:
    """(busy, idle) clock ticks of the whole machine, from /proc/stat's cpu line."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is inside user)
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], v[3] + v[4]


class Sample:
    """CPU of the switch, the gateway, this driver and the machine at one moment."""

    def __init__(self, sw: ob.Target, gw: PushGateway) -> None:
        self.wall = time.monotonic()
        self.sw = ob.sample_cpu(sw.proc.pid)
        self.gw = ob.sample_cpu(gw.proc.pid)
        self.me = self_cpu()
        self.busy, self.idle = machine_ticks()
        self.threads = ob.thread_schedstats(sw.proc.pid)


def thread_use(a: Sample, b: Sample) -> list[tuple[str, float]]:
    """The switch's threads by CPU between a and b: (name/tid, share of one core), busiest first."""
    wall = b.wall - a.wall
    out = [(k, (v[0] - a.threads.get(k, (0, 0))[0]) / 1e9 / wall) for k, v in b.threads.items()]
    return sorted(((k, u) for k, u in out if u >= 0.01), key=lambda x: -x[1])


def others(a: Sample, b: Sample) -> dict:
    """What the rest of the machine did between a and b, in cores (average)."""
    wall = b.wall - a.wall
    if wall <= 0:
        return {}
    ours = (b.sw.ticks - a.sw.ticks + b.gw.ticks - a.gw.ticks) / ob.CLK_TCK + (b.me - a.me)
    busy = (b.busy - a.busy) / ob.CLK_TCK
    return {"wall_s": wall, "busy_cores": busy / wall, "ours_cores": ours / wall,
            "others_cores": max(0.0, busy - ours) / wall,
            "idle_cores": (b.idle - a.idle) / ob.CLK_TCK / wall}


def switch_log_facts(path: Path, since: str) -> dict:
    """From the switch's log, lines at or after the wall-clock time `since` ("%Y-%m-%d
    %H:%M:%S"): malloc_trim stalls, the push service's delivery times and attempts, retry and
    failure reasons."""
    trims, sent_ms, attempts, retry, failed = [], [], Counter(), Counter(), Counter()
    rx_sent = re.compile(r": sent \((\d+) attempt\(s\), (\d+) ms\)")
    try:
        with open(path, errors="replace") as fh:
            for line in fh:
                if line[:19] < since:
                    continue
                if "malloc_trim took" in line:
                    trims.append(int(line.rsplit("took", 1)[1].split()[0]))
                elif ": sent (" in line:
                    m = rx_sent.search(line)
                    if m:
                        attempts[m.group(1)] += 1
                        sent_ms.append(int(m.group(2)))
                elif "; retry in " in line:
                    retry[line.rsplit(": ", 1)[1].split(";")[0].strip()] += 1
                elif " failed: " in line and "[app]" in line:
                    failed[re.sub(r"\d+", "N", line.split(" failed: ", 1)[1].strip())] += 1
    except OSError:
        pass
    return {"malloc_trim_ms": trims, "push_sent_ms": sorted(sent_ms),
            "push_attempts": dict(attempts), "push_retry_reasons": dict(retry),
            "push_failure_reasons": dict(failed)}


def gateway_arrivals(gw: PushGateway, drv: Driver) -> dict:
    """When each accepted push reached the gateway (its request log, wall clock)."""
    try:
        reqs = gw.requests()
    except Exception as e:  # context only
        return {"error": str(e)}
    verdicts = Counter()
    for r in reqs:
        verdicts[f"{r.get('provider')} {r.get('verdict')} {r.get('status')}"] += 1
        f = drv.by_prid.get(r.get("token") or "")
        if f is None or r.get("verdict") != "accepted" or f.t_gateway is not None:
            continue
        try:
            f.t_gateway = datetime.datetime.fromisoformat(r["at"].replace("Z", "+00:00")).timestamp()
        except (KeyError, ValueError):
            pass
    return {"requests": len(reqs), "verdicts": dict(verdicts)}
