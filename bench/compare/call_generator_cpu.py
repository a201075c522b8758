#!/usr/bin/env python3
"""The load generators' own CPU per call, centralita-bench against sipp, through one centralita.

Three runs on one switch (default routing, 2 workers), each --count calls at --rate
(INVITE/180/200/ACK/BYE/200, zero hold, UDP, one source socket each):

  1. centralita-bench's UAC to a sipp UAS (test/integration/scenarios/core_uas_answer.xml)
  2. centralita-bench's UAC and its built-in UAS (--uas)
  3. sipp's UAC (core_uac_call.xml) to a sipp UAS

CPU of each generator process = its utime+stime (getrusage of the waited-for children),
divided by the calls. Prints the per-call figures and the ratios that issue 7 point 3 asks
about (UAC alone; UAC plus UAS).

    bench/compare/call_generator_cpu.py --centralita build/centralita --rate 500 --count 5000
"""

import argparse
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.dont_write_bytecode = True
sys.path.insert(0, str(ROOT / "test" / "integration" / "lib"))

from centralita_test import HOST, Switch  # noqa: E402
from sip_core import SippUas, register_udp, stop_all_uas  # noqa: E402
from sipp import run_sipp  # noqa: E402


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_calls(bench: Path, port: int, rate: int, count: int, extra: list[str]) -> tuple[float, str]:
    before = children_cpu()
    r = subprocess.run([str(bench), "call", "--rate", str(rate), "--count", str(count),
                        "--sockets", "1", *extra, f"sip:{HOST}:{port}"],
                       capture_output=True, text=True, timeout=count / rate + 60)
    ok = next((l.split()[1] for l in r.stdout.splitlines() if l.startswith("succeeded")), "?")
    return (children_cpu() - before) * 1e6 / count, ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--centralita", default=str(ROOT / "build" / "centralita"))
    p.add_argument("--rate", type=int, default=500)
    p.add_argument("--count", type=int, default=5000)
    a = p.parse_args()
    binary = Path(a.centralita).resolve()
    bench = binary.parent / "centralita-bench"
    switch = Switch(str(binary), ["--workers", "2", "--http", "off"]).start()
    try:
        uas = SippUas("core_uas_answer.xml", transport="u1", calls=a.count, timeout_s=a.count / a.rate + 60)
        uas.start()
        register_udp(switch.port, "bob-b", uas.contact)
        uac_only, ok1 = bench_calls(bench, switch.port, a.rate, a.count, ["--callee", "bob-b"])
        uas.wait(10)
        uas.stop()
        uas.cleanup()
        both, ok2 = bench_calls(bench, switch.port, a.rate, a.count,
                                ["--callee", "bob-u", "--uas", f"{HOST}:0"])
        uas = SippUas("core_uas_answer.xml", transport="u1", calls=a.count, timeout_s=a.count / a.rate + 60)
        uas.start()
        register_udp(switch.port, "bob-s", uas.contact)
        before = children_cpu()
        res = run_sipp(ROOT / "test" / "integration" / "scenarios" / "core_uac_call.xml", switch.port,
                       transport="u1", calls=a.count, rate=a.rate, limit=5000,
                       global_timeout_s=a.count / a.rate + 60, recv_timeout_ms=10000,
                       extra=["-s", "bob-s"])
        sipp_uac = (children_cpu() - before) * 1e6 / a.count
        before = children_cpu()
        uas.wait(10)
        uas.stop()
        sipp_uas = (children_cpu() - before) * 1e6 / a.count
        uas.cleanup()
    finally:
        stop_all_uas()
        switch.stop(check=False)
    print(f"| {a.rate}/s, {a.count} calls | CPU-µs per call | calls ok |")
    print("|---|---:|---:|")
    print(f"| centralita-bench UAC (sipp UAS) | {uac_only:.1f} | {ok1} |")
    print(f"| centralita-bench UAC + built-in UAS | {both:.1f} | {ok2} |")
    print(f"| sipp UAC | {sipp_uac:.1f} | {res.successful} |")
    print(f"| sipp UAS | {sipp_uas:.1f} | |")
    print(f"\nratios: UAC alone {uac_only / sipp_uac:.2f}; UAC + UAS {both / (sipp_uac + sipp_uas):.2f}")


if __name__ == "__main__":
    main()
