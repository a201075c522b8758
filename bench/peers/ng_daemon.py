"""A media relay daemon controlled over the ng protocol, run as a child of a benchmark or a
test: started on a free ng port in a temp dir of its own, ready once it answers ping,
stopped with SIGTERM (SIGKILL after STOP_TIMEOUT), its log kept after the temp dir is gone.
rtpengine_peer.RtpEngine and centralita_peer.CentralitaMedia are the two kinds; a kind
gives its `name` and its command line (`args()`), and may write files first (`prepare()`).

Also the port helpers both use: a random RTP port block below the kernel's ephemeral range.

Python 3 standard library only; every wait is bounded.
"""

from __future__ import annotations

import os
import random
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ng_client import NgClient, NgError  # noqa: E402

READY_TIMEOUT = 10.0    # both relays answer ping well within a second on start
STOP_TIMEOUT = 5.0      # SIGTERM -> exit within this, else SIGKILL


def pick_port_range(size: int, lo: int = 10000, hi: int = 32000) -> tuple[int, int]:
    """A random block of `size` ports below the kernel's ephemeral range (32768+, where the
    load tool's sockets land), so that parallel runs rarely overlap. Both relays skip a
    port they cannot bind, so an occasional taken port costs nothing."""
    size = max(64, size)
    if size > hi - lo:
        return lo, hi
    start = random.randrange(lo, hi - size) & ~1   # RTP on even ports (RFC 3550 §11)
    return start, start + size - 1


def free_udp_port(host: str) -> int:
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((host, 0))
            return s.getsockname()[1]
        finally:
            s.close()
    raise RuntimeError(f"no free UDP port on {host}")


def raise_nofile() -> None:
    """preexec_fn: 4 sockets a call (RTP and RTCP on each side), so thousands of calls need
    thousands of fds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class NgDaemon:
    """A running relay (context manager). Attributes: ng_port, port_min, port_max, pid,
    tmp (its directory while it runs), log (path), log_text (after stop), proc."""

    name = "relay"

    def __init__(self, binary: str, host: str = "127.0.0.1",
                 port_range: tuple[int, int] | None = None) -> None:
        self.binary = binary
        self.host = host
        self.port_min, self.port_max = port_range or pick_port_range(2000)
        self.tmp: Path | None = None     # made by start(), removed by stop()
        self.log: Path | None = None
        self.log_text = ""
        self.proc: subprocess.Popen | None = None
        self.ng_port = 0
        self._log_file = None

    def args(self) -> list[str]:
        """The command line, with self.ng_port and self.tmp set."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Called before each start attempt, with self.ng_port and self.tmp set."""

    def start(self):
        if self.tmp is None:
            self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
            self.log = self.tmp / f"{self.name}.log"
        last = ""
        for _ in range(3):   # the ng port is chosen free, but another process may take it first
            self.ng_port = free_udp_port(self.host)
            self.prepare()
            args = self.args()
            print(f"# starting {self.name}: {shlex.join(args)}", file=sys.stderr, flush=True)
            self._log_file = open(self.log, "ab")
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                         stderr=self._log_file, cwd=self.tmp,
                                         start_new_session=True, preexec_fn=raise_nofile)
            if self._wait_ready():
                return self
            last = self.tail()
            self._kill()
        self.stop()
        raise RuntimeError(f"{self.name} did not answer ping within {READY_TIMEOUT:.0f} s:\n"
                           f"{last}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        with NgClient(self.host, self.ng_port, timeout=0.2, attempts=1) as c:
            while time.monotonic() < deadline:
                if self.proc is None or self.proc.poll() is not None:
                    return False
                try:
                    if c.ping().get("result") == "pong":
                        return True
                except NgError:
                    time.sleep(0.05)   # not listening yet (ICMP refused answers at once)
        return False

    def thread_names(self) -> dict[str, int]:
        """How many threads of each name the running relay has."""
        names: dict[str, int] = {}
        try:
            for tid in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                    name = f.read().strip()
                names[name] = names.get(name, 0) + 1
        except OSError:
            pass
        return names

    def client(self, timeout: float = 1.0, attempts: int = 3) -> NgClient:
        return NgClient(self.host, self.ng_port, timeout=timeout, attempts=attempts)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, n: int = 30) -> str:
        try:
            text = self.log.read_text("utf-8", "replace") if self.log else self.log_text
        except OSError:
            text = self.log_text
        return "\n".join(text.splitlines()[-n:])

    def _kill(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        try:   # whatever is left of its group (neither relay forks, but be sure)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        rc = self.proc.returncode
        self.proc = None
        return rc

    def stop(self) -> int | None:
        """Stops the relay, keeps its log in log_text, removes the temp dir."""
        rc = self._kill()
        if self.tmp is not None:
            try:
                self.log_text = self.log.read_text("utf-8", "replace")
            except OSError:
                pass
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = self.log = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
