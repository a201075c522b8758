#!/usr/bin/env python3
"""Operating a Lua routing script (--script FILE): what happens when the script is wrong,
runs away or is replaced, and the script APIs that talk to the outside (kv, http, events).

  (1) a broken script stops the start: exit code 1 within a few seconds and a log line that
      names the file and line (a syntax error; an error in the top level; no on_request)
  (2) a run-time error() answers 500 Script Error, logs "[cid=...] script error:" with a
      stack traceback, and the switch keeps routing
  (3) a runaway loop is stopped by [script] max_instructions (from --config): 500, "instruction
      limit exceeded", the switch still answers OPTIONS and routes the next request
  (4) the sandbox: io, os.execute, require, debug, string.dump are nil (load takes text only);
      with [script] sandbox = false they exist
  (5) SIGHUP reload: new routings use the new file, a routing suspended in timer.sleep finishes
      on the version it started with, and a file with a syntax error is refused (old one kept)
  (6) kv.incr is shared by all script VMs: counts 1, 2, 3, ... across requests on several VMs
  (7) http.request: a POST to a local HTTP server (method, path, body, header seen by the
      server; status, header and body seen by the script) and a refused connection (nil, err)
  (8) events.publish in one routing wakes events.wait in another (CUSTOM event, subclass)

    test_script_operations.py --binary build/centralita --source-dir .
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (HOST, Message, Switch, UdpClient, check_clean_exit, free_port,  # noqa: E402
                             main, new_call_id, parse_message, request, udp_options_ok)

START_EXIT_TIMEOUT = 10.0   # a switch with a broken script must have exited by then


# --------------------------------------------------------------------------- helpers

def wait_for_log(switch: Switch, pattern: str, timeout: float) -> re.Match | None:
    """Polls the switch's log (bounded) until pattern matches; returns the match."""
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern, re.S)
    while True:
        try:
            m = rx.search(switch.stderr_path.read_text("utf-8", "replace"))
            if m:
                return m
        except OSError:
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def send(c: UdpClient, switch: Switch, user: str, method: str = "MESSAGE",
         call_id: str | None = None, cseq: int = 1) -> str:
    """Sends a request for user@switch from c; returns its Call-ID (the answer is read later)."""
    cid = call_id or new_call_id()
    c.send(bytes(request(method, switch.port, user=user, local_port=c.port, call_id=cid, cseq=cseq)),
           switch.port)
    return cid


def final_answer(c: UdpClient, cid: str, timeout: float) -> Message | None:
    """The first final (>= 200) answer with Call-ID cid on c within timeout, else None."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        data = c.recv(left, cid)
        msg = parse_message(data) if data else None
        if msg is not None and msg.status is not None and msg.status >= 200:
            return msg


def ask(switch: Switch, user: str, method: str = "MESSAGE", timeout: float = 5.0,
        call_id: str | None = None, cseq: int = 1) -> tuple[Message | None, str, float]:
    """One request for user on a fresh socket: (final answer or None, Call-ID, seconds taken).
    The same call_id again reaches the same script VM (VMs are chosen by Call-ID)."""
    with UdpClient() as c:
        t0 = time.monotonic()
        cid = send(c, switch, user, method, call_id, cseq)
        msg = final_answer(c, cid, timeout)
        return msg, cid, time.monotonic() - t0


def line_of(msg: Message | None) -> str:
    return msg.start_line if msg is not None else "<no answer>"


def new_switch(args, script: str, config: str | None = None, name: str = "route.lua") -> Switch:
    """A Switch (not started) whose script (and config) are written into its tmp dir."""
    switch = Switch(args.binary, log_level="info")
    path = switch.tmp / name
    path.write_text(script)
    switch.args += ["--script", str(path)]
    if config is not None:
        cfg = switch.tmp / "centralita.toml"
        cfg.write_text(config)
        switch.args += ["--config", str(cfg)]
    switch.script_path = path
    return switch


# --------------------------------------------------------------------------- (1) broken scripts

# (what, script, what the "cannot start" line must say ({path}: the script), Lua's message)
BROKEN = [
    ("syntax error",
     "-- a syntax error on line 3\n"
     "function on_request(req)\n"
     "  if req.user == then\n"
     "    req:reply(200)\n"
     "  end\n"
     "end\n",
     "cannot start: routing script: {path}:3:", r"unexpected symbol near 'then'"),
    ("error in the top level",
     "-- the top level runs at start; io is sandboxed away\n"
     "local f = io.open('/etc/hostname')\n"
     "function on_request(req) req:reply(200) end\n",
     "cannot start: routing script: {path}:2:", r"global 'io'"),
    ("no on_request",
     "function on_reqest(req) req:reply(200) end\n",
     "cannot start: routing script: {path}: the script defines no on_request(req) function", r""),
    ("runaway top level",
     "while true do end\n"
     "function on_request(req) req:reply(200) end\n",
     "cannot start: routing script: ", r"instruction limit exceeded"),
]


def run_to_exit(switch: Switch) -> tuple[int | None, str, float]:
    """Runs the switch's command line until it exits (bounded): (exit code or None, output, s)."""
    t0 = time.monotonic()
    try:
        done = subprocess.run(switch.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=START_EXIT_TIMEOUT, cwd=switch.tmp)
        rc, out = done.returncode, done.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:   # run() has killed it
        rc, out = None, (e.stdout or b"").decode("utf-8", "replace")
    return rc, out, time.monotonic() - t0


