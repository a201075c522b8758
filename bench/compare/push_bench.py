#!/usr/bin/env python3
"""Push wake-up benchmark (issue 5, point 5): many calls to sleeping phones at once, each
woken by a push through the test push gateway, with scripts/push.lua as shipped.

Per mode, on a fresh switch (2 workers, --script scripts/push.lua) and a fresh gateway
(test/integration/push_gateway, HTTP/2 over TLS, checking requests as APNs/FCM/a webhook
would):

  1. --flows phones p1..pN register with RFC 8599 push parameters (pn-provider apns for most,
     fcm and webhook for a share, --mix), with a Contact at port 9 where nothing listens: they
     sleep.
  2. N INVITEs (plain UDP from this script, caller c<i> calls p<i>, --rate per second) each
     make push.lua push the phone, subscribe to its REGISTER and wait for branches.
  3. As a push reaches the gateway (its stdout line), the phone is scheduled to wake after a
     uniform random --wake-min..--wake-max seconds: it registers again (same Call-ID, next
     CSeq, same pn-prid) from one of --phone-sockets UDP sockets, with a Contact of its own
     user part there, takes the relayed INVITE, answers 200 and takes the ACK. The caller ACKs
     the 200.

Modes:
  stream  wakes as in 3: at --rate 1000/s about rate × (push time + 1.75 s) calls wait at once.
  hold    the phones hold their wake until every INVITE is waiting (all pushes seen, or none
          for --push-quiet s) and the memory is measured; then they wake on the same schedule
          (push time relative to the first push, plus the random delay), shifted to that
          moment. In this mode all N calls wait at once: memory per waiting call = ΔPSS (and
          Δheap_in_use, Δlua_bytes of the switch's SIGUSR1 status line) / calls waiting.

Measured: flows, pushes delivered, phones woken (REGISTER 200), INVITEs at the phone, calls
answered (the caller's 200), failures by cause; wake-up latency = the relayed INVITE's arrival
at the phone's socket (kernel receive timestamp, SO_TIMESTAMPNS) minus the first send of its
REGISTER (two loopback hops plus the REGISTER's saving, the event, the Lua handler, the branch
and the relay); where the push time goes (the gateway's request log and the switch's own
"sent (n attempt(s), m ms)" lines); the switch's CPU per flow from /proc (utime+stime ticks and
schedstat ns, first INVITE to last final), the gateway's and this driver's CPU and what other
processes used the machine meanwhile (/proc/stat) as context; the driver's lag (a REGISTER sent
after its due time); malloc_trim stalls the switch logged; UDP RcvbufErrors (system-wide).
Retransmissions follow RFC 3261 timers (INVITE: A/B, REGISTER: E/F, the phone's 2xx:
§13.3.1.4), so a lost or late datagram costs time, not the flow.

Markdown to stdout, --json FILE for everything (per-flow times included). Python standard
library only; one thread drives every socket (selectors), PushGateway's thread reads the
gateway's stdout.

    bench/compare/push_bench.py --flows 10000
    bench/compare/push_bench.py --flows 500 --modes stream --json /tmp/push.json
"""

# This file holds the command line, the phases of one mode (run_mode), the per-mode summary and
# the markdown/JSON report; the simulated phones, callers and their sockets are in
# push_bench_phones.py, the /proc CPU readings and the log parsing in push_bench_measure.py.

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import signal
import subprocess
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
import push_gateway  # noqa: E402
import sip_core_bench as scb  # noqa: E402
from centralita_test import HOST, SkipTest, free_port  # noqa: E402
from push_bench_measure import (Sample, cpu_us, gateway_arrivals, others, pct,  # noqa: E402
                                switch_log_facts, thread_use)
from push_bench_phones import TIMEOUT_64T1, Driver, Flow  # noqa: E402
from push_gateway import PushGateway  # noqa: E402
from script_bench import switch_status  # noqa: E402

PUSH_SCRIPT = ROOT / "scripts" / "push.lua"
# The gateway's request log of 10,000 records takes longer than the 5 s of a control call.
push_gateway.CONTROL_TIMEOUT = 60.0


# --------------------------------------------------------------------------- targets

