"""centralita as a media relay peer of the media benchmark: the switch binary with a
generated config whose `[media] ng_listen` is a free port, so it is driven over the ng
protocol exactly as RTPEngine is (bench/compare/media_bench.py --peer centralita).

    with CentralitaMedia("build/centralita", port_range=(20000, 27999)) as c:
        c.client().offer(...)          # ng_client.NgClient on c.ng_port
        c.pid                          # for /proc/<pid>/stat CPU

The switch gets no HTTP listener, a SIP listener on a free loopback port (nothing is sent
to it), its store in the temp dir, `inactivity_timeout = 0` (a benchmark's idle calls are
not ended under it), `inband_dtmf` as given (the switch's default "auto" listens for
in-band DTMF on every G.711 stream without telephone-event, the benchmark's PCMA streams
included; "never" is the plain relay RTPEngine's userspace path is) and log level warn.
Start, readiness (ng ping) and stop are ng_daemon.NgDaemon's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ng_daemon import NgDaemon, free_udp_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class CentralitaMedia(NgDaemon):
    name = "centralita"

    def __init__(self, binary: str | None = None, host: str = "127.0.0.1",
                 port_range: tuple[int, int] | None = None, workers: int | None = None,
                 inband_dtmf: str = "auto") -> None:
        binary = binary or str(ROOT / "build" / "centralita")
        if not os.access(binary, os.X_OK):
            raise FileNotFoundError(f"{binary} is not an executable (build centralita first)")
        super().__init__(binary, host, port_range)
        self.workers = workers
        self.inband_dtmf = inband_dtmf     # [media] inband_dtmf: auto, always or never
        self.sip_port = 0

    def prepare(self) -> None:
        self.sip_port = free_udp_port(self.host)
        (self.tmp / "centralita.toml").write_text(
            "[media]\n"
            f'address = "{self.host}"\n'
            f"port_min = {self.port_min}\n"
            f"port_max = {self.port_max}\n"
            f'ng_listen = "{self.host}:{self.ng_port}"\n'
            f'inband_dtmf = "{self.inband_dtmf}"\n'
            "inactivity_timeout = 0\n")

    def args(self) -> list[str]:
        a = [self.binary, "--config", str(self.tmp / "centralita.toml"),
             "--listen", f"{self.host}:{self.sip_port}", "--http", "off",
             "--data-dir", str(self.tmp / "data"), "--script", "builtin", "--log-level", "warn"]
        if self.workers:
            a += ["--workers", str(self.workers)]
        return a

    def version(self) -> str:
        try:
            out = subprocess.run([self.binary, "--version"], capture_output=True, text=True,
                                 timeout=5)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "centralita (version unknown)"
