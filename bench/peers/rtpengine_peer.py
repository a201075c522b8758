"""rtpengine (Debian 12's rtpengine-daemon, 10.5) as a peer of the media benchmark and tests:
userspace forwarding only, in the foreground, without the kernel module, systemd, a
config file or Redis, on an ng port and an RTP port range chosen at run time.

    with RtpEngine(port_range=(20000, 21999)) as rtp:
        client = rtp.client()          # ng_client.NgClient on rtp.ng_port
        client.offer(...)
        rtp.pid                        # for /proc/<pid>/stat CPU
    # stopped (SIGTERM, SIGKILL after 5 s) and its log kept in rtp.log_text (ng_daemon.py)

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
import shutil
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ng_daemon import NgDaemon, pick_port_range  # noqa: E402,F401  (pick_port_range: API)


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


class RtpEngine(NgDaemon):
    """A running rtpengine (context manager; start, stop and the rest: ng_daemon.NgDaemon)."""

    name = "rtpengine"

    def __init__(self, binary: str | None = None, host: str = "127.0.0.1",
                 port_range: tuple[int, int] | None = None, threads: int | None = None,
                 log_level: int = 5, extra: list[str] | None = None) -> None:
        binary = binary or rtpengine_binary()
        if binary is None:
            raise FileNotFoundError("rtpengine is not installed (Debian package rtpengine-daemon)")
        super().__init__(binary, host, port_range)
        self.threads = threads
        self.log_level = log_level
        self.extra = extra or []

    def args(self) -> list[str]:
        a = [self.binary, "--config-file=none", "--foreground", "--table=-1",
             f"--interface={self.host}", f"--listen-ng={self.host}:{self.ng_port}",
             f"--port-min={self.port_min}", f"--port-max={self.port_max}",
             "--log-stderr", f"--log-level={self.log_level}",
             f"--pidfile={self.tmp / 'rtpengine.pid'}", "--delete-delay=0"]
        if self.threads:
            a.append(f"--num-threads={self.threads}")
        return a + self.extra