class PushSwitch(ob.Target):
    """centralita with a config file (push providers at the gateway) and push.lua."""

    name = "centralita"

    def __init__(self, binary: str, workers: int, config: str, script: str) -> None:
        super().__init__()
        cfg = self.tmp / "push-bench.toml"
        cfg.write_text(config)
        self.args = [binary, "--config", str(cfg), "--listen", f"udp:{HOST}:{self.port}", "--http", "off",
                     "--workers", str(workers), "--log-level", "info",
                     "--data-dir", str(self.tmp / "data"), "--script", script]


def switch_config(gw: PushGateway, wait: int, retries: int, backoff_ms: int) -> str:
    """The providers of test/integration/test_push.py's config_text, at the gateway; retries as
    the shipped defaults unless told otherwise."""
    return f"""
[http]
listen = "{HOST}:{free_port()}"

[events]
heartbeat_interval = 0

[push]
wait = {wait}
retries = {retries}
retry_backoff_ms = {backoff_ms}

[push.apns]
type = "apns"
url = "{gw.tls_url}"
ca_file = "{gw.ca_file}"
key_file = "{gw.apns_key_path}"
key_id = "{gw.apns_key_id}"
team_id = "{gw.team_id}"
timeout = 5

[push.fcm]
type = "fcm"
url = "{gw.tls_url}"
ca_file = "{gw.ca_file}"
service_account_file = "{gw.service_account_path}"
timeout = 5

[push.webhook]
type = "webhook"
url = "{gw.http_url}/push"
timeout = 5
"""


# --------------------------------------------------------------------------- one mode

def log(msg: str) -> None:
    print(f"# {msg}", file=sys.stderr, flush=True)


