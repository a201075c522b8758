#!/usr/bin/env python3
"""centralita against RTPEngine as media relays, in one session (issue 8): the runs of
bench/compare/media_bench.py, interleaved, repeated, and summarised by their medians.

Both relays are started here (bench/peers/centralita_peer.py, rtpengine_peer.py), on
disjoint RTP port ranges, and stay up for the fixed runs. For each N in --calls, --repeats
rounds run N calls on one relay and then on the other, the order alternating from round to
round, so that a noisy minute on this shared machine falls on both. The figure compared is
the median CPU-µs per relayed packet, from the tick counts of /proc/<pid>/stat (as
media_bench reports) and from the finer /proc/<pid>/task/*/schedstat on-CPU time.

--knee then searches each relay's loss knee (media_bench's search), one relay at a time on
the whole port range, so the two never share the cores during a step. --transcode measures
Opus⇄PCMA for both.

    bench/compare/media_compare.py --calls 100,500,1000 --repeats 3
    bench/compare/media_compare.py --calls 100 --repeats 5 --knee --transcode --json out.json

Markdown to stdout, progress to stderr, every raw run to --json FILE.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(HERE))

import media_bench as mb  # noqa: E402
from media_relays import CentralitaRelay, Relay, RtpEngineRelay  # noqa: E402

# Disjoint halves of the range below the ephemeral ports, 4 ports a call: 2,750 calls each.
HALVES = ((10000, 20999), (21000, 31999))


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, argparse.Namespace]:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=mb.parse_calls, default=[100, 500, 1000])
    p.add_argument("--repeats", type=int, default=3, help="rounds per N (default 3)")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--centralita", default=str(mb.ROOT / "build" / "centralita"))
    p.add_argument("--workers", type=int, help="centralita --workers (default: its own)")
    p.add_argument("--threads", type=int, help="rtpengine --num-threads (default: its own)")
    p.add_argument("--inband-dtmf", choices=["auto", "always", "never"], default="never",
                   help="centralita's [media] inband_dtmf (default never: the plain relay, "
                        "as RTPEngine's, which does not look into the audio; auto is the "
                        "switch's default and decodes every G.711 stream for DTMF)")
    p.add_argument("--rtp-load", default=str(mb.ROOT / "build" / "centralita-rtp-load"))
    p.add_argument("--knee", action="store_true", help="also search both loss knees")
    p.add_argument("--knee-max", type=int, default=4000)
    p.add_argument("--transcode", action="store_true", help="also measure Opus<->PCMA")
    p.add_argument("--transcode-calls", type=mb.parse_calls, default=[50])
    p.add_argument("--wait-quiet", type=float, default=0, metavar="S")
    p.add_argument("--json", metavar="FILE")
    a = p.parse_args(argv)
    if a.repeats < 1:
        p.error("--repeats must be at least 1")
    limit = (HALVES[0][1] - HALVES[0][0] + 1 - 512) // 4
    if any(n > limit for n in a.calls):
        p.error(f"--calls above {limit} do not fit half of the port range")
    # media_bench's own options, for its run and knee functions.
    mb_args = mb.parse_args(["--calls", "", "--seconds", str(a.seconds), "--rtp-load", a.rtp_load,
                             "--knee-max", str(min(a.knee_max, mb.calls_limit())),
                             "--wait-quiet", str(a.wait_quiet)])
    return a, mb_args


def make_relays(a: argparse.Namespace, whole: bool) -> list[Relay]:
    """centralita and rtpengine; on disjoint halves of the port range, or (whole) each on a
    range sized for the knee search (then only one may run at a time)."""
    size = a.knee_max if whole else max(a.calls + a.transcode_calls)
    c = CentralitaRelay(a.centralita, a.workers, size, a.inband_dtmf)
    r = RtpEngineRelay(a.threads, size)
    if not whole:
        c.engine.port_min, c.engine.port_max = HALVES[0]
        r.engine.port_min, r.engine.port_max = HALVES[1]
    return [c, r]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def fixed_runs(a, mb_args, relays: list[Relay]) -> dict[str, dict[int, list[mb.RunResult]]]:
    runs: dict[str, dict[int, list[mb.RunResult]]] = {r.name: {} for r in relays}
    for n in a.calls:
        for k in range(a.repeats):
            for relay in (relays if k % 2 == 0 else relays[::-1]):
                r = mb.run_checked(mb_args, relay, n, False, f"cmp{k}")
                runs[relay.name].setdefault(n, []).append(r)
    return runs


def per_packet_sched(r: mb.RunResult) -> float:
    """CPU-µs per packet from schedstat's on-CPU ns (0 where unavailable)."""
    packets = 2 * r.calls * mb.PACKETS_PER_SECOND * r.window_s
    return r.relay_cpu_sched_s * 1e6 / packets if packets else 0.0


