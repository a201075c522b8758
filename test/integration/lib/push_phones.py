"""The phones, callers and switch helpers of test_push.py (issue 5): Python UAs that register
with RFC 8599 push parameters, sleep, wake and answer; a caller; the switch's push config for the
test push gateway (push_gateway.py)."""

import re
import signal
import time

from centralita_test import HOST, Switch, new_branch, new_call_id, new_tag, parse_message, tag_of
from push_gateway import PushGateway
from sip_core import (LoggedUdp, PyUas, authorization, invite_request, parse_challenge,
                      register_request, status_of)

WAIT = 5  # [push] wait in the switch's config below


def query_bindings(switch: Switch, user: str) -> bytes:
    """A REGISTER without Contact (RFC 3261 §10.2.3): the answer lists user's bindings."""
    c = LoggedUdp()
    try:
        c.send(register_request(switch.port, user, contacts=None, expires=None, local_port=c.port),
               switch.port)
        return c.recv(5) or b""
    finally:
        c.close()


def status_line(switch: Switch, timeout: float = 5) -> dict[str, int]:
    """The gauges of SIGUSR1's status line (the next one logged)."""
    before = switch.stderr_path.read_text(errors="replace").count("status: ")
    switch.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [ln for ln in switch.stderr_path.read_text(errors="replace").splitlines()
                 if "status: " in ln]
        if len(lines) > before:
            return {k: int(v) for k, v in (kv.split("=") for kv in lines[-1].split("status: ")[1].split())}
        time.sleep(0.05)
    return {}


def config_text(gw: PushGateway) -> str:
    return f"""
[registrar]
min_expires = 1

[push]
wait = {WAIT}
pnsreg_interval = 10
retries = 2
retry_backoff_ms = 200

[push.apns]
type = "apns"
url = "{gw.tls_url}"
ca_file = "{gw.ca_file}"
key_file = "{gw.apns_key_path}"
key_id = "{gw.apns_key_id}"
team_id = "{gw.team_id}"
timeout = 1

[push.fcm]
type = "fcm"
url = "{gw.tls_url}"
ca_file = "{gw.ca_file}"
service_account_file = "{gw.service_account_path}"
timeout = 1

[push.webhook]
type = "webhook"
url = "{gw.http_url}/push"
timeout = 1
"""


class Push:
    """The push parameters of one phone (a hex pn-prid: APNs tokens are hex)."""

    def __init__(self, gw: PushGateway, provider: str) -> None:
        self.provider = provider
        self.prid = new_tag() + new_tag()   # hex
        self.prid = "".join(c for c in self.prid if c in "0123456789abcdef") or "00ff"
        self.param = {"apns": f"{gw.team_id}.{gw.topic}", "fcm": gw.project_id,
                      "webhook": "selfhosted"}[provider]

    def contact(self, user: str, port: int) -> str:
        return (f"<sip:{user}@{HOST}:{port};pn-provider={self.provider};pn-prid={self.prid};"
                f"pn-param={self.param}>")


def register(switch: Switch, user: str, contact: str, sock=None) -> tuple[int | None, str]:
    """One REGISTER (from sock's port when given); the status and the Feature-Caps of the answer."""
    c = LoggedUdp() if sock is None else None
    try:
        port = c.port if c else sock.client.port
        data = register_request(switch.port, user, contacts=[contact], expires=600, local_port=port)
        if c:
            c.send(data, switch.port)
            answer = c.recv(5)
        else:
            sock.client.sock.sendto(data, (HOST, switch.port))
            answer = None
        caps = ""
        if answer:
            m = re.search(rb"(?im)^Feature-Caps:\s*(.*?)\r?$", answer)
            caps = m.group(1).decode() if m else ""
        return status_of(answer) if c else None, caps
    finally:
        if c:
            c.close()


def phone(switch: Switch, user: str, push: Push, *, answer: bool = True, ring: bool = True,
          answer_after: float = 0.0, wait: float = 10) -> PyUas:
    """A woken phone: registers (same pn-prid, a new address), takes the INVITE, rings, answers
    (or only rings, until CANCELled)."""
    def script(uas: PyUas) -> None:
        uas.client.sock.sendto(register_request(switch.port, user, contacts=[push.contact(user, uas.port)],
                                                expires=600, local_port=uas.port), (HOST, switch.port))
        inv = uas.recv_request("INVITE", wait)
        if inv is None:
            uas.events.append("no INVITE")
            return
        if ring:
            uas.reply(inv, 180, "Ringing")
        if answer:
            if answer_after:
                time.sleep(answer_after)
            uas.reply(inv, 200, "OK")
            uas.recv_request("ACK", 5)
        else:
            cancel = uas.recv_request("CANCEL", wait)
            if cancel is not None:
                uas.reply(cancel, 200, "OK")
                uas.reply(inv, 487, "Request Terminated")
                uas.recv_request("ACK", 5)
    return PyUas(script)


