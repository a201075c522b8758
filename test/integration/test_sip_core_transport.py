#!/usr/bin/env python3
"""Transport behaviour of the SIP core against the real binary:

  (a) ICMP port unreachable for a proxied INVITE ends the branch at once (RFC 3261
      §8.1.3.1: the client transaction reports 503; the proxy answers 500 upstream,
      §16.7 step 6) instead of after Timer B (32 s);
  (b) a TCP contact nobody listens on: connection refused, same fast answer;
  (c) flow reuse (RFC 5626-style): a contact registered over TCP is reached over the
      very connection its REGISTER came on, even when its Contact names an address
      nobody could connect to.

    test_sip_core_transport.py --binary build/centralita --source-dir .
"""

import socket
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (HOST, Checks, Switch, TcpConn, UdpClient, check_clean_exit,  # noqa: E402
                             main, parse_message, request, show)
from sip_core import register_request, register_udp, status_of  # noqa: E402

FAST = 3.0   # seconds: far below Timer B (32 s)


def dead_port(kind: int) -> int:
    """A port nothing listens on: bound, noted, closed."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def invite_final(switch: Switch, user: str) -> tuple[int | None, float, bytes | None]:
    """INVITE user@127.0.0.1 from a UDP client; the final status and how long it took."""
    with UdpClient() as c:
        req = bytes(request("INVITE", switch.port, user=user, local_port=c.port))
        start = time.monotonic()
        got = c.exchange_final(req, switch.port, timeout=10)
        return status_of(got), time.monotonic() - start, got


def icmp_unreachable(checks: Checks, switch: Switch) -> None:
    port = dead_port(socket.SOCK_DGRAM)
    _, ans = register_udp(switch.port, "icmp", f"<sip:icmp@{HOST}:{port}>")
    checks.check("(a) REGISTER icmp -> 200", status_of(ans) == 200, show(ans))
    status, took, got = invite_final(switch, "icmp")
    checks.check("(a) INVITE to a UDP port nobody listens on -> 500 (503 from the branch)",
                 status == 500, show(got))
    checks.check(f"(a) ... within {FAST} s, not after Timer B", took < FAST, f"took {took:.2f} s")


def tcp_refused(checks: Checks, switch: Switch) -> None:
    port = dead_port(socket.SOCK_STREAM)
    _, ans = register_udp(switch.port, "refused", f"<sip:refused@{HOST}:{port};transport=tcp>")
    checks.check("(b) REGISTER refused (Contact ;transport=tcp) -> 200", status_of(ans) == 200,
                 show(ans))
    status, took, got = invite_final(switch, "refused")
    checks.check("(b) INVITE to a TCP contact that refuses connections -> 500", status == 500,
                 show(got))
    checks.check(f"(b) ... within {FAST} s", took < FAST, f"took {took:.2f} s")


def tcp_flow_reuse(checks: Checks, switch: Switch) -> None:
    with TcpConn(switch.port) as conn:
        # The Contact names an address nobody can reach (TEST-NET-1, RFC 5737): only
        # the registration's own connection leads to this UA.
        reg = register_request(switch.port, "flow", contacts=["<sip:flow@192.0.2.1:5999;transport=tcp>"],
                               local_port=conn.local_port, transport="TCP")
        conn.send(reg)
        ans = conn.recv_message()
        checks.check("(c) REGISTER over TCP -> 200", status_of(ans) == 200, show(ans))
        with UdpClient() as c:
            inv = bytes(request("INVITE", switch.port, user="flow", local_port=c.port))
            c.send(inv, switch.port)
            got = conn.recv_message(timeout=5)   # the INVITE comes down our connection
            msg = parse_message(got) if got else None
            ok = msg is not None and msg.start_line.startswith("INVITE ")
            checks.check("(c) INVITE for the TCP-registered contact arrives on the REGISTER's "
                         "connection", ok, show(got))
            if not ok:
                return
            # Answer 486 on the same connection; the caller gets it, the switch ACKs it.
            lines = got.decode(errors="replace").split("\r\n")
            copy = [l for l in lines if l.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")]
            resp = "SIP/2.0 486 Busy Here\r\n" + "\r\n".join(
                (l + ";tag=flowuas") if l.lower().startswith("to:") else l for l in copy) \
                + "\r\nContent-Length: 0\r\n\r\n"
            conn.send(resp.encode())
            final = None
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                data = c.recv(1.0)
                m = parse_message(data) if data else None
                if m is not None and m.status is not None and m.status >= 200:
                    final = data
                    break
            checks.check("(c) the UA's 486 reaches the caller", status_of(final) == 486, show(final))
            ack = conn.recv_message(timeout=5)
            am = parse_message(ack) if ack else None
            checks.check("(c) the switch ACKs the 486 on the same connection (§17.1.1.3)",
                         am is not None and am.start_line.startswith("ACK "), show(ack))


def run(checks: Checks, args) -> None:
    switch = Switch(args.binary).start()
    icmp_unreachable(checks, switch)
    tcp_refused(checks, switch)
    tcp_flow_reuse(checks, switch)
    check_clean_exit(checks, switch)


if __name__ == "__main__":
    main(run)
