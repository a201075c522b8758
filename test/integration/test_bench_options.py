#!/usr/bin/env python3
"""centralita-bench (bench/loadgen/) against the real switch, a sipp UAS and a misbehaving peer.

  (a) options --rate 2000 --count 5000 --json - --target-pid <switch>: exit 0, all 5000
      succeed, the JSON carries scenario, attempted, succeeded, failed, failures_by_cause,
      rate_achieved, latency_ms {p50, p90, p99, p999, max}, timeline, and
      target_cpu_us_per_op > 0, target_rss_bytes > 0, self_cpu_us_per_op > 0
  (b) register --users user[1-2000] --rate 1000 --count 2000: all succeed, and the switch
      holds 2000 bindings (GET /api/registrations?limit=1 -> total)
  (c) digest auth: a switch with --users FILE ("userN@127.0.0.1 pwN"), the bench with
      --users-csv (userN;pwN) and --unregister: all succeed and no binding is left; without
      --unregister: all succeed and the bindings stay; wrong passwords: every attempt fails
      with 401
  (d) a sipp UAS answering OPTIONS (scenarios/options_uas.xml): all 300 succeed
  (e) a Python peer that answers each request with garbage, a 200 with a foreign branch and,
      for every third request only, the right 200: the bench exits 0, counts the garbage as
      malformed and the unanswered as timeout, never crashes
  (f) nothing listening on the target: exit 1 with "no answer"; bad usage: exit 2 naming the flag

    test_bench_options.py --binary build/centralita --source-dir .
"""

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import HOST, Checks, Switch, check_clean_exit, free_port, main  # noqa: E402
from http_client import get_json  # noqa: E402
from sip_core import port_bound  # noqa: E402
from sipp import sipp_binary  # noqa: E402

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
RUN_TIMEOUT = 60.0     # no single bench run of this test takes longer


def run_bench(bench: Path, *args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    cmd = [str(bench), *args]
    print("running: " + " ".join(cmd), flush=True)
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, -9, e.stdout or "", (e.stderr or "") + "\n(killed: timeout)")


def report_of(r: subprocess.CompletedProcess) -> dict:
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {}


def detail(r: subprocess.CompletedProcess) -> str:
    return f"exit {r.returncode}\n--- stdout ---\n{r.stdout[-3000:]}\n--- stderr ---\n{r.stderr[-3000:]}"


def registrations_total(switch: Switch) -> int | None:
    _, j = get_json(switch.http_port, "/api/registrations?limit=1")
    return j.get("total") if isinstance(j, dict) else None


def check_options(checks: Checks, bench: Path, switch: Switch) -> None:
    r = run_bench(bench, "options", "--rate", "2000", "--count", "5000", "--json", "-",
                  "--target-pid", str(switch.proc.pid), f"sip:{HOST}:{switch.port}")
    rep = report_of(r)
    checks.check(f"(a) options: exit 0, 5000 of 5000 succeed (got {rep.get('succeeded')}, "
                 f"failed {rep.get('failed')} {rep.get('failures_by_cause')})",
                 r.returncode == 0 and rep.get("attempted") == 5000 and rep.get("succeeded") == 5000
                 and rep.get("failed") == 0, detail(r))
    keys = ["scenario", "attempted", "succeeded", "failed", "failures_by_cause", "rate_achieved",
            "latency_ms", "timeline", "retransmissions", "malformed", "self_cpu_us_per_op"]
    lat = rep.get("latency_ms", {})
    checks.check("(a) the JSON has every documented key, latency_ms has p50/p90/p99/p999/max",
                 all(k in rep for k in keys) and rep.get("scenario") == "options"
                 and all(isinstance(lat.get(k), (int, float)) for k in ("p50", "p90", "p99", "p999", "max"))
                 and 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"],
                 json.dumps({k: v for k, v in rep.items() if k != "timeline"}, indent=1))
    checks.check(f"(a) --target-pid: target_cpu_us_per_op > 0 ({rep.get('target_cpu_us_per_op')}), "
                 f"target_rss_bytes > 0, self_cpu_us_per_op > 0 ({rep.get('self_cpu_us_per_op')})",
                 (rep.get("target_cpu_us_per_op") or 0) > 0 and (rep.get("target_rss_bytes") or 0) > 0
                 and (rep.get("self_cpu_us_per_op") or 0) > 0, detail(r))
    checks.check(f"(a) achieved rate close to 2000/s ({rep.get('rate_achieved')})",
                 1500 <= (rep.get("rate_achieved") or 0) <= 2100, detail(r))
    checks.check("(a) the summary table goes to stderr when stdout carries the JSON",
                 "attempted" in r.stderr and "latency" in r.stderr, detail(r))