def broken_scripts(checks, args) -> None:
    for what, text, want, message in BROKEN:
        label = f"(1) {what}"
        switch = new_switch(args, text)
        rc, out, elapsed = run_to_exit(switch)
        checks.check(f"{label}: the switch exits with code 1 within {START_EXIT_TIMEOUT:.0f} s "
                     f"(exit {rc} after {elapsed:.1f} s)", rc == 1, out)
        want = want.format(path=switch.script_path)
        checks.check(f"{label}: the log says \"{want}\"", want in out, out)
        if message:
            checks.check(f"{label}: with Lua's message ({message})",
                         re.search(re.escape(want) + r"[^\n]*" + message, out) is not None, out)
        switch.cleanup()


# --------------------------------------------------------------------------- (2) error()

ERROR_SCRIPT = """
function on_request(req)
  if req.user == "boom" then
    error("boom")
  end
  req:reply(200, "fine " .. req.user)
end
"""


def runtime_error(checks, args) -> None:
    label = "(2) error(\"boom\")"
    switch = new_switch(args, ERROR_SCRIPT).start()
    try:
        msg, cid, elapsed = ask(switch, "boom")
        checks.check(f"{label}: MESSAGE sip:boom@ gets 500 Script Error (got {line_of(msg)!r})",
                     msg is not None and msg.status == 500 and msg.reason == "Script Error",
                     switch.stderr_tail())
        m = wait_for_log(switch, re.escape(f"[cid={cid}] script error: ") + r"([^\n]*)\n(.*)", 5)
        checks.check(f"{label}: the log has \"[cid={cid}] script error:\"", m is not None,
                     switch.stderr_tail())
        if m:
            checks.check(f"{label}: the error line names the script line and \"boom\" "
                         f"({m.group(1).strip()!r})",
                         re.search(re.escape(str(switch.script_path)) + r":4: boom", m.group(1)) is not None,
                         m.group(0)[:2000])
            checks.check(f"{label}: a Lua stack traceback follows, through on_request",
                         m.group(2).lstrip().startswith("stack traceback:")
                         and "in function 'on_request'" in m.group(2)[:2000], m.group(0)[:2000])
        msg, _, _ = ask(switch, "alice", call_id=cid, cseq=2)
        checks.check(f"{label}: the next request, for alice on the same VM (same Call-ID, CSeq 2), "
                     f"gets 200 \"fine alice\" (got {line_of(msg)!r})",
                     msg is not None and msg.status == 200 and msg.reason == "fine alice",
                     switch.stderr_tail())
        check_clean_exit(checks, switch)
    finally:
        switch.stop(check=False)


# --------------------------------------------------------------------------- (3) runaway

RUNAWAY_SCRIPT = """
function on_request(req)
  if req.user == "loop" then
    while true do end
  end
  if req.user == "pcall" then
    -- a loop that catches the limit's error and goes on: it must not escape
    while true do pcall(function() while true do end end) end
  end
  if req.user == "count" then
    -- about 300,000 instructions: under the default limit (1,000,000), over the configured one
    local n = 0
    for i = 1, 300000 do n = n + 1 end
    return req:reply(200, "counted " .. n)
  end
  req:reply(200, "fine " .. req.user)
end
"""


