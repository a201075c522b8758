#!/usr/bin/env python3
"""A real softphone flow through the switch: two baresip instances register as alice and
bob with digest authentication, alice calls bob (a 407 first, then the call), bob
answers, media flows, and alice's hang-up (BYE) reaches bob through the switch.

baresip 1.0 needs a non-loopback interface address for its SDP and RTP, so the whole test
runs inside a network namespace of its own (unshare -n) with loopback and a veth pair
holding 198.51.100.10 (TEST-NET-2): no packet leaves the namespace.

libre 1.0 (baresip's SIP stack) gives up on any SHA-256 digest challenge, so this switch is
configured with auth.algorithms = ["MD5"] (docs/operations.md, "Interoperability").

    test_sip_core_baresip.py --binary build/centralita --source-dir .
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import HOST, Checks, Switch, check_clean_exit, free_port, main  # noqa: E402

INNER = "CENTRALITA_IN_NETNS"
MEDIA_ADDR = "198.51.100.10"


def reexec_in_namespace() -> None:
    """Run this very script again inside a fresh network namespace; exit with its code."""
    if shutil.which("baresip") is None:
        print("SKIP: baresip is not installed (.ci/install-deps installs baresip-core)")
        sys.exit(77)
    if shutil.which("unshare") is None or shutil.which("ip") is None or os.geteuid() != 0:
        print("SKIP: needs root, unshare and ip to make a network namespace")
        sys.exit(77)
    env = dict(os.environ, **{INNER: "1"})
    setup = (f"ip link set lo up && ip link add vt0 type veth peer name vt1 && "
             f"ip addr add {MEDIA_ADDR}/24 dev vt0 && ip link set vt0 up && ip link set vt1 up && "
             f"exec {sys.executable} {' '.join(map(str, sys.argv))}")
    try:
        rc = subprocess.run(["unshare", "-n", "sh", "-c", setup], env=env, timeout=170).returncode
    except subprocess.TimeoutExpired:
        print("FAIL: the namespaced run did not finish in 170 s")
        rc = 1
    sys.exit(rc)


def sip_port_pair() -> int:
    """A port p with p and p+1 free (baresip also binds SIP/TLS on p+1)."""
    for _ in range(50):
        p = free_port()
        try:
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((HOST, p + 1))
            s.close()
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.bind((HOST, p + 1))
            t.close()
            return p
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def write_baresip(dir_: Path, user: str, password: str, switch_port: int) -> None:
    dir_.mkdir(parents=True)
    port = sip_port_pair()
    (dir_ / "config").write_text(f"""poll_method epoll
sip_listen {HOST}:{port}
audio_player aufile,/dev/null
audio_alert aufile,/dev/null
audio_source ausine,440
module_path /usr/lib/baresip/modules
module opus.so
module g711.so
module ausine.so
module aufile.so
module_app account.so
module_app menu.so
""")
    (dir_ / "accounts").write_text(
        f"<sip:{user}@{HOST}:{switch_port};transport=udp>;auth_pass={password};regint=600;"
        "answermode=auto\n")


def wait_for(path: Path, text: str, timeout: float) -> bool:
    """Poll a log file (bounded) until it contains text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_bytes().decode(errors="replace"):
            return True
        time.sleep(0.1)
    return False


def run(checks: Checks, args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="centralita-baresip-"))
    users = tmp / "users.txt"
    users.write_text(f"alice@{HOST} alice-secret\nbob@{HOST} bob-secret\n")
    cfg = tmp / "md5.toml"
    cfg.write_text('[auth]\nalgorithms = ["MD5"]\n')
    switch = Switch(args.binary, ["--users", str(users), "--config", str(cfg)]).start()
    procs = []
    try:
        write_baresip(tmp / "bob", "bob", "bob-secret", switch.port)
        write_baresip(tmp / "alice", "alice", "alice-secret", switch.port)
        bob_log, alice_log = tmp / "bob.log", tmp / "alice.log"
        procs.append(subprocess.Popen(["baresip", "-f", str(tmp / "bob"), "-t", "25"],
                                      stdin=subprocess.DEVNULL, stdout=open(bob_log, "wb"),
                                      stderr=subprocess.STDOUT))
        checks.check("bob registers with digest auth (401, then 200)",
                     wait_for(bob_log, "200 OK () [1 binding]", 10), bob_log.read_text(errors="replace")[-2000:])
        procs.append(subprocess.Popen(["baresip", "-f", str(tmp / "alice"), "-t", "8", "-e",
                                       f"/dial sip:bob@{HOST}:{switch.port}"],
                                      stdin=subprocess.DEVNULL, stdout=open(alice_log, "wb"),
                                      stderr=subprocess.STDOUT))
        ok_a = wait_for(alice_log, "Call established", 15)
        ok_b = wait_for(bob_log, "Call established", 5)
        detail = ("--- alice ---\n" + alice_log.read_text(errors="replace")[-2500:]
                  + "\n--- bob ---\n" + bob_log.read_text(errors="replace")[-2500:])
        checks.check("alice's call (after a 407 challenge) is established", ok_a, detail)
        checks.check("bob answers: the call is established on his side too", ok_b, detail)
        checks.check("media flows between the phones",
                     wait_for(alice_log, "incoming rtp for 'audio' established", 5), detail)
        # alice quits after 8 s and hangs up: the BYE must reach bob through the switch.
        checks.check("alice's BYE reaches bob through the switch (call terminated at bob)",
                     wait_for(bob_log, "terminated", 20), bob_log.read_text(errors="replace")[-2000:])
        checks.check("the switch is still running", switch.alive())
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    check_clean_exit(checks, switch)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if os.environ.get(INNER) != "1":
        reexec_in_namespace()
    main(run)