def run_mode(args, mode: str, deadline: float) -> dict:
    binary = str(Path(args.centralita).resolve())
    wait = max(args.wait, math.ceil(args.flows / args.rate + args.push_quiet + args.settle
                                    + args.wake_max + 30))
    gw = sw = drv = None
    res: dict = {"mode": mode, "flows": args.flows, "rate": args.rate, "push_wait": wait}
    try:
        gw = PushGateway(keep_files=bool(args.keep_logs))
        try:
            gw.start()
        except SkipTest as e:
            raise RuntimeError(f"the push gateway cannot run here: {e}") from e
        sw = PushSwitch(binary, args.workers, switch_config(gw, wait, args.push_retries, args.push_backoff_ms),
                        args.script)
        sw.start()
        drv = Driver(args, sw, gw, mode, deadline)
        flows = drv.flows
        n = len(flows)

        # 1. the phones register and fall asleep
        t = time.monotonic()
        done = drv.run(lambda: drv.n_reg >= n,
                       drv.paced(flows, args.reg_rate, drv.send_register), n / args.reg_rate + 40)
        regs = Counter(f.reg_status for f in flows)
        log(f"{mode}: {regs.get(200, 0)} of {n} phones registered in {time.monotonic() - t:.1f} s "
            f"({dict(regs)}){'' if done else ' (gave up waiting)'}")
        res["registered"] = regs.get(200, 0)
        res["register_statuses"] = {str(k): v for k, v in regs.items()}

        # 2. settle, then the baseline: the REGISTER transactions' memory stays allocated until
        #    their Timer J (64*T1) although their actors have ended, and malloc_trim runs every 10 s
        drv.run(lambda: False, None, max(args.settle, args.reg_settle))
        pss0, _ = scb.pss_bytes(sw.proc.pid)
        st0 = switch_status(sw)
        rcv0 = ob.udp_rcvbuf_errors()
        since = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        a0 = Sample(sw, gw)

        # 3. the INVITEs; pushes come back and (stream) phones wake meanwhile. Done when every
        #    call has its push or a final answer, or no push came for --push-quiet seconds.
        callees = [f for f in flows if f.reg_status == 200]
        t = time.monotonic()
        last_invite = t + len(callees) / args.rate

        def pushed() -> bool:
            mono = time.monotonic()
            return (drv.n_resolved >= len(callees)
                    or (mono > last_invite + args.push_quiet and mono - drv.last_push_mono > args.push_quiet))
        drv.run(pushed, drv.paced(callees, args.rate, drv.send_invite),
                len(callees) / args.rate + args.push_timeout)
        a1 = Sample(sw, gw)
        sent_s = max(f.t_invite or 0 for f in callees) - min(f.t_invite or 1e18 for f in callees)
        log(f"{mode}: {len(callees)} INVITEs sent in {sent_s:.1f} s; "
            f"{sum(f.t_push is not None for f in callees)} pushes at the gateway after "
            f"{time.monotonic() - t:.1f} s; {sum(f.t_trying is not None for f in callees)} got 100 Trying")
        a_rel = a0   # stream: the phones wake from the first push on

        if mode == "hold":
            drv.run(lambda: False, None, args.settle)
            waiting = [f for f in callees if f.t_invite is not None and f.final is None and f.t_wake is None]
            pss1, _ = scb.pss_bytes(sw.proc.pid)
            st1 = switch_status(sw)
            mem = {"waiting": len(waiting), "waiting_pushed": sum(f.t_push is not None for f in waiting),
                   "pss_before": pss0, "pss_waiting": pss1, "status_before": st0, "status_waiting": st1}
            if waiting:
                mem["pss_per_call"] = (pss1 - pss0) / len(waiting)
                for k in ("heap_in_use", "lua_bytes", "actors", "event_subscriptions"):
                    if k in st0 and k in st1:
                        mem[f"{k}_per_call"] = (st1[k] - st0[k]) / len(waiting)
            res["memory"] = mem
            log(f"{mode}: {len(waiting)} calls waiting ({mem['waiting_pushed']} pushed): PSS "
                f"{pss0 / 2**20:.1f} -> {pss1 / 2**20:.1f} MiB "
                f"({mem.get('pss_per_call', float('nan')):.0f} bytes per call), heap "
                f"{mem.get('heap_in_use_per_call', float('nan')):.0f} bytes per call; status {st1}")
            a_rel = Sample(sw, gw)
            drv.release()

        # 4. until every call has its final answer (and the phones their ACKs)
        t = time.monotonic()
        done = drv.run(lambda: drv.n_final >= len(callees), None, wait + 60)
        drv.run(lambda: drv.n_ack >= drv.n_200, None, 2.0)
        a2 = Sample(sw, gw)
        rcv1 = ob.udp_rcvbuf_errors()
        st2 = switch_status(sw)
        log(f"{mode}: finals after {time.monotonic() - t:.1f} s"
            f"{'' if done else ' (gave up: deadline)'}: {dict(Counter(f.final for f in callees))}; status {st2}")
        res["gateway"] = gateway_arrivals(gw, drv)
        res.update(summarise(drv, callees, n))
        res["status_end"] = st2
        res["udp_rcvbuf_errors"] = rcv1 - rcv0
        res["counts"] = dict(drv.counts)
        res["datagrams"] = {"received": drv.rx, "sent": drv.tx}
        res["push_unknown_tokens"] = drv.push_unknown
        m = len(callees)
        res["cpu"] = {
            # from the first INVITE to the last final (hold: with the settling and the readings)
            "switch_total": cpu_us(a0.sw, a2.sw, m),
            # the INVITEs until the last push (stream: wake-ups already under way)
            "switch_invites_and_pushes": cpu_us(a0.sw, a1.sw, m),
            "switch_wakeups": cpu_us(a_rel.sw, a2.sw, m),
            "gateway_total": cpu_us(a0.gw, a2.gw, m),
            "driver_s": a2.me - a0.me,
            "driver_us_per_flow": (a2.me - a0.me) * 1e6 / m if m else None,
            # this driver's share of one core (hold: from the release, when it is busiest)
            "driver_busy": (a2.me - a_rel.me) / (a2.wall - a_rel.wall) if a2.wall > a_rel.wall else None,
            "machine": others(a0, a2),
            "machine_wakeups": others(a_rel, a2),
            "switch_threads_wakeups": thread_use(a_rel, a2),
            "switch_threads_invites": thread_use(a0, a1),
        }
        res["switch_log"] = switch_log_facts(sw.log, since)
        res["samples_fields"] = ["i", "provider", "invite", "trying", "gateway", "push", "wake",
                                 "register_ok", "invite_at_phone", "final_at", "final"]
        t0 = min((f.t_invite for f in callees if f.t_invite), default=0.0)
        rel = lambda x: None if x is None else round(x - t0, 4)  # noqa: E731
        res["samples"] = [[f.i, f.provider, rel(f.t_invite), rel(f.t_trying), rel(f.t_gateway),
                           rel(f.t_push), rel(f.t_wake), rel(f.t_wreg_ok), rel(f.t_inv_rx),
                           rel(f.t_final), f.final] for f in callees]
        return res
    finally:
        if drv is not None:
            drv.close()
        if sw is not None:
            if sw.proc is not None and sw.proc.poll() is None:
                sw.proc.send_signal(signal.SIGTERM)
                try:
                    sw.proc.wait(20)
                except subprocess.TimeoutExpired:
                    pass
            if args.keep_logs:
                keep = Path(args.keep_logs)
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(sw.log, keep / f"centralita-{mode}.log")
            stop_line = [ln for ln in sw.tail(200).splitlines() if "shutting down (" in ln]
            if stop_line:
                res["stopped_with"] = stop_line[-1].split("shutting down (", 1)[1].rstrip(")")
            log(f"{mode}: centralita stopped, exit {sw.stop()}")
        if gw is not None:
            log(f"{mode}: push gateway stopped, exit {gw.stop()}")
            if args.keep_logs:   # the gateway kept its files for this
                Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(gw.stderr_path, Path(args.keep_logs) / f"gateway-{mode}.stderr")
                shutil.rmtree(gw.tmp, ignore_errors=True)