def runaway(checks, args) -> None:
    label = "(3) runaway loop, max_instructions = 100000"
    switch = new_switch(args, RUNAWAY_SCRIPT, "[script]\nmax_instructions = 100000\n").start()
    try:
        msg, cid, elapsed = ask(switch, "loop", timeout=5)
        checks.check(f"{label}: MESSAGE sip:loop@ gets 500 Script Error within 5 s "
                     f"(got {line_of(msg)!r} after {elapsed:.2f} s)",
                     msg is not None and msg.status == 500 and msg.reason == "Script Error",
                     switch.stderr_tail())
        m = wait_for_log(switch, re.escape(f"[cid={cid}] script error: ") + r"[^\n]*instruction limit exceeded", 5)
        checks.check(f"{label}: the log has \"[cid={cid}] script error: ... instruction limit exceeded\"",
                     m is not None, switch.stderr_tail())
        ok, data = udp_options_ok(switch.port)
        checks.check(f"{label}: the switch still answers OPTIONS sip:{HOST}:{switch.port} with 200",
                     ok, repr(data))
        msg, _, _ = ask(switch, "alice", call_id=cid, cseq=2)
        checks.check(f"{label}: the next request, for alice on the same VM (same Call-ID, CSeq 2), "
                     f"gets 200 \"fine alice\" (got {line_of(msg)!r})",
                     msg is not None and msg.status == 200 and msg.reason == "fine alice",
                     switch.stderr_tail())
        msg, cid, elapsed = ask(switch, "pcall", timeout=5)
        checks.check(f"{label}: a loop that catches the limit's error with pcall is stopped too: "
                     f"500 within 5 s (got {line_of(msg)!r} after {elapsed:.2f} s)",
                     msg is not None and msg.status == 500
                     and wait_for_log(switch, re.escape(f"[cid={cid}] script error: ")
                                      + r"[^\n]*instruction limit exceeded", 5) is not None,
                     switch.stderr_tail())
        msg, cid, _ = ask(switch, "count")
        checks.check(f"{label}: the configured limit applies: a 300,000-iteration loop (fine under "
                     f"the default 1,000,000) gets 500 too (got {line_of(msg)!r})",
                     msg is not None and msg.status == 500
                     and wait_for_log(switch, re.escape(f"[cid={cid}] script error: ")
                                      + r"[^\n]*instruction limit exceeded", 5) is not None,
                     switch.stderr_tail())
        check_clean_exit(checks, switch)
    finally:
        switch.stop(check=False)


# --------------------------------------------------------------------------- (4) sandbox

SANDBOX_SCRIPT = """
local function state(v) return v == nil and "nil" or "present" end
function on_request(req)
  local present = {}
  for _, name in ipairs({"io", "os.execute", "os.exit", "os.getenv", "os.remove", "os.rename",
                         "require", "package", "debug", "dofile", "loadfile", "string.dump"}) do
    local lib, field = name:match("^(%w+)%.(%w+)$")
    local v = lib and _G[lib][field] or _G[name]
    if v ~= nil then present[#present + 1] = name end
  end
  -- (a reason phrase is cut at 200 characters: name only what is there)
  local parts = {"present=" .. (#present == 0 and "none" or table.concat(present, ","))}
  local kept = os.time and os.clock and os.date and string and table and math and utf8
  parts[#parts + 1] = "kept=" .. (kept and "yes" or "no")
  -- a binary chunk: a real one where string.dump exists, else a bytecode header ("\\27Lua")
  local chunk = string.dump and string.dump(function() return 42 end) or "\\27Lua\\84\\0"
  local f, err = load(chunk)
  local binary = "other: " .. tostring(err)
  if f == nil and tostring(err):find("mode is 't'", 1, true) then
    binary = "refused"
  elseif f ~= nil and f() == 42 then
    binary = "accepted"
  end
  parts[#parts + 1] = "load-binary=" .. binary
  req:reply(200, table.concat(parts, " "))
end
"""

NAMES = ["io", "os.execute", "os.exit", "os.getenv", "os.remove", "os.rename", "require", "package",
         "debug", "dofile", "loadfile", "string.dump"]
SANDBOXED = "present=none kept=yes load-binary=refused"
OPEN = "present=" + ",".join(NAMES) + " kept=yes load-binary=accepted"


