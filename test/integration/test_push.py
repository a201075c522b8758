#!/usr/bin/env python3
"""Push-notification wake-up (issue 5, RFC 8599): scripts/push.lua as shipped, against the test
push gateway (test/integration/push_gateway: HTTP/2 over TLS, checks every request as APNs, FCM
HTTP v1 or a webhook would) and Python phones that register, sleep, wake and answer.

  (r1) REGISTER with pn-provider=apns: 200 with Feature-Caps: *;+sip.pns="apns"
  (r2) REGISTER with an unsupported pn-provider: 555, nothing stored
  (m1) mobile only, for each provider type (apns, fcm, webhook): the INVITE holds, one push with
       the caller, Call-ID and kind=call reaches the gateway, the phone re-registers from a new
       address and the INVITE goes there; it answers: 200 to the caller; PUSH_SENT then
       PUSH_WOKE in the switch's log
  (m2) the same with sipp as the phone and as the caller: on the push, sipp registers the phone
       (scenarios/push_register.xml) pointing at a sipp UAS, which answers; sipp's call completes
  (d1) desk + mobile, the desk answers: the desk rings at once, the mobile is pushed, wakes,
       gets its branch, and is CANCELled when the desk answers
  (d2) desk + mobile, the mobile answers: the desk (ringing) gets the CANCEL
  (t1) two mobiles: both pushed, both wake, the first to answer wins, the other is CANCELled
  (n1) the phone never wakes: 480 after [push] wait
  (c1) the caller CANCELs while waiting: 487, and nothing of the routing is left (SIGUSR1)
  (e1) the provider answers 400 BadDeviceToken: PUSH_FAILED (gone), the binding is removed
  (e2) the provider does not answer: retried ([push] retries), then PUSH_FAILED
  (e3) a 503 with Retry-After, then 200: delivered on the second attempt
  (x1) INVITE retransmissions and a second INVITE transaction of the same call: one push
  (g1) a MESSAGE to a sleeping phone: pushed with kind=message, delivered once it wakes
  (p1) a phone that asked for refresh pushes (+sip.pnsreg): Feature-Caps +sip.pnsreg="10"; with
       20 s left on its binding and no refresh, a push with kind=refresh comes before expiry;
       once it refreshes, no more
  (u1) a mid-dialog request to a phone that sleeps again (RFC 8599 pn-purr): the REGISTER 200 gives
       +sip.pnspurr; the phone answers a call with that pn-purr in its Contact and sleeps; the
       caller's BYE pushes it (kind=purr), it registers from a new address and gets the BYE there
  (a1) with digest authentication (--users): the woken phone's REGISTER is challenged (401),
       then accepted; the call gets exactly one branch to it, from the accepted REGISTER

    test_push.py --binary build/centralita --source-dir .
"""

import re
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (HOST, Checks, SkipTest, Switch, main, new_branch,  # noqa: E402
                             new_call_id, tag_of)
from sip_core import (SCENARIOS, LoggedUdp, PyUas, SippUas, invite_request,  # noqa: E402
                      register_request, run_uac, status_of)
import sipp as sipp_lib  # noqa: E402
from push_gateway import PushGateway  # noqa: E402
from push_phones import (WAIT, Call, Push, config_text, desk, got, phone,  # noqa: E402
                         query_bindings, register, register_with_auth, sleeping_phone, status_line)