def summarise(drv: Driver, flows: list[Flow], attempted: int) -> dict:
    ms = lambda xs: sorted(x * 1e3 for x in xs)  # noqa: E731
    lat = ms(f.t_inv_rx - f.t_wake for f in flows if f.t_inv_rx is not None and f.t_wake is not None)
    reg_ok = ms(f.t_wreg_ok - f.t_wake for f in flows if f.t_wreg_ok is not None and f.t_wake is not None)
    push = ms(f.t_push - f.t_invite for f in flows if f.t_push is not None)
    to_gw = ms(f.t_gateway - f.t_invite for f in flows if f.t_gateway is not None)
    answer = ms(f.t_final - f.t_invite for f in flows if f.final == 200)
    finals = Counter(f.final for f in flows)
    last_invite = max((f.t_invite for f in flows if f.t_invite is not None), default=0.0)
    causes: Counter = Counter()
    for f in flows:
        if f.final == 200:
            continue
        stage = ("no push at the gateway" if f.t_push is None else
                 "pushed, not woken before the end" if f.t_wake is None else
                 "woken, REGISTER unanswered" if f.wreg_status is None else
                 f"woken, REGISTER {f.wreg_status}" if f.wreg_status != 200 else
                 "woken, no INVITE at the phone" if f.t_inv_rx is None else
                 "INVITE answered, no 200 at the caller")
        causes[f"{'no final' if f.final is None else f.final}: {stage}"] += 1
    # Calls in progress at once (INVITE sent, no final yet), from the driver's timestamps.
    edges = sorted([(f.t_invite, 1) for f in flows if f.t_invite is not None]
                   + [(f.t_final, -1) for f in flows if f.t_final is not None])
    cur = peak = 0
    for _, d in edges:
        cur += d
        peak = max(peak, cur)
    return {
        "attempted": attempted,
        "invites_sent": sum(f.t_invite is not None for f in flows),
        "trying": sum(f.t_trying is not None for f in flows),
        "pushes_delivered": sum(f.t_push is not None for f in flows),
        "pushes_duplicate": sum(max(0, f.pushes - 1) for f in flows),
        "pushes_by_provider": dict(Counter(f.provider for f in flows if f.t_push is not None)),
        "woken": sum(f.wreg_status == 200 for f in flows),
        "invites_at_phone": sum(f.t_inv_rx is not None for f in flows),
        "invites_at_phone_twice": sum(f.inv_rx_count > 1 for f in flows),
        "answered": finals.get(200, 0),
        "acks_at_phone": sum(f.t_ack_rx is not None for f in flows if f.final == 200),
        "finals": {str(k): v for k, v in finals.items()},
        "failures": dict(causes),
        "peak_in_progress": peak,
        "latency_ms": lat,
        "latency_during_invites_ms": ms(f.t_inv_rx - f.t_wake for f in flows
                                        if f.t_inv_rx is not None and f.t_wake is not None
                                        and f.t_wake < last_invite),
        "latency_after_invites_ms": ms(f.t_inv_rx - f.t_wake for f in flows
                                       if f.t_inv_rx is not None and f.t_wake is not None
                                       and f.t_wake >= last_invite),
        "register_ok_ms": reg_ok,
        "push_ms": push,
        "invite_to_gateway_ms": to_gw,
        "push_ms_by_provider": {k: ms(f.t_push - f.t_invite for f in flows
                                      if f.provider == k and f.t_push is not None)
                                for k in sorted({f.provider for f in flows})},
        "answer_ms": answer,
        "driver_lag_ms": ms(drv.lag),
    }


