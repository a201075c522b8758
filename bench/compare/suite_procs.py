"""Processes of the benchmark suite (bench/compare/suite.py): the two targets as each
scenario needs them, the sipp UAS of the call scenario, user files, and what the suite
reads from /proc (CPU of a process tree, PSS) and from the machine (versions, CPU model).

Python 3 standard library only. Every process started here is registered in RUNNING and
stopped by stop_all(), which suite.py calls in a finally block (also on Ctrl-C).
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "test" / "integration" / "lib"))

import options_bench as ob  # noqa: E402  (Target, /proc CPU sampling)
import sip_core_bench as scb  # noqa: E402  (PSS of a process tree)
from centralita_test import HOST, free_port, udp_options_ok  # noqa: E402
from sip_core import SippUas, register_udp, status_of  # noqa: E402

PEERS = ROOT / "bench" / "peers"
READY_TIMEOUT = 30.0    # a target with 100,000 users loads them before it answers
SIPP_BUFFER = ob.SIPP_BUFFER

RUNNING: list = []      # targets and UAS processes still to stop


# --------------------------------------------------------------------------- targets

class Target(ob.Target):
    """options_bench's Target (own session, SIGTERM then SIGKILL to the group), with a
    longer, still bounded, readiness wait and registration in RUNNING."""

    label = "?"

    def start(self) -> None:
        print(f"# starting {self.name}: {shlex.join(self.args)}", file=sys.stderr, flush=True)
        self._log = open(self.log, "wb")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, cwd=self.tmp, start_new_session=True)
        RUNNING.append(self)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            if udp_options_ok(self.port, timeout=0.2)[0]:
                return
        raise RuntimeError(f"{self.name} did not answer OPTIONS within {READY_TIMEOUT:.0f} s "
                           f"(exit {self.proc.poll()}):\n{self.tail()}")

    def stop(self) -> int | None:
        if self in RUNNING:
            RUNNING.remove(self)
        return super().stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(f"{self.name} died:\n{self.tail()}")


class Centralita(Target):
    name = "centralita"
    label = "centralita"

    def __init__(self, binary: str, workers: int, users: Path | None) -> None:
        super().__init__()
        self.args = [binary, "--listen", f"udp:{HOST}:{self.port}", "--http", "off",
                     "--workers", str(workers), "--log-level", "warn",
                     "--data-dir", str(self.tmp / "data")]
        if users is not None:
            # sipp 3.6 answers MD5 challenges only, and centralita offers SHA-256 first by
            # default: both generators (and Kamailio) use MD5 here.
            cfg = self.tmp / "suite.toml"
            cfg.write_text('[auth]\nalgorithms = ["MD5"]\n')
            self.args[1:1] = ["--config", str(cfg)]
            self.args += ["--users", str(users)]


class Kamailio(Target):
    name = "kamailio"
    label = "Kamailio"

    def __init__(self, binary: str, children: int, scenario: str, auth_users: int) -> None:
        super().__init__()
        cfg = PEERS / ("kamailio-options.cfg" if scenario == "options" else "kamailio-registrar.cfg")
        shm = 64 if scenario == "options" else 256
        self.args = [binary, "-f", str(cfg), "-DD", "-E", "-L", ob.KAMAILIO_MODULES,
                     "-Y", str(self.tmp), "-l", f"udp:{HOST}:{self.port}", "-n", str(children),
                     "-m", str(shm), "-M", "16"]
        if scenario == "register":
            self.args[3:3] = ["-A", "WITH_AUTH", "-A", f"AUTH_USERS={auth_users}"]


def make_target(name: str, scenario: str, args, users: Path | None) -> Target:
    if name == "centralita":
        return Centralita(str(Path(args.centralita).resolve()), args.workers,
                          users if scenario == "register" else None)
    return Kamailio(args.kamailio, args.kamailio_children, scenario, args.users)


# --------------------------------------------------------------------------- users

def write_centralita_users(tmp: Path, n: int) -> Path:
    """users b1..bN with password pN, in centralita's --users format (Kamailio's config
    fills its htable with the same users)."""
    path = tmp / "users.txt"
    with open(path, "w") as f:
        for i in range(1, n + 1):
            f.write(f"b{i}@{HOST} p{i}\n")
    return path


class UserPool:
    """Hands out consecutive slices of b1..bN, so that every REGISTER of a target (over all
    runs and both generators) binds a user not registered before; wraps around after N
    (later REGISTERs then refresh). One pool per target instance."""

    def __init__(self, tmp: Path, n: int, tag: str) -> None:
        self.tmp, self.n, self.tag, self.next, self.files = tmp, n, tag, 1, 0

    def _take(self, count: int) -> list[int]:
        out = []
        for _ in range(count):
            out.append(self.next)
            self.next = self.next % self.n + 1
        return out

    @property
    def left(self) -> int:
        return self.n - self.next + 1

    def bench_csv(self, count: int) -> Path:
        """centralita-bench --users-csv: one "user;password" per line."""
        self.files += 1
        path = self.tmp / f"{self.tag}-bench-{self.files}.csv"
        path.write_text("".join(f"b{i};p{i}\n" for i in self._take(count)))
        return path

    def sipp_inf(self, count: int) -> Path:
        """sipp -inf: field0 the user, field1 its [authentication] keyword (sipp 3.6 expands
        a keyword taken from the injection file, see bench/scenarios/register_auth.xml)."""
        self.files += 1
        path = self.tmp / f"{self.tag}-sipp-{self.files}.csv"
        path.write_text("SEQUENTIAL\n" + "".join(
            f"b{i};[authentication username=b{i} password=p{i}]\n" for i in self._take(count)))
        return path


# --------------------------------------------------------------------------- sipp UAS

class CallUas:
    """The sipp UAS of the call scenario (bench/scenarios/call_uas.xml), registered at the
    target as the contact of `user`; no message trace under load."""

    def __init__(self, target: Target, user: str, calls: int, timeout_s: int) -> None:
        self.target, self.user = target, user
        self.uas = SippUas(str(ROOT / "bench" / "scenarios" / "call_uas.xml"), calls=calls,
                           timeout_s=timeout_s,
                           extra=["-nr", "-buff_size", str(SIPP_BUFFER), "-max_recv_loops", "10000",
                                  "-max_sched_loops", "10000"])
        i = self.uas.cmd.index("-trace_msg")
        del self.uas.cmd[i:i + 3]

    def start(self) -> "CallUas":
        self.uas.start()
        RUNNING.append(self)
        if self.uas.proc is None or self.uas.proc.poll() is not None:
            raise RuntimeError("the sipp UAS did not start:\n" + self.uas.detail(2000))
        sent, answer = register_udp(self.target.port, self.user, self.uas.contact, expires=3600)
        if status_of(answer) != 200:
            raise RuntimeError(f"{self.target.name}: REGISTER of {self.user} -> {self.uas.contact} "
                               f"failed:\nsent:\n{sent.decode()}\nanswer:\n"
                               f"{(answer or b'(none)').decode('utf-8', 'replace')}")
        return self

    def cpu_ticks(self) -> int:
        """utime+stime of the UAS process so far (it runs across several UAC runs)."""
        st = ob.proc_stat(self.uas.proc.pid) if self.uas.proc else None
        return st[1] if st else 0

    def stop(self) -> None:
        if self in RUNNING:
            RUNNING.remove(self)
        self.uas.stop()
        self.uas.cleanup()


def stop_all() -> None:
    """Stops every target and UAS still running, newest first."""
    for p in reversed(list(RUNNING)):
        try:
            rc = p.stop()
            if isinstance(p, Target):
                print(f"# {p.name} stopped, exit {rc}", file=sys.stderr, flush=True)
        except Exception as e:  # keep stopping the others
            print(f"# stopping {p}: {e}", file=sys.stderr, flush=True)


def install_signal_handlers() -> None:
    """SIGTERM (and SIGHUP) end the suite like Ctrl-C does: through the finally blocks that
    stop every process. Generators run in the suite's process group, so a Ctrl-C in the
    terminal reaches them too; targets run in their own sessions and are stopped here."""
    def handler(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)


# --------------------------------------------------------------------------- /proc

def tree_memory(pid: int) -> tuple[int, int, int]:
    """(PSS bytes, RSS bytes, processes) of pid's process tree. PSS divides shared pages
    (Kamailio's shared memory, the binaries) among the processes that map them, so the sum
    over a forking server is not inflated the way summed RSS is."""
    pss, rss = scb.pss_bytes(pid)
    return pss, rss, len(ob.process_tree(pid))


def cpu_sample(pid: int) -> ob.CpuSample:
    return ob.sample_cpu(pid)


# --------------------------------------------------------------------------- machine

def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def first_line(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"
    for line in (r.stdout + r.stderr).splitlines():
        if line.strip():
            return line.strip()
    return "unknown"


def versions(args) -> dict[str, str]:
    git = first_line(["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--tags"])
    kam = first_line([args.kamailio, "-v"])
    m = re.search(r"kamailio\s+(\S+)", kam)
    sipp = first_line([shutil.which("sipp") or "sipp", "-v"])
    m2 = re.search(r"SIPp\s+v?(\S+)", sipp)
    return {"centralita": git, "kamailio": m.group(1) if m else kam,
            "sipp": m2.group(1).rstrip(".") if m2 else sipp}


def machine() -> dict:
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release(),
            "clk_tck": ob.CLK_TCK}


def new_tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="bench-suite-"))


__all__ = ["Centralita", "Kamailio", "Target", "make_target", "UserPool", "CallUas", "stop_all",
           "install_signal_handlers", "tree_memory", "cpu_sample", "versions", "machine",
           "write_centralita_users", "new_tmp", "free_port", "HOST", "RUNNING", "ob", "ROOT"]
