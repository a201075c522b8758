#!/usr/bin/env python3
"""sipp drives 10,000 OPTIONS over UDP and 10,000 over TCP at a bounded rate against the
real binary: every one must be answered 200, and the switch must exit 0 on SIGTERM.

    test_sipp_options.py --binary build/centralita --source-dir .  [--calls N] [--rate R]
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import Checks, SkipTest, Switch, check_clean_exit, main  # noqa: E402
from sipp import run_sipp, sipp_binary  # noqa: E402

SCENARIO = Path(__file__).resolve().parent / "scenarios" / "options_uac.xml"


def extra_args(parser):
    parser.add_argument("--calls", type=int, default=10000, help="OPTIONS per transport")
    parser.add_argument("--rate", type=int, default=1000, help="calls per second")


def run(checks: Checks, args) -> None:
    if sipp_binary() is None:
        raise SkipTest("sipp is not installed (Debian package sip-tester)")
    # Each run: calls/rate seconds of traffic (10 s by default); sipp's own timeout at
    # 2x that + 10 s; the whole test stays well under 90 s at the defaults.
    budget = int(2 * args.calls / args.rate) + 10
    switch = Switch(args.binary).start()
    try:
        for transport, label in (("u1", "UDP"), ("t1", "TCP")):
            r = run_sipp(SCENARIO, switch.port, transport=transport, calls=args.calls,
                         rate=args.rate, limit=200, global_timeout_s=budget, recv_timeout_ms=5000)
            detail = (f"command: {' '.join(r.command)}\n"
                      f"exit code {r.exit_code}, created {r.created}, successful {r.successful}, "
                      f"failed {r.failed} {r.failed_detail or ''}, {r.elapsed_s:.1f} s"
                      f"{' (killed: wall-clock timeout)' if r.timed_out else ''}\n"
                      f"--- sipp output tail ---\n{r.output_tail}")
            print(f"sipp {label}: {r.successful} successful, {r.failed} failed, "
                  f"{r.elapsed_s:.1f} s, exit {r.exit_code}", flush=True)
            checks.check(f"{label}: {args.calls} OPTIONS answered 200 "
                         f"({r.successful} successful, {r.failed} failed)",
                         r.successful == args.calls and r.failed == 0 and r.exit_code == 0, detail)
            checks.check(f"{label}: switch still running after the sipp run", switch.alive(),
                         switch.stderr_tail())
            if not switch.alive():
                return
    finally:
        if switch.alive():
            check_clean_exit(checks, switch)
        else:
            switch.stop(check=False)


if __name__ == "__main__":
    main(run, extra_args)