# --------------------------------------------------------------------------- report

def f1(x, d: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{d}f}"


def dist4(xs: list[float], d: int = 2) -> str:
    return (f"{f1(pct(xs, 50), d)} / {f1(pct(xs, 90), d)} / {f1(pct(xs, 99), d)} / "
            f"{f1(xs[-1] if xs else None, d)} ms")


def table(results: list[dict]) -> list[str]:
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError, IndexError):
                cells.append("n/a")
        rows.append((label, cells))

    hold_only = lambda fn: lambda r: fn(r) if "memory" in r else "—"  # noqa: E731
    row("flows attempted (phones registered)", lambda r: f"{r['attempted']:,} ({r['registered']:,})")
    row("INVITEs sent / 100 Trying", lambda r: f"{r['invites_sent']:,} / {r['trying']:,}")
    row("pushes delivered (gateway)", lambda r: f"{r['pushes_delivered']:,} "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(r['pushes_by_provider'].items()))})")
    row("phones woken (REGISTER 200)", lambda r: f"{r['woken']:,}")
    row("INVITEs at the woken phone", lambda r: f"{r['invites_at_phone']:,}")
    row("**calls answered (200 at the caller)**",
        lambda r: f"**{r['answered']:,} ({100 * r['answered'] / r['attempted']:.2f} %)**")
    row("failures by cause", lambda r: (", ".join(f"{k}: {v:,}" for k, v in sorted(r["failures"].items()))
                                        or "none"))
    row("… the switch's reasons for the failed pushes", lambda r: ", ".join(
        f"{k}: {v:,}" for k, v in r["switch_log"]["push_failure_reasons"].items()) or "none")
    row("calls in progress at once (peak)", lambda r: f"{r['peak_in_progress']:,}")
    row("**wake-up: REGISTER sent → INVITE at the phone**, p50 / p90 / p99 / max",
        lambda r: dist4(r["latency_ms"]))
    row("… woken while INVITEs were still being sent: n, p50 / p99",
        lambda r: f"{len(r['latency_during_invites_ms']):,}, {f1(pct(r['latency_during_invites_ms'], 50), 2)} / "
                  f"{f1(pct(r['latency_during_invites_ms'], 99), 2)} ms" if r["latency_during_invites_ms"] else "0")
    row("… woken after the last INVITE: n, p50 / p99",
        lambda r: f"{len(r['latency_after_invites_ms']):,}, {f1(pct(r['latency_after_invites_ms'], 50), 2)} / "
                  f"{f1(pct(r['latency_after_invites_ms'], 99), 2)} ms" if r["latency_after_invites_ms"] else "0")
    row("REGISTER sent → its 200 at the phone", lambda r: dist4(r["register_ok_ms"]))
    row("INVITE sent → push request at the gateway (its log, ms resolution)",
        lambda r: dist4(r["invite_to_gateway_ms"], 0))
    row("INVITE sent → push line read here", lambda r: dist4(r["push_ms"], 0))
    row("… by provider, p50 / p99", lambda r: ", ".join(
        f"{k} {f1(pct(v, 50), 0)} / {f1(pct(v, 99), 0)} ms" for k, v in r["push_ms_by_provider"].items()))
    row("push service: first attempt → delivered (its log), p50 / p99; attempts",
        lambda r: f"{f1(pct(r['switch_log']['push_sent_ms'], 50), 0)} / "
                  f"{f1(pct(r['switch_log']['push_sent_ms'], 99), 0)} ms; "
                  + ", ".join(f"{k}: {v:,}" for k, v in sorted(r["switch_log"]["push_attempts"].items())))
    row("push retries by reason", lambda r: ", ".join(
        f"{k}: {v:,}" for k, v in r["switch_log"]["push_retry_reasons"].items()) or "none")
    row("INVITE sent → 200 at the caller", lambda r: dist4(r["answer_ms"], 0))
    row("calls waiting at the memory snapshot (of which pushed)",
        hold_only(lambda r: f"{r['memory']['waiting']:,} ({r['memory']['waiting_pushed']:,})"))
    row("**PSS per waiting call**", hold_only(lambda r: f"**{r['memory']['pss_per_call']:,.0f} bytes**"))
    row("heap in use per waiting call (of which Lua)",
        hold_only(lambda r: f"{r['memory']['heap_in_use_per_call']:,.0f} "
                            f"({r['memory']['lua_bytes_per_call']:,.0f}) bytes"))
    row("actors / bus subscriptions per waiting call",
        hold_only(lambda r: f"{r['memory']['actors_per_call']:.2f} / "
                            f"{r['memory']['event_subscriptions_per_call']:.2f}"))
    row("**switch CPU-µs per flow**, schedstat (stat ticks), first INVITE to last final",
        lambda r: f"**{f1(r['cpu']['switch_total']['sched_us_per_flow'], 0)}** "
                  f"({f1(r['cpu']['switch_total']['ticks_us_per_flow'], 0)})")
    row("… INVITEs and pushes / wake-ups after the release",
        hold_only(lambda r: f"{f1(r['cpu']['switch_invites_and_pushes']['sched_us_per_flow'], 0)} / "
                            f"{f1(r['cpu']['switch_wakeups']['sched_us_per_flow'], 0)}"))
    row("push gateway (node) CPU-µs per flow, context",
        lambda r: f1(r["cpu"]["gateway_total"]["sched_us_per_flow"], 0))
    row("this driver's CPU-µs per flow (share of one core while phones wake)",
        lambda r: f"{f1(r['cpu']['driver_us_per_flow'], 0)} ({f1(100 * r['cpu']['driver_busy'], 0)} %)")
    row("driver lag: REGISTER sent after its due time, p50 / p99 / max",
        lambda r: f"{f1(pct(r['driver_lag_ms'], 50), 2)} / {f1(pct(r['driver_lag_ms'], 99), 2)} / "
                  f"{f1(r['driver_lag_ms'][-1] if r['driver_lag_ms'] else None, 2)} ms")
    row("machine while phones wake: switch+gateway+driver / other processes / idle (cores)",
        lambda r: f"{r['cpu']['machine_wakeups']['ours_cores']:.2f} / "
                  f"{r['cpu']['machine_wakeups']['others_cores']:.2f} / "
                  f"{r['cpu']['machine_wakeups']['idle_cores']:.2f}")
    row("the switch's busiest threads while phones wake (share of one core)", lambda r: ", ".join(
        f"{k} {100 * u:.0f} %" for k, u in r["cpu"]["switch_threads_wakeups"][:4]))
    row("… while the INVITEs are sent, until the last push", lambda r: ", ".join(
        f"{k} {100 * u:.0f} %" for k, u in r["cpu"]["switch_threads_invites"][:4]))
    row("malloc_trim runs over 20 ms during the run (longest)",
        lambda r: f"{len(r['switch_log']['malloc_trim_ms'])} "
                  f"({max(r['switch_log']['malloc_trim_ms'], default=0)} ms)")
    row("retransmissions (driver side)", lambda r: ", ".join(
        f"{k}: {v:,}" for k, v in sorted(r["counts"].items()) if "retransmitted" in k) or "none")
    row("other driver counts", lambda r: ", ".join(
        f"{k}: {v:,}" for k, v in sorted(r["counts"].items()) if "retransmitted" not in k) or "none")
    row("UDP RcvbufErrors during the run (system-wide)", lambda r: f"{r['udp_rcvbuf_errors']:,}")

    out = [f"| | {' | '.join(r['mode'] for r in results)} |", f"|---|{'---:|' * len(results)}"]
    out += [f"| {label} | {' | '.join(cells)} |" for label, cells in rows]
    return out


