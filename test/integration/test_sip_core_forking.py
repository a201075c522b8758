#!/usr/bin/env python3
"""Forking through centralita (issue 3, point 7), sipp UASes registered for one AOR:

  (a) parallel forking, equal q: one UAS answers 200 after 180, the other only rings and
      must get a CANCEL (answers 200 + 487, expects the ACK); the caller gets exactly one
      200 per call and the call completes
  (b) serial forking: q=1.0 answers 486, q=0.5 answers 200: the call is set up with the
      second contact
  (c) Timer C (sip.timer_c = 3 s via --config):
      (c1) the branch rings (180) and never answers: the switch CANCELs it (RFC 3261 §16.8:
           a branch with a provisional is cancelled) and the caller gets the branch's 487,
           the best (only) response (§16.7); within 20 s
      (c2) the branch never answers at all (no provisional): the switch behaves as if it
           got 408 (§16.8), sends no CANCEL (§9.1), and the caller gets 408; within 20 s

    test_sip_core_forking.py --binary build/centralita --source-dir .
"""

import re
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (Checks, SkipTest, Switch, check_clean_exit, main, new_branch,  # noqa: E402
                             new_call_id, new_tag, show, tag_of)
from sip_core import (LoggedUdp, PyUas, SippUas, invite_request, register_request,  # noqa: E402
                      run_uac, split_trace, status_of, stop_all_uas)
from sipp import sipp_binary  # noqa: E402

TIMER_C = 3


def responses_by_call(trace: str, direction: str = "received") -> dict[str, list[str]]:
    """Call-ID -> ['200 INVITE', '180 INVITE', ...] from a sipp message trace."""
    out: dict[str, list[str]] = {}
    for d, text in split_trace(trace):
        if d != direction or not text.startswith("SIP/2.0 "):
            continue
        cid = re.search(r"^Call-ID:\s*(\S+)", text, re.M | re.I)
        cseq = re.search(r"^CSeq:\s*\d+\s+(\S+)", text, re.M | re.I)
        code = text.split(" ", 2)[1]
        out.setdefault(cid.group(1) if cid else "?", []).append(f"{code} {cseq.group(1) if cseq else '?'}")
    return out


def requests_of(trace: str, method: str) -> int:
    return sum(1 for d, text in split_trace(trace) if d == "received" and text.startswith(method + " "))


def register_contacts(checks: Checks, switch: Switch, label: str, user: str, contacts: list[str]) -> bool:
    c = LoggedUdp()
    try:
        req = register_request(switch.port, user, contacts=contacts, expires=600, local_port=c.port)
        c.send(req, switch.port)
        got = c.recv(5)
        return checks.check(f"{label}: REGISTER {user} with {len(contacts)} contact(s) -> 200",
                            status_of(got) == 200, f"sent: {show(req)}\ngot:  {show(got)}")
    finally:
        c.close()


def parallel(checks: Checks, switch: Switch, calls: int = 5) -> None:
    label = "(a) parallel fork"
    answer = SippUas("core_uas_answer.xml", calls=calls, timeout_s=40).start()
    ringer = SippUas("core_uas_ring_cancel.xml", calls=calls, timeout_s=40).start()
    try:
        if not register_contacts(checks, switch, label, "fork-a", [answer.contact, ringer.contact]):
            return
        uac = run_uac("core_uac_call_fork.xml", switch.port, service="fork-a", calls=calls, rate=5,
                      timeout_s=30, extra=["-nd"])
        ringer.wait(10)
        answer.wait(10)
        per_call = responses_by_call(uac.messages)
        ok_counts = {cid: sum(1 for r in rs if r == "200 INVITE") for cid, rs in per_call.items()}
        detail = "\n".join(f"{cid}: {rs}" for cid, rs in per_call.items())
        checks.check(f"{label}: caller gets exactly one 200 for each of the {calls} INVITEs",
                     len(ok_counts) == calls and all(n == 1 for n in ok_counts.values()),
                     detail + "\n" + uac.detail(3000))
        checks.check(f"{label}: caller never sees the cancelled branch's 487",
                     not any("487 INVITE" in rs for rs in per_call.values()), detail)
        checks.check(f"{label}: the ringing UAS gets a CANCEL for every call and completes "
                     f"200/487/ACK ({ringer.successful()} of {calls})",
                     ringer.exit_code == 0 and ringer.successful() == calls, ringer.detail())
        checks.check(f"{label}: the answering UAS gets INVITE and ACK for every call "
                     f"({requests_of(answer.messages(), 'INVITE')} INVITEs, "
                     f"{requests_of(answer.messages(), 'ACK')} ACKs)",
                     requests_of(answer.messages(), "INVITE") == calls
                     and requests_of(answer.messages(), "ACK") == calls, answer.detail())
        r = uac.result
        checks.check(f"{label}: calls complete end to end, BYE included (UAC {r.successful} "
                     f"successful, UAS {answer.successful()} successful)",
                     uac.ok and r.successful == calls and answer.exit_code == 0
                     and answer.successful() == calls, uac.detail() + "\n" + answer.detail(3000))
    finally:
        for u in (answer, ringer):
            u.stop()
            u.cleanup()