def comparison(a, runs, names: list[str]) -> list[str]:
    c, r = names
    md = [f"| calls | {c} CPU-µs/packet | {r} CPU-µs/packet | ratio | {c} (schedstat) "
          f"| {r} (schedstat) | ratio | loss % ({c} / {r}) | delay p99 ms ({c} / {r}) |",
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in a.calls:
        rc, rr = runs[c][n], runs[r][n]
        tc = median([x.cpu_us_per_packet for x in rc])
        tr = median([x.cpu_us_per_packet for x in rr])
        sc = median([per_packet_sched(x) for x in rc])
        sr = median([per_packet_sched(x) for x in rr])
        loss = f"{max(x.loss_pct for x in rc):.3f} / {max(x.loss_pct for x in rr):.3f}"
        p99 = (f"{median([x.delay_p99_ms for x in rc]):.1f} / "
               f"{median([x.delay_p99_ms for x in rr]):.1f}")
        md.append(f"| {n:,} | {tc:.2f} | {tr:.2f} | **{tc / tr:.2f}** | {sc:.2f} | {sr:.2f} | "
                  f"{sc / sr if sr else 0:.2f} | {loss} | {p99} |")
    md += ["", f"Medians of {a.repeats} interleaved runs per N; loss is the worst run's. "
           "Every run (CPU-µs/packet from ticks):", ""]
    for n in a.calls:
        for name in names:
            md.append(f"- {n:,} calls, {name}: "
                      + ", ".join(f"{x.cpu_us_per_packet:.2f}" for x in runs[name][n]))
    return md


def main() -> int:
    a, mb_args = parse_args()
    if mb.rtpengine_peer.rtpengine_binary() is None:
        print("rtpengine is not installed (Debian package rtpengine-daemon; .ci/install-deps)",
              file=sys.stderr)
        return 77
    md = ["### Media relays in one session: centralita and RTPEngine", "",
          f"{mb.machine()}; `{shlex.join(sys.argv)}`", ""]
    data: dict = {"machine": mb.machine(), "command": sys.argv}
    relays = make_relays(a, whole=False)
    names = [r.name for r in relays]
    for relay in relays:
        relay.start()
    try:
        data["versions"] = {r.name: r.version() for r in relays}
        md += [f"- {r.name}: {r.version()}" for r in relays] + [""]
        if a.calls:
            runs = fixed_runs(a, mb_args, relays)
            md += ["#### Relay CPU per packet (G.711 PCMA both sides, 50 packets/s per stream)",
                   "", *comparison(a, runs, names), ""]
            data["fixed"] = {name: {n: [asdict(x) for x in rs] for n, rs in by_n.items()}
                             for name, by_n in runs.items()}
        if a.transcode:
            md += ["#### Transcoded Opus ⇄ PCMA", ""]
            data["transcode"] = {}
            for relay in relays:
                ok, why = relay.transcode_support()
                rows = ([mb.run_checked(mb_args, relay, n, True, "tc") for n in a.transcode_calls]
                        if ok else [])
                md += [f"{relay.name}:", ""] + (mb.table(rows) if ok else [f"Not measured: {why}"])
                md.append("")
                data["transcode"][relay.name] = [asdict(x) for x in rows]
    finally:
        for relay in relays:
            relay.stop()
    if a.knee:
        data["knee"] = {}
        for relay in make_relays(a, whole=True):
            relay.start()
            try:
                knee_n, steps, stop = mb.knee(mb_args, relay)
            finally:
                relay.stop()
            healthy = [s.calls for s in steps
                       if s.loss_pct <= mb.LOSS_LIMIT_PCT and s.delay_p99_ms <= mb.KNEE_DELAY_MS]
            md += [f"#### Loss knee: {relay.name}", "", *mb.table(steps), "",
                   f"Knee (≤ 0.1% loss): **{knee_n} calls**"
                   + (f"; with p99 delay ≤ {mb.KNEE_DELAY_MS} ms as well: {max(healthy)}"
                      if healthy else "") + (f" (search stopped: {stop})" if stop else ""), ""]
            data["knee"][relay.name] = {"knee": knee_n, "stop": stop,
                                        "steps": [asdict(s) for s in steps]}
    print("\n".join(md))
    if a.json:
        Path(a.json).write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