def markdown(results: list[dict], args) -> list[str]:
    md = [f"#### {args.flows:,} wake-up flows, INVITEs at {args.rate:g}/s, phones waking "
          f"{args.wake_min:g}–{args.wake_max:g} s after their push", "",
          f"Providers: {', '.join(f'{k} {v:g}' for k, v in args.mix.items())}; {args.workers} workers; "
          f"`[push] wait` {results[0]['push_wait'] if results else '?'} s; {args.phone_sockets} phone "
          f"sockets, {args.caller_sockets} caller sockets.", ""]
    if not results:
        return md + ["No mode completed.", ""]
    md += table(results)
    md.append("")
    for r in results:
        if "memory" in r:
            st = r["memory"]["status_waiting"]
            keys = ("actors", "active_calls", "server_transactions", "hibernated_transactions", "live_runs",
                    "suspended", "event_subscriptions", "push_sent", "push_failed", "push_retried")
            md += [f"Gauges with {r['memory']['waiting']:,} calls waiting ({r['mode']}): `"
                   + " ".join(f"{k}={st[k]}" for k in keys if k in st) + "`", ""]
        if r.get("status_end"):
            st = r["status_end"]
            keys = ("actors", "active_calls", "server_transactions", "live_runs", "suspended",
                    "event_subscriptions", "push_sent", "push_failed", "push_retried", "push_woke",
                    "script_errors")
            md += [f"Gauges at the end ({r['mode']}): `" + " ".join(f"{k}={st[k]}" for k in keys if k in st)
                   + "`", ""]
    return md


