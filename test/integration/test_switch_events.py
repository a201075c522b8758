#!/usr/bin/env python3
"""The events the switch publishes on its bus (docs/events.md), seen by a routing script.

The switch runs a test script that routes like scripts/default.lua and also holds a
recorder: a MESSAGE to sip:recorder@ makes the script subscribe handlers to every event of
the catalogue, each of which appends the event to the shared kv table; a MESSAGE to
sip:query@ reads them back in response headers. A CUSTOM probe (MESSAGE sip:probe@) that
reaches the recorder shows the subscriptions are live (the bus handles one subscriber's
messages in order), so no event the test provokes afterwards can be missed. Every wait
polls the recorded events with a deadline. The switch runs with [sip] t1_ms = 100 (Timer
F = 6.4 s), [events] heartbeat_interval = 1 and [registrar] min_expires = 1.

  (0) the recorder: a CUSTOM event published by a script carries its subclass, its
      attributes, the publishing request's call_id, seq and timestamp_ms
  (5) HEARTBEAT: two consecutive heartbeats about 1 s apart, every attribute present and
      numeric where it should be, version = `centralita --version`, uptime_ms grows;
      registrations 0 -> 1 after a REGISTER -> 0 after its removal; active_calls 0 -> 1
      while a Python call is up -> 0 after the callee's BYE (CALL_END "callee hung up");
      cps > 0 after the call started
  (6) REGISTER (expires 600) -> REGISTER event (aor, contact, expires 600, source_ip/port,
      transport, user_agent, call_id, all 13 attributes present); expires 0 -> UNREGISTER
      (same contact and call_id); a 2 s binding that is not refreshed -> EXPIRED, 2-8 s later
  (1) a sipp call, answered and hung up by the caller: CALL_START, CALL_ANSWER (200),
      CALL_END (200, "caller hung up", duration_ms covering sipp's 200 ms pause), one each,
      in that order, all with sipp's Call-ID
  (2) a sipp call the callee refuses with 486: CALL_END 486 "Busy Here", duration_ms 0,
      no CALL_ANSWER
  (3) DTMF from SIP INFO inside a call (Python caller and callee): application/dtmf-relay
      Signal=7 Duration=250 -> digit 7, duration_ms 250, source info; an INFO that is not
      DTMF -> no event; application/dtmf "#" -> digit #
  (4) TRANSACTION_TIMEOUT: a MESSAGE relayed to a registered contact that never answers ->
      method MESSAGE, ruri = the contact, destination 127.0.0.1:<port>, the MESSAGE's
      call_id, after Timer F (64*T1 = 6.4 s) and well within 10 s

    test_switch_events.py --binary build/centralita --source-dir .
"""

import re
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (HOST, Checks, Message, Switch, UdpClient, check_clean_exit,  # noqa: E402
                             main, new_branch, new_call_id, new_tag, parse_message, request, tag_of)
from sip_core import (LoggedUdp, PyUas, SippUas, register_request, response_to, run_uac,  # noqa: E402
                      split_trace, status_of)
import sipp as sipp_lib  # noqa: E402

T1_MS = 100
TIMER_F = 64 * T1_MS / 1000   # RFC 3261 §17.1.2.2: Timer F = 64*T1
CONFIG = f"""
[sip]
t1_ms = {T1_MS}

[registrar]
min_expires = 1

[events]
heartbeat_interval = 1
"""

RECORDED = ["REGISTER", "UNREGISTER", "EXPIRED", "CALL_START", "CALL_ANSWER", "CALL_END",
            "TRANSACTION_TIMEOUT", "DTMF", "HEARTBEAT", "CUSTOM"]

CALL_ATTRIBUTES = ["call_id", "from", "to", "ruri", "code", "reason", "duration_ms", "mode", "leg_a",
                   "leg_b"]
ATTRIBUTES = {   # docs/events.md, the catalogue
    "registration": ["aor", "contact", "expires", "source_ip", "source_port", "transport",
                     "user_agent", "instance", "reg_id", "pn_provider", "pn_prid", "pn_param",
                     "call_id"],
    "HEARTBEAT": ["active_calls", "registrations", "transactions", "cps", "suspended_routings",
                  "cpu_idle", "max_sessions", "uptime_ms", "version"],
    "TRANSACTION_TIMEOUT": ["call_id", "method", "ruri", "destination"],
    "DTMF": ["call_id", "digit", "duration_ms", "source", "leg"],
}

