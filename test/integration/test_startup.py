#!/usr/bin/env python3
"""The command line and the config file: --help, --version, bad flags, bad keys and
values (non-zero exit with a message naming them), the shipped example config, and a
clean exit on SIGTERM and SIGINT.

    test_startup.py --binary build/centralita --source-dir .
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import HOST, Checks, Switch, check_clean_exit, free_port, main  # noqa: E402

RUN_TIMEOUT = 10.0   # a command that should exit at once gets this long
FLAGS = ["--config", "--listen", "--domain", "--data-dir", "--http", "--log-level", "--workers",
         "--help", "--version"]


def run_cmd(args: list[str], cwd: str) -> tuple[int | None, str]:
    """Runs the binary to completion (bounded); returns (exit code or None if it hung, output).
    It runs in its own session so that a hung run and anything it forked can be killed."""
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT)
        return proc.returncode, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out.decode("utf-8", "replace") + f"\n<still running after {RUN_TIMEOUT:.0f} s: killed>"


def describe(args: list[str], rc, out: str) -> str:
    return f"command: {' '.join(args)}\nexit code: {rc}\noutput:\n{out[-3000:]}"


def check_help_version(checks: Checks, binary: str, tmp: str) -> None:
    args = [binary, "--help"]
    rc, out = run_cmd(args, tmp)
    checks.check("--help exits 0", rc == 0, describe(args, rc, out))
    missing = [f for f in FLAGS if f not in out]
    checks.check("--help lists every flag", not missing, f"missing: {missing}\n" + describe(args, rc, out))

    args = [binary, "--version"]
    rc, out = run_cmd(args, tmp)
    checks.check("--version exits 0 and prints a version",
                 rc == 0 and re.search(r"\d+\.\d+", out) is not None, describe(args, rc, out))


def check_rejected(checks: Checks, name: str, args: list[str], tmp: str, must_name: list[str]) -> None:
    """The command must exit non-zero (not hang, not die by a signal) with a message naming
    every string in must_name (case-insensitive)."""
    rc, out = run_cmd(args, tmp)
    checks.check(f"{name}: exits non-zero", rc is not None and rc > 0, describe(args, rc, out))
    missing = [s for s in must_name if s.lower() not in out.lower()]
    checks.check(f"{name}: message names {', '.join(must_name)}", not missing and out.strip() != "",
                 f"not named: {missing}\n" + describe(args, rc, out))


def check_bad_input(checks: Checks, binary: str, tmp: str) -> None:
    port = free_port()
    base = [binary, "--listen", f"{HOST}:{port}", "--data-dir", str(Path(tmp) / "data"),
            "--log-level", "warn"]
    check_rejected(checks, "unknown flag --no-such-flag", base + ["--no-such-flag"], tmp, ["--no-such-flag"])
    check_rejected(checks, "--workers 0", base + ["--workers", "0"], tmp, ["workers"])
    check_rejected(checks, "--workers abc", base + ["--workers", "abc"], tmp, ["workers"])
    check_rejected(checks, "--listen nonsense", [binary, "--listen", "nonsense", "--data-dir",
                   str(Path(tmp) / "data")], tmp, ["nonsense"])
    check_rejected(checks, "--listen 127.0.0.1:99999", [binary, "--listen", f"{HOST}:99999", "--data-dir",
                   str(Path(tmp) / "data")], tmp, ["99999"])
    check_rejected(checks, "--log-level loud", base + ["--log-level", "loud"], tmp, ["loud"])
    check_rejected(checks, "--listen without a value", [binary, "--listen"], tmp, ["--listen"])

    missing_cfg = str(Path(tmp) / "does-not-exist.toml")
    check_rejected(checks, "--config of a missing file", base + ["--config", missing_cfg], tmp,
                   ["does-not-exist.toml"])

    bad_key = Path(tmp) / "bad-key.toml"
    bad_key.write_text("[sip]\nbogus = 1\n")
    rc, out = run_cmd(base + ["--config", str(bad_key)], tmp)
    d = describe(base + ["--config", str(bad_key)], rc, out)
    checks.check("config with unknown key [sip] bogus: exits non-zero", rc is not None and rc > 0, d)
    checks.check("config with unknown key: message names the file", "bad-key.toml" in out, d)
    checks.check("config with unknown key: message names line 2",
                 re.search(r"(line\D{0,3}2\b|bad-key\.toml:2\b|:2:)", out, re.I) is not None, d)
    checks.check("config with unknown key: message names the key", "bogus" in out, d)

    bad_value = Path(tmp) / "bad-value.toml"
    bad_value.write_text("[core]\nworkers = 0\n")
    rc, out = run_cmd(base + ["--config", str(bad_value)], tmp)
    d = describe(base + ["--config", str(bad_value)], rc, out)
    checks.check("config with [core] workers = 0: exits non-zero", rc is not None and rc > 0, d)
    checks.check("config with a bad value: message names file, line 2 and key",
                 "bad-value.toml" in out and "workers" in out
                 and re.search(r"(line\D{0,3}2\b|bad-value\.toml:2\b|:2:)", out, re.I) is not None, d)

    bad_type = Path(tmp) / "bad-type.toml"
    bad_type.write_text("[sip]\n\nmax_message_size = \"big\"\n")
    rc, out = run_cmd(base + ["--config", str(bad_type)], tmp)
    d = describe(base + ["--config", str(bad_type)], rc, out)
    checks.check("config with max_message_size = \"big\": exits non-zero", rc is not None and rc > 0, d)
    checks.check("config with a wrongly typed value: message names file, line 3 and key",
                 "bad-type.toml" in out and "max_message_size" in out
                 and re.search(r"(line\D{0,3}3\b|bad-type\.toml:3\b|:3:)", out, re.I) is not None, d)

    bad_toml = Path(tmp) / "bad-syntax.toml"
    bad_toml.write_text("# a comment\n[sip\nlisten = \n")
    check_rejected(checks, "config that is not TOML", base + ["--config", str(bad_toml)], tmp,
                   ["bad-syntax.toml"])

    bad_section = Path(tmp) / "bad-section.toml"
    bad_section.write_text("[nonsense_section]\nx = 1\n")
    check_rejected(checks, "config with unknown section", base + ["--config", str(bad_section)], tmp,
                   ["bad-section.toml", "nonsense_section"])


def check_example_config(checks: Checks, binary: str, source_dir: str) -> None:
    example = Path(source_dir) / "docs" / "centralita.example.toml"
    if not checks.check("docs/centralita.example.toml exists", example.is_file(), str(example)):
        return
    # --http on a free port too: the example's 127.0.0.1:8080 may be taken on a shared machine.
    switch = Switch(binary, ["--config", str(example), "--http", f"{HOST}:{free_port()}"])
    switch.start()
    checks.check("example config accepted: switch answers OPTIONS", switch.alive())
    check_clean_exit(checks, switch)


def check_signals(checks: Checks, binary: str) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        switch = Switch(binary, ["--workers", "2"]).start()
        check_clean_exit(checks, switch, sig)


def check_port_in_use(checks: Checks, binary: str, tmp: str) -> None:
    import socket
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind((HOST, 0))
    port = busy.getsockname()[1]
    try:
        args = [binary, "--listen", f"udp:{HOST}:{port}", "--data-dir", str(Path(tmp) / "data")]
        rc, out = run_cmd(args, tmp)
        # SO_REUSEPORT lets a second process bind only if the first one set it too; ours did not.
        checks.check("UDP port already in use: exits non-zero with a message naming the port",
                     rc is not None and rc > 0 and str(port) in out, describe(args, rc, out))
    finally:
        busy.close()


def run(checks: Checks, args) -> None:
    with tempfile.TemporaryDirectory(prefix="centralita-startup-") as tmp:
        check_help_version(checks, args.binary, tmp)
        check_bad_input(checks, args.binary, tmp)
        check_port_in_use(checks, args.binary, tmp)
    check_example_config(checks, args.binary, args.source_dir)
    check_signals(checks, args.binary)


if __name__ == "__main__":
    main(run)