def check_register(checks: Checks, bench: Path, switch: Switch) -> None:
    r = run_bench(bench, "register", "--users", "user[1-2000]", "--rate", "1000", "--count", "2000",
                  "--json", "-", f"sip:{HOST}:{switch.port}")
    rep = report_of(r)
    checks.check(f"(b) register: exit 0, 2000 of 2000 succeed (got {rep.get('succeeded')}, "
                 f"{rep.get('failures_by_cause')})",
                 r.returncode == 0 and rep.get("succeeded") == 2000 and rep.get("failed") == 0, detail(r))
    total = registrations_total(switch)
    checks.check(f"(b) the switch holds 2000 bindings (total {total})", total == 2000)


def check_digest(checks: Checks, bench: Path, binary: str) -> None:
    users = 200
    switch = Switch(binary)
    users_file = switch.tmp / "users.txt"
    users_file.write_text("".join(f"user{i}@{HOST} pw{i}\n" for i in range(1, users + 1)))
    csv = switch.tmp / "bench-users.csv"
    csv.write_text("# user;password\n" + "".join(f"user{i};pw{i}\n" for i in range(1, users + 1)))
    wrong = switch.tmp / "wrong.csv"
    wrong.write_text("".join(f"user{i};nope\n" for i in range(1, 11)))
    switch.args += ["--users", str(users_file)]
    switch.start()
    try:
        target = f"sip:{HOST}:{switch.port}"
        # Each run binds from new source ports (new Contacts): --unregister goes first, on an
        # empty registrar, so that it must leave it empty.
        r = run_bench(bench, "register", "--users-csv", str(csv), "--rate", "500", "--count",
                      str(users), "--unregister", "--json", "-", target)
        rep = report_of(r)
        checks.check(f"(c) digest with --unregister: all {users} succeed ({rep.get('succeeded')}, "
                     f"{rep.get('failures_by_cause')})",
                     r.returncode == 0 and rep.get("succeeded") == users, detail(r))
        total = registrations_total(switch)
        checks.check(f"(c) --unregister: no binding left (total {total})", total == 0)
        r = run_bench(bench, "register", "--users-csv", str(csv), "--rate", "500", "--count",
                      str(users), "--json", "-", target)
        rep = report_of(r)
        checks.check(f"(c) digest: {users} of {users} succeed after a 401 ({rep.get('succeeded')}, "
                     f"{rep.get('failures_by_cause')})",
                     r.returncode == 0 and rep.get("succeeded") == users, detail(r))
        total = registrations_total(switch)
        checks.check(f"(c) the switch holds {users} bindings (total {total})", total == users)
        r = run_bench(bench, "register", "--users-csv", str(wrong), "--rate", "200", "--count",
                      "10", "--json", "-", target)
        rep = report_of(r)
        checks.check(f"(c) wrong passwords: exit 0, all 10 fail as 401 ({rep.get('failures_by_cause')})",
                     r.returncode == 0 and rep.get("failures_by_cause") == {"401": 10}, detail(r))
    finally:
        if switch.alive():
            check_clean_exit(checks, switch)


def check_sipp_uas(checks: Checks, bench: Path) -> None:
    if sipp_binary() is None:
        print("SKIP: (d) sipp is not installed (Debian package sip-tester)", flush=True)
        return
    port = free_port()
    calls = 300
    cmd = [sipp_binary(), "-sf", str(SCENARIOS / "options_uas.xml"), "-t", "u1", "-i", HOST, "-p",
           str(port), "-m", str(calls), "-nostdin", "-timeout", "30s", "-timeout_error"]
    print("starting: " + " ".join(cmd), flush=True)
    uas = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and uas.poll() is None and not port_bound(port):
            time.sleep(0.05)
        r = run_bench(bench, "options", "--rate", "300", "--count", str(calls), "--json", "-",
                      f"{HOST}:{port}")
        rep = report_of(r)
        checks.check(f"(d) sipp UAS: {calls} of {calls} OPTIONS succeed ({rep.get('succeeded')}, "
                     f"{rep.get('failures_by_cause')})",
                     r.returncode == 0 and rep.get("succeeded") == calls, detail(r))
        try:
            rc = uas.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        checks.check(f"(d) sipp UAS ends cleanly after {calls} calls (exit {rc})", rc == 0)
    finally:
        if uas.poll() is None:
            uas.kill()
            uas.wait()


