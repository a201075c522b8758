#!/usr/bin/env python3
"""centralita-bench's `push-wake` scenario against the real switch running scripts/push.lua with a
webhook push provider that points at the generator's own push gateway (RFC 8599 flow).

  (a) push-wake --users ph[1-100] --rate 100 --count 300: every call succeeds; 300 pushes came,
      300 phones woke, 300 calls reached a woken phone; the JSON names the scenario and has the
      push, wake and setup latencies (300 each)
  (b) the phones' bindings are gone afterwards (GET /api/registrations?aor=ph*)
  (c) --wake-delay 0.2: the setup time's median is at least 200 ms, the push's well under it
  (d) the generator's gateway elsewhere than the switch pushes to: no push arrives, the calls
      end with the switch's 480 after [push] wait, counted as "480"
  (e) a switch without the webhook provider: the phones' REGISTER is refused (555), exit 1
      naming it; push-wake without --webhook: exit 2

    test_bench_push_wake.py --binary build/centralita --source-dir .
"""

import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "lib"))

from centralita_test import HOST, Checks, SkipTest, Switch, check_clean_exit, free_port, main  # noqa: E402
from http_client import get_json  # noqa: E402
from test_bench_options import detail, report_of, run_bench  # noqa: E402

WAIT = 3  # [push] wait of the switch below


def config(webhook_port: int | None) -> str:
    text = f"[push]\nwait = {WAIT}\nretries = 0\n"
    if webhook_port is not None:
        text += (f'\n[push.webhook]\ntype = "webhook"\nurl = "http://{HOST}:{webhook_port}/push"\n'
                 "timeout = 1\n")
    return text


def start_switch(binary: str, source_dir: Path, conf: str, tmp: Path) -> Switch:
    path = tmp / "centralita.toml"
    path.write_text(conf)
    return Switch(binary, ["--config", str(path), "--script",
                           str(source_dir / "scripts" / "push.lua")]).start()


def stop(checks: Checks, switch: Switch) -> None:
    if switch.alive():
        check_clean_exit(checks, switch)
    else:
        switch.stop(check=False)


def lat(rep: dict, name: str) -> dict:
    return rep.get("latencies_ms", {}).get(name, {})


def run(checks: Checks, args) -> None:
    binary = str(Path(args.binary).resolve())
    source = Path(args.source_dir).resolve()
    bench = Path(binary).parent / "centralita-bench"
    if not bench.exists():
        raise SkipTest(f"{bench} is not built")
    tmp = Path(tempfile.mkdtemp(prefix="bench-push-"))
    hook = free_port()
    switch = start_switch(binary, source, config(hook), tmp)
    target = f"sip:{HOST}:{switch.port}"
    try:
        r = run_bench(bench, "push-wake", "--webhook", f"{HOST}:{hook}", "--uas", f"{HOST}:0",
                      "--users", "ph[1-100]", "--rate", "100", "--count", "300", "--json", "-",
                      target)
        rep = report_of(r)
        checks.check(f"(a) push-wake: 300 of 300 calls succeed (got {rep.get('succeeded')}, "
                     f"{rep.get('failures_by_cause')})",
                     r.returncode == 0 and rep.get("succeeded") == 300
                     and rep.get("scenario") == "push-wake", detail(r))
        checks.check("(a) 300 pushes, 300 phones woke, 300 calls reached a woken phone",
                     "300 pushes (0 for no call of this run), 300 phones woke (0 REGISTERs failed), "
                     "300 calls reached a woken phone" in r.stderr, r.stderr[-2000:])
        counts = {n: lat(rep, n).get("count") for n in ("push", "wake", "setup")}
        checks.check(f"(a) push, wake and setup latencies, 300 each ({counts})",
                     counts == {"push": 300, "wake": 300, "setup": 300}, detail(r))
        _, j = get_json(switch.http_port, "/api/registrations?aor=ph*")
        total = j.get("total") if isinstance(j, dict) else None
        checks.check(f"(b) the phones' bindings are removed at the end (total {total})",
                     total == 0, str(j)[:1000])

        r = run_bench(bench, "push-wake", "--webhook", f"{HOST}:{hook}", "--uas", f"{HOST}:0",
                      "--users", "pd[1-20]", "--wake-delay", "0.2", "--rate", "50", "--count", "20",
                      "--json", "-", target)
        rep = report_of(r)
        setup, push = lat(rep, "setup"), lat(rep, "push")
        checks.check(f"(c) --wake-delay 0.2: setup p50 {setup.get('p50')} ms >= 200, push p50 "
                     f"{push.get('p50')} ms < 100; all 20 succeed",
                     r.returncode == 0 and rep.get("succeeded") == 20
                     and setup.get("p50", 0) >= 200 and push.get("p50", 1e9) < 100, detail(r))

        # (d) our gateway is not where the switch pushes: the calls wait [push] wait, then 480.
        r = run_bench(bench, "push-wake", "--webhook", f"{HOST}:{free_port()}", "--uas", f"{HOST}:0",
                      "--users", "pn[1-5]", "--rate", "50", "--count", "5", "--json", "-", target,
                      timeout=WAIT + 30)
        rep = report_of(r)
        checks.check(f"(d) no push reaches the phones: 5 calls fail with 480 (got "
                     f"{rep.get('failures_by_cause')})",
                     r.returncode == 0 and rep.get("failures_by_cause") == {"480": 5}, detail(r))
        checks.check("switch still running", switch.alive(), switch.stderr_tail())
    finally:
        stop(checks, switch)

    switch = start_switch(binary, source, config(None), tmp)
    try:
        r = run_bench(bench, "push-wake", "--webhook", f"{HOST}:{hook}", "--uas", f"{HOST}:0",
                      "--users", "pz[1-3]", "--count", "3", f"sip:{HOST}:{switch.port}")
        checks.check("(e) no webhook provider at the switch: exit 1, the phones' REGISTER "
                     "answered 555", r.returncode == 1 and "registering the phones" in r.stderr
                     and "555" in r.stderr, detail(r))
    finally:
        stop(checks, switch)
    r = run_bench(bench, "push-wake", "--uas", f"{HOST}:0", "--users", "p[1-2]", f"sip:{HOST}:5060")
    checks.check("(e) push-wake without --webhook: exit 2 naming it",
                 r.returncode == 2 and "--webhook" in r.stderr, detail(r))


if __name__ == "__main__":
    main(run)
