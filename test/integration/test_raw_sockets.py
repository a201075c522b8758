#!/usr/bin/env python3
"""Raw-socket tests against the real binary: correct answers over UDP and TCP, and
malformed input (garbage, empty and 1-byte datagrams, binary junk, stray responses,
oversized TCP messages) never takes the switch down.

    test_raw_sockets.py --binary build/centralita --source-dir .

Every wait is bounded (socket timeouts <= 5 s); checks that "nothing comes back"
wait SILENCE seconds.
"""

import os
import random
import re
import shutil
import socket
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (HOST, Checks, ConnectionClosed, Switch, TcpConn, UdpClient,  # noqa: E402
                             check_clean_exit, main, new_branch, new_call_id, parse_message, request,
                             show, squash, tag_of, udp_options_ok)

SILENCE = 0.5          # how long "no answer" is waited for
MAX_MESSAGE = 65535    # the switch's default maximum message size


def exchange_detail(sent: bytes, got: bytes | None) -> str:
    return f"sent:     {show(sent)}\nreceived: {show(got)}"


def still_answers(checks: Checks, switch: Switch, after: str) -> bool:
    ok, data = udp_options_ok(switch.port)
    return checks.check(f"still answers OPTIONS over UDP after {after}", ok and switch.alive(),
                        f"alive={switch.alive()} received: {show(data)}\n"
                        f"--- stderr tail ---\n{switch.stderr_tail()}")


# --------------------------------------------------------------------------- UDP

def udp_options(checks: Checks, switch: Switch) -> None:
    with UdpClient() as c:
        req = request("OPTIONS", switch.port, local_port=c.port)
        sent = bytes(req)
        got = c.exchange(sent, switch.port)
    d = exchange_detail(sent, got)
    msg = parse_message(got) if got else None
    if not checks.check("UDP OPTIONS -> 200", msg is not None and msg.status == 200, d):
        return
    for h in ("Allow", "Accept", "Supported"):
        checks.check(f"UDP OPTIONS 200 has {h} header", msg.get(h) is not None, d)
    allow = msg.tokens("allow")
    checks.check("UDP OPTIONS 200 Allow lists OPTIONS", "options" in allow, d)
    checks.check("UDP OPTIONS 200 has exactly one Via", len(msg.all("via")) == 1, d)
    via = squash(msg.get("via"))
    checks.check("UDP OPTIONS 200 Via copied (sent-by and branch)",
                 via.startswith(squash(req.header("Via")).split(";rport")[0]), d)
    checks.check("UDP OPTIONS 200 From copied", squash(msg.get("from")) == squash(req.header("From")), d)
    to = squash(msg.get("to"))
    checks.check("UDP OPTIONS 200 To copied (a tag may be added)",
                 to == squash(req.header("To")) or to.startswith(squash(req.header("To")) + ";"), d)
    checks.check("UDP OPTIONS 200 To has a tag (RFC 3261 §8.2.6.2)", tag_of(msg.get("to")) is not None, d)
    checks.check("UDP OPTIONS 200 Call-ID copied", msg.get("call-id") == req.header("Call-ID"), d)
    checks.check("UDP OPTIONS 200 CSeq copied", squash(msg.get("cseq")) == squash(req.header("CSeq")), d)
    cl = msg.get("content-length")
    checks.check("UDP OPTIONS 200 Content-Length matches body",
                 cl is not None and cl.isdigit() and int(cl) == len(msg.body), d)


def udp_expect_status(checks: Checks, switch: Switch, name: str, make, status: int,
                      reason_has: str | None = None) -> object:
    """make(local_port) -> request bytes; the Via names the port the answer must come back to."""
    with UdpClient() as c:
        sent = make(c.port)
        got = c.exchange(sent, switch.port)
    msg = parse_message(got) if got else None
    ok = msg is not None and msg.status == status
    if ok and reason_has:
        ok = reason_has.lower() in msg.reason.lower()
    want = f"{status}" + (f" with reason naming {reason_has}" if reason_has else "")
    checks.check(f"{name} -> {want}", ok, exchange_detail(sent, got))
    return msg