def desk(switch: Switch, user: str, *, answer_after: float | None, wait: float = 15) -> PyUas:
    """A desk phone (no push parameters): rings, answers after answer_after s (None: never;
    then it expects a CANCEL)."""
    def script(uas: PyUas) -> None:
        inv = uas.recv_request("INVITE", wait)
        if inv is None:
            uas.events.append("no INVITE")
            return
        uas.reply(inv, 180, "Ringing")
        if answer_after is not None:
            time.sleep(answer_after)
            uas.reply(inv, 200, "OK")
            uas.recv_request("ACK", 5)
            return
        cancel = uas.recv_request("CANCEL", wait)
        if cancel is not None:
            uas.reply(cancel, 200, "OK")
            uas.reply(inv, 487, "Request Terminated")
            uas.recv_request("ACK", 5)
    return PyUas(script)


def got(uas: PyUas, method: str) -> bool:
    return any(e.endswith(f"got {method}") or e.endswith(f"got {method} (queued)") for e in uas.events)


class Call:
    """The caller's side: an INVITE from a LoggedUdp, its answers collected."""

    def __init__(self, switch: Switch, user: str) -> None:
        self.switch = switch
        self.c = LoggedUdp()
        self.user = user
        self.branch, self.cid, self.ftag = new_branch(), new_call_id(), new_tag()
        self.msgs = []

    def invite(self) -> bytes:
        data = invite_request(self.switch.port, self.user, self.c.port, branch=self.branch,
                              call_id=self.cid, from_tag=self.ftag)
        self.c.send(data, self.switch.port)
        return data

    def final(self, timeout: float):
        self.msgs += self.c.collect(timeout, self.cid,
                                    until=lambda ms: any((m.status or 0) >= 200 and "INVITE" in (m.get("cseq") or "")
                                                         for m in ms))
        return next((m for m in self.msgs if (m.status or 0) >= 200 and "INVITE" in (m.get("cseq") or "")), None)

    def ack(self, final) -> None:
        if final is not None and final.status >= 300:
            self.c.send(invite_request(self.switch.port, self.user, self.c.port, branch=self.branch,
                                       call_id=self.cid, from_tag=self.ftag, method="ACK",
                                       to_tag=tag_of(final.get("to"))), self.switch.port)

    def cancel(self) -> None:
        self.c.send(invite_request(self.switch.port, self.user, self.c.port, branch=self.branch,
                                   call_id=self.cid, from_tag=self.ftag, method="CANCEL"), self.switch.port)

    def close(self) -> None:
        self.c.close()


def sleeping_phone(switch: Switch, user: str, push: Push) -> bool:
    """Registers a phone with push parameters from an address that then goes away."""
    status, _ = register(switch, user, push.contact(user, 9))  # port 9: discard, asleep
    return status == 200


def register_with_auth(sock, switch: Switch, user: str, contact: str, password: str) -> int | None:
    """REGISTER, 401, REGISTER with credentials, from sock (a UdpClient's socket); the final status."""
    port = sock.getsockname()[1]
    cid = new_call_id()
    ftag = new_tag()

    def answer() -> bytes | None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, _ = sock.recvfrom(70000)
            except OSError:
                return None
            if data.startswith(b"SIP/2.0 ") and b"REGISTER" in data:
                return data
        return None
    sock.sendto(register_request(switch.port, user, contacts=[contact], expires=600, local_port=port,
                                 call_id=cid, cseq=1, from_tag=ftag), (HOST, switch.port))
    first = answer()
    if status_of(first) != 401:
        return status_of(first)
    m = parse_message(first)
    chal = parse_challenge(m.get("www-authenticate") or "")
    auth = authorization(chal, user, password, "REGISTER", f"sip:{HOST}")
    sock.sendto(register_request(switch.port, user, contacts=[contact], expires=600, local_port=port,
                                 call_id=cid, cseq=2, from_tag=ftag, authorization=auth), (HOST, switch.port))
    return status_of(answer())