def run(checks: Checks, args) -> None:
    script = Path(args.source_dir) / "scripts" / "push.lua"
    try:
        gw = PushGateway().start()
    except SkipTest:
        raise
    try:
        cfg = Path(gw.tmp) / "switch.toml"
        cfg.write_text(config_text(gw))
        switch = Switch(args.binary, ["--config", str(cfg), "--script", str(script)],
                        log_level="info").start()
        registrations(checks, switch, gw)
        for provider in ("apns", "fcm", "webhook"):
            mobile_only(checks, switch, gw, provider)
        sipp_phone(checks, switch, gw)
        desk_and_mobile(checks, switch, gw, desk_answers=True)
        desk_and_mobile(checks, switch, gw, desk_answers=False)
        two_mobiles(checks, switch, gw)
        never_wakes(checks, switch, gw)
        caller_cancels(checks, switch, gw)
        bad_token(checks, switch, gw)
        provider_timeout(checks, switch, gw)
        retry_after(checks, switch, gw)
        retransmissions(checks, switch, gw)
        message(checks, switch, gw)
        refresh(checks, switch, gw)
        purr(checks, switch, gw)
        switch.stop()
        digest(checks, args, gw, cfg, script)
    finally:
        gw.stop()


def registrations(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    p = Push(gw, "apns")
    status, caps = register(switch, "reg1", p.contact("reg1", 5070))
    checks.check(f'(r1) REGISTER with pn-provider=apns: 200 with Feature-Caps: *;+sip.pns="apns" and '
                 f"a +sip.pnspurr (got {status}, {caps!r})",
                 status == 200 and re.fullmatch(r'\*;\+sip\.pns="apns";\+sip\.pnspurr="[A-Za-z0-9_-]+\.[0-9a-f]{16}"',
                                                caps) is not None)
    status, caps = register(switch, "reg2", f"<sip:reg2@{HOST}:5070;pn-provider=hms;pn-prid=ab12;pn-param=x>")
    checks.check(f"(r2) REGISTER with an unsupported pn-provider (hms): 555 (got {status})",
                 status == 555)
    answer = query_bindings(switch, "reg2")
    checks.check("(r2) ... and nothing was stored for reg2 (a query lists no Contact)",
                 status_of(answer) == 200 and b"\nContact:" not in answer, answer.decode(errors="replace"))


def mobile_only(checks: Checks, switch: Switch, gw: PushGateway, provider: str) -> None:
    label = f"(m1 {provider}) mobile only"
    user = f"mob-{provider}"
    p = Push(gw, provider)
    checks.check(f"{label}: the phone registers with push parameters", sleeping_phone(switch, user, p))
    call = Call(switch, user)
    ph = phone(switch, user, p)
    try:
        call.invite()
        try:
            pushed = gw.wait_push(p.prid, timeout=5)
        except TimeoutError:
            pushed = None
        payload = (pushed or {}).get("payload", {})
        if provider == "webhook":  # the default webhook body: {provider, prid, param, payload}
            checks.check(f"{label}: the webhook body carries provider, prid and param",
                         payload.get("provider") == "webhook" and payload.get("prid") == p.prid
                         and payload.get("param") == p.param, str(pushed))
            payload = payload.get("payload", {})
        checks.check(f"{label}: one push reaches the gateway with the Call-ID, caller and kind=call",
                     pushed is not None and pushed.get("provider") == provider
                     and payload.get("call_id") == call.cid and payload.get("kind") == "call"
                     and "alice@" in payload.get("caller", "") and bool(payload.get("push_id")),
                     f"{pushed}\n{gw.stderr_tail()}\n{switch.stderr_tail()}")
        early = call.c.collect(0.3, call.cid)
        checks.check(f"{label}: the INVITE holds (100 Trying only) until the phone wakes",
                     all(m.status == 100 for m in early), call.c.dump())
        ph.start()  # the phone wakes and registers
        final = call.final(10)
        ph.join(10)
        checks.check(f"{label}: the woken phone gets the INVITE and its 200 reaches the caller",
                     final is not None and final.status == 200 and got(ph, "INVITE"),
                     call.c.dump() + "\n" + ph.dump() + "\n" + switch.stderr_tail())
        checks.check(f"{label}: PUSH_SENT and PUSH_WOKE (the switch logs both)",
                     switch.wait_for_log(rf"push \S+ \(call\) to {user}@\S+ pn-prid {p.prid}: sent", 5)
                     and switch.wait_for_log(rf"{user}@\S+ woke up after \d+ ms", 5),
                     switch.stderr_tail())
    finally:
        ph.close()
        call.close()


def sipp_phone(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(m2) sipp phone"
    user = "sippphone"
    p = Push(gw, "apns")
    checks.check(f"{label}: the phone registers with push parameters", sleeping_phone(switch, user, p))
    uas = SippUas("core_uas_answer.xml", calls=1, timeout_s=40).start()
    try:
        result = {}

        def caller() -> None:
            result["uac"] = run_uac("core_uac_call.xml", switch.port, service=user, timeout_s=30,
                                    recv_timeout_ms=20000)
        t = threading.Thread(target=caller, daemon=True)
        t.start()
        try:
            pushed = gw.wait_push(p.prid, timeout=10)
        except TimeoutError:
            pushed = None
        checks.check(f"{label}: sipp's INVITE pushes the phone", pushed is not None, gw.stderr_tail())
        reg = sipp_lib.run_sipp(SCENARIOS / "push_register.xml", switch.port, calls=1, rate=1,
                                global_timeout_s=15, recv_timeout_ms=5000,
                                extra=["-s", user, "-key", "contact_port", str(uas.port),
                                       "-key", "pn_provider", p.provider, "-key", "pn_prid", p.prid,
                                       "-key", "pn_param", p.param])
        checks.check(f"{label}: sipp registers the woken phone (200)",
                     reg.exit_code == 0 and reg.successful == 1, reg.output_tail)
        t.join(40)
        uas.wait(10)
        uac = result.get("uac")
        checks.check(f"{label}: the call completes end to end (INVITE, 180, 200, ACK, BYE) through the "
                     f"woken sipp phone",
                     uac is not None and uac.ok and uac.result.successful == 1
                     and uas.exit_code == 0 and uas.successful() == 1,
                     (uac.detail() if uac else "no UAC result") + "\n" + uas.detail(3000)
                     + "\n" + switch.stderr_tail())
    finally:
        uas.stop()
        uas.cleanup()


def desk_and_mobile(checks: Checks, switch: Switch, gw: PushGateway, desk_answers: bool) -> None:
    label = "(d1) desk + mobile, the desk answers" if desk_answers else "(d2) desk + mobile, the mobile answers"
    user = "dm1" if desk_answers else "dm2"
    p = Push(gw, "apns")
    d = desk(switch, user, answer_after=1.0 if desk_answers else None)
    status, _ = register(switch, user, f"<sip:{user}@{HOST}:{d.port}>")
    sleeping_phone(switch, user, p)
    d.start()
    ph = phone(switch, user, p, answer=not desk_answers)
    call = Call(switch, user)
    try:
        call.invite()
        try:
            gw.wait_push(p.prid, timeout=5)
            pushed = True
        except TimeoutError:
            pushed = False
        ph.start()
        final = call.final(12)
        d.join(12)
        ph.join(12)
        desk_rang = got(d, "INVITE")
        mobile_rang = got(ph, "INVITE")
        if desk_answers:
            ok = final is not None and final.status == 200 and desk_rang and pushed and \
                mobile_rang and got(ph, "CANCEL")
            what = "the desk rings at once, the mobile is pushed and rings, the desk's 200 wins, the mobile is CANCELled"
        else:
            ok = final is not None and final.status == 200 and desk_rang and pushed and \
                mobile_rang and got(d, "CANCEL")
            what = "the desk rings, the woken mobile answers, the desk is CANCELled"
        checks.check(f"{label}: {what}", ok,
                     call.c.dump() + "\n" + d.dump() + "\n" + ph.dump() + "\n" + switch.stderr_tail())
    finally:
        d.close()
        ph.close()
        call.close()


def two_mobiles(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(t1) two mobiles"
    user = "two"
    p1, p2 = Push(gw, "apns"), Push(gw, "fcm")
    sleeping_phone(switch, user, p1)
    register(switch, user, p2.contact(user, 13))  # another address, asleep too
    a = phone(switch, user, p1, answer=True, answer_after=0.5)
    b = phone(switch, user, p2, answer=False)
    call = Call(switch, user)
    try:
        call.invite()
        pushes = []
        for prid in (p1.prid, p2.prid):
            try:
                pushes.append(gw.wait_push(prid, timeout=5))
            except TimeoutError:
                pass
        a.start()
        b.start()
        final = call.final(12)
        a.join(12)
        b.join(12)
        checks.check(f"{label}: both pushed (APNs and FCM), both wake and ring, the first 200 wins, "
                     f"the other is CANCELled",
                     len(pushes) == 2 and final is not None and final.status == 200
                     and got(a, "INVITE") and got(b, "INVITE") and got(b, "CANCEL"),
                     call.c.dump() + "\n" + a.dump() + "\n" + b.dump() + "\n" + switch.stderr_tail())
    finally:
        a.close()
        b.close()
        call.close()


def never_wakes(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(n1) the phone never wakes"
    user = "sleepy"
    p = Push(gw, "webhook")
    sleeping_phone(switch, user, p)
    call = Call(switch, user)
    try:
        t0 = time.monotonic()
        call.invite()
        final = call.final(WAIT + 6)
        elapsed = time.monotonic() - t0
        checks.check(f"{label}: 480 after [push] wait = {WAIT} s (got "
                     f"{final.status if final else None} after {elapsed:.1f} s)",
                     final is not None and final.status == 480 and WAIT - 0.5 <= elapsed <= WAIT + 4,
                     call.c.dump() + "\n" + switch.stderr_tail())
        call.ack(final)
    finally:
        call.close()


def caller_cancels(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(c1) the caller CANCELs while waiting"
    user = "cancelled"
    p = Push(gw, "apns")
    sleeping_phone(switch, user, p)
    call = Call(switch, user)
    try:
        call.invite()
        try:
            gw.wait_push(p.prid, timeout=5)
        except TimeoutError:
            pass
        call.cancel()
        final = call.final(5)
        checks.check(f"{label}: 487 (got {final.status if final else None})",
                     final is not None and final.status == 487, call.c.dump())
        call.ack(final)
        # Nothing of the routing is left: no run, no wait, no subscription beyond the
        # push service's own wake watches (none: the phone did not register).
        deadline = time.monotonic() + 5
        st = {}
        while time.monotonic() < deadline:
            st = status_line(switch)
            if st.get("live_runs") == 0 and st.get("suspended") == 0:
                break
            time.sleep(0.1)
        checks.check(f"{label}: and every wait is freed (live_runs=0 suspended=0 "
                     f"hibernated_transactions=0)",
                     st.get("live_runs") == 0 and st.get("suspended") == 0
                     and st.get("hibernated_transactions") == 0, str(st))
    finally:
        call.close()


def bad_token(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(e1) the provider answers 400 BadDeviceToken"
    user = "badtoken"
    p = Push(gw, "apns")
    sleeping_phone(switch, user, p)
    gw.set_behaviour(p.prid, "bad_device")
    call = Call(switch, user)
    try:
        call.invite()
        failed = switch.wait_for_log(rf"push \S+ to {user}@\S+ pn-prid {p.prid} failed: BadDeviceToken "
                                      r"\(token gone: binding removed\)", 5)
        removed = switch.wait_for_log(rf"{user}@\S+: binding \S+ removed: the push provider says its "
                                       r"token is gone \(BadDeviceToken\)", 5)
        checks.check(f"{label}: PUSH_FAILED (gone) and the binding is removed",
                     failed and removed, switch.stderr_tail())
        answer = query_bindings(switch, user)
        checks.check(f"{label}: a REGISTER query for {user} lists no binding any more",
                     status_of(answer) == 200 and b"\nContact:" not in answer, answer.decode(errors="replace"))
        final = call.final(WAIT + 6)
        call.ack(final)
    finally:
        call.close()


def provider_timeout(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(e2) the provider does not answer"
    user = "slowgw"
    p = Push(gw, "webhook")
    sleeping_phone(switch, user, p)
    gw.set_behaviour(p.prid, "timeout")
    call = Call(switch, user)
    try:
        call.invite()
        failed = switch.wait_for_log(rf"push \S+ to {user}@\S+ pn-prid {p.prid} failed: .*after 3 attempts", 12)
        tries = [r for r in gw.requests() if p.prid in str(r.get("token", "")) or p.prid in str(r.get("body", ""))]
        checks.check(f"{label}: retried ([push] retries = 2: 3 attempts, got {len(tries)}), then PUSH_FAILED",
                     failed and len(tries) == 3, switch.stderr_tail())
        call.ack(call.final(WAIT + 6))
    finally:
        call.close()


def retry_after(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(e3) 503 with Retry-After, then 200"
    user = "busygw"
    p = Push(gw, "fcm")
    sleeping_phone(switch, user, p)
    gw.set_behaviour(p.prid, "unavailable", count=1)
    call = Call(switch, user)
    try:
        call.invite()
        try:
            gw.wait_push(p.prid, timeout=6)
            pushed = True
        except TimeoutError:
            pushed = False
        sent = switch.wait_for_log(rf"push \S+ \(call\) to {user}@\S+ pn-prid {p.prid}: sent \(2 attempt", 5)
        checks.check(f"{label}: delivered on the second attempt", pushed and sent, switch.stderr_tail())
        call.ack(call.final(WAIT + 6))
    finally:
        call.close()


def retransmissions(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(x1) INVITE retransmissions and a new INVITE transaction of the same call"
    user = "retrans"
    p = Push(gw, "webhook")
    sleeping_phone(switch, user, p)
    call = Call(switch, user)
    try:
        data = call.invite()
        time.sleep(0.2)
        call.c.send(data, switch.port)   # a retransmission
        call.c.send(data, switch.port)
        first = call.final(WAIT + 6)
        call.ack(first)
        # The same call again (a new transaction: new branch, CSeq 2), as after a 401.
        call.branch = new_branch()
        call.msgs = []
        call.c.send(invite_request(switch.port, user, call.c.port, branch=call.branch, call_id=call.cid,
                                   from_tag=call.ftag, cseq=2), switch.port)
        second = call.final(WAIT + 6)
        call.ack(second)
        pushes = [x for x in gw.pushes if x.get("token") == p.prid]
        checks.check(f"{label}: exactly one push (got {len(pushes)})", len(pushes) == 1,
                     str(pushes) + "\n" + switch.stderr_tail())
    finally:
        call.close()


def message(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(g1) a MESSAGE to a sleeping phone"
    user = "msgphone"
    p = Push(gw, "apns")
    sleeping_phone(switch, user, p)

    def script(uas: PyUas) -> None:
        uas.client.sock.sendto(register_request(switch.port, user, contacts=[p.contact(user, uas.port)],
                                                expires=600, local_port=uas.port), (HOST, switch.port))
        msg = uas.recv_request("MESSAGE", 10)
        if msg is not None:
            uas.reply(msg, 200, "OK")
    ph = PyUas(script)
    c = LoggedUdp()
    try:
        cid = new_call_id()
        c.send(invite_request(switch.port, user, c.port, call_id=cid, method="MESSAGE",
                              extra=[("Content-Type", "text/plain")]), switch.port)
        try:
            pushed = gw.wait_push(p.prid, timeout=5)
        except TimeoutError:
            pushed = None
        checks.check(f"{label}: pushed with kind=message",
                     pushed is not None and pushed["payload"].get("kind") == "message"
                     and pushed["payload"].get("call_id") == cid, str(pushed))
        ph.start()
        msgs = c.collect(10, cid, until=lambda ms: any((m.status or 0) >= 200 for m in ms))
        ph.join(5)
        final = next((m for m in msgs if (m.status or 0) >= 200), None)
        checks.check(f"{label}: the phone wakes, gets the MESSAGE, and its 200 reaches the sender",
                     final is not None and final.status == 200 and got(ph, "MESSAGE"),
                     c.dump() + "\n" + ph.dump() + "\n" + switch.stderr_tail())
    finally:
        ph.close()
        c.close()


def refresh(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(p1) binding-refresh pushes"
    user = "refresher"
    p = Push(gw, "apns")
    c = LoggedUdp()
    try:
        t0 = time.monotonic()
        c.send(register_request(switch.port, user, contacts=[p.contact(user, c.port) + ";+sip.pnsreg"],
                                expires=20, local_port=c.port), switch.port)
        answer = c.recv(5) or b""
        m = re.search(rb"(?im)^Feature-Caps:\s*(.*?)\r?$", answer)
        caps = m.group(1).decode() if m else ""
        checks.check(f'{label}: 200 with Feature-Caps: *;+sip.pns="apns";+sip.pnsreg="10" (got {caps!r})',
                     status_of(answer) == 200 and caps.startswith('*;+sip.pns="apns";+sip.pnsreg="10";'))
        try:
            pushed = gw.wait_push(p.prid, timeout=19)
        except TimeoutError:
            pushed = None
        elapsed = time.monotonic() - t0
        checks.check(f"{label}: a push with kind=refresh and no call comes 10 s before expiry or "
                     f"a little later (after {elapsed:.1f} s of 20)",
                     pushed is not None and pushed["payload"].get("kind") == "refresh"
                     and pushed["payload"].get("call_id") == "" and 9.5 <= elapsed < 20,
                     f"{pushed}\n{switch.stderr_tail()}")
        # The phone wakes and refreshes (10 minutes): no further refresh push.
        c.send(register_request(switch.port, user, contacts=[p.contact(user, c.port) + ";+sip.pnsreg"],
                                expires=600, local_port=c.port, cseq=2), switch.port)
        refreshed = status_of(c.recv(5))
        try:
            again = gw.wait_push(p.prid, timeout=6)
        except TimeoutError:
            again = None
        checks.check(f"{label}: once the binding is refreshed, no more refresh pushes "
                     f"(refresh {refreshed}; another push: {again})", refreshed == 200 and again is None)
    finally:
        c.close()


def purr(checks: Checks, switch: Switch, gw: PushGateway) -> None:
    label = "(u1) pn-purr"
    user = "purrphone"
    p = Push(gw, "apns")
    status, caps = register(switch, user, p.contact(user, 9))
    m = re.search(r'\+sip\.pnspurr="([^"]+)"', caps)
    value = m.group(1) if m else ""
    checks.check(f'{label}: the REGISTER 200 gives Feature-Caps +sip.pnspurr (got {caps!r})',
                 status == 200 and bool(value))

    def answer_call(uas: PyUas) -> None:
        uas.client.sock.sendto(register_request(switch.port, user, contacts=[p.contact(user, uas.port)],
                                                expires=600, local_port=uas.port), (HOST, switch.port))
        inv = uas.recv_request("INVITE", 10)
        if inv is None:
            return
        uas.reply(inv, 200, "OK",
                  contact=p.contact(user, uas.port)[:-1] + f";pn-purr={value}>")
        uas.recv_request("ACK", 5)

    def take_bye(uas: PyUas) -> None:
        uas.client.sock.sendto(register_request(switch.port, user, contacts=[p.contact(user, uas.port)],
                                                expires=600, local_port=uas.port, cseq=3),
                               (HOST, switch.port))
        bye = uas.recv_request("BYE", 10)
        if bye is not None:
            uas.reply(bye, 200, "OK")
    first = PyUas(answer_call)
    later = PyUas(take_bye)
    call = Call(switch, user)
    try:
        call.invite()
        try:
            gw.wait_push(p.prid, timeout=5)
        except TimeoutError:
            pass
        first.start()
        ok = call.final(10)
        rr = [v for n, v in (ok.headers if ok else []) if n.lower() == "record-route"]
        target = ok.get("contact").strip("<>") if ok and ok.get("contact") else ""
        checks.check(f"{label}: the call is answered, the phone's Contact carries the pn-purr",
                     ok is not None and ok.status == 200 and f"pn-purr={value}" in target, call.c.dump())
        if ok is None or ok.status != 200:
            return
        to_tag = tag_of(ok.get("to"))
        call.c.send(invite_request(switch.port, user, call.c.port, call_id=call.cid, from_tag=call.ftag,
                                   method="ACK", to_tag=to_tag, ruri=target, routes=rr), switch.port)
        first.join(6)
        first.close()  # the phone sleeps: its address is gone
        call.c.send(invite_request(switch.port, user, call.c.port, call_id=call.cid, from_tag=call.ftag,
                                   cseq=2, method="BYE", to_tag=to_tag, ruri=target, routes=rr), switch.port)
        try:
            pushed = gw.wait_push(lambda x: x.get("token") == p.prid and x["payload"].get("kind") == "purr",
                                  timeout=5)
        except TimeoutError:
            pushed = None
        checks.check(f"{label}: the BYE pushes the phone (kind=purr, the call's Call-ID)",
                     pushed is not None and pushed["payload"].get("call_id") == call.cid,
                     f"{pushed}\n{switch.stderr_tail()}")
        later.start()
        msgs = call.c.collect(10, call.cid, until=lambda ms: any(m.status == 200 and "BYE" in (m.get("cseq") or "")
                                                                   for m in ms))
        later.join(5)
        checks.check(f"{label}: the phone registers from a new address, gets the BYE there, and its 200 "
                     f"reaches the caller",
                     got(later, "BYE") and any(m.status == 200 and "BYE" in (m.get("cseq") or "") for m in msgs),
                     call.c.dump() + "\n" + later.dump() + "\n" + switch.stderr_tail())
    finally:
        first.close()
        later.close()
        call.close()


def digest(checks: Checks, args, gw: PushGateway, cfg: Path, script: Path) -> None:
    label = "(a1) digest authentication"
    user, password = "secure", "s3cret"
    users = Path(gw.tmp) / "users.txt"
    users.write_text(f"{user}@{HOST} {password}\n")
    switch = Switch(args.binary, ["--config", str(cfg), "--script", str(script), "--users", str(users)],
                    log_level="info").start()
    p = Push(gw, "apns")
    asleep = LoggedUdp()
    try:
        status = register_with_auth(asleep.c.sock, switch, user, p.contact(user, asleep.port), password)
        checks.check(f"{label}: the phone registers through the challenge (got {status})", status == 200)
    finally:
        asleep.close()

    def phone_script(uas: PyUas) -> None:
        st = register_with_auth(uas.client.sock, switch, user, p.contact(user, uas.port), password)
        uas.events.append(f"registered {st}")
        inv = uas.recv_request("INVITE", 10)
        if inv is None:
            return
        uas.reply(inv, 200, "OK")
        uas.recv_request("ACK", 3)
        # A second INVITE (another branch for the same phone) would come now.
        extra = uas.recv_request("INVITE", 1.5)
        if extra is not None:
            uas.events.append("second INVITE")
    ph = PyUas(phone_script)
    call = Call(switch, user)
    try:
        call.invite()
        try:
            gw.wait_push(p.prid, timeout=5)
        except TimeoutError:
            pass
        ph.start()
        final = call.final(10)
        ph.join(10)
        invites = sum(1 for d, _, b in ph.log if d == "received" and b.startswith(b"INVITE "))
        checks.check(f"{label}: the woken phone's challenged REGISTER makes exactly one branch "
                     f"(INVITEs received: {invites}), and the call is answered",
                     final is not None and final.status == 200 and invites == 1
                     and "registered 200" in ph.events,
                     call.c.dump() + "\n" + ph.dump() + "\n" + switch.stderr_tail())
    finally:
        ph.close()
        call.close()
        switch.stop()


if __name__ == "__main__":
    main(run)