# The routing of scripts/default.lua, plus the recorder (recorder, query, probe).
SCRIPT = r"""
local RECORDED = {%(recorded)s}
local PAGE = 8   -- events per query answer

-- Percent-encodes what cannot stand in a "k=v;k=v" header value.
local function enc(v)
  return (tostring(v):gsub("[%%%%;= %%c\128-\255]", function(c)
    return string.format("%%%%%%02X", c:byte())
  end))
end

local function serialize(ev)
  local keys = {}
  for k in pairs(ev) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = enc(k) .. "=" .. enc(ev[k]) end
  return table.concat(parts, ";")
end

-- Runs on the recorder's VM for every event; kv is shared by all VMs.
local function record(ev)
  local n = kv.incr("events:n")
  kv.set("events:" .. n, serialize(ev))
end

local function test_request(req)
  if req.user == "recorder" then
    for _, name in ipairs(RECORDED) do
      local id, err = events.subscribe(name, nil, record, {timeout = 600})
      if id == nil then return req:reply(500, "subscribe " .. name .. ": " .. tostring(err)) end
    end
    log.info("recorder: subscribed to " .. #RECORDED .. " events")
    return req:reply(200, "recording")
  end
  if req.user == "probe" then
    events.publish("probe", {token = req:header("X-Token") or ""})
    return req:reply(200, "published")
  end
  -- query: the recorded events from index X-From on (a page of them); X-Next says where
  -- the next page starts. An index whose kv.set has not happened yet ends the page.
  local i = tonumber(req:header("X-From") or "1") or 1
  local n = kv.get("events:n") or 0
  local headers, count = {}, 0
  while i <= n and count < PAGE do
    local v = kv.get("events:" .. i)
    if v == nil then break end
    count = count + 1
    headers["X-Event-" .. count] = v
    i = i + 1
  end
  headers["X-Count"] = tostring(count)
  headers["X-Next"] = tostring(i)
  return req:reply(200, "events", headers)
end

local TEST_USERS = {recorder = true, probe = true, query = true}

function on_request(req)
  if req.method == "MESSAGE" and req.routing == "local" and TEST_USERS[req.user] then
    return test_request(req)
  end
  if req.method == "REGISTER" then
    if req.routing ~= "local" then
      return req:reply(403, "Not Our Domain")
    end
    if auth.required(req) and not auth.check(req) then
      return
    end
    return location.save(req)
  end
  if req.routing == "route" or req.routing == "dialog" then
    return sip.relay()
  end
  if req.routing == "stray" then
    return req:reply(404, "Not Here")
  end
  if auth.required(req) and not auth.check(req) then
    return
  end
  if req.routing == "foreign" then
    if not config.relay_foreign then
      return req:reply(403, "Relaying Forbidden")
    end
    return sip.relay()
  end
  if req.routing == "self" then
    return sip.answer_locally(req)
  end
  local contacts, known = location.lookup(req.aor)
  if contacts == nil then
    return req:reply(500, "Location Service Unavailable")
  end
  if #contacts == 0 then
    if req.method == "OPTIONS" then
      return sip.answer_locally(req)
    end
    if known then
      return req:reply(480)
    end
    return req:reply(404)
  end
  return sip.relay(contacts)
end
""" % {"recorded": ", ".join(f'"{n}"' for n in RECORDED)}

POLL = 0.05   # seconds between two looks at the recorded events


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- recorded events