# --------------------------------------------------------------------------- main

def mix_arg(s: str) -> dict[str, float]:
    out = {}
    for part in s.split(","):
        k, _, v = part.partition("=")
        if k.strip() not in ("apns", "fcm", "webhook"):
            raise argparse.ArgumentTypeError(f"unknown provider {k!r} (apns, fcm, webhook)")
        out[k.strip()] = float(v or 1)
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--centralita", default=str(ROOT / "build" / "centralita"))
    p.add_argument("--script", default=str(PUSH_SCRIPT))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--modes", default="hold,stream", help="hold, stream or both (comma-separated)")
    p.add_argument("--flows", type=int, default=10000)
    p.add_argument("--rate", type=float, default=1000, help="INVITEs per second")
    p.add_argument("--reg-rate", type=float, default=2000, help="initial REGISTERs per second")
    p.add_argument("--mix", type=mix_arg, default=mix_arg("apns=0.8,fcm=0.1,webhook=0.1"))
    p.add_argument("--wake-min", type=float, default=0.5)
    p.add_argument("--wake-max", type=float, default=3.0)
    p.add_argument("--wait", type=int, default=60, help="[push] wait (raised if the run needs more)")
    p.add_argument("--settle", type=float, default=12.0,
                   help="seconds before each memory reading (malloc_trim runs every 10 s)")
    p.add_argument("--reg-settle", type=float, default=TIMEOUT_64T1 + 4,
                   help="seconds from the last sleeping REGISTER to the baseline (past Timer J)")
    p.add_argument("--push-quiet", type=float, default=5.0,
                   help="after the last INVITE, stop waiting for pushes once none came for this long")
    p.add_argument("--push-timeout", type=float, default=60.0,
                   help="seconds after the last INVITE to wait for the last push at most")
    p.add_argument("--push-retries", type=int, default=3, help="[push] retries (the shipped default)")
    p.add_argument("--push-backoff-ms", type=int, default=500, help="[push] retry_backoff_ms (the default)")
    p.add_argument("--phone-sockets", type=int, default=16)
    p.add_argument("--caller-sockets", type=int, default=8)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--deadline", type=float, default=1200.0, help="seconds for the whole run")
    p.add_argument("--json", default=None)
    p.add_argument("--keep-logs", default=None, metavar="DIR",
                   help="copy the switch's log and the gateway's stderr here")
    a = p.parse_args()
    a.modes = [m for m in a.modes.split(",") if m]
    if any(m not in ("hold", "stream") for m in a.modes) or not a.modes:
        p.error("--modes: hold, stream")
    return a


def main() -> int:
    args = parse_args()

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    deadline = time.monotonic() + args.deadline
    out: dict = {"machine": platform.node(), "cpus": os.cpu_count(), "args": vars(args),
                 "load_before": os.getloadavg(), "modes": []}
    try:
        for mode in args.modes:
            if time.monotonic() >= deadline:
                log(f"{mode}: skipped, the deadline has passed")
                break
            out["modes"].append(run_mode(args, mode, deadline))
    finally:
        PushGateway.stop_all()
        out["load_after"] = os.getloadavg()
        if args.json:
            Path(args.json).write_text(json.dumps(out, default=str))
    print("\n".join(markdown(out["modes"], args)))
    print(f"Load average before / after: {' '.join(f'{x:.2f}' for x in out['load_before'])} / "
          f"{' '.join(f'{x:.2f}' for x in out['load_after'])}")
    return 0 if all(r["answered"] == r["attempted"] for r in out["modes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