def serial(checks: Checks, switch: Switch, calls: int = 3) -> None:
    label = "(b) serial fork"
    busy = SippUas("core_uas_busy.xml", calls=calls, timeout_s=40).start()
    answer = SippUas("core_uas_answer.xml", calls=calls, timeout_s=40).start()
    try:
        if not register_contacts(checks, switch, label, "fork-b",
                                 [f"{busy.contact};q=1.0", f"{answer.contact};q=0.5"]):
            return
        uac = run_uac("core_uac_call_fork.xml", switch.port, service="fork-b", calls=calls, rate=5,
                      timeout_s=30, extra=["-nd"])
        busy.wait(10)
        answer.wait(10)
        per_call = responses_by_call(uac.messages)
        detail = "\n".join(f"{cid}: {rs}" for cid, rs in per_call.items())
        checks.check(f"{label}: the q=1.0 contact is tried first, answers 486 and gets the ACK "
                     f"({busy.successful()} of {calls})",
                     busy.exit_code == 0 and busy.successful() == calls, busy.detail())
        checks.check(f"{label}: the q=0.5 contact then gets the INVITE and the ACK for its 200 "
                     f"({requests_of(answer.messages(), 'INVITE')} INVITEs, "
                     f"{requests_of(answer.messages(), 'ACK')} ACKs)",
                     requests_of(answer.messages(), "INVITE") == calls
                     and requests_of(answer.messages(), "ACK") == calls, answer.detail())
        checks.check(f"{label}: caller gets one 200 per call and never the 486",
                     len(per_call) == calls
                     and all(rs.count("200 INVITE") == 1 and "486 INVITE" not in rs
                             for rs in per_call.values()), detail + "\n" + uac.detail(3000))
        r = uac.result
        checks.check(f"{label}: calls complete end to end, BYE included (UAC {r.successful} "
                     f"successful, UAS {answer.successful()} successful)",
                     uac.ok and r.successful == calls and answer.exit_code == 0
                     and answer.successful() == calls, uac.detail() + "\n" + answer.detail(3000))
    finally:
        for u in (busy, answer):
            u.stop()
            u.cleanup()


def invite_until_final(switch: Switch, user: str, limit_s: float) -> tuple[LoggedUdp, bytes, list, float]:
    """Sends one INVITE through the switch, collects responses until a final one (bounded);
    ACKs a non-2xx final response. Returns (client, invite, messages, seconds to the final)."""
    c = LoggedUdp()
    branch, call_id, ftag = new_branch(), new_call_id(), new_tag()
    inv = invite_request(switch.port, user, c.port, branch=branch, call_id=call_id, from_tag=ftag)
    t0 = time.monotonic()
    c.send(inv, switch.port)
    msgs = c.collect(limit_s, call_id, until=lambda ms: any((m.status or 0) >= 200 for m in ms))
    elapsed = time.monotonic() - t0
    final = next((m for m in msgs if (m.status or 0) >= 200), None)
    if final is not None and final.status >= 300:
        c.send(invite_request(switch.port, user, c.port, branch=branch, call_id=call_id, from_tag=ftag,
                              method="ACK", to_tag=tag_of(final.get("to"))), switch.port)
    return c, inv, msgs, elapsed


