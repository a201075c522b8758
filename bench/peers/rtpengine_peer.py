"""rtpengine (Debian 12's rtpengine-daemon, 10.5) as a peer of the media benchmark and tests:
userspace forwarding only, in the foreground, without the kernel module, systemd, a
config file or Redis, on an ng port and an RTP port range chosen at run time.

    with RtpEngine(port_range=(20000, 21999)) as rtp:
        client = rtp.client()          # ng_client.NgClient on rtp.ng_port
        client.offer(...)
        rtp.pid                        # for /proc/<pid>/stat CPU
    # stopped (SIGTERM, SIGKILL after 5 s) and its log kept in rtp.log_text

The flags, and why:
  --config-file=none   the packaged /etc/rtpengine/rtpengine.conf would add its own
                       interfaces, ports and the kernel table
  --table=-1           no kernel forwarding table: every packet goes through userspace
                       (without --no-fallback rtpengine would also fall back by itself
                       when the module is missing; -1 makes it explicit)
  --foreground --log-stderr --pidfile  run under our control, log to our file
  --delete-delay=0     a deleted call frees its ports at once (a benchmark reuses them)
  --num-threads        worker threads (default: the number of CPUs)

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

READY_TIMEOUT = 10.0    # rtpengine answers ping well within a second on start
STOP_TIMEOUT = 5.0      # SIGTERM -> exit within this, else SIGKILL


def rtpengine_binary() -> str | None:
    """The rtpengine executable, or None when the package is not installed."""
    return shutil.which("rtpengine") or next(
        (p for p in ("/usr/bin/rtpengine", "/usr/sbin/rtpengine") if os.access(p, os.X_OK)), None)


def rtpengine_version(binary: str | None = None) -> str:
    binary = binary or rtpengine_binary()
    if binary is None:
        return "not installed"
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=5)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "unknown"


def rtpengine_codecs(binary: str | None = None) -> dict[str, str]:
    """codec name -> support line of `rtpengine --codecs` ("fully supported", ...)."""
    binary = binary or rtpengine_binary()
    if binary is None:
        return {}
    try:
        out = subprocess.run([binary, "--codecs"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    codecs = {}
    for line in (out.stdout + out.stderr).splitlines():
        name, sep, support = line.strip().partition(":")
        if sep:
            codecs[name.strip()] = support.strip()
    return codecs


def can_transcode(a: str, b: str, binary: str | None = None) -> tuple[bool, str]:
    """Whether this rtpengine build encodes and decodes both codecs (its libavcodec-based
    transcoding), and the reason when it does not."""
    codecs = rtpengine_codecs(binary)
    if not codecs:
        return False, "`rtpengine --codecs` printed nothing (built without transcoding?)"
    for c in (a, b):
        support = codecs.get(c)
        if support is None:
            return False, f"rtpengine --codecs does not list {c}"
        if support != "fully supported":
            return False, f"rtpengine --codecs: {c}: {support}"
    return True, ""


def _udp_port_free(port: int, host: str = "127.0.0.1") -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_port_range(size: int, lo: int = 10000, hi: int = 32000) -> tuple[int, int]:
    """A random block of `size` ports below the kernel's ephemeral range (32768+, where the
    load tool's sockets land), so that parallel runs rarely overlap. rtpengine skips a
    port it cannot bind, so an occasional taken port costs nothing."""
    size = max(64, size)
    if size > hi - lo:
        return lo, hi
    start = random.randrange(lo, hi - size) & ~1   # RTP on even ports (RFC 3550 §11)
    return start, start + size - 1


def _free_ng_port(host: str) -> int:
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((host, 0))
            return s.getsockname()[1]
        finally:
            s.close()
    raise RuntimeError("no free UDP port for the ng socket")


def _raise_nofile() -> None:
    # 4 sockets a call (RTP and RTCP on each side): thousands of calls need thousands of fds.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class RtpEngine:
    """A running rtpengine (context manager). Attributes: ng_port, port_min, port_max,
    pid, log (path), log_text (after stop), proc."""

    name = "rtpengine"

    def __init__(self, binary: str | None = None, host: str = "127.0.0.1",
                 port_range: tuple[int, int] | None = None, threads: int | None = None,
                 log_level: int = 5, extra: list[str] | None = None) -> None:
        self.binary = binary or rtpengine_binary()
        if self.binary is None:
            raise FileNotFoundError("rtpengine is not installed (Debian package rtpengine-daemon)")
        self.host = host
        self.port_min, self.port_max = port_range or pick_port_range(2000)
        self.threads = threads
        self.log_level = log_level
        self.extra = extra or []
        self.tmp: Path | None = None     # made by start(), removed by stop()
        self.log: Path | None = None
        self.log_text = ""
        self.proc: subprocess.Popen | None = None
        self.ng_port = 0
        self._log_file = None

    def args(self) -> list[str]:
        a = [self.binary, "--config-file=none", "--foreground", "--table=-1",
             f"--interface={self.host}", f"--listen-ng={self.host}:{self.ng_port}",
             f"--port-min={self.port_min}", f"--port-max={self.port_max}",
             "--log-stderr", f"--log-level={self.log_level}",
             f"--pidfile={self.tmp / 'rtpengine.pid'}", "--delete-delay=0"]
        if self.threads:
            a.append(f"--num-threads={self.threads}")
        return a + self.extra

    def start(self) -> "RtpEngine":
        if self.tmp is None:
            self.tmp = Path(tempfile.mkdtemp(prefix="bench-rtpengine-"))
            self.log = self.tmp / "rtpengine.log"
        last = ""
        for _ in range(3):   # the ng port is chosen free, but another process may take it first
            self.ng_port = _free_ng_port(self.host)
            args = self.args()
            print(f"# starting rtpengine: {shlex.join(args)}", file=sys.stderr, flush=True)
            self._log_file = open(self.log, "ab")
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                         stderr=self._log_file, cwd=self.tmp,
                                         start_new_session=True, preexec_fn=_raise_nofile)
            if self._wait_ready():
                return self
            last = self.tail()
            self._kill()
        self.stop()
        raise RuntimeError(f"rtpengine did not answer ping within {READY_TIMEOUT:.0f} s:\n{last}")

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
        """How many threads of each name the running rtpengine has ("poller" are its
        media worker threads: --num-threads, or its own default when not given)."""
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
        try:   # whatever is left of its group (it forks nothing, but be sure)
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
        """Stops rtpengine, keeps its log in log_text, removes the temp dir."""
        rc = self._kill()
        if self.tmp is not None:
            try:
                self.log_text = self.log.read_text("utf-8", "replace")
            except OSError:
                pass
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = self.log = None
        return rc

    def __enter__(self) -> "RtpEngine":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
