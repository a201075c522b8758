#!/usr/bin/env python3
"""Event-stream benchmark (issue 6, point 7): what the WebSocket /events stream delivers and
what it costs the rest of the switch. Two phases, each on a switch started for it:

  fanout    N WebSocket clients (bench/compare/stream_bench_client.mjs, one Node process) on
            /events?event=CUSTOM; this script publishes --events CUSTOM events through
            POST /api/events (pipelined over 4 keep-alive connections) and the clients count
            them. For N in --fanout-clients (and 0, the publishing cost alone): events
            delivered per second (N x events / time from the first event received to the
            last), and the switch's CPU per delivered event from /proc (utime+stime of its
            process tree, sampled around the run). Each client must get every event.
  register  REGISTER of new users at fixed rates (--reg-rates, --reg-count each, sipp,
            bench/scenarios/register_noauth.xml) with 0 and with --reg-subscribers clients
            on /events?event=REGISTER, same switch, interleaved A, B, A, B (--repeats):
            achieved rate, failures, CPU per REGISTER, and that every client got every event.

Results go to stdout as markdown (for docs/benchmarks.md) and to --json.

    bench/compare/stream_bench.py --centralita build/centralita
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "test" / "integration" / "lib"))

import options_bench as ob  # noqa: E402
import sip_core_bench as scb  # noqa: E402
from centralita_test import HOST, free_port  # noqa: E402

CLIENT = HERE / "stream_bench_client.mjs"


class StreamSwitch(ob.Target):
    name = "centralita"

    def __init__(self, binary: str, workers: int) -> None:
        super().__init__()
        self.http_port = free_port()
        cfg = self.tmp / "bench.toml"
        # A queue no bench client can fill: the bench measures delivery, not cut-offs.
        cfg.write_text(f'[http]\nlisten = "{HOST}:{self.http_port}"\nws_queue = 5000000\n'
                       f'[events]\nheartbeat_interval = 0\n')
        self.args = [binary, "--config", str(cfg), "--listen", f"udp:{HOST}:{self.port}",
                     "--workers", str(workers), "--log-level", "warn",
                     "--data-dir", str(self.tmp / "data")]


def proc_ticks(pid: int) -> int:
    s = ob.proc_stat(pid)
    return s[1] if s else 0


class Receivers:
    """The Node process holding the WebSocket clients."""

    def __init__(self, url: str, clients: int, count: int, timeout_s: float) -> None:
        self.proc = subprocess.Popen(["node", str(CLIENT), "--url", url, "--clients", str(clients),
                                      "--count", str(count), "--timeout-ms", str(int(timeout_s * 1000))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.strip() == "READY":
                return
        self.proc.kill()
        raise RuntimeError(f"{clients} stream clients did not connect within 30 s")

    def result(self, timeout_s: float) -> dict:
        try:
            out, _ = self.proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        lines = [l for l in out.splitlines() if l.startswith("{")]
        return json.loads(lines[-1]) if lines else {"done": False}


def publish_custom(port: int, n: int, conns: int = 4, window: int = 200) -> float:
    """POSTs n CUSTOM events, pipelined (at most `window` unanswered per connection)."""
    socks = [socket.create_connection((HOST, port)) for _ in range(conns)]
    per = [n // conns + (1 if i < n % conns else 0) for i in range(conns)]
    sent = [0] * conns
    answered = [0] * conns
    buf = [b""] * conns
    t0 = time.monotonic()
    deadline = t0 + 120
    while sum(answered) < n and time.monotonic() < deadline:
        for i, s in enumerate(socks):
            k = min(per[i] - sent[i], window - (sent[i] - answered[i]))
            if k > 0:
                batch = []
                for j in range(sent[i], sent[i] + k):
                    body = json.dumps({"subclass": "bench::fanout", "n": f"{i}-{j}"}).encode()
                    batch.append(b"POST /api/events HTTP/1.1\r\nHost: bench\r\nContent-Type: "
                                 b"application/json\r\nContent-Length: " + str(len(body)).encode()
                                 + b"\r\n\r\n" + body)
                s.sendall(b"".join(batch))
                sent[i] += k
        r, _, _ = select.select([s for i, s in enumerate(socks) if answered[i] < sent[i]], [], [], 5)
        for s in r:
            i = socks.index(s)
            data = s.recv(1 << 20)
            if not data:
                raise RuntimeError("the switch closed a publishing connection")
            buf[i] += data
            # Every answer is a 202 with a short JSON body that ends in "}".
            got = buf[i].count(b"HTTP/1.1 202")
            answered[i] += got
            buf[i] = buf[i][buf[i].rfind(b"HTTP/1.1 202") + 12:] if got else buf[i]
    for s in socks:
        s.close()
    if sum(answered) < n:
        raise RuntimeError(f"only {sum(answered)} of {n} publishes answered")
    return time.monotonic() - t0


@dataclass
class FanoutRun:
    clients: int
    events: int
    complete: bool
    min_received: int
    publish_s: float
    delivery_s: float
    delivered_per_s: float | None
    switch_cpu_s: float
    cpu_us_per_event: float
    cpu_us_per_delivery: float | None
    client_cpu_s: float


def phase_fanout(args, out: dict, md: list[str]) -> None:
    t = StreamSwitch(str(Path(args.centralita).resolve()), args.workers)
    runs: list[FanoutRun] = []
    try:
        t.start()
        url = f"ws://{HOST}:{t.http_port}/events?event=CUSTOM"
        publish_custom(t.http_port, 2000)  # warm-up
        for n in [0, *args.fanout_clients]:
            rec = Receivers(url, n, args.events, 300) if n else None
            c0 = ob.sample_cpu(t.proc.pid)
            r0 = proc_ticks(rec.proc.pid) if rec else 0
            pub = publish_custom(t.http_port, args.events)
            res = rec.result(300) if rec else {"done": True, "min": 0, "first_ms": 0, "last_ms": 0}
            c1 = ob.sample_cpu(t.proc.pid)
            cpu = (c1.ticks - c0.ticks) / ob.CLK_TCK
            r1 = proc_ticks(rec.proc.pid) if rec and rec.proc.poll() is None else r0
            span = (res["last_ms"] - res["first_ms"]) / 1000 if n else 0.0
            run = FanoutRun(clients=n, events=args.events, complete=bool(res.get("done")),
                            min_received=res.get("min", 0), publish_s=pub, delivery_s=span,
                            delivered_per_s=n * args.events / span if n and span > 0 else None,
                            switch_cpu_s=cpu, cpu_us_per_event=cpu * 1e6 / args.events,
                            cpu_us_per_delivery=cpu * 1e6 / (n * args.events) if n else None,
                            client_cpu_s=(r1 - r0) / ob.CLK_TCK)
            runs.append(run)
            print(f"# fanout {n:4d} clients: complete={run.complete} min={run.min_received} "
                  f"publish {pub:.2f} s, delivery {span:.2f} s, "
                  f"{ob.fmt(run.delivered_per_s, 0)} deliveries/s, switch {cpu:.2f} s CPU "
                  f"({run.cpu_us_per_event:.1f} µs/event, {ob.fmt(run.cpu_us_per_delivery, 2)} µs/delivery)",
                  file=sys.stderr, flush=True)
    finally:
        print(f"# switch stopped, exit {t.stop()}", file=sys.stderr, flush=True)
    base = runs[0].cpu_us_per_event if runs else 0.0
    md += ["#### Event fan-out (CUSTOM events published over HTTP, delivered over WebSocket)", "",
           "| clients | events | every client got every event | deliveries/s | switch CPU per event | "
           "per delivery | per delivery, publishing cost taken out |",
           "|---:|---:|:---:|---:|---:|---:|---:|"]
    for r in runs:
        marginal = ((r.cpu_us_per_event - base) / r.clients) if r.clients else None
        md.append(f"| {r.clients} | {r.events:,} | {'yes' if r.complete else 'NO'} | "
                  f"{ob.fmt(r.delivered_per_s, 0)} | {r.cpu_us_per_event:.1f} µs | "
                  f"{ob.fmt(r.cpu_us_per_delivery, 2)} µs | {ob.fmt(marginal, 2)} µs |")
    md.append("")
    out["fanout"] = [asdict(r) for r in runs]


def phase_register(args, out: dict, md: list[str]) -> None:
    t = StreamSwitch(str(Path(args.centralita).resolve()), args.workers)
    runs = []
    complete = []
    try:
        t.start()
        url = f"ws://{HOST}:{t.http_port}/events?event=REGISTER"
        extra = ["-key", "expires", "600"]
        scb.sipp_run("reg-warm", t, "register_noauth.xml", 500, 1000, 0, args.limit, extra)
        for rate in args.reg_rates:
            for repeat in range(1, args.repeats + 1):
                for subs in (0, args.reg_subscribers):
                    rec = Receivers(url, subs, args.reg_count, 300) if subs else None
                    run = scb.sipp_run(f"reg-{subs}-subscribers", t, "register_noauth.xml", rate,
                                       args.reg_count, repeat, args.limit, extra)
                    if rec:
                        res = rec.result(120)
                        complete.append((rate, repeat, res.get("done"), res.get("min")))
                        print(f"#   {subs} clients: every client got every event: {res.get('done')} "
                              f"(min {res.get('min')})", file=sys.stderr, flush=True)
                    runs.append((subs, run))
    finally:
        print(f"# switch stopped, exit {t.stop()}", file=sys.stderr, flush=True)
    md += [f"#### REGISTER with 0 and {args.reg_subscribers} stream clients on /events?event=REGISTER", "",
           "| rate offered | stream clients | REGISTERs OK | failed | achieved /s | CPU per REGISTER |",
           "|---:|---:|---:|---:|---:|---:|"]
    for rate in args.reg_rates:
        for subs in (0, args.reg_subscribers):
            sel = [r for s, r in runs if s == subs and r.rate == rate]
            ok = sum(r.successful for r in sel)
            failed = sum(r.failed for r in sel)
            md.append(f"| {rate:,}/s | {subs} | {ok:,} | {failed} | "
                      f"{ob.fmt(scb.median([r.achieved_rate for r in sel]), 0)} | "
                      f"{ob.fmt(scb.median([r.cpu_us for r in sel]))} µs |")
    all_complete = all(c[2] for c in complete)
    md += ["", f"Every stream client received every REGISTER event in every run: "
               f"{'yes' if all_complete else 'NO: ' + str(complete)}.", ""]
    out["register"] = [{"subscribers": s, **asdict(r)} for s, r in runs]
    out["register_complete"] = complete


def ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--centralita", default=str(ROOT / "build" / "centralita"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--phases", default="fanout,register")
    p.add_argument("--fanout-clients", type=ints, default=[1, 10, 100])
    p.add_argument("--events", type=int, default=20000)
    p.add_argument("--reg-rates", type=ints, default=[1000, 2500])
    p.add_argument("--reg-count", type=int, default=15000)
    p.add_argument("--reg-subscribers", type=int, default=100)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--limit", type=int, default=5000, help="sipp -l")
    p.add_argument("--json", default="")
    args = p.parse_args()
    out: dict = {"machine": platform.platform(), "cpus": os.cpu_count(), "args": vars(args)}
    md = [f"Command: `{' '.join(['bench/compare/stream_bench.py', *sys.argv[1:]])}` "
          f"({os.cpu_count()} CPUs, {platform.machine()}); the Node clients and sipp share the machine.", ""]
    phases = args.phases.split(",")
    if "fanout" in phases:
        phase_fanout(args, out, md)
    if "register" in phases:
        phase_register(args, out, md)
    print("\n".join(md))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
