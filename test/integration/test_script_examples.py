#!/usr/bin/env python3
"""The example routing scripts of issue 4, each run as is with --script, against sipp:

  scripts/examples/wait-for-register.lua
    (a1) an INVITE for bob, who is not registered, waits; sipp registers bob (pointing at a
         sipp UAS) 2 s later; the INVITE is relayed there and the call completes end to end
    (a2) nobody registers: 480 after the script's WAIT (8 s), not before
    (a3) the caller CANCELs during the wait: 200 for the CANCEL, 487 for the INVITE, and the
         wait ends with "cancelled" (the script logs how its wait ended)
  scripts/examples/dtmf-hangup.lua
    (c1) a bridged call through the switch (sipp caller without SDP, a Python callee that
         answers with an SDP offer): the caller sends INFO with digit 2
         (application/dtmf-relay): the call goes on; then digit 5 (application/dtmf): the
         switch sends BYE to both parties, each answers 200; the INFOs and the callee's BYE
         are in leg B's dialog (the Call-ID and From tag of the INVITE the callee got, the
         callee's To tag), not the caller's
  scripts/examples/late-branch.lua
    (b1) a call ringing alice's desk phone (sipp UAS that only rings) gets a new branch when
         alice's mobile registers (sipp REGISTER -> a sipp UAS that answers): the mobile
         answers, the desk phone gets a CANCEL, the call completes
    (b2) the same with no contact at all when the call comes: the INVITE waits
         (opts.wait_for_branches) and goes to the mobile once it registers

    test_script_examples.py --binary build/centralita --source-dir .
"""

import signal
import sys
import re
import threading
import time
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (HOST, Checks, Switch, check_clean_exit, main, new_branch,  # noqa: E402
                             new_call_id, new_tag, tag_of)
from sip_core import (SCENARIOS, LoggedUdp, PyUas, SippUas, invite_request,  # noqa: E402
                      register_request, run_uac, status_of)
from media_peers import RtpPeer, build_response, make_sdp  # noqa: E402
import sipp as sipp_lib  # noqa: E402

WAIT = 8  # scripts/examples/wait-for-register.lua's WAIT


