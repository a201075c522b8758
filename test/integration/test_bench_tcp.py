#!/usr/bin/env python3
"""centralita-bench over TCP (--transport tcp) against the real switch and a sipp UAS.

  (a) options --transport tcp --rate 2000 --count 5000: all succeed, the JSON says tcp, no
      retransmissions (a reliable transport has no Timer E)
  (b) register --transport tcp with digest-free users: all succeed, the bindings' Contacts
      carry ;transport=tcp (GET /api/registrations)
  (c) call --transport tcp --uas (the UAS on UDP): all 1000 calls succeed, each ACKed
  (d) a sipp UAS over TCP (-t t1, registered with ;transport=tcp), calls over TCP from the
      bench: all succeed on both sides
  (e) nothing listening on the TCP port: every attempt fails as "transport" at once (not by
      timeout), exit 1 with "no answer"

    test_bench_tcp.py --binary build/centralita --source-dir .
"""

import json
import socket
import sys
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "lib"))

from centralita_test import HOST, Checks, SkipTest, Switch, check_clean_exit, main  # noqa: E402
from http_client import get_json  # noqa: E402
from sip_core import SippUas, register_udp, status_of, stop_all_uas  # noqa: E402
from sipp import sipp_binary  # noqa: E402
from test_bench_options import detail, report_of, run_bench  # noqa: E402


def run(checks: Checks, args) -> None:
    bench = Path(args.binary).resolve().parent / "centralita-bench"
    if not bench.exists():
        raise SkipTest(f"{bench} is not built")
    switch = Switch(str(Path(args.binary).resolve())).start()
    target = f"sip:{HOST}:{switch.port}"
    try:
        r = run_bench(bench, "options", "--transport", "tcp", "--rate", "2000", "--count", "5000",
                      "--json", "-", target)
        rep = report_of(r)
        checks.check(f"(a) options over TCP: 5000 of 5000 succeed, transport tcp, no "
                     f"retransmissions (got {rep.get('succeeded')}, {rep.get('transport')}, "
                     f"{rep.get('retransmissions')})",
                     r.returncode == 0 and rep.get("succeeded") == 5000
                     and rep.get("transport") == "tcp" and rep.get("retransmissions") == 0,
                     detail(r))

        r = run_bench(bench, "register", "--transport", "tcp", "--users", "tu[1-500]", "--rate",
                      "1000", "--count", "500", "--json", "-", target)
        rep = report_of(r)
        _, j = get_json(switch.http_port, "/api/registrations?aor=tu*&limit=5")
        items = j.get("registrations", j.get("items", [])) if isinstance(j, dict) else []
        contacts = json.dumps(items)
        checks.check(f"(b) register over TCP: 500 succeed, {j.get('total') if isinstance(j, dict) else None} "
                     f"bindings, Contacts with transport=tcp",
                     r.returncode == 0 and rep.get("succeeded") == 500
                     and isinstance(j, dict) and j.get("total") == 500
                     and "transport=tcp" in contacts, detail(r) + "\n" + contacts[:1000])

        r = run_bench(bench, "call", "--transport", "tcp", "--uas", f"{HOST}:0", "--callee",
                      "tcp-uas", "--rate", "200", "--count", "1000", "--json", "-", target)
        rep = report_of(r)
        checks.check(f"(c) call over TCP with the built-in UAS: 1000 succeed, 1000 ACKed (got "
                     f"{rep.get('succeeded')}, {rep.get('failures_by_cause')})",
                     r.returncode == 0 and rep.get("succeeded") == 1000
                     and "1000 answered, 1000 ACKed, 1000 BYEs" in r.stderr, detail(r))

        if sipp_binary() is None:
            print("SKIP: (d) sipp is not installed", flush=True)
        else:
            uas = SippUas("core_uas_answer.xml", transport="t1", calls=1000, timeout_s=60)
            try:
                uas.start()
                _, answer = register_udp(switch.port, "tcp-sipp", uas.contact)
                checks.check(f"(d) REGISTER tcp-sipp with Contact {uas.contact} -> 200",
                             status_of(answer) == 200, repr(answer))
                r = run_bench(bench, "call", "--transport", "tcp", "--callee", "tcp-sipp",
                              "--rate", "200", "--count", "1000", "--json", "-", target)
                uas.wait(15)
                rep = report_of(r)
                checks.check(f"(d) call over TCP to a sipp UAS over TCP: 1000 succeed (got "
                             f"{rep.get('succeeded')}, {rep.get('failures_by_cause')}); sipp "
                             f"completed {uas.successful()}",
                             r.returncode == 0 and rep.get("succeeded") == 1000
                             and uas.successful() == 1000, detail(r) + "\n" + uas.detail())
            finally:
                uas.stop()
                uas.cleanup()
        checks.check("switch still running", switch.alive(), switch.stderr_tail())
    finally:
        stop_all_uas()
        if switch.alive():
            check_clean_exit(checks, switch)
        else:
            switch.stop(check=False)

    # (e) a TCP port nobody listens on (bound, never listening: refused at once)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    try:
        r = run_bench(bench, "options", "--transport", "tcp", "--rate", "100", "--count", "20",
                      "--timeout-ms", "20000", "--json", "-", f"sip:{HOST}:{port}")
        rep = report_of(r)
        checks.check(f"(e) nothing listening: 20 'transport' failures well before the timeout "
                     f"(got {rep.get('failures_by_cause')}, {rep.get('elapsed_s')} s), exit 1",
                     r.returncode == 1 and rep.get("failures_by_cause") == {"transport": 20}
                     and rep.get("elapsed_s", 99) < 5 and "no answer" in r.stderr, detail(r))
    finally:
        s.close()


if __name__ == "__main__":
    main(run)