class EventLog:
    """The events the script's recorder has seen, fetched page by page over SIP."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.events: list[dict[str, str]] = []
        self.next = 1
        self.errors: list[str] = []

    def ask(self, user: str, extra: tuple[tuple[str, str], ...] = ()) -> Message | None:
        with UdpClient() as c:
            req = request("MESSAGE", self.switch.port, user=user, local_port=c.port, extra=extra)
            data = c.exchange_final(bytes(req), self.switch.port, timeout=3)
        return parse_message(data) if data else None

    def fetch(self) -> None:
        for _ in range(100):   # bounded: 100 pages at most per look
            msg = self.ask("query", (("X-From", str(self.next)),))
            if msg is None or msg.status != 200:
                self.errors.append(f"query from {self.next}: {msg.start_line if msg else 'no answer'}")
                return
            count = int(msg.get("x-count") or 0)
            for i in range(1, count + 1):
                self.events.append(decode(msg.get(f"x-event-{i}") or ""))
            self.next = int(msg.get("x-next") or self.next)
            if count == 0:
                return

    def matching(self, name: str, **attrs: str) -> list[dict[str, str]]:
        return [e for e in self.events if e.get("name") == name
                and all(e.get(k) == v for k, v in attrs.items())]

    def wait_for(self, name: str, timeout: float, where=None, **attrs: str) -> dict[str, str] | None:
        """The first recorded event with that name and attributes (and where(ev) true), polled
        until timeout; None if none came."""
        deadline = time.monotonic() + timeout
        while True:
            self.fetch()
            for e in self.matching(name, **attrs):
                if where is None or where(e):
                    return e
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL)

    def dump(self, name: str | None = None, last: int = 25) -> str:
        evs = [e for e in self.events if name is None or e.get("name") == name][-last:]
        text = "\n".join(show_event(e) for e in evs) or "<no events recorded>"
        if self.errors:
            text += "\nquery errors: " + "; ".join(self.errors[-5:])
        return text


def decode(value: str) -> dict[str, str]:
    out = {}
    for part in value.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[urllib.parse.unquote(k)] = urllib.parse.unquote(v, errors="replace")
    return out


def show_event(e: dict[str, str] | None) -> str:
    if e is None:
        return "<none>"
    head = [e.get("name", "?"), f"seq={e.get('seq')}"]
    return " ".join(head + [f"{k}={v!r}" for k, v in sorted(e.items())
                            if k not in ("name", "seq", "timestamp_ms")])


def seq(e: dict[str, str] | None) -> int:
    try:
        return int(e["seq"]) if e else -1
    except (KeyError, ValueError):
        return -1


def num(e: dict[str, str] | None, key: str) -> float | None:
    try:
        return float(e[key]) if e else None
    except (KeyError, ValueError):
        return None


def with_detail(log: EventLog, switch: Switch, *extra: str, name: str | None = None) -> str:
    return "\n".join([*extra, "--- recorded events ---", log.dump(name),
                      "--- switch stderr tail ---", switch.stderr_tail(15)])


# --------------------------------------------------------------------------- Python UAs

def in_dialog(method: str, ruri: str, *, local_port: int, from_: str, to: str, call_id: str,
              cseq: int, routes: list[str], contact: str | None = None,
              content_type: str | None = None, body: bytes = b"") -> bytes:
    """A request inside a dialog: R-URI = the remote target, Route = the route set."""
    lines = [f"{method} {ruri} SIP/2.0",
             f"Via: SIP/2.0/UDP {HOST}:{local_port};branch={new_branch()};rport",
             "Max-Forwards: 70"]
    lines += [f"Route: {r}" for r in routes]
    lines += [f"From: {from_}", f"To: {to}", f"Call-ID: {call_id}", f"CSeq: {cseq} {method}"]
    if contact:
        lines.append(f"Contact: {contact}")
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def uri_of(value: str | None) -> str:
    m = re.search(r"<([^>]+)>", value or "")
    return m.group(1) if m else (value or "").split(";")[0].strip()


def record_routes(msg: Message) -> list[str]:
    out = []
    for v in msg.all("record-route"):
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


class PyCaller:
    """A UDP caller through the switch: INVITE, ACK, in-dialog requests (logged)."""

    def __init__(self, switch_port: int, user: str) -> None:
        self.switch_port = switch_port
        self.user = user
        self.udp = LoggedUdp()
        self.call_id = new_call_id()
        self.from_tag = new_tag()
        self.cseq = 1
        self.ok: Message | None = None
        self.routes: list[str] = []
        self.target = ""

    @property
    def from_(self) -> str:
        return f"<sip:caller@{HOST}>;tag={self.from_tag}"

    @property
    def to(self) -> str:
        return f"<sip:{self.user}@{HOST}>;tag={tag_of(self.ok.get('to'))}" if self.ok else ""

    def final(self, method: str, timeout: float = 5) -> Message | None:
        """The final response to our request of that method (by CSeq), within timeout."""
        def is_final(m: Message) -> bool:
            return (m.status or 0) >= 200 and (m.get("cseq") or "").split()[-1:] == [method]
        msgs = self.udp.collect(timeout, self.call_id, until=lambda ms: is_final(ms[-1]))
        return msgs[-1] if msgs and is_final(msgs[-1]) else None

    def invite(self) -> Message | None:
        """INVITE, then the final answer; a 2xx is ACKed and sets up the dialog."""
        contact = f"<sip:caller@{HOST}:{self.udp.port}>"
        lines = [f"INVITE sip:{self.user}@{HOST}:{self.switch_port} SIP/2.0",
                 f"Via: SIP/2.0/UDP {HOST}:{self.udp.port};branch={new_branch()};rport",
                 "Max-Forwards: 70", f"From: {self.from_}", f"To: <sip:{self.user}@{HOST}>",
                 f"Call-ID: {self.call_id}", "CSeq: 1 INVITE", f"Contact: {contact}",
                 "Content-Length: 0"]
        self.udp.send(("\r\n".join(lines) + "\r\n\r\n").encode(), self.switch_port)
        answer = self.final("INVITE")
        if answer is not None and answer.status == 200:
            self.ok = answer
            self.routes = list(reversed(record_routes(answer)))   # RFC 3261 §12.1.2
            self.target = uri_of(answer.get("contact"))
            self.udp.send(self.request("ACK", cseq=1), self.switch_port)
        return answer

    def request(self, method: str, *, cseq: int | None = None, content_type: str | None = None,
                body: bytes = b"") -> bytes:
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        return in_dialog(method, self.target, local_port=self.udp.port, from_=self.from_, to=self.to,
                         call_id=self.call_id, cseq=cseq, routes=self.routes,
                         content_type=content_type, body=body)

    def send(self, method: str, **kw) -> Message | None:
        """An in-dialog request (not ACK); returns its final answer."""
        self.udp.send(self.request(method, **kw), self.switch_port)
        return self.final(method)

    def close(self) -> None:
        self.udp.close()


class Callee:
    """A Python callee (PyUas) that answers an INVITE with 200, answers INFO and BYE with 200,
    and hangs up itself (BYE through the switch) when hangup() is called."""

    def __init__(self, seconds: float = 20) -> None:
        self.infos: list[Message] = []
        self.bye: Message | None = None
        self.bye_answer: Message | None = None
        self.invite: Message | None = None
        self.want_hangup = threading.Event()
        self.seconds = seconds
        self.uas = PyUas(self._script)

    def start(self) -> "Callee":
        self.uas.start()
        return self

    @property
    def contact(self) -> str:
        return self.uas.contact

    def hangup(self) -> None:
        self.want_hangup.set()

    def _bye(self) -> bytes:
        inv = self.invite
        return in_dialog("BYE", uri_of(inv.get("contact")), local_port=self.uas.port,
                         from_=f"{inv.get('to')};tag={self.uas.to_tag}", to=inv.get("from"),
                         call_id=inv.get("call-id"), cseq=1, routes=record_routes(inv))

    def _script(self, uas: PyUas) -> None:
        inv = uas.recv_request("INVITE", 10)
        if inv is None:
            return
        self.invite = inv
        uas.reply(inv, 200, "OK")
        bye_sent = False
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline and self.bye is None and self.bye_answer is None:
            if self.want_hangup.is_set() and not bye_sent:
                uas.send(self._bye())
                bye_sent = True
            for m in uas.drain(0.05):
                if m.is_response:
                    if bye_sent and (m.get("cseq") or "").endswith("BYE") and (m.status or 0) >= 200:
                        self.bye_answer = m
                    continue
                method = m.start_line.split(" ")[0]
                if method == "INFO":
                    self.infos.append(m)
                    uas.reply(m, 200, "OK")
                elif method == "BYE":
                    self.bye = m
                    uas.reply(m, 200, "OK")

    def join(self, timeout: float) -> bool:
        return self.uas.join(timeout)

    def close(self) -> None:
        self.uas.close()


def register(switch: Switch, user: str, contact: str, expires: int,
             call_id: str | None = None, cseq: int = 1) -> tuple[int | None, int, str]:
    """One REGISTER over UDP with a User-Agent; (status, the client's port, Call-ID)."""
    call_id = call_id or new_call_id()
    with UdpClient() as c:
        req = register_request(switch.port, user, contacts=[contact], expires=expires,
                               local_port=c.port, call_id=call_id, cseq=cseq,
                               extra=[("User-Agent", "events-test/1.0")])
        return status_of(c.exchange_final(req, switch.port)), c.port, call_id


# --------------------------------------------------------------------------- (0) recorder

def start_recorder(checks: Checks, switch: Switch, log: EventLog) -> bool:
    label = "(0) recorder"
    msg = log.ask("recorder")
    if not checks.check(f"{label}: MESSAGE sip:recorder@ subscribes to the {len(RECORDED)} events "
                        f"(got {msg.start_line if msg else 'no answer'!r})",
                        msg is not None and msg.status == 200 and msg.reason == "recording",
                        switch.stderr_tail()):
        return False
    # The CUSTOM subscription was sent last: once a probe reaches it, every one is live.
    token = uuid.uuid4().hex
    probe = None
    deadline = time.monotonic() + 5
    while probe is None and time.monotonic() < deadline:
        with UdpClient() as c:
            req = request("MESSAGE", switch.port, user="probe", local_port=c.port,
                          extra=[("X-Token", token)])
            cid = req.header("Call-ID")
            c.exchange_final(bytes(req), switch.port, timeout=3)
        probe = log.wait_for("CUSTOM", 1.0, token=token)
    checks.check(f"{label}: a CUSTOM event published by the script reaches the recorder: "
                 f"{show_event(probe)}", probe is not None, with_detail(log, switch))
    if probe is None:
        return False
    checks.check(f"{label}: it carries subclass \"probe\", the token and the publishing request's "
                 f"call_id", probe.get("subclass") == "probe" and probe.get("call_id") == cid,
                 show_event(probe) + f"\nlast probe Call-ID {cid}")
    checks.check(f"{label}: and seq and timestamp_ms (within 60 s of now)",
                 seq(probe) > 0 and abs((num(probe, "timestamp_ms") or 0) / 1000 - time.time()) < 60,
                 show_event(probe) + f" timestamp_ms={probe.get('timestamp_ms')}")
    return True


# --------------------------------------------------------------------------- (5) HEARTBEAT

def binary_version(binary: str) -> str:
    """The number `centralita --version` prints (retried briefly: a rebuild may be replacing
    the file right now)."""
    out, deadline = "", time.monotonic() + 5
    while True:
        try:
            out = subprocess.run([binary, "--version"], stdin=subprocess.DEVNULL,
                                 capture_output=True, timeout=10, text=True).stdout
        except OSError as e:
            out = f"{type(e).__name__}: {e}"
        m = re.search(r"\d+\.\d+\.\d+\S*", out)
        if m:
            return m.group(0)
        if time.monotonic() >= deadline:
            return f"<no version in {out!r}>"
        time.sleep(0.2)


def heartbeat(checks: Checks, switch: Switch, log: EventLog, binary: str) -> None:
    label = "(5) HEARTBEAT"
    first = log.wait_for("HEARTBEAT", 3)
    second = log.wait_for("HEARTBEAT", 3, where=lambda e: seq(e) > seq(first)) if first else None
    beats = [e for e in log.matching("HEARTBEAT") if seq(first) <= seq(e) <= seq(second)]
    checks.check(f"{label}: two consecutive heartbeats arrive with heartbeat_interval = 1",
                 first is not None and second is not None and len(beats) == 2,
                 with_detail(log, switch, name="HEARTBEAT"))
    if first is None or second is None:
        return
    gap = ((num(second, "timestamp_ms") or 0) - (num(first, "timestamp_ms") or 0)) / 1000
    checks.check(f"{label}: about 1 s apart (timestamp_ms differ by {gap:.3f} s)", 0.8 <= gap <= 1.8,
                 show_event(first) + "\n" + show_event(second))
    missing = [a for a in ATTRIBUTES["HEARTBEAT"] if not first.get(a)]
    checks.check(f"{label}: every attribute is present and not empty "
                 f"({', '.join(ATTRIBUTES['HEARTBEAT'])}; missing {missing})", not missing,
                 show_event(first))
    integers = ["active_calls", "registrations", "transactions", "suspended_routings",
                "max_sessions", "uptime_ms"]
    bad = [a for a in integers if not re.fullmatch(r"\d+", first.get(a, ""))]
    bad += [a for a in ("cps", "cpu_idle") if not re.fullmatch(r"\d+(\.\d+)?", first.get(a, ""))]
    checks.check(f"{label}: counts are integers, cps and cpu_idle decimals (bad: {bad})", not bad,
                 show_event(first))
    idle = num(first, "cpu_idle")
    checks.check(f"{label}: cpu_idle is a percentage (got {first.get('cpu_idle')})",
                 idle is not None and 0 <= idle <= 100, show_event(first))
    version = binary_version(binary)
    checks.check(f"{label}: version is `centralita --version`'s number ({version}; got "
                 f"{first.get('version')!r})", first.get("version") == version, show_event(first))
    up1, up2 = num(first, "uptime_ms"), num(second, "uptime_ms")
    checks.check(f"{label}: uptime_ms grows by about the interval ({up1:.0f} -> {up2:.0f})",
                 up1 is not None and up2 is not None and 800 <= up2 - up1 <= 1800,
                 show_event(first) + "\n" + show_event(second))
    checks.check(f"{label}: before any REGISTER or call: registrations 0, active_calls 0 "
                 f"(got {first.get('registrations')}, {first.get('active_calls')})",
                 first.get("registrations") == "0" and first.get("active_calls") == "0"
                 and second.get("registrations") == "0" and second.get("active_calls") == "0",
                 show_event(first) + "\n" + show_event(second))

    # registrations: the callee registers (the registrar reports its count every second).
    callee = Callee().start()
    caller = None
    try:
        user = unique("hb-callee")
        status, _, reg_cid = register(switch, user, callee.contact, 600)
        checks.check(f"{label}: the callee's REGISTER gets 200 (got {status})", status == 200)
        reg = log.wait_for("REGISTER", 3, aor=f"{user}@{HOST}")
        one = log.wait_for("HEARTBEAT", 4, where=lambda e: seq(e) > seq(reg) and
                           e.get("registrations") == "1") if reg else None
        checks.check(f"{label}: a heartbeat after the REGISTER counts registrations 1 "
                     f"(within 4 s)", one is not None, with_detail(log, switch, name="HEARTBEAT"))

        # active_calls: a call held up until a heartbeat has counted it.
        caller = PyCaller(switch.port, user)
        answer = caller.invite()
        checks.check(f"{label}: a Python call to the callee is answered 200 "
                     f"(got {answer.start_line if answer else 'nothing'!r})",
                     answer is not None and answer.status == 200,
                     caller.udp.dump() + "\n" + callee.uas.dump())
        if answer is None or answer.status != 200:
            return
        answered = log.wait_for("CALL_ANSWER", 3, call_id=caller.call_id)
        busy = log.wait_for("HEARTBEAT", 4, where=lambda e: seq(e) > seq(answered)
                            and e.get("active_calls") == "1") if answered else None
        checks.check(f"{label}: while the call is up a heartbeat counts active_calls 1 "
                     f"(within 4 s)", busy is not None, with_detail(log, switch))
        start = log.wait_for("CALL_START", 0, call_id=caller.call_id)
        cps = log.wait_for("HEARTBEAT", 3, where=lambda e: seq(e) > seq(start)
                           and (num(e, "cps") or 0) > 0) if start else None
        checks.check(f"{label}: the heartbeat after the call started has cps > 0 "
                     f"(got {cps.get('cps') if cps else None})", cps is not None,
                     with_detail(log, switch, name="HEARTBEAT"))

        # The callee hangs up: its BYE goes through the switch to the caller.
        callee.hangup()
        got = caller.udp.collect(5, caller.call_id,
                                 until=lambda ms: ms[-1].start_line.startswith("BYE "))
        bye_msg = got[-1] if got and got[-1].start_line.startswith("BYE ") else None
        if bye_msg is not None:
            caller.udp.send(response_to(bye_msg, 200, "OK"), switch.port)
        callee.join(6)
        checks.check(f"{label}: the callee's BYE reaches the caller and its 200 the callee",
                     bye_msg is not None and bye_msg.start_line.startswith("BYE ")
                     and callee.bye_answer is not None and callee.bye_answer.status == 200,
                     caller.udp.dump() + "\n" + callee.uas.dump())
        end = log.wait_for("CALL_END", 3, call_id=caller.call_id)
        checks.check(f"{label}: CALL_END code 200, reason \"callee hung up\": {show_event(end)}",
                     end is not None and end.get("code") == "200"
                     and end.get("reason") == "callee hung up", with_detail(log, switch))
        idle = log.wait_for("HEARTBEAT", 4, where=lambda e: seq(e) > seq(end)
                            and e.get("active_calls") == "0") if end else None
        checks.check(f"{label}: after the BYE a heartbeat counts active_calls 0 again (within 4 s)",
                     idle is not None, with_detail(log, switch, name="HEARTBEAT"))

        status, _, _ = register(switch, user, callee.contact, 0, call_id=reg_cid, cseq=2)
        unreg = log.wait_for("UNREGISTER", 3, aor=f"{user}@{HOST}")
        zero = log.wait_for("HEARTBEAT", 4, where=lambda e: seq(e) > seq(unreg)
                            and e.get("registrations") == "0") if unreg else None
        checks.check(f"{label}: after the binding's removal (200: {status}) a heartbeat counts "
                     f"registrations 0 again (within 4 s)", status == 200 and zero is not None,
                     with_detail(log, switch, name="HEARTBEAT"))
    finally:
        if caller is not None:
            caller.close()
        callee.join(1)
        callee.close()


# --------------------------------------------------------------------------- (6) REGISTER

def registrations(checks: Checks, switch: Switch, log: EventLog) -> None:
    label = "(6) REGISTER"
    user = unique("reg")
    aor = f"{user}@{HOST}"
    contact_port = 40000 + uuid.uuid4().int % 20000   # only written in the Contact, never used
    contact = f"sip:{user}@{HOST}:{contact_port}"
    status, source_port, cid = register(switch, user, f"<{contact}>", 600)
    checks.check(f"{label}: REGISTER {aor} expires 600 gets 200 (got {status})", status == 200)
    ev = log.wait_for("REGISTER", 3, aor=aor)
    checks.check(f"{label}: a REGISTER event for aor {aor}: {show_event(ev)}", ev is not None,
                 with_detail(log, switch))
    if ev is not None:
        want = {"aor": aor, "contact": contact, "expires": "600", "source_ip": HOST,
                "source_port": str(source_port), "transport": "udp",
                "user_agent": "events-test/1.0", "call_id": cid}
        wrong = {k: ev.get(k) for k, v in want.items() if ev.get(k) != v}
        checks.check(f"{label}: its attributes are {want} (wrong: {wrong})", not wrong,
                     show_event(ev))
        absent = [a for a in ATTRIBUTES["registration"] if a not in ev]
        checks.check(f"{label}: all 13 attributes of the catalogue are present (absent: {absent})",
                     not absent, show_event(ev))
    status, _, _ = register(switch, user, f"<{contact}>", 0, call_id=cid, cseq=2)
    checks.check(f"{label}: the same REGISTER with expires 0 gets 200 (got {status})", status == 200)
    ev = log.wait_for("UNREGISTER", 3, aor=aor)
    checks.check(f"{label}: an UNREGISTER event for contact {contact} with the REGISTER's call_id: "
                 f"{show_event(ev)}",
                 ev is not None and ev.get("contact") == contact and ev.get("call_id") == cid
                 and ev.get("source_port") == str(source_port), with_detail(log, switch))
    checks.check(f"{label}: UNREGISTER carries expires 0 (got {ev.get('expires') if ev else None!r})",
                 ev is not None and ev.get("expires") == "0", show_event(ev))
    checks.check(f"{label}: one REGISTER event and one UNREGISTER for {aor}",
                 len(log.matching("REGISTER", aor=aor)) == 1
                 and len(log.matching("UNREGISTER", aor=aor)) == 1, with_detail(log, switch))


def start_expiry(checks: Checks, switch: Switch) -> tuple[str, float]:
    """Registers a binding for 2 s (min_expires = 1); returns (aor, wall time of the REGISTER)."""
    user = unique("short")
    sent = time.time()
    status, _, _ = register(switch, user, f"<sip:{user}@{HOST}:5999>", 2)
    checks.check(f"(6) EXPIRED: REGISTER {user} expires 2 gets 200 (got {status})", status == 200)
    return f"{user}@{HOST}", sent


def check_expiry(checks: Checks, switch: Switch, log: EventLog, aor: str, sent: float) -> None:
    label = "(6) EXPIRED"
    # The registrar sweeps a fifth of its table each second: removed at most 5 s after expiry.
    ev = log.wait_for("EXPIRED", max(0.0, sent + 2 + 8 - time.time()), aor=aor)
    checks.check(f"{label}: the 2 s binding that is not refreshed expires: {show_event(ev)}",
                 ev is not None and ev.get("contact") == f"sip:{aor.split('@')[0]}@{HOST}:5999",
                 with_detail(log, switch))
    if ev is None:
        return
    after = (num(ev, "timestamp_ms") or 0) / 1000 - sent
    checks.check(f"{label}: published after the 2 s expiry and at most ~5 s later "
                 f"({after:.1f} s after the REGISTER)", 2 - 0.1 <= after <= 2 + 6, show_event(ev))
    checks.check(f"{label}: no UNREGISTER for it", not log.matching("UNREGISTER", aor=aor),
                 with_detail(log, switch))


# --------------------------------------------------------------------------- (1)/(2) calls

def sipp_call_id(messages: str) -> str | None:
    for direction, text in split_trace(messages):
        if direction == "sent" and text.startswith("INVITE "):
            m = re.search(r"^Call-ID:\s*(\S+)", text, re.M | re.I)
            return m.group(1) if m else None
    return None


def sipp_call(checks: Checks, switch: Switch, log: EventLog, label: str, uas_scenario: str,
              uac_scenario: str, user: str) -> tuple[str | None, object, SippUas]:
    """A sipp UAS registered as user, a sipp UAC calling it; returns (sipp's Call-ID, uac, uas)."""
    uas = SippUas(uas_scenario, calls=1, timeout_s=30).start()
    status, _, _ = register(switch, user, uas.contact, 600)
    checks.check(f"{label}: the sipp callee registers as {user} (200; got {status})", status == 200)
    uac = run_uac(uac_scenario, switch.port, service=user, timeout_s=20, recv_timeout_ms=5000)
    uas.wait(5)
    return sipp_call_id(uac.messages), uac, uas


def answered_call(checks: Checks, switch: Switch, log: EventLog) -> None:
    label = "(1) answered call"
    user = unique("callee")
    cid, uac, uas = sipp_call(checks, switch, log, label, "core_uas_answer.xml",
                              "core_uac_call.xml", user)
    try:
        checks.check(f"{label}: sipp's call completes (INVITE, 180, 200, ACK, 200 ms, BYE, 200)",
                     uac.ok and uac.result.successful == 1, uac.detail() + "\n" + uas.detail(3000))
        start = log.wait_for("CALL_START", 3, where=lambda e: e.get("ruri", "").startswith(f"sip:{user}@"))
        checks.check(f"{label}: CALL_START for sip:{user}@ with sipp's Call-ID {cid}: {show_event(start)}",
                     start is not None and cid is not None and start.get("call_id") == cid,
                     with_detail(log, switch))
        if start is None:
            return
        checks.check(f"{label}: CALL_START from = the caller, to = the callee, ruri = the "
                     f"Request-URI sent",
                     start.get("from") == f"sip:alice@{HOST}:{caller_port(uac.messages)}"
                     and start.get("to") == f"sip:{user}@{HOST}:{switch.port}"
                     and start.get("ruri") == f"sip:{user}@{HOST}:{switch.port}",
                     show_event(start))
        cid = start["call_id"]
        end = log.wait_for("CALL_END", 3, call_id=cid)
        answer = log.wait_for("CALL_ANSWER", 0, call_id=cid)
        for e in (start, answer, end):
            absent = [a for a in CALL_ATTRIBUTES if e is not None and a not in e]
            checks.check(f"{label}: {e['name'] if e else '?'} carries every attribute of its kind, "
                         f"empty when it has no value yet (absent: {absent})",
                         e is not None and not absent, show_event(e))
        checks.check(f"{label}: CALL_ANSWER code 200 reason OK: {show_event(answer)}",
                     answer is not None and answer.get("code") == "200" and answer.get("reason") == "OK",
                     with_detail(log, switch))
        checks.check(f"{label}: CALL_END code 200 reason \"caller hung up\": {show_event(end)}",
                     end is not None and end.get("code") == "200"
                     and end.get("reason") == "caller hung up", with_detail(log, switch))
        duration = num(end, "duration_ms")
        checks.check(f"{label}: CALL_END duration_ms covers the 200 ms between ACK and BYE, from "
                     f"the answer (got {duration})",
                     duration is not None and 150 <= duration <= 5000, show_event(end))
        same = all(e is not None and (e.get("from"), e.get("to"), e.get("ruri")) ==
                   (start.get("from"), start.get("to"), start.get("ruri")) for e in (answer, end))
        checks.check(f"{label}: CALL_ANSWER and CALL_END carry the same from, to, ruri", same,
                     "\n".join(show_event(e) for e in (start, answer, end)))
        counts = [len(log.matching(n, call_id=cid)) for n in ("CALL_START", "CALL_ANSWER", "CALL_END")]
        checks.check(f"{label}: one event of each, in order START < ANSWER < END "
                     f"(counts {counts}; seq {seq(start)}, {seq(answer)}, {seq(end)})",
                     counts == [1, 1, 1] and seq(start) < seq(answer) < seq(end),
                     with_detail(log, switch))
    finally:
        uas.stop()
        uas.cleanup()


def caller_port(messages: str) -> str:
    for direction, text in split_trace(messages):
        if direction == "sent" and text.startswith("INVITE "):
            m = re.search(r"^From:\s*<sip:alice@[^:>]+:(\d+)>", text, re.M | re.I)
            return m.group(1) if m else "?"
    return "?"


def refused_call(checks: Checks, switch: Switch, log: EventLog) -> None:
    label = "(2) call refused with 486"
    user = unique("busy")
    cid, uac, uas = sipp_call(checks, switch, log, label, "core_uas_busy.xml", "core_uac_busy.xml", user)
    try:
        checks.check(f"{label}: sipp's caller gets the 486 (and ACKs it)",
                     uac.ok and uac.result.successful == 1, uac.detail() + "\n" + uas.detail(3000))
        start = log.wait_for("CALL_START", 3, where=lambda e: e.get("ruri", "").startswith(f"sip:{user}@"))
        checks.check(f"{label}: CALL_START with sipp's Call-ID {cid}: {show_event(start)}",
                     start is not None and cid is not None and start.get("call_id") == cid,
                     with_detail(log, switch))
        if start is None:
            return
        cid = start["call_id"]
        end = log.wait_for("CALL_END", 3, call_id=cid)
        checks.check(f"{label}: CALL_END code 486 reason \"Busy Here\": {show_event(end)}",
                     end is not None and end.get("code") == "486" and end.get("reason") == "Busy Here",
                     with_detail(log, switch))
        checks.check(f"{label}: CALL_END duration_ms 0 (never answered; got "
                     f"{end.get('duration_ms') if end else None})",
                     end is not None and end.get("duration_ms") == "0", show_event(end))
        # Events of one call come from one SIP shard, in order: CALL_END seen means a
        # CALL_ANSWER, had there been one, would be seen too.
        checks.check(f"{label}: no CALL_ANSWER for it, one CALL_END",
                     end is not None and not log.matching("CALL_ANSWER", call_id=cid)
                     and len(log.matching("CALL_END", call_id=cid)) == 1, with_detail(log, switch))
    finally:
        uas.stop()
        uas.cleanup()


# --------------------------------------------------------------------------- (3) DTMF

def dtmf(checks: Checks, switch: Switch, log: EventLog) -> None:
    label = "(3) DTMF"
    user = unique("dtmf")
    callee = Callee().start()
    caller = PyCaller(switch.port, user)
    try:
        status, _, _ = register(switch, user, callee.contact, 600)
        answer = caller.invite()
        checks.check(f"{label}: a Python call through the switch is answered (REGISTER {status}, "
                     f"INVITE {answer.status if answer else None})",
                     status == 200 and answer is not None and answer.status == 200,
                     caller.udp.dump() + "\n" + callee.uas.dump())
        if answer is None or answer.status != 200:
            return
        cid = caller.call_id

        def info(content_type: str, body: bytes) -> int | None:
            got = caller.send("INFO", content_type=content_type, body=body)
            return got.status if got else None

        code = info("application/dtmf-relay", b"Signal=7\r\nDuration=250\r\n")
        checks.check(f"{label}: INFO application/dtmf-relay Signal=7 Duration=250 is relayed and "
                     f"answered 200 (got {code})", code == 200, caller.udp.dump())
        seven = log.wait_for("DTMF", 3, call_id=cid)
        checks.check(f"{label}: DTMF digit 7, duration_ms 250, source info: {show_event(seven)}",
                     seven is not None and seven.get("digit") == "7"
                     and seven.get("duration_ms") == "250" and seven.get("source") == "info",
                     with_detail(log, switch))
        absent = [a for a in ATTRIBUTES["DTMF"] if a not in (seven or {})]
        checks.check(f"{label}: all 4 attributes present (absent: {absent})",
                     seven is not None and not absent, show_event(seven))
        code = info("text/plain", b"Signal=3\r\n")
        checks.check(f"{label}: an INFO text/plain is relayed and answered 200 (got {code})",
                     code == 200, caller.udp.dump())
        code = info("application/dtmf", b"#")
        checks.check(f"{label}: INFO application/dtmf \"#\" is answered 200 (got {code})", code == 200,
                     caller.udp.dump())
        hash_ = log.wait_for("DTMF", 3, call_id=cid, digit="#")
        checks.check(f"{label}: DTMF digit #, source info: {show_event(hash_)}",
                     hash_ is not None and hash_.get("source") == "info", with_detail(log, switch))
        digits = [e.get("digit") for e in log.matching("DTMF", call_id=cid)]
        checks.check(f"{label}: the text/plain INFO made no event: the call's digits are 7, # "
                     f"(got {digits})", digits == ["7", "#"], with_detail(log, switch))
        checks.check(f"{label}: the callee got the 3 INFOs", len(callee.infos) == 3, callee.uas.dump())
        got = caller.send("BYE")
        end = log.wait_for("CALL_END", 3, call_id=cid)
        checks.check(f"{label}: the caller's BYE (answered {got.status if got else None}) ends the "
                     f"call: CALL_END \"caller hung up\"",
                     got is not None and got.status == 200 and end is not None
                     and end.get("reason") == "caller hung up", with_detail(log, switch))
    finally:
        caller.close()
        callee.join(2)
        callee.close()


# --------------------------------------------------------------------------- (4) timeout

class SilentContact:
    """A bound UDP socket that never answers: requests relayed there time out."""

    def __init__(self) -> None:
        self.client = UdpClient()
        self.port = self.client.port

    def received(self) -> int:
        """How many datagrams are waiting (the relayed request and its retransmissions)."""
        n = 0
        while self.client.recv(0.01) is not None and n < 1000:
            n += 1
        return n

    def close(self) -> None:
        self.client.close()


def start_timeout(checks: Checks, switch: Switch, silent: SilentContact) -> tuple[str, str, UdpClient, float]:
    user = unique("silent")
    contact = f"sip:{user}@{HOST}:{silent.port}"
    status, _, _ = register(switch, user, f"<{contact}>", 600)
    checks.check(f"(4) TRANSACTION_TIMEOUT: the silent contact registers (200; got {status})",
                 status == 200)
    sender = UdpClient()
    req = request("MESSAGE", switch.port, user=user, local_port=sender.port, body=b"anyone?")
    sender.send(bytes(req), switch.port)
    return req.header("Call-ID"), contact, sender, time.time()


def check_timeout(checks: Checks, switch: Switch, log: EventLog, silent: SilentContact,
                  cid: str, contact: str, sender: UdpClient, sent_at: float) -> None:
    label = "(4) TRANSACTION_TIMEOUT"
    try:
        ev = log.wait_for("TRANSACTION_TIMEOUT", max(0.0, sent_at + 10 - time.time()), call_id=cid)
        checks.check(f"{label}: the MESSAGE relayed to the silent contact times out within 10 s: "
                     f"{show_event(ev)}", ev is not None, with_detail(log, switch))
        if ev is None:
            return
        want = {"method": "MESSAGE", "ruri": contact, "destination": f"{HOST}:{silent.port}"}
        wrong = {k: ev.get(k) for k, v in want.items() if ev.get(k) != v}
        checks.check(f"{label}: {want} (wrong: {wrong})", not wrong, show_event(ev))
        after = (num(ev, "timestamp_ms") or 0) / 1000 - sent_at
        checks.check(f"{label}: after Timer F = 64*T1 = {TIMER_F:.1f} s, not before "
                     f"(published {after:.2f} s after the MESSAGE)",
                     TIMER_F - 0.2 <= after <= TIMER_F + 3, show_event(ev))
        got = silent.received()
        checks.check(f"{label}: the silent contact did get the MESSAGE, retransmitted (Timer E) "
                     f"({got} datagrams)", got >= 2, "")
        checks.check(f"{label}: one event for the transaction",
                     len(log.matching("TRANSACTION_TIMEOUT", call_id=cid)) == 1, with_detail(log, switch))
    finally:
        sender.close()


# --------------------------------------------------------------------------- run

def run(checks: Checks, args) -> None:
    t0 = time.monotonic()
    if sipp_lib.sipp_binary() is None:
        checks.check("sipp is installed", False, "sip-tester missing: .ci/install-deps installs it")
        return
    switch = Switch(args.binary, log_level="info")
    (switch.tmp / "events.lua").write_text(SCRIPT)
    (switch.tmp / "centralita.toml").write_text(CONFIG)
    switch.args += ["--script", str(switch.tmp / "events.lua"),
                    "--config", str(switch.tmp / "centralita.toml")]
    switch.start()
    silent = SilentContact()
    try:
        log = EventLog(switch)
        if start_recorder(checks, switch, log):
            heartbeat(checks, switch, log, args.binary)
            registrations(checks, switch, log)
            # These two take seconds of the switch's clock: they run while the calls do.
            expiring = start_expiry(checks, switch)
            timeout = start_timeout(checks, switch, silent)
            answered_call(checks, switch, log)
            refused_call(checks, switch, log)
            dtmf(checks, switch, log)
            check_timeout(checks, switch, log, silent, *timeout)
            check_expiry(checks, switch, log, *expiring)
        check_clean_exit(checks, switch)
    finally:
        silent.close()
        switch.stop(check=False)
    print(f"ran in {time.monotonic() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main(run)