def hibernated(switch: Switch, n: int, timeout: float) -> bool:
    """Polls SIGUSR1's status line (bounded) until it shows n hibernated transactions."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        switch.proc.send_signal(signal.SIGUSR1)
        if switch.wait_for_log(rf"status: .*hibernated_transactions={n}\b", 0.3):
            return True
    return False


def sipp_register(switch: Switch, user: str, contact_port: int) -> sipp_lib.SippResult:
    """sipp sends one REGISTER for user whose Contact is 127.0.0.1:contact_port."""
    return sipp_lib.run_sipp(SCENARIOS / "script_register.xml", switch.port, calls=1, rate=1,
                             global_timeout_s=15, recv_timeout_ms=5000,
                             extra=["-s", user, "-key", "contact_port", str(contact_port)])


class Background:
    """Runs fn in a thread and keeps its result (the thread is joined with a bound)."""

    def __init__(self, fn) -> None:
        self.result = None
        self.error: BaseException | None = None
        self.t0 = time.monotonic()
        self.elapsed = 0.0

        def body() -> None:
            try:
                self.result = fn()
            except BaseException as e:  # reported by the check that reads it
                self.error = e
            self.elapsed = time.monotonic() - self.t0
        self.thread = threading.Thread(target=body, daemon=True)
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)


def register_python(switch: Switch, user: str, contact: str) -> int | None:
    c = LoggedUdp()
    try:
        c.send(register_request(switch.port, user, contacts=[contact], expires=600, local_port=c.port),
               switch.port)
        return status_of(c.recv(5))
    finally:
        c.close()


def wait_for_register(checks: Checks, args) -> None:
    script = Path(args.source_dir) / "scripts" / "examples" / "wait-for-register.lua"
    switch = Switch(args.binary, ["--script", str(script)], log_level="info").start()
    try:
        # (a1)
        label = "(a1) wait-for-register, bob registers 2 s later"
        uas = SippUas("core_uas_answer.xml", calls=1, timeout_s=40).start()
        try:
            call = Background(lambda: run_uac("core_uac_call.xml", switch.port, service="bob",
                                              timeout_s=30, recv_timeout_ms=20000))
            waiting = switch.wait_for_log(r"no contact for bob@127\.0\.0\.1 - waiting", 10)
            checks.check(f"{label}: the INVITE's routing suspends waiting for REGISTER aor=bob",
                         waiting, switch.stderr_tail())
            time.sleep(2)  # the scenario: bob's phone comes up 2 s later
            reg = sipp_register(switch, "bob", uas.port)
            checks.check(f"{label}: sipp's REGISTER for bob gets 200",
                         reg.exit_code == 0 and reg.successful == 1, reg.output_tail)
            call.join(40)
            uas.wait(10)
            uac = call.result
            checks.check(f"{label}: the call completes end to end (INVITE relayed to the new contact, "
                         f"180, 200, ACK, BYE) after {call.elapsed:.1f} s",
                         uac is not None and uac.ok and uac.result.successful == 1
                         and uas.exit_code == 0 and uas.successful() == 1,
                         (uac.detail() if uac else repr(call.error)) + "\n" + uas.detail(3000)
                         + "\n" + switch.stderr_tail())
            checks.check(f"{label}: not before the REGISTER ({call.elapsed:.1f} s >= 2 s)",
                         call.elapsed >= 2.0)
            checks.check(f"{label}: the script saw the REGISTER event and relayed",
                         switch.wait_for_log(r"bob@127\.0\.0\.1 registered from .* - relaying", 5),
                         switch.stderr_tail())
            with urllib.request.urlopen(f"http://{HOST}:{switch.http_port}/metrics", timeout=5) as r:
                text = r.read().decode()
            woke = re.search(r"^centralita_wakeup_latency_seconds_count (\S+)$", text, re.M)
            checks.check(f"{label}: /metrics counts the wake-up in centralita_wakeup_latency_seconds "
                         f"(count {woke.group(1) if woke else None})",
                         woke is not None and float(woke.group(1)) >= 1)
        finally:
            uas.stop()
            uas.cleanup()

        # (a2)
        label = f"(a2) wait-for-register, nobody registers"
        c = LoggedUdp()
        try:
            branch, cid, ftag = new_branch(), new_call_id(), new_tag()
            t0 = time.monotonic()
            invite = invite_request(switch.port, "nobody", c.port, branch=branch, call_id=cid,
                                    from_tag=ftag)
            c.send(invite, switch.port)
            # While the routing waits, its INVITE transaction sleeps in the shard: a
            # retransmission still gets a 100 Trying (built again from the retransmission).
            waiting = switch.wait_for_log(r"no contact for nobody@127\.0\.0\.1 - waiting", 10)
            first = c.collect(2, cid, until=lambda ms: any(m.status == 100 for m in ms))
            asleep = hibernated(switch, 1, 5)
            checks.check(f"{label}: the waiting INVITE's transaction hibernates (SIGUSR1 status)",
                         asleep, switch.stderr_tail())
            c.send(invite, switch.port)
            again = c.collect(2, cid, until=lambda ms: any(m.status == 100 for m in ms))
            checks.check(f"{label}: a retransmitted INVITE during the wait gets 100 Trying again",
                         waiting and any(m.status == 100 for m in first)
                         and any(m.status == 100 for m in again)
                         and not any((m.status or 0) >= 200 for m in first + again), c.dump())
            msgs = first + again + c.collect(WAIT + 8, cid,
                                             until=lambda ms: any((m.status or 0) >= 200 for m in ms))
            elapsed = time.monotonic() - t0
            final = next((m for m in msgs if (m.status or 0) >= 200), None)
            codes = [m.status for m in msgs]
            checks.check(f"{label}: 100 Trying at once, then 480 (got {codes} after {elapsed:.1f} s)",
                         final is not None and final.status == 480 and codes[0] == 100, c.dump())
            checks.check(f"{label}: the 480 comes after the script's {WAIT} s wait, not before",
                         final is not None and WAIT - 0.5 <= elapsed <= WAIT + 5, f"{elapsed:.1f} s")
            checks.check(f"{label}: the script saw the wait end with \"timeout\"",
                         switch.wait_for_log(r"wait for nobody@127\.0\.0\.1 ended: timeout", 5),
                         switch.stderr_tail())
            if final is not None:
                c.send(invite_request(switch.port, "nobody", c.port, branch=branch, call_id=cid,
                                      from_tag=ftag, method="ACK", to_tag=tag_of(final.get("to"))),
                       switch.port)
        finally:
            c.close()

        # (a3)
        label = "(a3) wait-for-register, CANCEL during the wait"
        c = LoggedUdp()
        try:
            branch, cid, ftag = new_branch(), new_call_id(), new_tag()
            c.send(invite_request(switch.port, "carol", c.port, branch=branch, call_id=cid,
                                  from_tag=ftag), switch.port)
            waiting = switch.wait_for_log(r"no contact for carol@127\.0\.0\.1 - waiting", 10)
            checks.check(f"{label}: the INVITE waits", waiting, switch.stderr_tail())
            t0 = time.monotonic()
            c.send(invite_request(switch.port, "carol", c.port, branch=branch, call_id=cid,
                                  from_tag=ftag, method="CANCEL"), switch.port)
            msgs = c.collect(5, cid, until=lambda ms: any(m.status == 487 for m in ms)
                             and any(m.status == 200 for m in ms))
            elapsed = time.monotonic() - t0
            cseqs = {(m.status, (m.get("cseq") or "").split()[-1]) for m in msgs if m.status}
            checks.check(f"{label}: 200 for the CANCEL and 487 for the INVITE within "
                         f"{elapsed:.1f} s (got {sorted(cseqs)})",
                         (200, "CANCEL") in cseqs and (487, "INVITE") in cseqs, c.dump())
            checks.check(f"{label}: the wait ended with \"cancelled\" (and was freed)",
                         switch.wait_for_log(r"wait for carol@127\.0\.0\.1 ended: cancelled", 5),
                         switch.stderr_tail())
            final = next((m for m in msgs if m.status == 487), None)
            if final is not None:
                c.send(invite_request(switch.port, "carol", c.port, branch=branch, call_id=cid,
                                      from_tag=ftag, method="ACK", to_tag=tag_of(final.get("to"))),
                       switch.port)
        finally:
            c.close()
        check_clean_exit(checks, switch)
    finally:
        switch.stop(check=False)


def late_branch(checks: Checks, args) -> None:
    script = Path(args.source_dir) / "scripts" / "examples" / "late-branch.lua"
    switch = Switch(args.binary, ["--script", str(script)], log_level="info").start()
    try:
        # (b1)
        label = "(b1) late-branch, mobile registers while the desk phone rings"
        desk = SippUas("core_uas_ring_cancel.xml", calls=1, timeout_s=40).start()
        mobile = SippUas("core_uas_answer.xml", calls=1, timeout_s=40).start()
        try:
            status = register_python(switch, "alice", desk.contact)
            checks.check(f"{label}: the desk phone registers (200)", status == 200, str(status))
            call = Background(lambda: run_uac("core_uac_call.xml", switch.port, service="alice",
                                              timeout_s=30, recv_timeout_ms=20000))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and "INVITE sip:" not in desk.messages():
                time.sleep(0.05)
            checks.check(f"{label}: the desk phone rings first", "INVITE sip:" in desk.messages(),
                         desk.detail(3000))
            reg = sipp_register(switch, "alice", mobile.port)
            checks.check(f"{label}: sipp's REGISTER for the mobile gets 200",
                         reg.exit_code == 0 and reg.successful == 1, reg.output_tail)
            call.join(40)
            mobile.wait(10)
            desk.wait(10)
            uac = call.result
            checks.check(f"{label}: the mobile gets the INVITE as a new branch and the call completes "
                         f"end to end",
                         uac is not None and uac.ok and uac.result.successful == 1
                         and mobile.exit_code == 0 and mobile.successful() == 1,
                         (uac.detail() if uac else repr(call.error)) + "\n" + mobile.detail(3000)
                         + "\n" + switch.stderr_tail())
            checks.check(f"{label}: the desk phone's branch is CANCELled (200/487/ACK)",
                         desk.exit_code == 0 and desk.successful() == 1, desk.detail(3000))
            checks.check(f"{label}: the script's handler added the branch",
                         switch.wait_for_log(r"new contact \S+ for alice@127\.0\.0\.1 added as a branch", 5),
                         switch.stderr_tail())
        finally:
            for u in (desk, mobile):
                u.stop()
                u.cleanup()

        # (b2)
        label = "(b2) late-branch, no contact when the call comes"
        mobile = SippUas("core_uas_answer.xml", calls=1, timeout_s=40).start()
        try:
            call = Background(lambda: run_uac("core_uac_call.xml", switch.port, service="dave",
                                              timeout_s=30, recv_timeout_ms=20000))
            checks.check(f"{label}: the INVITE waits for a branch",
                         switch.wait_for_log(r"ringing 0 contact\(s\) of dave@127\.0\.0\.1", 10),
                         switch.stderr_tail())
            reg = sipp_register(switch, "dave", mobile.port)
            checks.check(f"{label}: sipp's REGISTER for the mobile gets 200",
                         reg.exit_code == 0 and reg.successful == 1, reg.output_tail)
            call.join(40)
            mobile.wait(10)
            uac = call.result
            checks.check(f"{label}: the waiting INVITE goes to the mobile and the call completes",
                         uac is not None and uac.ok and uac.result.successful == 1
                         and mobile.exit_code == 0 and mobile.successful() == 1,
                         (uac.detail() if uac else repr(call.error)) + "\n" + mobile.detail(3000)
                         + "\n" + switch.stderr_tail())
        finally:
            mobile.stop()
            mobile.cleanup()
        check_clean_exit(checks, switch)
    finally:
        switch.stop(check=False)


def dtmf_hangup(checks: Checks, args) -> None:
    script = Path(args.source_dir) / "scripts" / "examples" / "dtmf-hangup.lua"
    switch = Switch(args.binary, ["--script", str(script)], log_level="info").start()
    try:
        label = "(c1) dtmf-hangup"

        media = RtpPeer()   # the callee's media socket (the switch relays the call's RTP)

        def callee(uas: PyUas) -> None:
            inv = uas.recv_request("INVITE", 10)
            if inv is None:
                return
            uas.reply(inv, 180, "Ringing")
            # The shipped script bridges with media relayed: the caller's INVITE has no SDP,
            # so leg B's has none either and the callee's 200 carries the offer (RFC 3264).
            uas.send(build_response(inv, 200, "OK", to_tag=uas.to_tag, contact=uas.contact,
                                    body=make_sdp(media.port, user="callee")))
            uas.invite = inv
            uas.infos = []
            uas.bye = None
            uas.ack = None
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and uas.bye is None:
                for m in uas.drain(0.1):
                    method = m.start_line.split(" ")[0] if not m.is_response else ""
                    if method == "ACK":
                        uas.ack = m
                    elif method == "INFO":
                        uas.infos.append(m)
                        uas.reply(m, 200, "OK")
                    elif method == "BYE":
                        uas.bye = m
                        uas.reply(m, 200, "OK")

        uas = PyUas(callee).start()
        try:
            status = register_python(switch, "bob", uas.contact)
            checks.check(f"{label}: the callee registers (200)", status == 200, str(status))
            uac = run_uac("script_uac_dtmf.xml", switch.port, service="bob", timeout_s=20,
                          recv_timeout_ms=10000)
            uas.join(20)
            bye = getattr(uas, "bye", None)
            inv = getattr(uas, "invite", None)
            checks.check(f"{label}: the caller's call completes: 2 goes on, 5 brings the switch's BYE, "
                         f"answered 200",
                         uac.ok and uac.result.successful == 1, uac.detail() + "\n" + switch.stderr_tail())
            infos = getattr(uas, "infos", [])
            checks.check(f"{label}: the callee gets both INFOs and then a BYE from the switch",
                         bye is not None and len(infos) >= 1, uas.dump())

            def in_leg_b(m) -> bool:
                # Bridged (B2BUA): leg B is the switch's own dialog with the callee: the
                # Call-ID and From tag of the INVITE the callee got, the callee's To tag.
                return (m.get("call-id") == inv.get("call-id")
                        and tag_of(m.get("from")) == tag_of(inv.get("from"))
                        and tag_of(m.get("to")) == uas.to_tag)
            caller_cid = re.search(r"^Call-ID:\s*(\S+)", uac.messages, re.M | re.I)
            caller_cid = caller_cid.group(1) if caller_cid else None
            if inv is not None:
                checks.check(f"{label}: the call is bridged: leg B has a Call-ID of its own "
                             f"({inv.get('call-id')}, the caller's is {caller_cid})",
                             caller_cid is not None and inv.get("call-id") != caller_cid, uas.dump())
                checks.check(f"{label}: the INFOs reach the callee inside leg B's dialog "
                             f"({len(infos)} INFO(s))",
                             len(infos) >= 1 and all(in_leg_b(m) for m in infos), uas.dump())
            # RFC 3261 §13.2.2.4: the 2xx is ACKed whatever the caller's ACK holds (here it
            # brings no answer to the callee's offer, RFC 3264 §5: the caller's fault).
            ack = getattr(uas, "ack", None)
            checks.check(f"{label}: the callee's 200 is ACKed in leg B's dialog",
                         ack is not None and inv is not None and in_leg_b(ack), uas.dump())
            if bye is not None and inv is not None:
                checks.check(f"{label}: the callee's BYE is in leg B's dialog (Call-ID and From tag "
                             f"of the INVITE the callee got, To tag = the callee's)",
                             in_leg_b(bye), uas.dump())
                cseq = int((bye.get("cseq") or "0").split()[0])
                checks.check(f"{label}: the callee's BYE has a CSeq above the caller's last "
                             f"request (INFO CSeq 3; got {cseq})", cseq > 3, uas.dump())
            checks.check(f"{label}: the digit 2 did not end the call",
                         switch.wait_for_log(r"DTMF 2 \(info\): the call goes on", 5),
                         switch.stderr_tail())
            # Bridged, the hangup is the bridge's: a BYE on each leg.
            checks.check(f"{label}: the digit 5 did",
                         switch.wait_for_log(r"DTMF 5 \(info\): hanging up", 5)
                         and switch.wait_for_log(r"bridge: hangup \(DTMF 5\)", 5)
                         and switch.wait_for_log(r"leg A: BYE to the caller", 5)
                         and switch.wait_for_log(r"leg B: BYE to the callee", 5),
                         switch.stderr_tail())
            checks.check(f"{label}: the call's CALL_END handler ran before the call's handlers ended",
                         switch.wait_for_log(r"the call ended \(DTMF 5\) after \d+ ms", 5),
                         switch.stderr_tail())
        finally:
            uas.close()
            media.close()
        check_clean_exit(checks, switch)
    finally:
        switch.stop(check=False)


def run(checks: Checks, args) -> None:
    if sipp_lib.sipp_binary() is None:
        checks.check("sipp is installed", False, "sip-tester missing: .ci/install-deps installs it")
        return
    wait_for_register(checks, args)
    dtmf_hangup(checks, args)
    late_branch(checks, args)


if __name__ == "__main__":
    main(run)