def timer_c(checks: Checks, args) -> None:
    cfg_switch = Switch(args.binary)
    cfg = cfg_switch.tmp / "timer_c.toml"
    cfg.write_text(f"[sip]\ntimer_c = {TIMER_C}\n")
    cfg_switch.args += ["--config", str(cfg)]
    switch = cfg_switch.start()
    try:
        # (c1) ringing, never answered
        label = f"(c1) Timer C ({TIMER_C} s), branch rang"
        ringer = SippUas("core_uas_ring_cancel.xml", calls=1, timeout_s=40).start()
        try:
            if register_contacts(checks, switch, label, "timer-c1", [ringer.contact]):
                c, inv, msgs, elapsed = invite_until_final(switch, "timer-c1", 20)
                final = next((m for m in msgs if (m.status or 0) >= 200), None)
                ringer.wait(5)
                codes = [m.status for m in msgs]
                detail = f"responses {codes} after {elapsed:.1f} s\n{c.dump()}"
                checks.check(f"{label}: a final response reaches the caller within 20 s "
                             f"(got {final.status if final else None} after {elapsed:.1f} s)",
                             final is not None, detail)
                checks.check(f"{label}: not before Timer C ({elapsed:.1f} s >= {TIMER_C - 0.5} s)",
                             final is not None and elapsed >= TIMER_C - 0.5, detail)
                checks.check(f"{label}: the branch gets a CANCEL and completes 200/487/ACK",
                             ringer.exit_code == 0 and ringer.successful() == 1, ringer.detail())
                checks.check(f"{label}: caller gets the cancelled branch's 487 (RFC 3261 §16.8 + §16.7; "
                             f"got {final.status if final else None})",
                             final is not None and final.status == 487, detail)
                c.close()
        finally:
            ringer.stop()
            ringer.cleanup()

        # (c2) silent branch: no provisional at all
        label = f"(c2) Timer C ({TIMER_C} s), branch silent"

        def silent(uas: PyUas) -> None:
            uas.recv_request("INVITE", 5)
            uas.drain(TIMER_C + 4)   # absorbs retransmissions; records a CANCEL if one comes

        uas = PyUas(silent).start()
        try:
            if register_contacts(checks, switch, label, "timer-c2", [uas.contact]):
                c, inv, msgs, elapsed = invite_until_final(switch, "timer-c2", 20)
                final = next((m for m in msgs if (m.status or 0) >= 200), None)
                codes = [m.status for m in msgs]
                detail = f"responses {codes} after {elapsed:.1f} s\n{c.dump()}\n{uas.dump()}"
                checks.check(f"{label}: caller gets 408 within 20 s (got "
                             f"{final.status if final else None} after {elapsed:.1f} s)",
                             final is not None and final.status == 408, detail)
                checks.check(f"{label}: not before Timer C ({elapsed:.1f} s >= {TIMER_C - 0.5} s)",
                             final is not None and elapsed >= TIMER_C - 0.5, detail)
                uas.join(20)
                cancels = [b for d, _, b in uas.log if d == "received" and b.startswith(b"CANCEL ")]
                checks.check(f"{label}: no CANCEL to a branch without a provisional (RFC 3261 §9.1)",
                             not cancels, uas.dump())
                c.close()
        finally:
            uas.close()
        checks.check("(c) switch still running", switch.alive(), switch.stderr_tail())
    finally:
        if switch.alive():
            check_clean_exit(checks, switch)
        else:
            switch.stop(check=False)


def run(checks: Checks, args) -> None:
    if sipp_binary() is None:
        raise SkipTest("sipp is not installed (Debian package sip-tester)")
    args.binary = str(Path(args.binary).resolve())
    switch = Switch(args.binary).start()
    try:
        parallel(checks, switch)
        serial(checks, switch)
        checks.check("switch still running after the forking runs", switch.alive(), switch.stderr_tail())
    finally:
        stop_all_uas()
        if switch.alive():
            check_clean_exit(checks, switch)
        else:
            switch.stop(check=False)
    timer_c(checks, args)


if __name__ == "__main__":
    main(run)