def udp_silence(checks: Checks, switch: Switch, name: str, sent: bytes) -> None:
    """Sends something that must be dropped: no answer, and the switch keeps serving."""
    with UdpClient() as c:
        c.send(sent, switch.port)
        got = c.recv(SILENCE)
    checks.check(f"{name}: no answer", got is None, exchange_detail(sent, got))
    still_answers(checks, switch, name)


def udp_malformed(checks: Checks, switch: Switch) -> None:
    port = switch.port
    udp_expect_status(checks, switch, "UDP Max-Forwards: 0",
                      lambda lp: bytes(request("OPTIONS", port, local_port=lp, max_forwards=0)), 483)
    for header in ("Call-ID", "From", "To", "CSeq"):
        msg = udp_expect_status(checks, switch, f"UDP OPTIONS without {header}",
                                lambda lp: bytes(request("OPTIONS", port, local_port=lp).without(header)),
                                400, header)
        if msg is None or msg.status != 400 or header != "Call-ID":
            continue
        # The request had a To and a Via with ;rport: the 400 is an ordinary final response.
        d = f"received: {show(msg.raw)}"
        checks.check("UDP 400 (missing Call-ID) adds a To tag (RFC 3261 §8.2.6.2)",
                     tag_of(msg.get("to")) is not None, d)
        via = msg.get("via") or ""
        checks.check("UDP 400 (missing Call-ID) fills in Via rport=<source port> (RFC 3581 §4)",
                     re.search(r";\s*rport=\d+", via) is not None, d)
    udp_expect_status(checks, switch, "UDP OPTIONS with unparseable CSeq 'abc OPTIONS'",
                      lambda lp: bytes(request("OPTIONS", port, local_port=lp).replace("CSeq", "abc OPTIONS")),
                      400)
    udp_expect_status(checks, switch, "UDP OPTIONS whose CSeq method is INVITE (RFC 3261 §8.1.1.5)",
                      lambda lp: bytes(request("OPTIONS", port, local_port=lp).replace("CSeq", "1 INVITE")),
                      400)
    # A datagram cut right after the Via line: no blank line, no From/To/...: 400, sent back
    # because there is a Via to answer to.
    udp_expect_status(checks, switch, "UDP header block cut after the Via line (no blank line)",
                      lambda lp: (lambda b: b[:b.index(b"\r\nMax-Forwards") + 2])(
                          bytes(request("OPTIONS", port, local_port=lp))), 400)
    udp_expect_status(checks, switch, "UDP unknown method FOO",
                      lambda lp: bytes(request("FOO", port, local_port=lp)), 501)
    # RFC 3581: with ;rport the answer goes to the source port, not the Via's sent-by port.
    udp_expect_status(checks, switch, "UDP OPTIONS with ;rport and a Via port nobody listens on",
                      lambda lp: bytes(request("OPTIONS", port, local_port=9)), 200)

    # Input without a Via to answer to, or not a request: dropped silently, switch stays up.
    udp_silence(checks, switch, "UDP text garbage", b"hello, this is not SIP\r\n\r\n")
    udp_silence(checks, switch, "UDP empty datagram", b"")
    udp_silence(checks, switch, "UDP 1-byte datagram", b"x")
    udp_silence(checks, switch, "UDP CRLF-only datagram", b"\r\n\r\n")
    # deterministic junk: the same bytes on every run
    udp_silence(checks, switch, "UDP binary junk (4 KiB)", random.Random(20261122).randbytes(4096))
    udp_silence(checks, switch, "UDP binary junk with NULs", b"\x00" * 64 + b"\xff\xfe" * 100)
    udp_silence(checks, switch, "UDP request line only", f"OPTIONS sip:{HOST} SIP/2.0\r\n\r\n".encode())
    udp_silence(checks, switch, "UDP truncated request line", f"OPTIONS sip:{HOST} SIP/2.".encode())
    response = (f"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP {HOST}:{port};branch={new_branch()}\r\n"
                f"From: <sip:a@{HOST}>;tag=1\r\nTo: <sip:b@{HOST}>;tag=2\r\nCall-ID: {new_call_id()}\r\n"
                f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
    udp_silence(checks, switch, "UDP stray 200 response sent to the switch", response)
    udp_silence(checks, switch, "UDP unparseable response", b"SIP/2.0 abc\r\nVia: x\r\n\r\n")
    udp_silence(checks, switch, "UDP ACK to the switch (never answered)",
                bytes(request("ACK", port)))


def udp_invite_404(checks: Checks, switch: Switch) -> None:
    with UdpClient() as c:
        branch = new_branch()
        req = request("INVITE", switch.port, user="bob", local_port=c.port, branch=branch,
                      body=b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                           b"t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n",
                      content_type="application/sdp")
        sent = bytes(req)
        got = c.exchange_final(sent, switch.port)   # past the proxy's 100 Trying
        msg = parse_message(got) if got else None
        d = exchange_detail(sent, got)
        if not checks.check("UDP INVITE sip:bob@127.0.0.1 -> 404", msg is not None and msg.status == 404, d):
            return
        checks.check("UDP INVITE 404 has a To tag", tag_of(msg.get("to")) is not None, d)
        checks.check("UDP INVITE 404 Call-ID and CSeq copied",
                     msg.get("call-id") == req.header("Call-ID")
                     and squash(msg.get("cseq")) == squash(req.header("CSeq")), d)
        # ACK for a non-2xx final response: same branch, same From/Call-ID, To with the tag
        # from the response, CSeq number with method ACK (RFC 3261 §17.1.1.3).
        ack = request("ACK", switch.port, user="bob", local_port=c.port, branch=branch,
                      call_id=req.header("Call-ID")).replace("From", req.header("From")) \
            .replace("To", msg.get("to")).replace("Contact", req.header("Contact"))
        ack_bytes = bytes(ack)
        c.send(ack_bytes, switch.port)
        extra = c.recv(SILENCE)
        checks.check("UDP ACK for the 404: no answer", extra is None, exchange_detail(ack_bytes, extra))
    still_answers(checks, switch, "INVITE/404/ACK")


# --------------------------------------------------------------------------- TCP

def tcp_recv_response(conn: TcpConn) -> tuple[bytes | None, str]:
    try:
        return conn.recv_message(), ""
    except ConnectionClosed as e:
        return None, f"connection closed: {e}; unparsed bytes: {show(conn.buf)}"


def tcp_simple(checks: Checks, switch: Switch) -> None:
    with TcpConn(switch.port) as conn:
        sent = bytes(request("OPTIONS", switch.port, transport="TCP", local_port=conn.local_port))
        conn.send(sent)
        got, why = tcp_recv_response(conn)
    msg = parse_message(got) if got else None
    checks.check("TCP OPTIONS -> 200", msg is not None and msg.status == 200,
                 exchange_detail(sent, got) + ("\n" + why if why else ""))


def tcp_bytewise(checks: Checks, switch: Switch) -> None:
    with TcpConn(switch.port) as conn:
        sent = bytes(request("OPTIONS", switch.port, transport="TCP", local_port=conn.local_port))
        conn.send_bytewise(sent)
        got, why = tcp_recv_response(conn)
    msg = parse_message(got) if got else None
    checks.check("TCP OPTIONS sent in 1-byte segments -> 200", msg is not None and msg.status == 200,
                 exchange_detail(sent, got) + ("\n" + why if why else ""))


def tcp_split_body(checks: Checks, switch: Switch) -> None:
    body = b"a body that arrives in a separate segment\r\n"
    cases = {
        "inside the blank line": lambda hb: hb.index(b"\r\n\r\n") + 2,
        "right after the blank line": lambda hb: hb.index(b"\r\n\r\n") + 4,
        "in the middle of the body": lambda hb: hb.index(b"\r\n\r\n") + 4 + len(body) // 2,
        "inside the Content-Length header": lambda hb: hb.index(b"Content-Length: ") + 10,
    }
    for label, cut in cases.items():
        with TcpConn(switch.port) as conn:
            sent = bytes(request("OPTIONS", switch.port, transport="TCP", local_port=conn.local_port,
                                 body=body))
            at = cut(sent)
            conn.send(sent[:at])
            conn.send(sent[at:])
            got, why = tcp_recv_response(conn)
        msg = parse_message(got) if got else None
        checks.check(f"TCP OPTIONS with body split {label} -> 200", msg is not None and msg.status == 200,
                     exchange_detail(sent, got) + f"\nsplit at byte {at}" + ("\n" + why if why else ""))


def tcp_pipelined(checks: Checks, switch: Switch) -> None:
    # Same Call-ID, CSeq 1..3: one dialog's requests, which the switch must answer in order.
    with TcpConn(switch.port) as conn:
        call_id = new_call_id()
        reqs = [bytes(request("OPTIONS", switch.port, transport="TCP", local_port=conn.local_port,
                              call_id=call_id, cseq=n)) for n in (1, 2, 3)]
        sent = b"".join(reqs)
        conn.send(sent)
        got = []
        why = ""
        for _ in reqs:
            data, why = tcp_recv_response(conn)
            if data is None:
                break
            got.append(parse_message(data))
    seqs = [squash(m.get("cseq")) for m in got]
    statuses = [m.status for m in got]
    checks.check("TCP three pipelined OPTIONS (one send, same Call-ID) -> three 200 in CSeq order",
                 statuses == [200, 200, 200] and seqs == ["1OPTIONS", "2OPTIONS", "3OPTIONS"],
                 f"sent: {show(sent, 3000)}\nstatuses {statuses}, CSeqs {seqs}\n"
                 + "\n".join(f"received: {show(m.raw)}" for m in got) + ("\n" + why if why else ""))

    # Different Call-IDs: all three answered (RFC 3261 does not order independent transactions).
    with TcpConn(switch.port) as conn:
        reqs = [request("OPTIONS", switch.port, transport="TCP", local_port=conn.local_port)
                for _ in range(3)]
        sent = b"".join(bytes(r) for r in reqs)
        conn.send(sent)
        got = []
        why = ""
        for _ in reqs:
            data, why = tcp_recv_response(conn)
            if data is None:
                break
            got.append(parse_message(data))
    want = {r.header("Call-ID") for r in reqs}
    have = {m.get("call-id") for m in got if m.status == 200}
    checks.check("TCP three pipelined OPTIONS (different Call-IDs) -> three 200",
                 want == have and len(got) == 3,
                 f"sent: {show(sent, 3000)}\n" + "\n".join(f"received: {show(m.raw)}" for m in got)
                 + ("\n" + why if why else ""))


def tcp_keepalive(checks: Checks, switch: Switch) -> None:
    with TcpConn(switch.port) as conn:
        ping = b"\r\n\r\n"
        conn.send(ping)
        got = conn.recv_raw(2)
        more = conn.recv_raw(1, timeout=SILENCE)
        checks.check('TCP CRLFCRLF keep-alive -> exactly "\\r\\n" (RFC 5626 §4.4.1)',
                     got == b"\r\n" and more == b"",
                     f"sent: {show(ping)}\nreceived: {show(got + more)}")
        sent = bytes(request("OPTIONS", switch.port, transport="TCP", local_port=conn.local_port))
        conn.send(sent)
        data, why = tcp_recv_response(conn)
        msg = parse_message(data) if data else None
        checks.check("TCP OPTIONS on the same connection after the keep-alive -> 200",
                     msg is not None and msg.status == 200,
                     exchange_detail(sent, data) + ("\n" + why if why else ""))
        # A keep-alive between two messages on a busy connection.
        sent = b"\r\n\r\n" + bytes(request("OPTIONS", switch.port, transport="TCP",
                                           local_port=conn.local_port))
        conn.send(sent)
        pong = conn.recv_raw(2)
        data, why = tcp_recv_response(conn)
        msg = parse_message(data) if data else None
        checks.check("TCP keep-alive then OPTIONS in one send -> \"\\r\\n\" then 200",
                     pong == b"\r\n" and msg is not None and msg.status == 200,
                     f"sent: {show(sent)}\nreceived: {show(pong)} then {show(data)}"
                     + ("\n" + why if why else ""))


def tcp_oversized(checks: Checks, switch: Switch) -> None:
    body = b"x" * 70000
    with TcpConn(switch.port) as conn:
        req = request("MESSAGE", switch.port, user="bob", transport="TCP", local_port=conn.local_port,
                      body=body)
        sent = bytes(req)
        head_len = sent.index(b"\r\n\r\n") + 4
        send_error = ""
        try:
            conn.send(sent[:head_len])
            conn.send(sent[head_len:])
        except OSError as e:          # the switch may close while the body is still coming
            send_error = f"send stopped early: {e!r}"
        closed, got = conn.wait_closed()
    msg = parse_message(got) if got else None
    detail = (f"sent: {show(sent[:head_len])} + {len(body)} body bytes (Content-Length {len(body)}, "
              f"{len(sent)} bytes in all)\nreceived: {show(got)}\n{send_error}")
    checks.check(f"TCP message of {len(sent)} bytes (> {MAX_MESSAGE}) -> 513",
                 msg is not None and msg.status == 513, detail)
    checks.check("TCP oversized message -> connection closed afterwards", closed, detail)
    still_answers(checks, switch, "an oversized TCP message")

    # A header block that never ends and exceeds the limit: closed (513 optional).
    with TcpConn(switch.port) as conn:
        head = bytes(request("OPTIONS", switch.port, transport="TCP", local_port=conn.local_port))
        head = head[:head.index(b"\r\n\r\n") + 2]
        filler = b"".join(b"X-Filler-%05d: %s\r\n" % (i, b"y" * 60) for i in range(1100))
        send_error = ""
        try:
            conn.send(head + filler)
        except OSError as e:
            send_error = f"send stopped early: {e!r}"
        closed, got = conn.wait_closed()
    msg = parse_message(got) if got else None
    checks.check(f"TCP unterminated header block of {len(head) + len(filler)} bytes -> connection closed",
                 closed and (msg is None or msg.status in (513, 400)),
                 f"sent: {show(head)} + {len(filler)} bytes of X-Filler headers, no blank line\n"
                 f"received: {show(got)}\n{send_error}")
    still_answers(checks, switch, "an unterminated oversized TCP header block")


def tcp_garbage(checks: Checks, switch: Switch) -> None:
    samples = {
        "text garbage": b"this is not SIP at all\r\n\r\n",
        "binary junk": bytes(range(256)) * 8 + b"\r\n\r\n",
        "request line only": f"OPTIONS sip:{HOST} SIP/2.0\r\nbroken header line\r\n\r\n".encode(),
        "HTTP request": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "bad Content-Length": (f"OPTIONS sip:{HOST} SIP/2.0\r\nVia: SIP/2.0/TCP {HOST}:1;branch={new_branch()}"
                               f"\r\nContent-Length: -5\r\n\r\n").encode(),
    }
    for label, junk in samples.items():
        with TcpConn(switch.port) as conn:
            try:
                conn.send(junk)
            except OSError:
                pass
            closed, got = conn.wait_closed()
        msg = parse_message(got) if got else None
        ok = closed or (msg is not None and msg.status == 400)
        checks.check(f"TCP {label} -> connection closed or 400", ok,
                     f"sent: {show(junk)}\nreceived: {show(got)}\nclosed within 5 s: {closed}")
        alive = switch.alive()
        with TcpConn(switch.port) as conn2:
            sent = bytes(request("OPTIONS", switch.port, transport="TCP", local_port=conn2.local_port))
            conn2.send(sent)
            data, why = tcp_recv_response(conn2)
        m2 = parse_message(data) if data else None
        checks.check(f"TCP new connection after {label} -> OPTIONS 200",
                     alive and m2 is not None and m2.status == 200,
                     exchange_detail(sent, data) + ("\n" + why if why else ""))


def tcp_same_connection(checks: Checks, switch: Switch) -> None:
    # The Via sent-by names a port where we listen: a response that does not reuse the
    # request's connection (RFC 3261 §18.2.2) would show up there as a connection attempt.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((HOST, 0))
    listener.listen(4)
    decoy = listener.getsockname()[1]
    try:
        with TcpConn(switch.port) as conn:
            sent = bytes(request("OPTIONS", switch.port, transport="TCP", local_port=decoy))
            conn.send(sent)
            got, why = tcp_recv_response(conn)
        msg = parse_message(got) if got else None
        checks.check("TCP response arrives on the request's connection (Via names another port)",
                     msg is not None and msg.status == 200,
                     exchange_detail(sent, got) + ("\n" + why if why else ""))
        listener.settimeout(0.0)
        try:
            peer, addr = listener.accept()
            peer.close()
            opened = f"switch opened a connection to the Via port from {addr}"
        except (BlockingIOError, socket.timeout):
            opened = ""
        checks.check("TCP switch opened no new connection for the response", not opened, opened)
    finally:
        listener.close()


def tcp_many_connections(checks: Checks, switch: Switch) -> None:
    conns = []
    try:
        for _ in range(50):
            conns.append(TcpConn(switch.port))
        answered = 0
        for conn in conns:
            conn.send(bytes(request("OPTIONS", switch.port, transport="TCP", local_port=conn.local_port)))
        for conn in conns:
            data, _ = tcp_recv_response(conn)
            msg = parse_message(data) if data else None
            answered += msg is not None and msg.status == 200
        checks.check("TCP 50 concurrent connections, one OPTIONS each -> 50 x 200", answered == 50,
                     f"{answered} answered 200")
    finally:
        for conn in conns:
            conn.close()
    # Half-open: the client connects and goes away without sending; the switch carries on.
    for _ in range(20):
        TcpConn(switch.port).close()
    still_answers(checks, switch, "20 connections opened and closed without data")


def tcp_idle_timeout(checks: Checks, args) -> None:
    """A second switch with [sip] tcp_idle_timeout = 1: silent connections get closed."""
    cfg_dir = Path(tempfile.mkdtemp(prefix="centralita-idle-"))
    cfg = cfg_dir / "idle.toml"
    cfg.write_text("[sip]\ntcp_idle_timeout = 1\n")
    switch = Switch(args.binary, ["--config", str(cfg)]).start()
    try:
        with TcpConn(switch.port) as conn:
            sent = bytes(request("OPTIONS", switch.port, transport="TCP", local_port=conn.local_port))
            conn.send(sent)
            got, why = tcp_recv_response(conn)
            msg = parse_message(got) if got else None
            checks.check("TCP idle-timeout switch answers OPTIONS", msg is not None and msg.status == 200,
                         exchange_detail(sent, got) + ("\n" + why if why else ""))
            closed, extra = conn.wait_closed(timeout=5.0)
            checks.check("TCP connection silent for tcp_idle_timeout = 1 s is closed within 5 s", closed,
                         f"config: {cfg.read_text()!r}\nreceived meanwhile: {show(extra)}")
        with TcpConn(switch.port) as conn:
            closed, extra = conn.wait_closed(timeout=5.0)
            checks.check("TCP connection that never sends is closed within 5 s (tcp_idle_timeout = 1)",
                         closed, f"received meanwhile: {show(extra)}")
    finally:
        check_clean_exit(checks, switch)
        shutil.rmtree(cfg_dir, ignore_errors=True)


# --------------------------------------------------------------------------- main

def run(checks: Checks, args) -> None:
    switch = Switch(args.binary).start()
    try:
        for group in (udp_options, udp_malformed, udp_invite_404, tcp_simple, tcp_bytewise,
                      tcp_split_body, tcp_pipelined, tcp_keepalive, tcp_same_connection,
                      tcp_oversized, tcp_garbage, tcp_many_connections):
            print(f"--- {group.__name__}", flush=True)
            if not switch.alive():
                checks.check(f"switch alive before {group.__name__}", False, switch.stderr_tail())
                return
            group(checks, switch)
    finally:
        if switch.alive():
            check_clean_exit(checks, switch)
        else:
            rc = switch.stop(check=False)
            checks.check("switch survived the whole test", False,
                         f"exit code {rc}\n--- stderr tail ---\n{switch.stderr_tail()}")
    tcp_idle_timeout(checks, args)


if __name__ == "__main__":
    main(run)
