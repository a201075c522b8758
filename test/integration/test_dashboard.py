#!/usr/bin/env python3
"""The live dashboard in a real browser (issue 6, point 6).

Debian's chromium, headless, driven by playwright-core (test/integration/node/
dashboard_check.mjs), opens the dashboard the switch serves at / and waits until the page's
event stream is connected. Then sipp registers a user, and the page must show that user in
its registrations list, and the REGISTER in its event log, within 1 s of the REGISTER's
200 OK (the clock starts when sipp has its answer: sipp's own start-up does not count).

Before the page opens, another user is registered and a CUSTOM event published, so the page
also has to load registrations from /api/registrations and replay the stream.

The screenshot is saved as a test artifact: <build>/test-artifacts/dashboard.png. A second
run with --http-token checks that the page works with a token in its URL (assets, API and
stream all authorised) and that the page without it is refused.
"""

from __future__ import annotations

import json
import select
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import HOST, Checks, SkipTest, Switch, free_port, main  # noqa: E402
from sipp import run_sipp, sipp_binary  # noqa: E402

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
CHECK = NODE_DIR / "dashboard_check.mjs"
SCENARIO = HERE / "scenarios" / "script_register.xml"
CHROMIUM = Path("/usr/bin/chromium")
APPEAR_WITHIN_MS = 1000


def need_tools() -> str:
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node")
    if not CHROMIUM.exists():
        missing.append("chromium (apt-get install chromium)")
    if not (NODE_DIR / "node_modules" / "playwright-core").is_dir():
        missing.append("playwright-core (cd test/integration/node && npm ci)")
    if sipp_binary() is None:
        missing.append("sipp")
    if missing:
        raise SkipTest("missing: " + ", ".join(missing) + " (.ci/install-deps installs them)")
    return node


def register(sw: Switch, user: str) -> bool:
    r = run_sipp(SCENARIO, sw.port, calls=1, rate=1, limit=1, global_timeout_s=10,
                 extra=["-s", user, "-key", "contact_port", str(free_port())])
    return r.successful == 1


def http_status(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def post_custom(sw: Switch, token: str | None = None) -> int:
    url = f"http://{HOST}:{sw.http_port}/api/events"
    body = json.dumps({"subclass": "dashboard::hello", "attributes": {"from": "test_dashboard"}}).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status


def read_line(proc: subprocess.Popen, deadline: float) -> str | None:
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            return None
        line = proc.stdout.readline()
        if not line:
            return None
        if line.strip():
            return line.strip()
    return None


def browse(checks: Checks, node: str, sw: Switch, user: str, shot: Path, label: str,
           token: str | None = None) -> None:
    aor = f"{user}@{HOST}"
    cmd = [node, str(CHECK), "--url", f"http://{HOST}:{sw.http_port}/", "--expect-aor", aor,
           "--screenshot", str(shot), "--timeout-ms", str(APPEAR_WITHIN_MS), "--go-stdin",
           "--overall-ms", "40000"]
    if token:
        cmd += ["--token", token]
    print(f"{label}: {' '.join(cmd)}", flush=True)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=NODE_DIR)
    try:
        ready = read_line(proc, time.monotonic() + 45)
        if ready != "READY":  # the check gives up at --overall-ms and says what it saw
            rest, _ = proc.communicate(timeout=20)
            checks.check(f"{label}: the page loaded and its event stream connected", False,
                         f"first line: {ready!r}; then: {rest.strip()[-2000:]}")
            return
        checks.check(f"{label}: the page loaded and its event stream connected", True)
        checks.check(f"{label}: sipp registered {aor}", register(sw, user))
        proc.stdin.write("GO\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    lines = [l for l in out.splitlines() if l.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    print(f"{label}: {result}", flush=True)
    checks.check(f"{label}: {aor} is in the registrations list within {APPEAR_WITHIN_MS} ms of the "
                 f"200 OK (appeared after {result.get('appeared_ms')} ms)",
                 result.get("ok") is True and result.get("appeared_ms") is not None
                 and result["appeared_ms"] <= APPEAR_WITHIN_MS, json.dumps(result))
    checks.check(f"{label}: the REGISTER is in the event log within {APPEAR_WITHIN_MS} ms "
                 f"(after {result.get('log_ms')} ms; {result.get('log_rows')} rows in the log)",
                 result.get("log_ms") is not None and result["log_ms"] <= APPEAR_WITHIN_MS
                 and (result.get("log_rows") or 0) >= 1, json.dumps(result))
    data = shot.read_bytes() if shot.exists() else b""
    checks.check(f"{label}: screenshot saved ({shot}, {len(data)} bytes)",
                 data.startswith(b"\x89PNG") and len(data) > 20000)


def run(checks: Checks, args) -> None:
    node = need_tools()
    artifacts = Path(args.binary).resolve().parent / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)

    with Switch(args.binary) as sw:
        checks.check("a user registered before the page opens", register(sw, "early"))
        checks.check("a CUSTOM event published before the page opens", post_custom(sw) == 202)
        browse(checks, node, sw, "dashuser", artifacts / "dashboard.png", "no token")

    token = "dash-s3cret"
    with Switch(args.binary, ["--http-token", token]) as sw:
        base = f"http://{HOST}:{sw.http_port}"
        checks.check("with a token: the page without it is refused (401)", http_status(f"{base}/") == 401)
        checks.check("with a token: an asset without it is refused (401)", http_status(f"{base}/app.js") == 401)
        checks.check("with a token: a CUSTOM event published with it", post_custom(sw, token) == 202)
        browse(checks, node, sw, "tokenuser", artifacts / "dashboard-token.png", "with --http-token",
               token=token)


if __name__ == "__main__":
    main(run)
