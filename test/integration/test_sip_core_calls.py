#!/usr/bin/env python3
"""Calls through centralita as a stateful proxy (issue 3, point 7), with sipp on both sides:
UAC -> centralita -> UAS registered as bob's contact.

  (a) basic call INVITE/100/180/200/ACK/BYE/200, 20 calls over UDP (sipp UAC with -nd:
      no automatic BYE/CANCEL on a failed call, so the UAS only passes on the real flow)
  (b) the same over TCP (both sipp sides -t t1; the UAS registered with ;transport=tcp)
  (c) 486 Busy from the UAS reaches the UAC; the switch ACKs the 486 hop by hop
  (d) CANCEL while ringing: UAC gets 200 (CANCEL) and 487; the UAS gets the CANCEL
  (e) UDP with loss (sipp -lost 10 on the UAC) with 30 calls: every call completes;
      plus 30 busy calls (INVITE/486/ACK, no dialog) under the same loss
  (f) an unregistered user -> 404

    test_sip_core_calls.py --binary build/centralita --source-dir .
"""

import sys
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (Checks, SkipTest, Switch, check_clean_exit, main, parse_message,  # noqa: E402
                             show, UdpClient)
from sip_core import (SippUas, invite_request, register_udp, run_uac, status_of,  # noqa: E402
                      stop_all_uas)
from sipp import sipp_binary  # noqa: E402


def call_case(checks: Checks, switch: Switch, label: str, user: str, uas_scenario: str,
              uac_scenario: str, calls: int, *, transport: str = "u1", rate: int = 10,
              uac_extra: list[str] | None = None, timeout_s: int = 40,
              recv_timeout_ms: int = 10000) -> None:
    """Starts a sipp UAS, registers it as user's contact, runs the sipp UAC for calls calls and
    checks both sides completed every call."""
    uas = SippUas(uas_scenario, transport=transport, calls=calls, timeout_s=timeout_s + 10)
    try:
        uas.start()
        sent, answer = register_udp(switch.port, user, uas.contact)
        if not checks.check(f"{label}: REGISTER {user} with Contact {uas.contact} -> 200",
                            status_of(answer) == 200, f"sent: {show(sent)}\ngot:  {show(answer)}"):
            return
        uac = run_uac(uac_scenario, switch.port, service=user, transport=transport, calls=calls,
                      rate=rate, timeout_s=timeout_s, recv_timeout_ms=recv_timeout_ms,
                      extra=["-nd", *(uac_extra or [])])
        uas.wait(10)
        r = uac.result
        print(f"{label}: UAC {r.successful} successful, {r.failed} failed, exit {r.exit_code}, "
              f"{r.elapsed_s:.1f} s; UAS {uas.successful()} successful, exit {uas.exit_code}", flush=True)
        checks.check(f"{label}: UAC completes all {calls} calls ({r.successful} successful, "
                     f"{r.failed} failed)", uac.ok and r.successful == calls, uac.detail())
        checks.check(f"{label}: UAS completes all {calls} calls ({uas.successful()} successful)",
                     uas.exit_code == 0 and uas.successful() == calls, uas.detail())
    finally:
        uas.stop()
        uas.cleanup()


def run(checks: Checks, args) -> None:
    if sipp_binary() is None:
        raise SkipTest("sipp is not installed (Debian package sip-tester)")
    args.binary = str(Path(args.binary).resolve())
    switch = Switch(args.binary).start()
    try:
        # (a) basic call over UDP
        call_case(checks, switch, "(a) UDP basic call", "bob-a", "core_uas_answer.xml",
                  "core_uac_call.xml", 20)
        # (b) TCP
        call_case(checks, switch, "(b) TCP basic call", "bob-b", "core_uas_answer.xml",
                  "core_uac_call.xml", 20, transport="t1")
        # (c) 486 busy, ACKed hop by hop by the switch (the UAS scenario requires the ACK)
        call_case(checks, switch, "(c) 486 Busy reaches the caller, switch ACKs it", "bob-c",
                  "core_uas_busy.xml", "core_uac_busy.xml", 5)
        # (d) CANCEL while ringing
        call_case(checks, switch, "(d) CANCEL while ringing (200 + 487 to the caller, CANCEL "
                  "to the UAS)", "bob-d", "core_uas_ring_cancel.xml", "core_uac_cancel.xml", 5)
        # (e) loss on the UAC side: retransmissions absorbed/recovered by the transactions.
        # sipp's -lost drops what it receives as well as what it sends, so one try of a
        # transaction fails 19% of the time; within a 10 s receive timeout sipp makes 5 tries
        # (T1 doubling), and 30 calls then fail ~1% of runs for sipp's own reasons. 40 s gives
        # 7 tries (Timer F/J keep the switch's transactions 32 s): a failure is then ours.
        call_case(checks, switch, "(e) UDP -lost 10: calls complete", "bob-e",
                  "core_uas_answer.xml", "core_uac_call_lossy.xml", 30,
                  uac_extra=["-lost", "10"], timeout_s=120, recv_timeout_ms=40000)
        call_case(checks, switch, "(e2) UDP -lost 10: busy calls complete (INVITE/486/ACK)",
                  "bob-e2", "core_uas_busy.xml", "core_uac_busy.xml", 30,
                  uac_extra=["-lost", "10"], timeout_s=120, recv_timeout_ms=40000)
        checks.check("switch still running after the call runs", switch.alive(), switch.stderr_tail())
        # (f) no binding -> 404
        with UdpClient() as c:
            req = invite_request(switch.port, "nobody-here", c.port)
            got = c.exchange_final(req, switch.port)
            msg = parse_message(got) if got else None
            checks.check("(f) INVITE for an unregistered user -> 404", msg is not None and msg.status == 404,
                         f"sent: {show(req)}\ngot:  {show(got)}")
            if msg is not None and msg.status and msg.status >= 300:   # ACK the final response
                c.send(req.replace(b"INVITE sip:", b"ACK sip:", 1).replace(b" INVITE\r\n", b" ACK\r\n"),
                       switch.port)
    finally:
        stop_all_uas()
        if switch.alive():
            check_clean_exit(checks, switch)
        else:
            switch.stop(check=False)


if __name__ == "__main__":
    main(run)
