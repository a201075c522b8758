"""The relays bench/compare/media_bench.py measures, and the /proc readings it measures them
with. A relay is a small class: an ng address, the pid whose CPU is read, start/stop, and the
extra ng keys of an offer. RtpEngineRelay and CentralitaRelay start their daemon here
(bench/peers/ng_daemon.py); ExternalRelay is one already running.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1].parent
sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(ROOT / "bench" / "peers"))

sys.path.insert(0, str(ROOT / "bench" / "compare"))
import centralita_peer  # noqa: E402
import rtpengine_peer  # noqa: E402
from ng_daemon import pick_port_range  # noqa: E402
from options_bench import proc_stat  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"


# --------------------------------------------------------------------------- /proc

def cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process (all its threads), in clock ticks; None if gone."""
    stat = proc_stat(pid)
    return stat[1] if stat is not None else None


def machine_busy_ticks() -> int:
    """CPU ticks the whole machine spent busy (all CPUs, /proc/stat: user, nice, system,
    irq, softirq, steal): what else ran during a window shows as busy minus the relay
    and the load tool."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal


def schedstat_ns(pid: int) -> int:
    """On-CPU ns summed over the process's threads (/proc/<pid>/task/*/schedstat): a finer
    cross-check of the tick counts; 0 where schedstat is unavailable."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


# --------------------------------------------------------------------------- relays

class Relay:
    """What the benchmark needs from a media relay: an ng address, the pid whose CPU is
    measured, start/stop, and the extra ng keys of an offer."""

    name = "?"
    label = "?"

    def __init__(self) -> None:
        self.ng_host = HOST
        self.ng_port = 0

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def pid(self) -> int:
        raise NotImplementedError

    def alive(self) -> bool:
        return cpu_ticks(self.pid) is not None

    def tail(self) -> str:
        return ""

    def version(self) -> str:
        return "?"

    def offer_args(self, transcode: bool) -> dict:
        """ng keys added to each offer. Transcoding: hide Opus from the callee and offer
        it PCMA instead (rtpengine docs: codec -> mask / transcode)."""
        args: dict = {"replace": ["origin", "session-connection"], "ICE": "remove"}
        if transcode:
            args["codec"] = {"mask": ["opus"], "transcode": ["PCMA"]}
        return args

    def transcode_support(self) -> tuple[bool, str]:
        return True, ""   # unknown: the offer's SDP answer tells


class DaemonRelay(Relay):
    """A relay this benchmark starts and stops (bench/peers/ng_daemon.py), on a port range
    of 4 ports per call plus slack for ports in use."""

    def __init__(self, daemon) -> None:
        super().__init__()
        self.engine = daemon

    @staticmethod
    def port_range(max_calls: int) -> tuple[int, int]:
        return pick_port_range(4 * max_calls + 512)   # RTP and RTCP on each side

    def start(self) -> None:
        self.engine.start()
        self.ng_host, self.ng_port = self.engine.host, self.engine.ng_port

    def stop(self) -> None:
        self.engine.stop()

    @property
    def pid(self) -> int:
        return self.engine.pid

    def alive(self) -> bool:
        return self.engine.alive()

    def tail(self) -> str:
        return self.engine.tail()


class RtpEngineRelay(DaemonRelay):
    name = "rtpengine"
    label = "rtpengine (userspace)"

    def __init__(self, threads: int | None, max_calls: int) -> None:
        super().__init__(rtpengine_peer.RtpEngine(port_range=self.port_range(max_calls),
                                                  threads=threads))
        self.pollers: int | None = None

    def start(self) -> None:
        super().start()
        self.pollers = self.engine.thread_names().get("poller", 0)

    def version(self) -> str:
        how = (f"--num-threads={self.engine.threads}" if self.engine.threads
               else "its default --num-threads")
        version = rtpengine_peer.rtpengine_version(self.engine.binary).removeprefix("Version: ")
        return f"rtpengine {version}, {self.pollers or '?'} media (poller) threads ({how})"

    def transcode_support(self) -> tuple[bool, str]:
        return rtpengine_peer.can_transcode("opus", "PCMA", self.engine.binary)


class CentralitaRelay(DaemonRelay):
    name = "centralita"
    label = "centralita"

    def __init__(self, binary: str, workers: int | None, max_calls: int,
                 inband_dtmf: str = "auto") -> None:
        super().__init__(centralita_peer.CentralitaMedia(
            binary, port_range=self.port_range(max_calls), workers=workers,
            inband_dtmf=inband_dtmf))

    def version(self) -> str:
        workers = self.engine.workers or "its default"
        return (f"{self.engine.version()}, {workers} workers (--workers), "
                f"[media] inband_dtmf = \"{self.engine.inband_dtmf}\"")


class ExternalRelay(Relay):
    """A relay started elsewhere (for instance centralita): measured, never started or
    stopped here."""

    name = "external"
    label = "external relay"

    def __init__(self, ng: str, pid: int, label: str | None) -> None:
        super().__init__()
        host, _, port = ng.rpartition(":")
        self.ng_host, self.ng_port, self._pid = host or HOST, int(port), pid
        if label:
            self.label = label

    @property
    def pid(self) -> int:
        return self._pid

    def version(self) -> str:
        try:
            return Path(f"/proc/{self._pid}/comm").read_text().strip()
        except OSError:
            return "?"