def sandbox(checks, args) -> None:
    for config, want in ((None, SANDBOXED), ("[script]\nsandbox = false\n", OPEN)):
        label = "(4) sandbox " + ("on (default config)" if config is None else "off (sandbox = false)")
        switch = new_switch(args, SANDBOX_SCRIPT, config).start()
        try:
            msg, _, _ = ask(switch, "probe")
            reason = msg.reason if msg is not None else ""
            checks.check(f"{label}: the script reports \"{want}\" (got {line_of(msg)!r})",
                         msg is not None and msg.status == 200 and reason == want,
                         switch.stderr_tail())
            check_clean_exit(checks, switch)
        finally:
            switch.stop(check=False)


# --------------------------------------------------------------------------- (5) SIGHUP

def reload_script(version: str) -> str:
    return f"""
function on_request(req)
  if req.user == "slow" then
    log.info("slow routing on {version}: sleeping")
    timer.sleep(2)
    return req:reply(200, "{version}-slow")
  end
  req:reply(200, "{version}")
end
"""


def replace_file(path: Path, text: str) -> None:
    """Writes text to path in one step (rename), as an editor or a deploy would."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text)
    os.replace(tmp, path)


def sighup_reload(checks, args) -> None:
    label = "(5) SIGHUP"
    switch = new_switch(args, reload_script("v1")).start()
    path = switch.script_path
    try:
        msg, _, _ = ask(switch, "alice")
        checks.check(f"{label}: before the reload a request gets 200 v1 (got {line_of(msg)!r})",
                     msg is not None and msg.status == 200 and msg.reason == "v1", switch.stderr_tail())
        slow = UdpClient()
        try:
            slow_cid = send(slow, switch, "slow")
            started = wait_for_log(switch, re.escape(f"[cid={slow_cid}] slow routing on v1: sleeping"), 5)
            checks.check(f"{label}: the slow routing suspends in timer.sleep on v1", started is not None,
                         switch.stderr_tail())
            replace_file(path, reload_script("v2"))
            switch.proc.send_signal(signal.SIGHUP)
            reloaded = wait_for_log(switch, re.escape(f"routing script {path} reloaded (generation 2)"), 5)
            checks.check(f"{label}: the log says \"routing script {path} reloaded (generation 2)\"",
                         reloaded is not None, switch.stderr_tail())
            msg, _, _ = ask(switch, "alice")
            checks.check(f"{label}: a request after the reload gets 200 v2 (got {line_of(msg)!r})",
                         msg is not None and msg.status == 200 and msg.reason == "v2",
                         switch.stderr_tail())
            early = final_answer(slow, slow_cid, 0.05)   # whatever has arrived by now
            checks.check(f"{label}: the slow routing was still sleeping when v2 answered",
                         early is None, line_of(early))
            slow_msg = early or final_answer(slow, slow_cid, 5)
            checks.check(f"{label}: the slow routing finishes on the version it started with: "
                         f"200 v1-slow (got {line_of(slow_msg)!r})",
                         slow_msg is not None and slow_msg.status == 200 and slow_msg.reason == "v1-slow",
                         switch.stderr_tail())
        finally:
            slow.close()

        replace_file(path, "function on_request(req)\n  req:reply(200, 'v3'\nend\n")
        switch.proc.send_signal(signal.SIGHUP)
        refused = wait_for_log(switch, r"SIGHUP: script not reloaded: ([^\n]*)", 5)
        checks.check(f"{label}: a file with a syntax error is refused: \"SIGHUP: script not reloaded\"",
                     refused is not None, switch.stderr_tail())
        if refused:
            checks.check(f"{label}: the refusal names the file and line ({refused.group(1)!r})",
                         refused.group(1).startswith(f"{path}:3:"), refused.group(0))
        msg, _, _ = ask(switch, "alice")
        checks.check(f"{label}: after the refused reload a request still gets 200 v2 "
                     f"(got {line_of(msg)!r})",
                     msg is not None and msg.status == 200 and msg.reason == "v2", switch.stderr_tail())
        replace_file(path, reload_script("v4"))
        switch.proc.send_signal(signal.SIGHUP)
        reloaded = wait_for_log(switch, re.escape(f"routing script {path} reloaded (generation 3)"), 5)
        msg, _, _ = ask(switch, "alice")
        checks.check(f"{label}: a good file after the refused one loads as generation 3 and answers "
                     f"v4 (got {line_of(msg)!r})",
                     reloaded is not None and msg is not None and msg.status == 200 and msg.reason == "v4",
                     switch.stderr_tail())
        check_clean_exit(checks, switch)
    finally:
        switch.stop(check=False)


# --------------------------------------------------------------------------- (6) kv

KV_SCRIPT = """
-- runs once per script VM: a name for this VM (a table's address is unique per lua_State)
local vm = tostring({}):gsub("table: ", "")
function on_request(req)
  local n = kv.incr("hits", 1)
  req:reply(200, "hits " .. tostring(n) .. " vm " .. vm)
end
"""

KV_VMS = 4


def kv_shared(checks, args) -> None:
    label = f"(6) kv.incr across {KV_VMS} script VMs"
    switch = new_switch(args, KV_SCRIPT, f"[script]\nvms = {KV_VMS}\n").start()
    try:
        got: list[tuple[int | None, str]] = []
        lines = []
        # Three requests at least; more (bounded) until two VMs have answered, so the count is
        # seen to be shared and not per VM (Call-IDs are hashed over the VMs).
        for i in range(16):
            msg, _, _ = ask(switch, "counter")
            lines.append(line_of(msg))
            m = re.fullmatch(r"hits (\d+) vm (\S+)", msg.reason) if msg is not None and msg.status == 200 else None
            got.append((int(m.group(1)), m.group(2)) if m else (None, ""))
            if i >= 2 and len({v for _, v in got if v}) >= 2:
                break
        counts = [n for n, _ in got]
        checks.check(f"{label}: three requests get 200 hits 1, 2, 3 (got {counts[:3]})",
                     counts[:3] == [1, 2, 3], "\n".join(lines))
        vms = {v for _, v in got if v}
        checks.check(f"{label}: {len(counts)} requests answered by {len(vms)} different VMs count "
                     f"on: 1..{len(counts)} (got {counts})",
                     len(vms) >= 2 and counts == list(range(1, len(counts) + 1)), "\n".join(lines))
        check_clean_exit(checks, switch)
    finally:
        switch.stop(check=False)


# --------------------------------------------------------------------------- (7) http

class RecordingServer:
    """An HTTP server on 127.0.0.1 (port 0) that records requests and answers 201 with JSON."""

    BODY = json.dumps({"route": "sip:bob@example.net", "ok": True}).encode()

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.seen = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                outer.requests.append({"method": "POST", "path": self.path,
                                       "headers": {k.lower(): v for k, v in self.headers.items()},
                                       "body": body})
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Route-Server", "recording")
                self.send_header("Content-Length", str(len(outer.BODY)))
                self.end_headers()
                self.wfile.write(outer.BODY)
                outer.seen.set()

            def log_message(self, *a) -> None:
                pass

        self.httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


HTTP_SCRIPT = """
function on_request(req)
  local url = req.user == "down" and "http://127.0.0.1:%d/route" or "http://127.0.0.1:%d/route"
  local status, headers, body = http.request("POST", url, req.call_id, {["X-Test"] = "1"}, 2)
  if status == nil then
    return req:reply(503, "http failed: " .. tostring(headers))
  end
  req:reply(200, "http " .. status, {["X-Http-Body"] = body,
                                     ["X-Http-Server"] = headers["x-route-server"] or "-"})
end
"""


def http_request(checks, args) -> None:
    label = "(7) http.request"
    server = RecordingServer()
    closed = free_port()   # nothing listens there: the connection is refused
    try:
        switch = new_switch(args, HTTP_SCRIPT % (closed, server.port)).start()
        try:
            msg, cid, elapsed = ask(switch, "alice", timeout=5)
            checks.check(f"{label}: the SIP answer carries the HTTP status: 200 \"http 201\" "
                         f"(got {line_of(msg)!r} after {elapsed:.2f} s)",
                         msg is not None and msg.status == 200 and msg.reason == "http 201",
                         switch.stderr_tail())
            checks.check(f"{label}: and the HTTP body, unchanged "
                         f"(X-Http-Body: {msg.get('x-http-body') if msg else None})",
                         msg is not None and msg.get("x-http-body") == RecordingServer.BODY.decode(),
                         msg.raw.decode("utf-8", "replace") if msg else "")
            checks.check(f"{label}: and a response header, by its lower-case name "
                         f"(X-Http-Server: {msg.get('x-http-server') if msg else None})",
                         msg is not None and msg.get("x-http-server") == "recording",
                         msg.raw.decode("utf-8", "replace") if msg else "")
            seen = server.requests[0] if server.requests else None
            checks.check(f"{label}: the server saw one POST /route",
                         len(server.requests) == 1 and seen["method"] == "POST" and seen["path"] == "/route",
                         repr(server.requests))
            checks.check(f"{label}: whose body is the Call-ID",
                         seen is not None and seen["body"] == cid.encode(), repr(seen))
            checks.check(f"{label}: with the script's header X-Test: 1",
                         seen is not None and seen["headers"].get("x-test") == "1", repr(seen))

            msg, _, elapsed = ask(switch, "down", timeout=5)
            reason = msg.reason if msg is not None else ""
            checks.check(f"{label}: a refused connection (port {closed}) returns nil, err: the script "
                         f"answers 503 \"http failed: <err>\" (got {line_of(msg)!r} after {elapsed:.2f} s)",
                         msg is not None and msg.status == 503 and reason.startswith("http failed: ")
                         and len(reason) > len("http failed: ") and "nil" not in reason,
                         switch.stderr_tail())
            check_clean_exit(checks, switch)
        finally:
            switch.stop(check=False)
    finally:
        server.close()


# --------------------------------------------------------------------------- (8) events

EVENTS_SCRIPT = """
function on_request(req)
  if req.user == "waiter" then
    log.info("waiter: waiting for CUSTOM ping")
    local ev, err = events.wait("CUSTOM", {subclass = "ping"}, 5)
    if ev == nil then
      return req:reply(408, "no ping: " .. tostring(err))
    end
    return req:reply(200, ev.v or "no v")
  end
  if req.user == "pinger" then
    events.publish("ping", {v = "hello"})
    return req:reply(200, "published")
  end
  req:reply(404)
end
"""


def custom_events(checks, args) -> None:
    label = "(8) events"
    switch = new_switch(args, EVENTS_SCRIPT).start()
    try:
        waiter = UdpClient()
        try:
            wcid = send(waiter, switch, "waiter")
            waiting = wait_for_log(switch, re.escape(f"[cid={wcid}] waiter: waiting for CUSTOM ping"), 5)
            checks.check(f"{label}: request A (waiter) suspends in events.wait", waiting is not None,
                         switch.stderr_tail())
            # The log line comes just before the subscription is sent to the bus: a ping sent
            # in between would be missed, so ping again (bounded) while A has no answer.
            answer, pings, pinger_lines = None, 0, []
            for pings in range(1, 4):
                msg, _, _ = ask(switch, "pinger")
                pinger_lines.append(line_of(msg))
                answer = final_answer(waiter, wcid, 1.0)
                if answer is not None:
                    break
            checks.check(f"{label}: request B (pinger) publishes and gets 200 published "
                         f"(got {pinger_lines})",
                         bool(pinger_lines) and all(x == "SIP/2.0 200 published" for x in pinger_lines),
                         switch.stderr_tail())
            checks.check(f"{label}: A gets 200 hello, the event's attribute v "
                         f"(got {line_of(answer)!r} after {pings} ping(s))",
                         answer is not None and answer.status == 200 and answer.reason == "hello",
                         switch.stderr_tail())
        finally:
            waiter.close()

        # Nobody publishes: the wait ends with its timeout, not earlier.
        with UdpClient() as c:
            t0 = time.monotonic()
            cid = send(c, switch, "waiter")
            msg = final_answer(c, cid, 10)
            elapsed = time.monotonic() - t0
        checks.check(f"{label}: with no ping the wait times out after 5 s: 408 \"no ping: timeout\" "
                     f"(got {line_of(msg)!r} after {elapsed:.1f} s)",
                     msg is not None and msg.status == 408 and msg.reason == "no ping: timeout"
                     and 4.5 <= elapsed <= 8, switch.stderr_tail())
        check_clean_exit(checks, switch)
    finally:
        switch.stop(check=False)


def run(checks, args) -> None:
    t0 = time.monotonic()
    broken_scripts(checks, args)
    runtime_error(checks, args)
    runaway(checks, args)
    sandbox(checks, args)
    sighup_reload(checks, args)
    kv_shared(checks, args)
    http_request(checks, args)
    custom_events(checks, args)
    print(f"ran in {time.monotonic() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main(run)