class BadPeer:
    """Answers each request with garbage, a 200 with a foreign branch and, for every third
    request, the right 200 (copying Via, From, To, Call-ID, CSeq)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self) -> None:
        while not self.stop:
            try:
                data, peer = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            self.count += 1
            lines = data.decode("utf-8", "replace").split("\r\n")
            keep = [l for l in lines if l.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")]
            self.sock.sendto(b"\x00\xffgarbage that is not SIP\r\n\r\n", peer)
            self.sock.sendto(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-foreign\r\n"
                             b"CSeq: 1 OPTIONS\r\n\r\n", peer)
            self.sock.sendto(b"SIP/2.0 999 Out of range\r\n\r\n", peer)
            if self.count % 3 == 0:
                self.sock.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n")
                                 .encode(), peer)

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        self.sock.close()


def check_bad_peer(checks: Checks, bench: Path) -> None:
    peer = BadPeer()
    try:
        r = run_bench(bench, "options", "--rate", "200", "--count", "30", "--no-retransmit",
                      "--timeout-ms", "500", "--json", "-", f"sip:{HOST}:{peer.port}")
    finally:
        peer.close()
    rep = report_of(r)
    checks.check(f"(e) garbage answers: exit 0, 10 succeed, 20 time out, malformed >= 60 "
                 f"(got {rep.get('succeeded')}, {rep.get('failures_by_cause')}, malformed "
                 f"{rep.get('malformed')})",
                 r.returncode == 0 and rep.get("succeeded") == 10
                 and rep.get("failures_by_cause") == {"timeout": 20} and (rep.get("malformed") or 0) >= 60,
                 detail(r))
    checks.check("(e) the foreign branches are noted, not counted as ours",
                 "matched no transaction" in r.stderr, detail(r))


def check_unreachable_and_usage(checks: Checks, bench: Path) -> None:
    port = free_port()
    r = run_bench(bench, "options", "--count", "3", "--rate", "10", "--timeout-ms", "2000",
                  f"sip:{HOST}:{port}")
    checks.check("(f) nothing listening: exit 1, 'no answer' on stderr",
                 r.returncode == 1 and "no answer" in r.stderr, detail(r))
    r = run_bench(bench, "options", "--rate", "fast", f"sip:{HOST}:{port}")
    checks.check("(f) --rate fast: exit 2 naming --rate", r.returncode == 2 and "--rate" in r.stderr,
                 detail(r))
    r = run_bench(bench, "options", "--transport", "sctp", f"sip:{HOST}:{port}")
    checks.check("(f) --transport sctp: exit 2 naming --transport (udp or tcp)",
                 r.returncode == 2 and "--transport" in r.stderr and "udp or tcp" in r.stderr,
                 detail(r))
    r = run_bench(bench, "--help")
    checks.check("(f) --help: exit 0, lists the options",
                 r.returncode == 0 and "--max-inflight" in r.stdout and "--users-csv" in r.stdout, detail(r))


def run(checks: Checks, args) -> None:
    bench = Path(args.binary).resolve().parent / "centralita-bench"
    if not checks.check(f"{bench} exists (the centralita-bench target is built)", bench.exists()):
        return
    switch = Switch(args.binary).start()
    try:
        check_options(checks, bench, switch)
        check_register(checks, bench, switch)
    finally:
        if switch.alive():
            check_clean_exit(checks, switch)
        else:
            switch.stop(check=False)
    check_digest(checks, bench, args.binary)
    check_sipp_uas(checks, bench)
    check_bad_peer(checks, bench)
    check_unreachable_and_usage(checks, bench)


if __name__ == "__main__":
    main(run)
